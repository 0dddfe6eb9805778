import type { Heap } from './heap.js'
import type { Obj } from './obj.js'
import type { SlotValue } from './values.js'
import { checkSlotName, isParentSlot, toStored } from './values.js'

/** Store a JS value in `obj`'s own slot `name` (never on the parent that held it). */
export function setSlot(heap: Heap, obj: Obj, name: unknown, value: unknown): void {
  const key = checkSlotName(name)
  const stored = toStored(value, heap.kernel, `'${key}' of #${obj.oid}`)
  writeSlot(heap, obj, key, stored)
  heap.surface.slotWritten(obj, key, value, stored)
}

export function writeSlot(heap: Heap, obj: Obj, name: string, stored: SlotValue): void {
  const state = heap.write(obj)
  const isNew = !state.slots.has(name)
  state.slots.set(name, stored)
  if (isNew || isParentSlot(name)) {
    state.structChanged = true
    heap.structDirty = true
    state.touched()
  }
}

/** Remove `obj`'s own slot; answers whether it was there. */
export function removeSlot(heap: Heap, obj: Obj, name: unknown): boolean {
  const key = checkSlotName(name)
  if (!heap.read(obj).slots.has(key)) return false
  const state = heap.write(obj)
  state.slots.delete(key)
  state.structChanged = true
  heap.structDirty = true
  state.touched()
  heap.surface.slotWritten(obj, key, undefined, undefined)
  return true
}
