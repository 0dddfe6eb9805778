import { lstat, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { UvmError } from '../errors.js'
import { Method, Obj, Primitive, State } from '../kernel/index.js'
import type { SlotValue } from '../kernel/index.js'
import type { Image } from './image.js'
import { referencesOf } from './codec.js'
import { sameState } from './history.js'
import { OBJECTS, objectKey } from './keys.js'

/**
 * The image as text, one file per object (Self's transporter, Smalltalk's
 * fileout), for diffing and version control:
 *
 *   image.json            {format, root, traits, lastTid}
 *   objects/000012.uvm    one object:
 *       # <WorldMorph #12>
 *       slot "parent*" {"$ref":3}
 *       slot "label" "Ready"
 *       method "greet" <<<UVM
 *       function (name) { return 'hi ' + name }
 *       UVM
 *
 * Data is one line of JSON ({"$ref": oid} for references, {"$bigint": "…"},
 * {"$bytes": base64}, {"$number": "NaN"} (also Infinity, -Infinity, -0, which JSON lacks); a record that would read as one of these is wrapped
 * in {"$object": record}); methods keep their source verbatim between heredoc
 * markers (a marker that occurs in the source is lengthened).
 *
 * Only what the root reaches is written (what `uvm check` counts as reachable: the rest is history
 * for undo, and pack removes it), and nothing in it depends on when it was written: exporting an
 * unchanged image again gives the same files, and importing them back writes nothing.
 */
export const TRANSPORT_FORMAT = 1

export interface ExportReport {
  /** Objects written: those the root reaches. */
  objects: number
  /** Objects the image holds that nothing reaches (left out). */
  unreachable: number
  /** With `force`: object files of the earlier export that this one did not write again, removed. */
  removed: number
}

/**
 * Write the image out into `dir`, which must be new, empty, or (with `force`) an earlier export:
 * then its object files are replaced and the stale ones removed; nothing else in the folder (a
 * .git, a README) is touched. A folder that holds anything but an export is refused, force or not.
 */
export async function exportImage(image: Image, dir: string, opts: { force?: boolean; onProgress?: (n: number) => void } = {}): Promise<ExportReport> {
  const earlier = await exportFolder(dir, opts.force === true)
  await mkdir(join(dir, 'objects'), { recursive: true })
  const written = new Set<string>()
  const seen = new Set<number>([image.root.oid])
  const stack = [image.root.oid]
  while (stack.length > 0) {
    const oid = stack.pop()!
    const raw = await image.store.get(objectKey(oid))
    if (raw === undefined) continue // dangling: `uvm check` reports it
    const state = image.codec.decodeState(raw, oid)
    const name = fileName(oid)
    await writeFile(join(dir, 'objects', name), objectText(oid, state))
    written.add(name)
    if (written.size % 1000 === 0) opts.onProgress?.(written.size)
    for (const ref of referencesOf(state)) {
      if (!seen.has(ref.oid)) { seen.add(ref.oid); stack.push(ref.oid) }
    }
  }
  let removed = 0
  for (const f of earlier) {
    if (written.has(f)) continue
    await rm(join(dir, 'objects', f), { force: true })
    removed++
  }
  const manifest = { format: TRANSPORT_FORMAT, root: image.root.oid, traits: image.traits.oid, lastTid: image.lastTid }
  await writeFile(join(dir, 'image.json'), JSON.stringify(manifest, null, 2) + '\n')
  let total = 0
  for await (const _ of image.store.keys(OBJECTS)) total++
  return { objects: written.size, unreachable: Math.max(0, total - written.size), removed }
}

const OBJECT_FILE = /^\d+\.uvm$/

/**
 * Write an export made elsewhere (a daemon's, sent as file texts) into `dir`, by the same folder
 * rules as `exportImage`. Only image.json and objects/N.uvm are written: a name that is anything
 * else (a path that climbs out of `dir`) is refused before a byte is written.
 */
export async function writeExport(dir: string, files: Record<string, string>, opts: { force?: boolean } = {}): Promise<{ removed: number }> {
  const bad = Object.keys(files).find((name) => name !== 'image.json' && !(name.startsWith('objects/') && OBJECT_FILE.test(name.slice(8))))
  if (bad !== undefined) throw new UvmError('IMAGE_BAD_FORMAT', `the export holds a file named "${bad.slice(0, 80)}", which is not part of an export: nothing was written`, { path: dir })
  if (files['image.json'] === undefined) throw new UvmError('IMAGE_BAD_FORMAT', 'the export has no image.json: nothing was written', { path: dir })
  const earlier = await exportFolder(dir, opts.force === true)
  await mkdir(join(dir, 'objects'), { recursive: true })
  const written = new Set<string>()
  for (const [name, text] of Object.entries(files)) {
    if (name === 'image.json') continue
    await writeFile(join(dir, 'objects', name.slice(8)), text)
    written.add(name.slice(8))
  }
  let removed = 0
  for (const f of earlier) {
    if (written.has(f)) continue
    await rm(join(dir, 'objects', f), { force: true })
    removed++
  }
  // The manifest last, as exportImage writes it: a folder cut short holds no manifest of a whole export.
  await writeFile(join(dir, 'image.json'), files['image.json'])
  return { removed }
}

/** Check the folder an export goes to; the object files of the earlier export it holds (with `force`). */
async function exportFolder(dir: string, force: boolean): Promise<string[]> {
  let entries: string[]
  try {
    if (!(await stat(dir)).isDirectory()) throw new UvmError('IMAGE_EXPORT_FOLDER', `${dir} is a file; an export is a folder (give a new or empty folder)`, { path: dir })
    entries = await readdir(dir)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw e
  }
  if (entries.length === 0) return []
  if (!(await isExport(dir))) {
    const shown = entries.sort().slice(0, 3).join(', ') + (entries.length > 3 ? `, … (${entries.length} entries)` : '')
    throw new UvmError('IMAGE_EXPORT_FOLDER', `${dir} is not empty and holds no export (${shown}); give a new or empty folder (--force replaces only an earlier export)`, { path: dir })
  }
  // An export writes and removes files only inside its own folder: a link out of it is refused, never followed.
  for (const name of ['image.json', 'objects']) {
    const st = await lstat(join(dir, name)).catch(() => undefined)
    if (st?.isSymbolicLink()) throw new UvmError('IMAGE_EXPORT_FOLDER', `${join(dir, name)} is a symbolic link: an export writes only inside its own folder, so it refuses to follow it (remove the link, or give a new or empty folder)`, { path: dir })
  }
  const files = existsSync(join(dir, 'objects')) ? (await readdir(join(dir, 'objects'))).filter((f) => OBJECT_FILE.test(f)) : []
  for (const f of files) {
    if ((await lstat(join(dir, 'objects', f))).isSymbolicLink()) throw new UvmError('IMAGE_EXPORT_FOLDER', `${join(dir, 'objects', f)} is a symbolic link: an export writes only inside its own folder, so it refuses to follow it`, { path: dir })
  }
  if (!force) throw new UvmError('IMAGE_EXPORT_FOLDER', `${dir} holds an earlier export (${files.length} object file${files.length === 1 ? '' : 's'}); --force replaces it, or give a new or empty folder`, { path: dir })
  return files
}

async function isExport(dir: string): Promise<boolean> {
  try {
    const m = JSON.parse(await readFile(join(dir, 'image.json'), 'utf8')) as { format?: unknown; root?: unknown }
    return typeof m.format === 'number' && typeof m.root === 'number'
  } catch {
    return false
  }
}

export interface ImportReport {
  /** Object files read. */
  objects: number
  /** Objects the import wrote (changed or new). */
  written: number
  /** Objects the image already held as the export has them: not written. */
  unchanged: number
  /** The import's transaction; undefined when it wrote nothing. */
  tid: number | undefined
}

/**
 * Read an export back into `image` as ONE transaction: every object in the folder that differs
 * from the object with the same oid replaces it (new oids are created; a new object nothing
 * reaches is left out, as any commit leaves it). Re-importing an unchanged export writes nothing.
 * The image's root and traits must be the export's (true of every image born by this UVM).
 * Errors name the file and line; nothing is written on error.
 */
export async function importImage(image: Image, dir: string): Promise<ImportReport> {
  let manifest: { format?: number; root?: number; traits?: number }
  try {
    manifest = JSON.parse(await readFile(join(dir, 'image.json'), 'utf8'))
  } catch (e) {
    throw new UvmError('IMAGE_BAD_FORMAT', `${dir} is not a UVM export (image.json: ${(e as Error).message})`)
  }
  if (manifest.format !== TRANSPORT_FORMAT) throw new UvmError('IMAGE_BAD_FORMAT', `${dir}: export format ${manifest.format}; this UVM reads format ${TRANSPORT_FORMAT}`)
  if (manifest.root !== image.root.oid || manifest.traits !== image.traits.oid) {
    throw new UvmError('IMAGE_BAD_FORMAT', `${dir} has root #${manifest.root} and traits #${manifest.traits}; this image has #${image.root.oid} and #${image.traits.oid}`)
  }
  const files = (await readdir(join(dir, 'objects'))).filter((f) => f.endsWith('.uvm')).sort()
  const states = new Map<number, State>()
  for (const f of files) {
    const oid = Number(f.slice(0, -4))
    if (!Number.isInteger(oid) || oid < 0) throw new UvmError('IMAGE_BAD_FORMAT', `objects/${f}: the file name must be an oid (e.g. 000012.uvm)`)
    states.set(oid, parseObject(await readFile(join(dir, 'objects', f), 'utf8'), `objects/${f}`, (o) => image.handle(o)))
  }
  for (const [oid, state] of states) {
    for (const v of state.slots.values()) checkRefs(v, (ref) => {
      if (!states.has(ref.oid) && !image.exists(ref)) throw new UvmError('IMAGE_DANGLING', `objects/${fileName(oid)} refers to #${ref.oid}, which is neither in the export nor in the image`)
    })
  }
  const tx = image.begin({ description: `import ${dir}`, ext: { import: dir } })
  try {
    let unchanged = 0
    for (const [oid, state] of states) {
      const obj = image.handle(oid)
      if (image.exists(obj) && sameState(tx.read(obj), state)) unchanged++
      else tx.install(oid, state)
    }
    const info = await tx.commit()
    return { objects: states.size, written: info.oids.length, unchanged, tid: info.tid }
  } finally {
    tx.abort()
  }
}

const fileName = (oid: number) => String(oid).padStart(6, '0') + '.uvm'

function objectText(oid: number, state: State): string {
  const lines = [`# object #${oid}`]
  for (const [name, value] of state.slots) {
    if (value instanceof Method) {
      let marker = 'UVM'
      while (value.source.split('\n').some((l) => l.trim() === marker)) marker += '_'
      lines.push(`method ${JSON.stringify(name)} <<<${marker}`, value.source, marker)
    } else if (value instanceof Primitive) {
      lines.push(`primitive ${JSON.stringify(name)} ${JSON.stringify(value.name)}`)
    } else {
      lines.push(`slot ${JSON.stringify(name)} ${JSON.stringify(toJson(value))}`)
    }
  }
  return lines.join('\n') + '\n'
}

function parseObject(text: string, file: string, handle: (oid: number) => Obj): State {
  const slots = new Map<string, SlotValue>()
  const lines = text.split('\n')
  const bad = (i: number, why: string) => new UvmError('IMAGE_BAD_FORMAT', `${file}:${i + 1}: ${why}`)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line.trim() === '' || line.startsWith('#')) continue
    const m = /^(slot|method|primitive) ("(?:[^"\\]|\\.)*") (.*)$/.exec(line)
    if (!m) throw bad(i, 'expected `slot "name" JSON`, `method "name" <<<MARKER` or `primitive "name" "prim"`')
    let name: string
    try { name = JSON.parse(m[2]!) as string } catch { throw bad(i, 'the slot name is not a JSON string') }
    if (m[1] === 'method') {
      const marker = /^<<<(\S+)$/.exec(m[3]!)?.[1]
      if (!marker) throw bad(i, 'a method line ends with <<<MARKER')
      const end = lines.findIndex((l, j) => j > i && l === marker)
      if (end < 0) throw bad(i, `no closing ${marker} line for method ${m[2]}`)
      slots.set(name, new Method(lines.slice(i + 1, end).join('\n')))
      i = end
      continue
    }
    let json: unknown
    try { json = JSON.parse(m[3]!) } catch (e) { throw bad(i, `invalid JSON: ${(e as Error).message}`) }
    if (m[1] === 'primitive') {
      if (typeof json !== 'string') throw bad(i, 'a primitive is named by a JSON string')
      slots.set(name, new Primitive(json))
    } else {
      slots.set(name, fromJson(json, handle) as SlotValue)
    }
  }
  return new State(slots)
}

function toJson(v: unknown): unknown {
  if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) return { $number: Object.is(v, -0) ? '-0' : String(v) } // JSON has no NaN, Infinity or -0
  if (v === null || typeof v !== 'object') return typeof v === 'bigint' ? { $bigint: v.toString() } : v
  if (v instanceof Obj) return { $ref: v.oid }
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('base64') }
  if (Array.isArray(v)) return v.map(toJson)
  const out: Record<string, unknown> = {}
  const keys = Object.keys(v)
  for (const k of keys) Object.defineProperty(out, k, { value: toJson((v as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true })
  // A record that would read back as a tag ({"$ref": 2} as data, not a reference) is wrapped: {"$object": {...}}.
  return keys.length === 1 && TAGS.has(keys[0]!) ? { $object: out } : out
}

const TAGS = new Set(['$ref', '$bigint', '$bytes', '$number', '$object'])
const SPECIAL_NUMBERS: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 }

function fromJson(v: unknown, handle: (oid: number) => Obj): unknown {
  if (v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) return Object.freeze(v.map((x) => fromJson(x, handle)))
  const keys = Object.keys(v)
  const rec = v as Record<string, unknown>
  if (keys.length === 1 && typeof rec.$ref === 'number') return handle(rec.$ref)
  if (keys.length === 1 && typeof rec.$bigint === 'string') return BigInt(rec.$bigint)
  if (keys.length === 1 && typeof rec.$bytes === 'string') return new Uint8Array(Buffer.from(rec.$bytes, 'base64'))
  if (keys.length === 1 && typeof rec.$number === 'string' && Object.hasOwn(SPECIAL_NUMBERS, rec.$number)) return SPECIAL_NUMBERS[rec.$number]
  const fields = keys.length === 1 && rec.$object !== null && typeof rec.$object === 'object' && !Array.isArray(rec.$object) ? rec.$object as Record<string, unknown> : rec
  const out: Record<string, unknown> = Object.create(null)
  for (const k of Object.keys(fields)) out[k] = fromJson(fields[k], handle)
  return Object.freeze(out)
}

function checkRefs(v: unknown, f: (o: Obj) => void): void {
  if (v instanceof Obj) f(v)
  else if (Array.isArray(v)) v.forEach((x) => checkRefs(x, f))
  else if (v !== null && typeof v === 'object' && !(v instanceof Method) && !(v instanceof Primitive) && !(v instanceof Uint8Array)) {
    for (const k of Object.keys(v)) checkRefs((v as Record<string, unknown>)[k], f)
  }
}
