import type { State } from '../kernel/index.js'
import { Method, Primitive, sameData } from '../kernel/index.js'
import type { Image } from './image.js'
import { TRANSACTIONS, objectKey, revisionKey, txKey } from './keys.js'
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

/** The revision of object `oid` that transaction `serial` wrote, if it is still kept (current or earlier). */
export function revisionAt(image: Image, oid: number, serial: number): State | undefined {
  const raw = image.store.getSync(revisionKey(oid, serial))
  if (raw !== undefined) return image.codec.decodeState(raw, oid)
  const now = image.store.getSync(objectKey(oid))
  if (now === undefined) return undefined
  const s = image.codec.decodeState(now, oid)
  return s.serial === serial ? s : undefined
}

/** Two revisions hold the same slots, in the same order, with the same values (what undo compares). */
export function sameState(a: State, b: State): boolean {
  if (a === b) return true
  if (a.slots.size !== b.slots.size) return false
  const bs = b.slots.entries()
  for (const [name, value] of a.slots) {
    const [otherName, other] = bs.next().value as [string, unknown]
    if (name !== otherName || !sameSlotValue(value, other)) return false
  }
  return true
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
