import type { State } from './state.js'

/**
 * A cached lookup result: where `selector` was found (or not) and what the
 * answer depends on. A class with every field set in the constructor, so all
 * entries share one hidden class and the send path's field reads stay
 * monomorphic.
 */
export class CacheEntry {
  /** The kernel's structure epoch when `deps` were last found unchanged (see `filledAt`). */
  epoch: number
  /**
   * The newest serial among `deps` when they were last found unchanged: while
   * the epoch stands (no commit changed the structure of an existing object
   * since) a view at or after `filledAt` sees the same path, without checking each dep.
   */
  filledAt: number
  /** The holder's committed state when `value` was read from it: while it is still the holder's state, `value` is current. */
  holderState: State | undefined = undefined
  /** The stamp (Heap.stamp) of the view that last found this entry current: it needs no check again there. -1: none. */
  checkedIn = -1
  value: unknown = undefined
  /** For a method value: its compiled function, and the Method it was compiled from (valid while `value` is that Method). */
  fn: unknown = undefined
  fnFor: unknown = undefined
  /** For a method value: the realm closure sandbox code of one transaction (`boundBy`, its Surface) gets for `receiver.selector`. */
  bound: unknown = undefined
  boundBy: object | undefined = undefined
  boundFor: unknown = undefined

  constructor(
    /** The object holding the slot; undefined caches a miss (the selector goes to doesNotUnderstand:). */
    readonly holder: Obj | undefined,
    /** Every object the walk visited, with the structure version it had then. */
    readonly deps: readonly Obj[],
    readonly versions: readonly number[],
    epoch: number,
    filledAt: number,
  ) {
    this.epoch = epoch
    this.filledAt = filledAt
  }
}

/**
 * The identity of one object in one image: its oid, and its committed state
 * when loaded. A handle without a state is a ghost (ZODB's term): the record is
 * read on first touch. Handles are shared by every transaction; what each
 * transaction sees is decided by the transaction (its write set first, then
 * `state`). `state` is never mutated in place: a commit replaces it.
 */
export class Obj {
  /** Committed state, or undefined for a ghost / an object no commit has written yet. */
  state: State | undefined = undefined
  /** tid of the committed state (0: never committed). */
  serial = 0
  /**
   * Bumped when a commit adds or removes a slot here, or re-points a parent
   * slot: anything that can change where a lookup through this object lands.
   */
  structVersion = 0
  /** Lookup cache for sends whose receiver is this object. Dropped when the state is evicted. */
  lookupCache: Map<string, CacheEntry> | undefined = undefined
  /** CLOCK reference bit for the object cache. */
  touched = false
  /**
   * The proxy the last transaction to ask made for this object, and that transaction's Surface: a
   * one-entry cache in front of the Surface's map (a send needs the receiver's proxy as `self`).
   * The Surface clears it when its transaction ends.
   */
  proxy: object | undefined = undefined
  proxyBy: object | undefined = undefined

  constructor(readonly oid: number) {}
}
