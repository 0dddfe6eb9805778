import type { State } from '../kernel/index.js'
import { printString } from '../kernel/index.js'
import { referencesOf } from './codec.js'
import type { Image } from './image.js'
import { revisionAt, transactionRecord } from './history.js'
import type { TxRecord } from './history.js'
import { toPlain } from './plain.js'
import type { PlainSlots } from './plain.js'

/** One object a transaction wrote: its slots before and after. */
export interface ObjectChange {
  oid: number
  /** The transaction created it: there is no `before`. */
  created: boolean
  /** The transaction that wrote the revision before (absent when created, or when pack took it). */
  beforeTid?: number
  /** Its slots just before the transaction (absent when created, or when pack took the revision). */
  before?: PlainSlots
  /** Its slots as the transaction wrote them (absent when pack took the revision). */
  after?: PlainSlots
  /** Set when pack took a revision that would be shown (or the whole object, unreachable). */
  packed?: true
}

export interface TransactionChanges {
  transaction: TxRecord
  objects: ObjectChange[]
  /** How objects print today (`<Morph #4>`), by oid: those changed and those their slots refer to, still in the image. */
  names: Record<number, string>
}

/**
 * What transaction `tid` changed (`uvm show`, the REPL's `.show`): for each object it wrote, its
 * slots before (ZODB's loadBefore) and after. undefined when the image has no such transaction.
 */
export async function showTransaction(image: Image, tid: number): Promise<TransactionChanges | undefined> {
  const rec = await transactionRecord(image, tid)
  if (rec === undefined) return undefined
  const objects: ObjectChange[] = []
  const states: State[] = []
  for (const oid of rec.oids) {
    const after = revisionAt(image, oid, tid)
    if (after === undefined) {
      objects.push({ oid, created: false, packed: true })
      continue
    }
    states.push(after)
    const change: ObjectChange = { oid, created: after.prevSerial === 0 }
    if (after.prevSerial !== 0) {
      const before = revisionAt(image, oid, after.prevSerial)
      if (before === undefined) change.packed = true
      else {
        states.push(before)
        change.beforeTid = after.prevSerial
        change.before = toPlain(before)
      }
    }
    change.after = toPlain(after)
    objects.push(change)
  }
  return { transaction: rec, objects, names: namesOf(image, rec.oids, states) }
}

function namesOf(image: Image, oids: readonly number[], states: readonly State[]): Record<number, string> {
  const wanted = new Set(oids)
  for (const s of states) for (const o of referencesOf(s)) wanted.add(o.oid)
  const names: Record<number, string> = {}
  const tx = image.begin()
  try {
    for (const oid of wanted) {
      const obj = image.handle(oid)
      if (!image.exists(obj)) continue
      try { names[oid] = printString(tx, obj) } catch { /* a dangling parent: the caller prints the oid */ }
    }
  } finally {
    tx.abort()
  }
  return names
}
