import type { Heap } from './heap.js'
import { CacheEntry, Obj } from './obj.js'
import type { State } from './state.js'

const isObj = (v: unknown): v is Obj => v instanceof Obj

/**
 * Find the object holding `selector` for a send to `receiver`: the receiver's
 * own slots, then each parent slot in slot order, depth-first, visiting an
 * object at most once (so cycles are legal). The first hit wins (Io's rule;
 * Self would report an ambiguity instead). Returns undefined on a miss.
 */
export function lookup(heap: Heap, receiver: Obj, selector: string): Obj | undefined {
  if (heap.structDirty) return walk(heap, receiver, selector, undefined)
  const hit = receiver.lookupCache?.get(selector)
  const epoch = heap.kernel.structEpoch
  if (hit !== undefined) {
    if (trusted(hit, heap)) return hit.holder
    // Some structure changed somewhere: check this path object by object, exactly.
    if (valid(hit, heap.snapshot)) {
      hit.epoch = epoch
      hit.filledAt = newestSerial(hit.deps)
      return hit.holder
    }
  }
  const deps: Obj[] = []
  const holder = walk(heap, receiver, selector, deps)
  // Only a walk over latest committed states describes what every view sees;
  // a view reading an older snapshot of some object must not publish its walk.
  if (deps.every((d) => d.serial <= heap.snapshot)) {
    const versions = deps.map((d) => d.structVersion)
    ;(receiver.lookupCache ?? (receiver.lookupCache = new Map())).set(selector, new CacheEntry(holder, deps, versions, epoch, newestSerial(deps)))
  }
  return holder
}

/** What `lookupSlot` answers when no slot answers the selector. */
export const MISSING: unique symbol = Symbol('missing')

/**
 * The cache entry answering `selector` for `receiver` in this view, when it
 * can be trusted without a walk and its `value` is current: the view wrote
 * nothing, nothing structural changed since the entry was checked, and the
 * holder's committed state is the one the value was read from and one this
 * view may see. A send of a
 * data slot is then one Map lookup and a few comparisons.
 */
export function cachedEntry(heap: Heap, receiver: Obj, selector: string): CacheEntry | undefined {
  const hit = receiver.lookupCache?.get(selector)
  if (hit === undefined) return undefined
  // Checked already in this view, which has not changed since (every write renews the stamp).
  if (hit.checkedIn === heap.stamp) return hit
  if (heap.writes.size !== 0 || heap.structDirty) return undefined
  if (hit.epoch !== heap.kernel.structEpoch || hit.filledAt > heap.snapshot) return undefined
  const holder = hit.holder
  // The holder's latest committed state must be the one this view sees: a view older than the
  // holder's last commit reads an earlier revision (snapshot isolation).
  if (holder === undefined || holder.state === undefined || holder.state !== hit.holderState || holder.serial > heap.snapshot) return undefined
  if (!holder.touched) holder.touched = true
  if (heap.stamp !== 0) hit.checkedIn = heap.stamp
  return hit
}

/** The value of the slot a send of `selector` to `receiver` finds (MISSING on a miss). */
export function lookupSlot(heap: Heap, receiver: Obj, selector: string): unknown {
  const hit = cachedEntry(heap, receiver, selector)
  if (hit !== undefined) return hit.value
  const pristine = heap.writes.size === 0 && !heap.structDirty
  const holder = lookup(heap, receiver, selector)
  if (holder === undefined) return MISSING
  const state = heap.read(holder)
  const value = state.slots.get(selector)
  if (pristine && state === holder.state) {
    const entry = receiver.lookupCache?.get(selector)
    if (entry !== undefined && entry.holder === holder) {
      entry.holderState = state
      entry.value = value
      entry.checkedIn = -1
    }
  }
  return value
}

/** Nothing structural happened since the entry was last checked, and the view is at least as new as its path. */
function trusted(entry: CacheEntry, heap: Heap): boolean {
  return entry.epoch === heap.kernel.structEpoch && entry.filledAt <= heap.snapshot
}

function newestSerial(deps: readonly Obj[]): number {
  let n = 0
  for (const d of deps) if (d.serial > n) n = d.serial
  return n
}

/** Valid while no object on the path changed structure, and the view sees each path object's latest state. */
function valid(entry: CacheEntry, snapshot: number): boolean {
  const { deps, versions } = entry
  for (let i = 0; i < deps.length; i++) {
    const d = deps[i]!
    if (d.structVersion !== versions[i] || d.serial > snapshot) return false
  }
  return true
}

function walk(heap: Heap, receiver: Obj, selector: string, deps: Obj[] | undefined): Obj | undefined {
  let found: Obj | undefined
  visit(heap, receiver, (obj, state) => {
    deps?.push(obj)
    if (state.slots.has(selector)) { found = obj; return true }
    return false
  })
  return found
}

/** Every object a lookup from `receiver` may visit, in search order (for mirrors and printString). */
export function ancestry(heap: Heap, receiver: Obj): Obj[] {
  const order: Obj[] = []
  visit(heap, receiver, (obj) => { order.push(obj); return false })
  return order
}

/**
 * Depth-first preorder over the receiver and its parents in slot order, each
 * object once. `step` returns true to stop. Marking on pop (not on push) keeps
 * the order that of the recursive definition when a parent is reachable twice.
 */
function visit(heap: Heap, receiver: Obj, step: (obj: Obj, state: State) => boolean): void {
  const visited: Obj[] = []
  const stack: Obj[] = [receiver]
  while (stack.length > 0) {
    const obj = stack.pop()!
    if (visited.includes(obj)) continue
    visited.push(obj)
    const state = heap.read(obj)
    if (step(obj, state)) return
    const parents = state.parents(isObj)
    for (let i = parents.length - 1; i >= 0; i--) {
      const p = parents[i]!
      if (!visited.includes(p)) stack.push(p)
    }
  }
}
