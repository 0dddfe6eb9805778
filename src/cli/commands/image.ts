import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { UvmError } from '../../errors.js'
import type { CheckReport, Image, PackReport, TxRecord } from '../../image/index.js'
import { accessHelp, accessOptions, imagePath, openLocal, withImageAccess } from '../image-access.js'
import { intOption, parse, tidArgument, wholeNumber } from '../args.js'
import type { CommandSpec, Io } from '../usage.js'
import { UsageError } from '../usage.js'
import { progressBar } from '../progress.js'
import { printable } from '../format.js'

export const imageOption = { image: { type: 'string' } } as const
export const imageHelp: [string, string] = ['--image PATH', 'the image folder (env UVM_IMAGE; default ./image.db); the daemon must be stopped']

/** Open an image in this process for an offline command; only `create` (import) makes one where there is none. */
export async function withImage<T>(values: { image?: string }, io: Io, command: string, f: (image: Image) => Promise<T>, create = false): Promise<T> {
  const path = imagePath(values, io)
  if (!create && !existsSync(join(path, 'CURRENT'))) throw new UsageError(`no image at ${path} (\`uvm boot\` creates one)`, command)
  const { image } = await openLocal(path, command)
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
      else for (const t of txs) io.out(`${String(t.tid).padStart(6)}  ${new Date(t.time).toISOString()}  ${printable(t.user).padEnd(8)}  ${printable(t.description)}${t.oids.length ? `  (${plural(t.oids.length, 'object')})` : ''}`)
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
    const tid = tidArgument(positionals[0], 'undo')
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
    // A tid past the next one names no point in the history: a typo, not "pack everything".
    const refused = (e: unknown): never => {
      if ((e as { code?: unknown }).code === 'IMAGE_UNKNOWN_TID') throw new UsageError(`--before ${values.before}: ${(e as Error).message.replace(/^[^:]*: /, '')}`, 'pack')
      throw e
    }
    return withImageAccess(values, io, 'pack', LONG_MS,
      async (image) => {
        const { tidSince } = await import('../../bridge/index.js')
        if (point !== undefined && 'tid' in point && (point.tid < 1 || point.tid > image.lastTid + 1)) {
          throw new UsageError(`--before ${values.before}: the last transaction is ${image.lastTid}; give a tid from 1 to ${image.lastTid + 1} (${image.lastTid + 1}, like no --before, drops all history) or an age such as 7d`, 'pack')
        }
        const before = point === undefined ? undefined : 'tid' in point ? point.tid : await tidSince(image, point.since)
        const bar = progressBar(io)
        const report = await image.pack({ ...(before !== undefined && { before }), onProgress: (p) => bar(p.phase, p.done, p.total) })
        bar.done()
        return done(report)
      },
      async (client) => {
        if (point !== undefined && 'tid' in point && point.tid < 1) throw new UsageError(`--before ${values.before}: a tid is a whole number from 1 to the last tid + 1, or give an age such as 7d`, 'pack')
        const r = await client.call({ command: 'pack', ...(point !== undefined && ('tid' in point ? { before: point.tid } : { before_time: point.since })) }, 'packed').catch(refused)
        return done({ before: r.before, revisionsRemoved: r.revisions_removed, objectsRemoved: r.objects_removed, objectsKept: r.objects_kept })
      })
  },
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`

/** --before: a tid, or an age (the time it names, for the image to turn into a tid). */
function packArgument(before: string | undefined): { tid: number } | { since: number } | undefined {
  if (before === undefined) return undefined
  if (/^\d+$/.test(before)) {
    const tid = wholeNumber(before)
    // Past what a double holds: no tid, whatever the image (the image's last tid is checked where it is known).
    if (tid === undefined) throw new UsageError(`--before ${before}: a tid is a whole number from 1 to the last tid + 1, or give an age such as 7d`, 'pack')
    return { tid }
  }
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
  summary: 'write what the image reaches out as text, one file per object (for diffs and version control)',
  usage: 'uvm export [DIR] [--force] [--image PATH | --connect ADDR]    (default DIR: ./image-export)',
  options: [['--force', 'DIR holds an earlier export: replace its object files, remove the stale ones (nothing else in DIR is touched)'], ...accessHelp],
  async run(argv, io) {
    const { values, positionals } = parse(argv, { ...accessOptions, force: { type: 'boolean' } }, 'export')
    if (positionals.length > 1) throw new UsageError('expected at most one DIR', 'export')
    const dir = resolve(positionals[0] ?? './image-export')
    const force = values.force === true
    const done = (report: { objects: number; unreachable: number; removed: number }) => {
      const notes = [
        ...(report.removed > 0 ? [`removed ${plural(report.removed, 'stale object file')} of the earlier export`] : []),
        ...(report.unreachable > 0 ? [`left out ${plural(report.unreachable, 'object')} nothing reaches (\`uvm pack\` removes ${report.unreachable === 1 ? 'it' : 'them'})`] : []),
      ]
      io.out(`exported ${plural(report.objects, 'object')} to ${dir}${notes.length ? `; ${notes.join('; ')}` : ''}`)
      return 0
    }
    // A folder that is not for an export is how the command was called, like any bad argument.
    const folderRefused = (e: unknown): never => {
      if (e instanceof UvmError && e.code === 'IMAGE_EXPORT_FOLDER') throw new UsageError(e.message, 'export')
      throw e
    }
    const { exportImage, writeExport } = await import('../../image/index.js')
    return withImageAccess(values, io, 'export', LONG_MS,
      async (image) => done(await exportImage(image, dir, { force }).catch(folderRefused)),
      async (client) => {
        const r = await client.call({ command: 'export' }, 'export')
        const { removed } = await writeExport(dir, r.files, { force }).catch(folderRefused)
        return done({ objects: r.objects, unreachable: r.unreachable ?? 0, removed })
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
