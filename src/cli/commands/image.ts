import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { UvmError } from '../../errors.js'
import type { Image } from '../../image/index.js'
import { intOption, parse } from '../args.js'
import type { CommandSpec, Io } from '../usage.js'
import { UsageError } from '../usage.js'
import { progressBar } from '../progress.js'

export const imageOption = { image: { type: 'string' } } as const
export const imageHelp: [string, string] = ['--image PATH', 'the image folder (env UVM_IMAGE; default ./image.db); the daemon must be stopped']

/** Open an existing image for an offline command (never creates one by accident). */
export async function withImage<T>(values: { image?: string }, io: Io, command: string, f: (image: Image) => Promise<T>, create = false): Promise<T> {
  const path = resolve(values.image ?? io.env.UVM_IMAGE ?? './image.db')
  if (!create && !existsSync(join(path, 'CURRENT'))) throw new UsageError(`no image at ${path} (\`uvm boot\` creates one)`, command)
  const { openImage } = await import('../../index.js')
  const { image } = await openImage(path)
  try {
    return await f(image)
  } finally {
    await image.close()
  }
}

function asJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2))
}

export const history: CommandSpec = {
  name: 'history',
  summary: 'list the newest transactions: tid, time, user, description',
  usage: 'uvm history [--limit N] [--image PATH] [--json]',
  options: [['--limit N', 'how many (default 20)'], imageHelp, ['--json', 'machine-readable output']],
  async run(argv, io) {
    const { values } = parse(argv, { ...imageOption, limit: { type: 'string' }, json: { type: 'boolean' } }, 'history', false)
    const limit = intOption(values.limit, 'limit', 'history', 1) ?? 20
    return withImage(values, io, 'history', async (image) => {
      const txs = await image.transactions({ limit })
      if (values.json) asJson(io, txs)
      else for (const t of txs) io.out(`${String(t.tid).padStart(6)}  ${new Date(t.time).toISOString()}  ${t.user.padEnd(8)}  ${t.description}${t.oids.length ? `  (${plural(t.oids.length, 'object')})` : ''}`)
      return 0
    })
  },
}

export const undo: CommandSpec = {
  name: 'undo',
  summary: 'undo a transaction (a new transaction puts back what it changed)',
  usage: 'uvm undo TID [--image PATH]',
  options: [imageHelp],
  async run(argv, io) {
    const { values, positionals } = parse(argv, imageOption, 'undo')
    if (positionals.length !== 1) throw new UsageError('expected one TID (see `uvm history`)', 'undo')
    const tid = Number(positionals[0])
    if (!Number.isInteger(tid) || tid < 1) throw new UsageError(`TID is a whole number ≥ 1 (see \`uvm history\`), got "${positionals[0]}"`, 'undo')
    return withImage(values, io, 'undo', async (image) => {
      const info = await image.undo(tid)
      io.out(`undid transaction ${tid} as transaction ${info.tid} (${info.oids.length} object${info.oids.length === 1 ? '' : 's'} restored)`)
      return 0
    })
  },
}

export const pack: CommandSpec = {
  name: 'pack',
  summary: 'drop old revisions and unreachable objects',
  usage: 'uvm pack [--before TID|AGE] [--image PATH]    AGE: 30m, 12h, 7d',
  options: [['--before TID|AGE', 'keep what readers at or after this point can see (default: now, all history goes)'], imageHelp],
  async run(argv, io) {
    const { values } = parse(argv, { ...imageOption, before: { type: 'string' } }, 'pack', false)
    return withImage(values, io, 'pack', async (image) => {
      const before = await packPoint(image, values.before)
      const bar = progressBar(io)
      const report = await image.pack({ ...(before !== undefined && { before }), onProgress: (p) => bar(p.phase, p.done, p.total) })
      bar.done()
      io.out(`packed before tid ${report.before}: removed ${plural(report.revisionsRemoved, 'old revision')} and ${plural(report.objectsRemoved, 'unreachable object')}; ${plural(report.objectsKept, 'object')} kept`)
      return 0
    })
  },
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`

async function packPoint(image: Image, before: string | undefined): Promise<number | undefined> {
  if (before === undefined) return undefined
  if (/^\d+$/.test(before)) {
    const tid = Number(before)
    // A tid past the next one names no point in the history: a typo, not "pack everything".
    if (tid < 1 || tid > image.lastTid + 1) throw new UsageError(`--before ${before}: the last transaction is ${image.lastTid}; give a tid from 1 to ${image.lastTid + 1} (${image.lastTid + 1}, like no --before, drops all history) or an age such as 7d`, 'pack')
    return tid
  }
  const m = /^(\d+)(s|m|h|d|w)$/.exec(before)
  if (!m) throw new UsageError(`--before takes a tid or an age such as 30m, 12h, 7d; got "${before}"`, 'pack')
  const ms = Number(m[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 }[m[2] as 's']
  const cutoff = Date.now() - ms
  // The first transaction younger than the cutoff: everything it and later ones need stays.
  let first: number | undefined
  for (const t of await image.transactions()) {
    if (t.time >= cutoff) first = t.tid
    else break
  }
  return first ?? image.lastTid + 1
}

export const check: CommandSpec = {
  name: 'check',
  summary: 'walk the image: dangling references and undecodable records, with counts',
  usage: 'uvm check [--image PATH] [--json]',
  options: [imageHelp, ['--json', 'machine-readable output']],
  async run(argv, io) {
    const { values } = parse(argv, { ...imageOption, json: { type: 'boolean' } }, 'check', false)
    return withImage(values, io, 'check', async (image) => {
      const r = await image.check()
      if (values.json) asJson(io, r)
      else {
        io.out(`${r.ok ? 'ok' : 'PROBLEMS'}: ${r.objects} objects (${r.reachable} reachable, ${r.unreachable} unreachable), ${r.revisions} old revisions, ${r.transactions} transactions`)
        io.out(`dangling references: ${r.danglingCount}; undecodable records: ${r.undecodableCount}`)
        for (const d of r.dangling) io.out(`  dangling: #${d.from} → #${d.to}`)
        for (const u of r.undecodable) io.out(`  undecodable: #${u.oid}: ${u.error}`)
      }
      return r.ok ? 0 : 1
    })
  },
}

export const exportCmd: CommandSpec = {
  name: 'export',
  summary: 'write what the image reaches out as text, one file per object (for diffs and version control)',
  usage: 'uvm export [DIR] [--force] [--image PATH]    (default DIR: ./image-export)',
  options: [['--force', 'DIR holds an earlier export: replace its object files, remove the stale ones (nothing else in DIR is touched)'], imageHelp],
  async run(argv, io) {
    const { values, positionals } = parse(argv, { ...imageOption, force: { type: 'boolean' } }, 'export')
    if (positionals.length > 1) throw new UsageError('expected at most one DIR', 'export')
    const dir = resolve(positionals[0] ?? './image-export')
    return withImage(values, io, 'export', async (image) => {
      const { exportImage } = await import('../../image/index.js')
      let report
      try {
        report = await exportImage(image, dir, { force: values.force === true })
      } catch (e) {
        // A folder that is not for an export is how the command was called, like any bad argument.
        if (e instanceof UvmError && e.code === 'IMAGE_EXPORT_FOLDER') throw new UsageError(e.message, 'export')
        throw e
      }
      const notes = [
        ...(report.removed > 0 ? [`removed ${plural(report.removed, 'stale object file')} of the earlier export`] : []),
        ...(report.unreachable > 0 ? [`left out ${plural(report.unreachable, 'object')} nothing reaches (\`uvm pack\` removes ${report.unreachable === 1 ? 'it' : 'them'})`] : []),
      ]
      io.out(`exported ${plural(report.objects, 'object')} to ${dir}${notes.length ? `; ${notes.join('; ')}` : ''}`)
      return 0
    })
  },
}

export const importCmd: CommandSpec = {
  name: 'import',
  summary: 'read an export back into the image, as one transaction (creates the image if missing)',
  usage: 'uvm import DIR [--image PATH]',
  options: [imageHelp],
  async run(argv, io) {
    const { values, positionals } = parse(argv, imageOption, 'import')
    if (positionals.length !== 1) throw new UsageError('expected the DIR written by `uvm export`', 'import')
    const dir = resolve(positionals[0]!)
    if (!existsSync(join(dir, 'image.json'))) throw new UsageError(`${dir} is not an export (no image.json)`, 'import')
    return withImage(values, io, 'import', async (image) => {
      const { importImage } = await import('../../image/index.js')
      const r = await importImage(image, dir)
      const left = r.objects - r.written - r.unchanged
      const notes = [
        ...(r.unchanged > 0 ? [`${r.unchanged} unchanged`] : []),
        ...(left > 0 ? [`${left} left out: nothing reaches ${left === 1 ? 'it' : 'them'}`] : []),
      ]
      if (r.tid === undefined) io.out(`imported ${plural(r.objects, 'object')} from ${dir}: the image holds ${r.objects === 1 ? 'it' : 'them'} as ${r.objects === 1 ? 'it is' : 'they are'} already, nothing written`)
      else io.out(`imported ${plural(r.objects, 'object')} from ${dir} as transaction ${r.tid} (${r.written} written${notes.length ? `, ${notes.join(', ')}` : ''})`)
      return 0
    }, true)
  },
}

export const imageCommands = [history, undo, pack, check, exportCmd, importCmd]
