import type { Heap } from './heap.js'
import { UvmError } from '../errors.js'
import { ancestry, lookup } from './lookup.js'
import { Obj } from './obj.js'
import { removeSlot, setSlot, writeSlot } from './slots.js'
import { Method, Primitive, checkSlotName, describe, isParentSlot } from './values.js'
import { arrayLength, ownValue, shapeOf } from './own-data.js'
import { intentOf } from './need.js'

/** A host-implemented slot: receives the transaction view, the receiver and JS-facing args; answers a JS-facing value. */
export type PrimitiveFn = (heap: Heap, receiver: Obj, args: readonly unknown[]) => unknown
export type PrimitiveTable = Readonly<Record<string, PrimitiveFn>>

/** The primitives every object understands through the root traits (each overridable by a slot of the same name). */
export const primitives: PrimitiveTable = {
  /** A new empty object delegating to the receiver (differential inheritance, Io-style). */
  clone(heap, receiver) {
    const o = heap.create()
    writeSlot(heap, o, 'parent*', receiver)
    return heap.surface.proxy(o)
  },
  /** A new object with the receiver's slots, shallowly (Self's copy). */
  copy(heap, receiver) {
    heap.surface.flushObject(receiver) // `obj.items.push(x); obj.copy()` copies the pushed item too
    const o = heap.create()
    for (const [name, value] of heap.read(receiver).slots) writeSlot(heap, o, name, value)
    return heap.surface.proxy(o)
  },
  setSlot(heap, receiver, [name, value]) {
    setSlot(heap, receiver, name, value)
    return heap.surface.proxy(receiver)
  },
  /** The value a send would find, without running it (methods come back as callable functions); undefined when absent. */
  getSlot(heap, receiver, [name]) {
    const key = checkSlotName(name)
    const holder = lookup(heap, receiver, key)
    return holder === undefined ? undefined : heap.surface.toJS(receiver, key, heap.read(holder).slots.get(key))
  },
  removeSlot(heap, receiver, [name]) {
    return removeSlot(heap, receiver, name)
  },
  /** Whether the receiver itself holds the slot (respondsTo also searches parents). */
  hasSlot(heap, receiver, [name]) {
    return heap.read(receiver).slots.has(checkSlotName(name))
  },
  slotNames(heap, receiver) {
    return heap.kernel.realm.newArray([...heap.read(receiver).slots.keys()])
  },
  parents(heap, receiver) {
    const state = heap.read(receiver)
    return heap.kernel.realm.newArray(state.parents((v): v is Obj => v instanceof Obj).map((p) => heap.surface.proxy(p)))
  },
  respondsTo(heap, receiver, [name]) {
    return lookup(heap, receiver, checkSlotName(name)) !== undefined
  },
  /** Send a selector computed at run time: `obj.perform('greet', 'Ada')`. */
  perform(heap, receiver, [name, ...args]) {
    return heap.kernel.send(heap, receiver, checkSlotName(name), args)
  },
  printString(heap, receiver) {
    return printString(heap, receiver)
  },
  /**
   * The default answer to a message nothing else answers: raise it, or, under a compiler, record
   * it for the JIT (Kernel.notUnderstood). An object that defines its own doesNotUnderstand:
   * keeps its own behaviour. The message is read by descriptor: it may be any value an act made.
   */
  'doesNotUnderstand:'(heap, receiver, [message]) {
    const selector = message !== null && typeof message === 'object' ? ownValue(message, 'selector') : undefined
    const args = message !== null && typeof message === 'object' ? ownValue(message, 'args') : undefined
    const list: unknown[] = []
    if (args !== null && typeof args === 'object' && shapeOf(args) === 'array') for (let i = 0; i < Math.min(arrayLength(args), 10_000); i++) list.push(ownValue(args, i))
    return heap.kernel.notUnderstood(heap, receiver, typeof selector === 'string' ? selector : describe(selector), list)
  },
  /**
   * A capability the running act was granted (`this.capability('bridge')` in a method): methods
   * reach host services only as far as the act that runs them may.
   */
  capability(heap, _receiver, [name]) {
    const key = checkSlotName(name)
    const granted = heap.capabilities
    if (granted === undefined || !granted.has(key)) {
      const names = granted === undefined ? [] : [...granted.keys()]
      throw new UvmError('CAPABILITY_UNAVAILABLE', `this act was not granted the capability '${key}'${names.length > 0 ? ` (it has: ${names.join(', ')})` : ' (it has none)'}`)
    }
    return granted.get(key)
  },
  /** A description of the receiver for inspectors: its own slots and every inherited one, with kinds and holders. */
  mirror(heap, receiver) {
    const realm = heap.kernel.realm
    const slots = realm.newArray()
    const seen = new Set<string>()
    for (const holder of ancestry(heap, receiver)) {
      for (const [name, value] of heap.read(holder).slots) {
        if (seen.has(name)) continue
        seen.add(name)
        const entry = realm.newObject()
        entry.name = name
        entry.kind = slotKind(name, value)
        entry.holder = holder.oid
        entry.own = holder === receiver
        if (value instanceof Method) entry.source = value.source
        else if (value instanceof Obj) entry.oid = value.oid
        const intent = intentOf(value)
        if (intent !== undefined) entry.intent = intent
        const origin = heap.read(holder).origins?.get(name)
        if (origin !== undefined) entry.origin = origin
        slots.push(entry)
      }
    }
    const m = realm.newObject()
    m.oid = receiver.oid
    m.printString = printString(heap, receiver)
    m.parents = realm.newArray(heap.read(receiver).parents((v): v is Obj => v instanceof Obj).map((p) => p.oid))
    m.slots = slots
    return m
  },
}

export type SlotKind = 'parent' | 'method' | 'primitive' | 'reference' | 'data' | 'intent'

export function slotKind(name: string, value: unknown): SlotKind {
  if (isParentSlot(name) && value instanceof Obj) return 'parent'
  if (value instanceof Method) return 'method'
  if (intentOf(value) !== undefined) return 'intent'
  if (value instanceof Primitive) return 'primitive'
  if (value instanceof Obj) return 'reference'
  return 'data'
}

/**
 * `<Name #oid>`: Name is the key under which the object, or the nearest object
 * it delegates to, is registered in `genesis.prototypes`; else its own `name`
 * slot if it is a short string; else `Object`.
 */
export function printString(heap: Heap, receiver: Obj): string {
  return `<${typeName(heap, receiver)} #${receiver.oid}>`
}

function typeName(heap: Heap, receiver: Obj): string {
  const registry = prototypesOf(heap)
  if (registry !== undefined) {
    const names = new Map<Obj, string>()
    for (const [k, v] of heap.read(registry).slots) if (v instanceof Obj && !isParentSlot(k) && !names.has(v)) names.set(v, k)
    for (const o of ancestry(heap, receiver)) {
      const n = names.get(o)
      if (n !== undefined) return n
    }
  }
  const own = heap.read(receiver).slots.get('name')
  return typeof own === 'string' && own.length > 0 && own.length <= 60 ? own : 'Object'
}

/** genesis.prototypes, found from the traits' `lobby` back-pointer; undefined in a bare image. */
function prototypesOf(heap: Heap): Obj | undefined {
  const lobby = heap.read(heap.traits).slots.get('lobby')
  if (!(lobby instanceof Obj)) return undefined
  const genesis = heap.read(lobby).slots.get('genesis')
  if (!(genesis instanceof Obj)) return undefined
  const protos = heap.read(genesis).slots.get('prototypes')
  return protos instanceof Obj ? protos : undefined
}
