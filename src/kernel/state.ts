import type { Obj } from './obj.js'
import type { SlotValue } from './values.js'
import { isParentSlot } from './values.js'

/**
 * The slots of one object as one transaction (or the committed image) sees
 * them. Slot order is insertion order, which is also the order parents are
 * searched in.
 */
export class State {
  /** Parent objects in slot order, derived from `slots` on demand. */
  private parentList: Obj[] | undefined = undefined

  /** On a working copy: this transaction added/removed a slot or re-pointed a parent here. */
  structChanged = false

  /** On a committed state: tid that wrote it, and the tid of the revision before it (0: none). */
  serial = 0
  prevSerial = 0

  /**
   * Provenance: for slots last written by a recorded cycle (a JIT compile, a curriculum turn), the
   * tid of that cycle's transaction. Never changed in place: a commit that writes the object makes
   * a new map (image.ts), dropping the entries of slots it changed unless it records origins itself.
   * Undefined when no slot has one (the common case costs nothing).
   */
  origins: ReadonlyMap<string, number> | undefined = undefined

  constructor(readonly slots: Map<string, SlotValue> = new Map()) {}

  parents(isObj: (v: unknown) => v is Obj): Obj[] {
    if (this.parentList === undefined) {
      const list: Obj[] = []
      for (const [name, value] of this.slots) if (isParentSlot(name) && isObj(value)) list.push(value)
      this.parentList = list
    }
    return this.parentList
  }

  /** Drop derived data after a write. */
  touched(): void {
    this.parentList = undefined
  }

  clone(): State {
    const c = new State(new Map(this.slots))
    c.origins = this.origins
    return c
  }
}
