import { UndoRefused, UvmError } from '../errors.js'
import type { State } from '../kernel/index.js'
import { Method, Primitive, sameData } from '../kernel/index.js'
import type { Image } from './image.js'
import { TRANSACTIONS, objectKey, revisionKey, txKey } from './keys.js'
import type { CommitInfo, TxMeta } from './transaction.js'
import { toPlain } from './plain.js'
import type { PlainSlots } from './plain.js'

/** A transaction record as stored. */
export interface TxRecord {
  tid: number
  time: number
  user: string
  description: string
  ext: Record<string, unknown>
  oids: number[]
}

export interface Revision {
  tid: number
  time: number | undefined
  user: string | undefined
  description: string | undefined
}

export async function transactionRecord(image: Image, tid: number): Promise<TxRecord | undefined> {
  const raw = await image.store.get(txKey(tid))
  return raw === undefined ? undefined : image.codec.unpack(raw) as TxRecord
}

/** The newest transactions first (at most `limit`, only those before `before` if given). */
export async function transactions(image: Image, opts: { limit?: number; before?: number } = {}): Promise<TxRecord[]> {
  const out: TxRecord[] = []
  const lt = opts.before !== undefined ? txKey(opts.before) : TRANSACTIONS.lt
  for await (const [, v] of image.store.entries({ gte: TRANSACTIONS.gte, lt, reverse: true, limit: opts.limit ?? -1 })) {
    out.push(image.codec.unpack(v) as TxRecord)
  }
  return out
}

/** Decode the stored revision chain of one object, newest first. */
async function revisions(image: Image, oid: number): Promise<State[]> {
  const out: State[] = []
  const current = await image.store.get(objectKey(oid))
  if (current === undefined) return out
  let s = image.codec.decodeState(current, oid)
  out.push(s)
  while (s.prevSerial !== 0) {
    const raw = await image.store.get(revisionKey(oid, s.prevSerial))
    if (raw === undefined) break // packed away
    s = image.codec.decodeState(raw, oid)
    out.push(s)
  }
  return out
}

/** An object's revisions still kept (newest first), with their transactions' metadata. */
export async function history(image: Image, oid: number, opts: { limit?: number } = {}): Promise<Revision[]> {
  const revs = await revisions(image, oid)
  const out: Revision[] = []
  for (const s of revs.slice(0, opts.limit ?? revs.length)) {
    const rec = await transactionRecord(image, s.serial)
    out.push({ tid: s.serial, time: rec?.time, user: rec?.user, description: rec?.description })
  }
  return out
}

/** The revision of an object current just before `tid` (ZODB's loadBefore); undefined if there was none. */
export async function loadBefore(image: Image, oid: number, tid: number): Promise<{ serial: number; slots: PlainSlots } | undefined> {
  for (const s of await revisions(image, oid)) {
    if (s.serial < tid) return { serial: s.serial, slots: toPlain(s) }
  }
  return undefined
}

/**
 * The transaction that last wrote `slot` of object `oid`: the oldest revision of the newest run of
 * revisions holding the same value (undefined: the slot is missing, or the run goes back past what
 * pack kept). Reads the revision chain: for inspection, not for hot paths.
 */
export async function slotWriter(image: Image, oid: number, slot: string): Promise<number | undefined> {
  const revs = await revisions(image, oid)
  if (revs.length === 0 || !revs[0]!.slots.has(slot)) return undefined
  const now = revs[0]!.slots.get(slot)
  let writer = revs[0]!
  for (let i = 1; i < revs.length; i++) {
    const r = revs[i]!
    if (!r.slots.has(slot) || !sameSlotValue(r.slots.get(slot), now)) return writer.serial
    writer = r
  }
  // The run reaches the oldest revision kept: it wrote the slot if nothing before it was packed away.
  return writer.prevSerial === 0 ? writer.serial : undefined
}

function sameSlotValue(a: unknown, b: unknown): boolean {
  if (a instanceof Method || b instanceof Method) return a instanceof Method && b instanceof Method && a.source === b.source
  if (a instanceof Primitive || b instanceof Primitive) return a instanceof Primitive && b instanceof Primitive && a.name === b.name
  return sameData(a, b)
}

/**
 * Undo transaction `tid` the ZODB way: a new transaction that puts back, for
 * every object `tid` wrote, the revision before it. Refused when a later
 * transaction changed one of those objects, or when the earlier revision was
 * packed. Objects that `tid` created are left as they are: the referrers it
 * changed are restored, so they become unreachable and go at the next pack.
 */
export async function undo(image: Image, tid: number, meta: TxMeta = {}): Promise<CommitInfo> {
  const rec = await transactionRecord(image, tid)
  if (rec === undefined) throw new UvmError('IMAGE_UNKNOWN_TID', `no transaction ${tid} in ${image.location}`, { tid })
  const tx = image.begin({ description: `undo ${tid}${rec.description ? `: ${rec.description}` : ''}`, ...meta, ext: { undo: tid, ...meta.ext } })
  try {
    for (const oid of rec.oids) {
      const obj = image.handle(oid)
      if (!image.exists(obj)) continue
      const current = tx.read(obj)
      if (current.serial !== tid) {
        throw new UndoRefused(`object #${oid} was changed again by transaction ${current.serial}; undo that first`, tid)
      }
      if (current.prevSerial === 0) continue
      const raw = image.store.getSync(revisionKey(oid, current.prevSerial))
      if (raw === undefined) throw new UndoRefused(`the revision of object #${oid} before it was packed away`, tid)
      tx.restore(obj, image.codec.decodeState(raw, oid))
    }
    return await tx.commit()
  } finally {
    tx.abort()
  }
}
