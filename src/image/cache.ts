import { Obj } from '../kernel/index.js'

/**
 * The image's object cache. Every oid has at most one handle (so identity is
 * stable while anything holds it); handles are held weakly, so ghosts nobody
 * references are collected. Loaded states are bounded: past `bound`, a CLOCK
 * sweep turns the least recently touched unmodified objects back into ghosts
 * (committed states are never modified in place, so eviction loses nothing).
 *
 * A new handle is held strongly at first, and made weak in batches a macrotask
 * later: a WeakRef keeps its target alive until the current job ends anyway, and
 * made inside one long job (a cold walk loading 100k objects) a WeakRef and its
 * FinalizationRegistry entry cost ~1.15 µs a handle, against ~0.36 µs made in
 * short jobs and ~0.1 µs for the strong entry.
 */
export class ObjectCache {
  /** oid → its handle: the Obj itself until `weaken` reaches it, then a WeakRef to it. */
  private readonly handles = new Map<number, Obj | WeakRef<Obj>>()
  private readonly finalizer = new FinalizationRegistry<number>((oid) => {
    const h = this.handles.get(oid)
    if (h !== undefined && !(h instanceof Obj) && h.deref() === undefined) this.handles.delete(oid)
  })
  /** Handles still held strongly, oldest first; `youngAt` is the next to weaken. */
  private young: Obj[] = []
  private youngAt = 0
  private weakening: ReturnType<typeof setImmediate> | undefined = undefined
  private readonly ring: Obj[] = []
  private hand = 0
  /** Handles the image must never lose (root, traits). */
  private readonly pinned = new Set<Obj>()

  constructor(public bound: number) {}

  handle(oid: number): Obj {
    const existing = this.peek(oid)
    if (existing !== undefined) return existing
    const obj = new Obj(oid)
    this.remember(obj)
    return obj
  }

  /** The handle if one is alive, without creating it. */
  peek(oid: number): Obj | undefined {
    const h = this.handles.get(oid)
    return h === undefined || h instanceof Obj ? h : h.deref()
  }

  /** Register a handle made elsewhere (a new object allocated by a transaction). */
  adopt(obj: Obj): void {
    this.remember(obj)
  }

  /** How many handles are still held strongly (until the next macrotasks weaken them). */
  get strongHandles(): number {
    return this.young.length - this.youngAt
  }

  private remember(obj: Obj): void {
    this.handles.set(obj.oid, obj)
    this.young.push(obj)
    if (this.weakening === undefined) this.weakening = setImmediate(this.weaken).unref()
  }

  /** Turn up to WEAKEN_BATCH strong handles into weak ones; again a macrotask later while any are left. */
  private readonly weaken = (): void => {
    const young = this.young
    const end = Math.min(young.length, this.youngAt + WEAKEN_BATCH)
    for (let i = this.youngAt; i < end; i++) {
      const obj = young[i]!
      if (this.handles.get(obj.oid) !== obj) continue
      this.handles.set(obj.oid, new WeakRef(obj))
      this.finalizer.register(obj, obj.oid)
    }
    if (end < young.length) {
      this.youngAt = end
      this.weakening = setImmediate(this.weaken).unref()
    } else {
      this.young = []
      this.youngAt = 0
      this.weakening = undefined
    }
  }

  pin(obj: Obj): void {
    this.pinned.add(obj)
  }

  /** Note that `obj` now holds a state; evict others if over the bound. */
  loaded(obj: Obj): void {
    this.ring.push(obj)
    obj.touched = true
    if (this.ring.length > this.bound) this.sweep()
  }

  get size(): number {
    return this.ring.length
  }

  /** Drop every loaded state (e.g. after pack rewrote history under them). */
  clear(): void {
    for (const obj of this.ring) evict(obj)
    this.ring.length = 0
    this.hand = 0
  }

  private sweep(): void {
    // Evict down to 90% of the bound so sweeps are amortised, not per load.
    const target = Math.floor(this.bound * 0.9)
    let budget = this.ring.length * 2
    while (this.ring.length > target && budget-- > 0) {
      if (this.hand >= this.ring.length) this.hand = 0
      const obj = this.ring[this.hand]!
      if (obj.touched || this.pinned.has(obj)) {
        obj.touched = false
        this.hand++
        continue
      }
      evict(obj)
      // Swap-remove: order does not matter to CLOCK.
      this.ring[this.hand] = this.ring[this.ring.length - 1]!
      this.ring.pop()
    }
  }
}

/** Handles made weak per macrotask: small enough that a batch's WeakRefs are cheap (see ObjectCache). */
const WEAKEN_BATCH = 1000

function evict(obj: Obj): void {
  obj.state = undefined
  obj.lookupCache = undefined
}
