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
    for (const [obj, state] of restores) tx.restore(obj, state)
    return await tx.commit()
  } finally {
    tx.abort()
  }
}

/**
 * Walk back from the object's current revision to the one `tid` wrote: the transactions to undo,
 * newest first, are those down to the newest revision that holds what `tid` wrote. Each of them
 * wrote the state the object holds once the ones after it are undone, so each undo is allowed.
 */
function undoFirst(image: Image, oid: number, current: State, written: State): number[] | undefined {
  const out: number[] = []
  let s = current
  while (s.serial > written.serial) {
    out.push(s.serial)
    if (s.prevSerial === written.serial) return out
    const prev = revisionAt(image, oid, s.prevSerial)
    if (prev === undefined) return undefined
    if (sameState(prev, written)) return out
    s = prev
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
