import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { UvmError } from '../errors.js'
import { Method, Obj, Primitive, State } from '../kernel/index.js'
import type { SlotValue } from '../kernel/index.js'
import type { Image } from './image.js'
import { OBJECTS, oidOfObjectKey } from './keys.js'

/**
 * The image as text, one file per object (Self's transporter, Smalltalk's
 * fileout), for diffing and version control:
 *
 *   image.json            {format, root, traits, nextOid, exportedAt, lastTid}
 *   objects/000012.uvm    one object:
 *       # <WorldMorph #12>
 *       slot "parent*" {"$ref":3}
 *       slot "label" "Ready"
 *       method "greet" <<<UVM
 *       function (name) { return 'hi ' + name }
 *       UVM
 *
 * Data is one line of JSON ({"$ref": oid} for references, {"$bigint": "…"},
 * {"$bytes": base64}; a record that would read as one of these is wrapped
 * in {"$object": record}); methods keep their source verbatim between heredoc
 * markers (a marker that occurs in the source is lengthened).
 */
export const TRANSPORT_FORMAT = 1

export async function exportImage(image: Image, dir: string, onProgress?: (n: number) => void): Promise<{ objects: number }> {
  await mkdir(join(dir, 'objects'), { recursive: true })
  let n = 0
  for await (const [key, raw] of image.store.entries(OBJECTS)) {
    const oid = oidOfObjectKey(key)
    const state = image.codec.decodeState(raw, oid)
    await writeFile(join(dir, 'objects', fileName(oid)), objectText(oid, state))
    if (++n % 1000 === 0) onProgress?.(n)
  }
  const manifest = { format: TRANSPORT_FORMAT, root: image.root.oid, traits: image.traits.oid, lastTid: image.lastTid, exportedAt: new Date().toISOString() }
  await writeFile(join(dir, 'image.json'), JSON.stringify(manifest, null, 2) + '\n')
  return { objects: n }
}

/**
 * Read an export back into `image` as ONE transaction: every object in the
 * folder replaces the object with the same oid (new oids are created). The
 * image's root and traits must be the export's (true of every image born by
 * this UVM). Errors name the file and line; nothing is written on error.
 */
export async function importImage(image: Image, dir: string): Promise<{ objects: number; tid: number | undefined }> {
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
    for (const [oid, state] of states) tx.install(oid, state)
    const info = await tx.commit()
    return { objects: states.size, tid: info.tid }
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

const TAGS = new Set(['$ref', '$bigint', '$bytes', '$object'])

function fromJson(v: unknown, handle: (oid: number) => Obj): unknown {
  if (v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) return Object.freeze(v.map((x) => fromJson(x, handle)))
  const keys = Object.keys(v)
  const rec = v as Record<string, unknown>
  if (keys.length === 1 && typeof rec.$ref === 'number') return handle(rec.$ref)
  if (keys.length === 1 && typeof rec.$bigint === 'string') return BigInt(rec.$bigint)
  if (keys.length === 1 && typeof rec.$bytes === 'string') return new Uint8Array(Buffer.from(rec.$bytes, 'base64'))
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
