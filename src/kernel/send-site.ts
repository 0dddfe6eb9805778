import type { Heap } from './heap.js'
import type { Kernel } from './kernel.js'
import type { Obj } from './obj.js'
import type { Realm, RealmFunction } from './realm.js'

const SIZE = 64
const EMPTY: readonly unknown[] = Object.freeze([])

/** One remembered answer: for `receiver` in the view stamped `stamp`, the compiled method or the scalar value. */
class SiteEntry {
  receiver: Obj | undefined = undefined
  stamp = 0
  fn: RealmFunction | undefined = undefined
  /** The receiver's proxy in the stamped view: `self` for the method. */
  self: unknown = undefined
  value: unknown = undefined
}

/**
 * A send site: one selector, sent from one place in host code, with an inline
 * cache of what it found (Smalltalk and Self keep one in every compiled send;
 * Objective-C keys its method caches by interned selector). Entries are
 * direct-mapped by receiver oid and valid for one view while it changes nothing:
 * a transaction's view is its snapshot plus its own writes, so a view whose
 * stamp (`Heap.stamp`, renewed by every write) is unchanged answers every send
 * as before. A hit is two comparisons and the call; a miss (or a
 * doesNotUnderstand:, or a primitive, or data that is not a scalar) takes the
 * kernel's general path, which tells the site what it found.
 *
 * `kernel.send` goes through an interned site per selector; a caller that sends
 * one selector from one place keeps a site of its own (a cache of its own).
 *
 *   const greet = kernel.site('greet')
 *   greet.send(tx, obj, ['Ada'])
 */
export class SendSite {
  private readonly entries: SiteEntry[] = Array.from({ length: SIZE }, () => new SiteEntry())

  private readonly realm: Realm

  constructor(private readonly kernel: Kernel, readonly selector: string) {
    this.realm = kernel.realm
  }

  send(heap: Heap, receiver: Obj, args: readonly unknown[] = EMPTY): unknown {
    const e = this.entries[receiver.oid & (SIZE - 1)]!
    if (e.receiver === receiver && e.stamp === heap.stamp) {
      const fn = e.fn
      if (fn === undefined) return e.value
      return this.realm.callMethod(fn, e.self, args)
    }
    return this.miss(heap, receiver, args)
  }

  private miss(heap: Heap, receiver: Obj, args: readonly unknown[]): unknown {
    return this.kernel.sendGeneral(heap, receiver, this.selector, args, this)
  }

  /**
   * What the general path found for `receiver` (a compiled method, or a scalar data value), in the view
   * as it is before the send runs: a send that writes renews the stamp, and misses next time.
   */
  remember(heap: Heap, receiver: Obj, fn: RealmFunction | undefined, value: unknown): void {
    const stamp = heap.stamp
    if (stamp === 0) return
    const e = this.entries[receiver.oid & (SIZE - 1)]!
    e.receiver = receiver
    e.stamp = stamp
    e.fn = fn
    e.self = fn === undefined ? undefined : heap.surface.proxy(receiver)
    e.value = value
  }
}
