import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { CheckReport, Image, PackReport, TxRecord } from '../../image/index.js'
import { exportImage, importImage } from '../../image/index.js'
import { tidSince } from '../../bridge/index.js'
import { accessHelp, accessOptions, imagePath, openLocal, withImageAccess } from '../image-access.js'
import { intOption, parse } from '../args.js'
import type { CommandSpec, Io } from '../usage.js'
import { UsageError } from '../usage.js'
import { progressBar } from '../progress.js'

const imageOption = { image: { type: 'string' } } as const
const imageHelp: [string, string] = ['--image PATH', 'the image folder (env UVM_IMAGE; default ./image.db); the daemon must be stopped']

/** Open an image for an offline command that may create one (import). */
async function withImage<T>(values: { image?: string }, io: Io, command: string, f: (image: Image) => Promise<T>): Promise<T> {
  const { image } = await openLocal(imagePath(values, io), command)
  try {
    return await f(image)
  } finally {
    await image.close()
  }
}

/** Through a daemon: a reply may take as long as the work (a walk, a pack, an export of a large image). */
const LONG_MS = 600_000
const SHORT_MS = 10_000

function asJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2))
}

export const history: CommandSpec = {
  name: 'history',
  summary: 'list the newest transactions: tid, time, user, description',
  usage: 'uvm history [--limit N] [--image PATH | --connect ADDR] [--json]',
  options: [['--limit N', 'how many (default 20)'], ...accessHelp, ['--json', 'machine-readable output']],
  async run(argv, io) {
    const { values } = parse(argv, { ...accessOptions, limit: { type: 'string' }, json: { type: 'boolean' } }, 'history', false)
    const limit = intOption(values.limit, 'limit', 'history', 1) ?? 20
    const show = (txs: TxRecord[]) => {
      if (values.json) asJson(io, txs)
      else for (const t of txs) io.out(`${String(t.tid).padStart(6)}  ${new Date(t.time).toISOString()}  ${t.user.padEnd(8)}  ${t.description}${t.oids.length ? `  (${plural(t.oids.length, 'object')})` : ''}`)
      return 0
    }
    return withImageAccess(values, io, 'history', SHORT_MS,
      async (image) => show(await image.transactions({ limit })),
      async (client) => show((await client.call({ command: 'history', limit: Math.min(limit, 10_000) }, 'history')).transactions as TxRecord[]))
  },
}

export const undo: CommandSpec = {
  name: 'undo',
  summary: 'undo a transaction (a new transaction puts back what it changed)',
  usage: 'uvm undo TID [--image PATH | --connect ADDR]',
  options: accessHelp,
  async run(argv, io) {
    const { values, positionals } = parse(argv, accessOptions, 'undo')
    if (positionals.length !== 1) throw new UsageError('expected one TID (see `uvm history`)', 'undo')
    const tid = Number(positionals[0])
    if (!Number.isInteger(tid) || tid < 1) throw new UsageError(`TID is a whole number ≥ 1 (see \`uvm history\`), got "${positionals[0]}"`, 'undo')
    const done = (as: number | undefined, restored: number | undefined) => {
      io.out(`undid transaction ${tid} as transaction ${as}${restored !== undefined ? ` (${plural(restored, 'object')} restored)` : ''}`)
      return 0
    }
    return withImageAccess(values, io, 'undo', SHORT_MS,
      async (image) => { const info = await image.undo(tid); return done(info.tid, info.oids.length) },
      async (client) => {
        const ack = await client.call({ command: 'undo', tid }, 'ack')
        // The ack names the new transaction; its record says how many objects it restored.
        const recent = await client.call({ command: 'history', limit: 50 }, 'history').catch(() => undefined)
        return done(ack.tid, recent?.transactions.find((t) => t.tid === ack.tid)?.oids.length)
      })
  },
}

export const pack: CommandSpec = {
  name: 'pack',
  summary: 'drop old revisions and unreachable objects',
  usage: 'uvm pack [--before TID|AGE] [--image PATH | --connect ADDR]    AGE: 30m, 12h, 7d',
  options: [['--before TID|AGE', 'keep what readers at or after this point can see (default: now, all history goes)'], ...accessHelp],
  async run(argv, io) {
    const { values } = parse(argv, { ...accessOptions, before: { type: 'string' } }, 'pack', false)
    const point = packArgument(values.before)
    const done = (report: PackReport) => {
      io.out(`packed before tid ${report.before}: removed ${plural(report.revisionsRemoved, 'old revision')} and ${plural(report.objectsRemoved, 'unreachable object')}; ${plural(report.objectsKept, 'object')} kept`)
      return 0
    }
    return withImageAccess(values, io, 'pack', LONG_MS,
      async (image) => {
        const before = point === undefined ? undefined : 'tid' in point ? point.tid : await tidSince(image, point.since)
        const bar = progressBar(io)
        const report = await image.pack({ ...(before !== undefined && { before }), onProgress: (p) => bar(p.phase, p.done, p.total) })
        bar.done()
        return done(report)
      },
      async (client) => {
        const r = await client.call({ command: 'pack', ...(point !== undefined && ('tid' in point ? { before: point.tid } : { before_time: point.since })) }, 'packed')
        return done({ before: r.before, revisionsRemoved: r.revisions_removed, objectsRemoved: r.objects_removed, objectsKept: r.objects_kept })
      })
  },
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`

/** --before: a tid, or an age (the time it names, for the image to turn into a tid). */
function packArgument(before: string | undefined): { tid: number } | { since: number } | undefined {
  if (before === undefined) return undefined
  if (/^\d+$/.test(before)) return { tid: Number(before) }
  const m = /^(\d+)(s|m|h|d|w)$/.exec(before)
  if (!m) throw new UsageError(`--before takes a tid or an age such as 30m, 12h, 7d; got "${before}"`, 'pack')
  const ms = Number(m[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 }[m[2] as 's']
  return { since: Date.now() - ms }
}

export const check: CommandSpec = {
  name: 'check',
  summary: 'walk the image: dangling references and undecodable records, with counts',
  usage: 'uvm check [--image PATH | --connect ADDR] [--json]',
  options: [...accessHelp, ['--json', 'machine-readable output']],
  async run(argv, io) {
    const { values } = parse(argv, { ...accessOptions, json: { type: 'boolean' } }, 'check', false)
    return withImageAccess(values, io, 'check', LONG_MS, async (image) => show(await image.check()), async (client) => {
      const r = await client.call({ command: 'check' }, 'check')
      return show({ ok: r.ok, objects: r.objects, reachable: r.reachable, unreachable: r.unreachable, revisions: r.revisions, transactions: r.transactions, danglingCount: r.dangling_count, undecodableCount: r.undecodable_count, dangling: r.dangling, undecodable: r.undecodable })
    })
    function show(r: CheckReport): number {
      if (values.json) asJson(io, r)
      else {
        io.out(`${r.ok ? 'ok' : 'PROBLEMS'}: ${r.objects} objects (${r.reachable} reachable, ${r.unreachable} unreachable), ${r.revisions} old revisions, ${r.transactions} transactions`)
        io.out(`dangling references: ${r.danglingCount}; undecodable records: ${r.undecodableCount}`)
        for (const d of r.dangling) io.out(`  dangling: #${d.from} → #${d.to}`)
        for (const u of r.undecodable) io.out(`  undecodable: #${u.oid}: ${u.error}`)
      }
      return r.ok ? 0 : 1
    }
  },
}

export const exportCmd: CommandSpec = {
  name: 'export',
  summary: 'write the image out as text, one file per object (for diffs and version control)',
  usage: 'uvm export [DIR] [--image PATH | --connect ADDR]    (default DIR: ./image-export)',
  options: accessHelp,
  async run(argv, io) {
    const { values, positionals } = parse(argv, accessOptions, 'export')
    if (positionals.length > 1) throw new UsageError('expected at most one DIR', 'export')
    const dir = resolve(positionals[0] ?? './image-export')
    const done = (objects: number) => { io.out(`exported ${objects} objects to ${dir}`); return 0 }
    return withImageAccess(values, io, 'export', LONG_MS,
      async (image) => done((await exportImage(image, dir)).objects),
      async (client) => {
        const r = await client.call({ command: 'export' }, 'export')
        await writeExport(dir, r.files)
        return done(r.objects)
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
      const { objects, tid } = await importImage(image, dir)
      io.out(`imported ${objects} objects from ${dir}${tid !== undefined ? ` as transaction ${tid}` : ''}`)
      return 0
    })
  },
}

/** Write the files of an export a daemon sent: only image.json and objects/…, never a path outside `dir`. */
async function writeExport(dir: string, files: Record<string, string>): Promise<void> {
  await mkdir(join(dir, 'objects'), { recursive: true })
  for (const [name, text] of Object.entries(files)) {
    if (!/^(image\.json|objects\/[0-9]+\.uvm)$/.test(name)) throw new Error(`the daemon's export holds a file named "${name}", which is not part of an export: nothing more was written`)
    await writeFile(join(dir, ...name.split('/')), text)
  }
}

export const imageCommands = [history, undo, pack, check, exportCmd, importCmd]
