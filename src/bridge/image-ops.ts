/**
 * The image commands a client may ask a daemon for (what `uvm check`, `pack` and `export` do on a
 * stopped image): run by the Image's own methods, beside the transactions in flight.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CheckReply, ExportReply, PackCommand, PackReply, ShowReply } from '../covenant/index.js'
import { exportImage, plainToJson } from '../image/index.js'
import { UvmError } from '../errors.js'
import type { Image } from '../image/index.js'

export async function checkImage(image: Image, maxListed: number): Promise<Omit<CheckReply, 'id'>> {
  const r = await image.check({ maxListed })
  return {
    event: 'check', ok: r.ok, objects: r.objects, reachable: r.reachable, unreachable: r.unreachable, revisions: r.revisions, transactions: r.transactions,
    dangling_count: r.danglingCount, undecodable_count: r.undecodableCount, dangling: r.dangling, undecodable: r.undecodable,
  }
}

export async function packImage(image: Image, cmd: PackCommand): Promise<Omit<PackReply, 'id'>> {
  const before = cmd.before ?? (cmd.before_time !== undefined ? await tidSince(image, cmd.before_time) : undefined)
  const r = await image.pack({ ...(before !== undefined && { before }) })
  return { event: 'packed', before: r.before, revisions_removed: r.revisionsRemoved, objects_removed: r.objectsRemoved, objects_kept: r.objectsKept }
}

/** The first transaction at or after `time`: everything it and later ones need stays (none: the last tid + 1). */
export async function tidSince(image: Image, time: number): Promise<number> {
  let first: number | undefined
  for (const t of await image.transactions()) {
    if (t.time >= time) first = t.tid
    else break
  }
  return first ?? image.lastTid + 1
}

/**
 * The export's files, for the client to write where it wants: written into a scratch folder of the
 * daemon's own and read back, never into a path a client names (which would let any client write
 * files wherever the daemon may).
 */
export async function exportFiles(image: Image): Promise<Omit<ExportReply, 'id'>> {
  const dir = await mkdtemp(join(tmpdir(), 'uvm-export-'))
  try {
    const { objects, unreachable } = await exportImage(image, dir)
    const files: Record<string, string> = {}
    const walk = async (rel: string) => {
      for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
        const path = rel === '' ? e.name : `${rel}/${e.name}`
        if (e.isDirectory()) await walk(path)
        else files[path] = await readFile(join(dir, path), 'utf8')
      }
    }
    await walk('')
    return { event: 'export', objects, unreachable, files }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** What a transaction changed (`uvm show`), with its values as JSON can carry them (a client may speak JSON). */
export async function showChanges(image: Image, tid: number): Promise<Omit<ShowReply, 'id'>> {
  const c = await image.show(tid)
  if (c === undefined) throw new UvmError('IMAGE_UNKNOWN_TID', `no transaction ${tid} in the image (the last is ${image.lastTid}; see history)`, { tid })
  const slots = (s: unknown) => plainToJson(s) as Record<string, unknown>
  return {
    event: 'show',
    transaction: plainToJson(c.transaction) as ShowReply['transaction'],
    objects: c.objects.map((o) => ({
      oid: o.oid,
      created: o.created,
      ...(o.beforeTid !== undefined && { before_tid: o.beforeTid }),
      ...(o.before !== undefined && { before: slots(o.before) }),
      ...(o.after !== undefined && { after: slots(o.after) }),
      ...(o.packed === true && { packed: true as const }),
    })),
    names: Object.fromEntries(Object.entries(c.names).map(([k, v]) => [String(k), v])),
  }
}
