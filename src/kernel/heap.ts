import type { Obj } from './obj.js'
import type { State } from './state.js'
import type { Kernel } from './kernel.js'
import type { Surface } from './surface.js'
import type { Need } from './need.js'

/**
 * One consistent view of the object graph: what a transaction sees. The image
 * implements it (src/image/transaction.ts); the kernel only reads and writes
 * states through it, so every send runs against exactly one transaction.
 */
export interface Heap {
  readonly kernel: Kernel
  /** The state this view sees: its own working copy first, then the committed state (loading a ghost). */
  read(obj: Obj): State
  /** This view's working copies (empty for a view that wrote nothing). */
  readonly writes: ReadonlyMap<Obj, State>
  /** A working copy private to this view (copy-on-write of the committed state). */
  write(obj: Obj): State
  /**
   * The tid this view reads as of: committed states newer than it are not
   * seen (snapshot isolation). Infinity reads the latest.
   */
  readonly snapshot: number
  /** The root traits: parent of `new UvmObject()` and home of the primitives. */
  readonly traits: Obj
  /** A new empty object owned by this view until a commit makes it reachable. */
  create(): Obj
  /**
   * True once this view changed the structure of any object (added or removed
   * a slot, re-pointed a parent): its lookups may then differ from the
   * committed ones, so it must not use or fill the shared lookup caches.
   */
  structDirty: boolean
  /**
   * Renewed whenever what this view sees may have changed (a write, a rollback), unique across the
   * views of one kernel; 0 once the view has ended. Send sites remember answers per stamp.
   */
  readonly stamp: number
  /** The JS face of this view: proxies, tracked data, the DNU guard. */
  readonly surface: Surface
  /**
   * A compiler (the JIT) stands behind this view's act: a message nothing answers is recorded in
   * `missing` (the first one) as well as raised, so that the act can be run again once it is compiled.
   */
  deferMissing: boolean
  missing: Need | undefined
  /**
   * The capabilities granted to the act this view runs (by name, realm-safe values): what a method
   * reaches with `this.capability(name)`. Never more than the act itself was given.
   */
  capabilities: ReadonlyMap<string, unknown> | undefined
}
