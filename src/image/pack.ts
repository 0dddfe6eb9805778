import { UvmError } from '../errors.js'
import { referencesOf } from './codec.js'
import type { Image } from './image.js'
import type { Op } from './store.js'
import { OBJECTS, REVISIONS, objectKey, oidOfObjectKey, parseRevisionKey, revisionKey } from './keys.js'

export interface PackProgress { phase: 'scan' | 'mark' | 'sweep'; done: number; total: number }

export interface PackReport {
  before: number
  revisionsRemoved: number
  objectsRemoved: number
  objectsKept: number
}

/**
 * Drop what no reader at or after `before` can see (ZODB's pack): every
 * revision superseded at or before `before`, and every object unreachable from
 * the root through current states and the revisions still kept (so an undo
 * that is still possible never resurrects a dangling reference). Transaction
 * records stay, for history; undoing a transaction whose revisions are gone is
 * refused. Run it with no transaction in flight (the CLI runs it on a stopped image).
 */
export async function pack(image: Image, opts: { before?: number; onProgress?: (p: PackProgress) => void } = {}): Promise<PackReport> {
  const before = opts.before ?? image.lastTid + 1
  if (!Number.isInteger(before) || before < 1 || before > image.lastTid + 1) {
    throw new UvmError('IMAGE_UNKNOWN_TID', `cannot pack before transaction ${before}: the last transaction is ${image.lastTid} (pack before ${image.lastTid + 1} drops all history)`, { tid: before })
  }
  const progress = opts.onProgress ?? (() => {})

  // Revisions by object, oldest first (key order is tid order).
  const revs = new Map<number, number[]>()
  let n = 0
  for await (const key of image.store.keys(REVISIONS)) {
    const { oid, tid } = parseRevisionKey(key)
    let list = revs.get(oid)
    if (list === undefined) revs.set(oid, list = [])
    list.push(tid)
    if (++n % 10_000 === 0) progress({ phase: 'scan', done: n, total: 0 })
  }
  progress({ phase: 'scan', done: n, total: n })

  const dropped: string[] = []

  // Mark from the root, through current states and kept revisions.
  const marked = new Set<number>()
  const stack = [image.root.oid]
  let oidsTotal = 0
  for await (const _ of image.store.keys(OBJECTS)) oidsTotal++
  while (stack.length > 0) {
    const oid = stack.pop()!
    if (marked.has(oid)) continue
    marked.add(oid)
    if (marked.size % 10_000 === 0) progress({ phase: 'mark', done: marked.size, total: oidsTotal })
    const raw = await image.store.get(objectKey(oid))
    if (raw === undefined) continue // dangling: check() reports it; pack keeps going
    const state = image.codec.decodeState(raw, oid)
    const refs = referencesOf(state)
    const list = revs.get(oid) ?? []
    const keep: number[] = []
    for (let i = 0; i < list.length; i++) {
      const successor = i + 1 < list.length ? list[i + 1]! : state.serial
      if (successor <= before) dropped.push(revisionKey(oid, list[i]!))
      else keep.push(list[i]!)
    }
    for (const tid of keep) {
      const r = await image.store.get(revisionKey(oid, tid))
      if (r !== undefined) referencesOf(image.codec.decodeState(r, oid), refs)
    }
    for (const ref of refs) if (!marked.has(ref.oid)) stack.push(ref.oid)
  }
  progress({ phase: 'mark', done: marked.size, total: oidsTotal })

  // Sweep: unreachable objects with all their revisions, and superseded revisions.
  const ops: Op[] = dropped.map((key) => ({ type: 'del', key }))
  let objectsRemoved = 0
  let revisionsRemoved = dropped.length
  for await (const key of image.store.keys(OBJECTS)) {
    const oid = oidOfObjectKey(key)
    if (marked.has(oid)) continue
    objectsRemoved++
    ops.push({ type: 'del', key })
    for (const tid of revs.get(oid) ?? []) {
      ops.push({ type: 'del', key: revisionKey(oid, tid) })
      revisionsRemoved++
    }
    const live = image.cache.peek(oid)
    if (live !== undefined) { live.state = undefined; live.lookupCache = undefined }
  }
  for (let i = 0; i < ops.length; i += 10_000) {
    await image.store.write(ops.slice(i, i + 10_000), true)
    progress({ phase: 'sweep', done: Math.min(i + 10_000, ops.length), total: ops.length })
  }
  progress({ phase: 'sweep', done: ops.length, total: ops.length })
  return { before, revisionsRemoved, objectsRemoved, objectsKept: marked.size }
}
