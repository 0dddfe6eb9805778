import { UndoRefused, UvmError } from '../errors.js'
import type { Obj, State } from '../kernel/index.js'
import type { Image } from './image.js'
import { revisionAt, sameState, transactionRecord } from './history.js'
import type { CommitInfo, TxMeta } from './transaction.js'

/** An object `tid` wrote that no longer holds what it wrote. */
interface Changed {
  oid: number
  current: State
  /** The newest transactions that changed it, newest first: undoing them in that order brings back what `tid` wrote (undefined: pack took revisions that would tell). */
  undoFirst: number[] | undefined
  /** It holds what it held before `tid` again. */
  reverted: boolean
}

/**
 * Undo transaction `tid` the ZODB way: a new transaction that puts back, for every object `tid`
 * wrote, the revision before it. Judged by state, not by tids: an object may be put back when it
 * still holds exactly what `tid` wrote, whatever changed it in between (an undo and its redo, say).
 * Refused when one no longer does (a real conflict: the message says which transactions to undo
 * first, when undoing them would bring back what `tid` wrote), or when the revisions were packed.
 * Objects that `tid` created are left as they are: the referrers it changed are restored, so they
 * become unreachable and go at the next pack.
 */
export async function undo(image: Image, tid: number, meta: TxMeta = {}): Promise<CommitInfo> {
  const rec = await transactionRecord(image, tid)
  if (rec === undefined) throw new UvmError('IMAGE_UNKNOWN_TID', `no transaction ${tid} in ${image.location} (the last is ${image.lastTid})`, { tid })
  const tx = image.begin({ description: `undo ${tid}${rec.description ? `: ${rec.description}` : ''}`, ...meta, ext: { undo: tid, ...meta.ext } })
  try {
    const restores: [Obj, State][] = []
    const changed: Changed[] = []
    for (const oid of rec.oids) {
      const obj = image.handle(oid)
      if (!image.exists(obj)) continue
      const current = tx.read(obj)
      const written = current.serial === tid ? current : revisionAt(image, oid, tid)
      if (written === undefined) throw new UndoRefused(`the revision of object #${oid} it wrote was packed away`, tid)
      if (written.prevSerial === 0) continue
      const before = revisionAt(image, oid, written.prevSerial)
      if (before === undefined) throw new UndoRefused(`the revision of object #${oid} before it was packed away`, tid)
      if (sameState(current, written)) restores.push([obj, before])
      else changed.push({ oid, current, undoFirst: undoFirst(image, oid, current, written), reverted: sameState(current, before) })
    }
    if (changed.length > 0) throw refusal(tid, changed, restores.length)
    if (restores.length === 0) throw new UndoRefused(tid === 1 ? 'transaction 1 made the image (its root objects): there is nothing before it to put back' : 'it only created objects: there is nothing before it to put back', tid)
    for (const [obj, state] of restores) tx.restore(obj, state)
    return await tx.commit()
  } finally {
    tx.abort()
  }
}

/**
 * The fewest later transactions whose undoing, newest first, brings the object back to what `tid`
 * wrote, found by state along its revisions from `written` to `current`: undoing a transaction is
 * allowed when the object holds what it wrote, and puts back the revision before it. From a state,
 * any earlier revision holding that same state may be undone (an undo and its redo cancel out); a
 * breadth-first search over those steps finds the shortest way. Every step lands on an earlier
 * revision, so the hint runs newest first and the search ends.
 */
function undoFirst(image: Image, oid: number, current: State, written: State): number[] | undefined {
  const revs: State[] = [current]
  for (let s = current; s.prevSerial !== written.serial;) {
    const prev = s.prevSerial > written.serial ? revisionAt(image, oid, s.prevSerial) : undefined
    if (prev === undefined) return undefined
    revs.push(prev)
    s = prev
  }
  revs.push(written)
  revs.reverse() // oldest first: revs[0] is what `tid` wrote
  // Revisions of the same state share the index of the first of them.
  const kind = revs.map((r, i) => { let k = 0; while (k < i && !sameState(revs[k]!, r)) k++; return k })
  const from = new Map<number, number>([[revs.length - 1, -1]]) // landing index → the index it came from
  for (let queue = [revs.length - 1]; queue.length > 0;) {
    const next: number[] = []
    for (const at of queue) {
      if (kind[at] === 0) {
        const out: number[] = []
        for (let i = at; from.get(i)! >= 0; i = from.get(i)!) out.push(revs[i + 1]!.serial)
        return out.reverse()
      }
      // Newest first, so that of equally short ways the one with the latest transactions is named.
      for (let j = at; j >= 1; j--) {
        if (kind[j] !== kind[at] || from.has(j - 1)) continue
        from.set(j - 1, at)
        next.push(j - 1)
      }
    }
    queue = next
  }
  return undefined
}

function refusal(tid: number, changed: Changed[], unchanged: number): UndoRefused {
  const one = changed.length === 1
  const by = [...new Set(changed.map((c) => c.current.serial))].sort((a, b) => b - a)
  // Nothing left to put back: sending the user to undo the undo would only go round.
  if (unchanged === 0 && changed.every((c) => c.reverted)) {
    return new UndoRefused(`it is undone already: ${objects(changed)} ${one ? 'holds' : 'hold'} what ${one ? 'it' : 'they'} held before it again (since ${tids(by)})`, tid)
  }
  const why = `${objects(changed)} no longer ${one ? 'holds' : 'hold'} what it wrote (${tids(by)} changed ${one ? 'it' : 'them'} since)`
  if (changed.some((c) => c.undoFirst === undefined)) return new UndoRefused(`${why}; pack removed the revisions that would tell which later transactions to undo first`, tid)
  const first = [...new Set(changed.flatMap((c) => c.undoFirst!))].sort((a, b) => b - a)
  return new UndoRefused(`${why}; undo ${tids(first)} first${first.length > 1 ? ', newest first' : ''}`, tid)
}

function objects(changed: Changed[]): string {
  const names = changed.map((c) => `#${c.oid}`)
  return names.length === 1 ? `object ${names[0]}` : names.length <= 5 ? `objects ${list(names)}` : `objects ${names.slice(0, 5).join(', ')} and ${names.length - 5} more`
}

function list(items: readonly (string | number)[]): string {
  if (items.length <= 1) return items.map(String).join('')
  const shown = items.length > 8 ? [...items.slice(0, 8).map(String), `${items.length - 8} more`] : items.map(String)
  return `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`
}

const tids = (items: readonly number[]): string => `transaction${items.length === 1 ? '' : 's'} ${list(items)}`
