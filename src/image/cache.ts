import { Obj } from '../kernel/index.js'

/**
 * The image's object cache. Every oid has at most one handle (so identity is
 * stable while anything holds it); handles are held weakly, so ghosts nobody
 * references are collected. Loaded states are bounded: past `bound`, a CLOCK
 * sweep turns the least recently touched unmodified objects back into ghosts
 * (committed states are never modified in place, so eviction loses nothing).
 */
export class ObjectCache {
  private readonly handles = new Map<number, WeakRef<Obj>>()
  private readonly finalizer = new FinalizationRegistry<number>((oid) => {
    if (this.handles.get(oid)?.deref() === undefined) this.handles.delete(oid)
  })
  private readonly ring: Obj[] = []
  private hand = 0
  /** Handles the image must never lose (root, traits). */
  private readonly pinned = new Set<Obj>()

  constructor(public bound: number) {}

  handle(oid: number): Obj {
    const existing = this.handles.get(oid)?.deref()
    if (existing !== undefined) return existing
    const obj = new Obj(oid)
    this.handles.set(oid, new WeakRef(obj))
    this.finalizer.register(obj, oid)
    return obj
  }

  /** The handle if one is alive, without creating it. */
  peek(oid: number): Obj | undefined {
    return this.handles.get(oid)?.deref()
  }

  /** Register a handle made elsewhere (a new object allocated by a transaction). */
  adopt(obj: Obj): void {
    this.handles.set(obj.oid, new WeakRef(obj))
    this.finalizer.register(obj, obj.oid)
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

function evict(obj: Obj): void {
  obj.state = undefined
  obj.lookupCache = undefined
}
