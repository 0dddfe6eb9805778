import { DoesNotUnderstand, UvmError } from '../errors.js'
import type { Heap } from './heap.js'
import { MISSING, cachedEntry, lookup, lookupSlot } from './lookup.js'
import { Obj } from './obj.js'
import type { PrimitiveTable } from './primitives.js'
import { printString, primitives as standardPrimitives } from './primitives.js'
import type { Realm, RealmFunction } from './realm.js'
import type { ValueResolver } from './values.js'
import { Method, Primitive } from './values.js'

export const DNU = 'doesNotUnderstand:'

/**
 * The object model of one image: message send, doesNotUnderstand:, method
 * compilation, and the registries that let values handed to JS code be
 * recognised when they come back. Stateless with respect to transactions:
 * every operation takes the Heap (transaction view) it runs in.
 */
export class Kernel implements ValueResolver {
  /** graph proxy → object, for every transaction of this image. */
  readonly proxyTargets = new WeakMap<object, Obj>()
  /** function handed out for a slot (`obj.greet`) → the method or primitive it stood for. */
  readonly slotFunctions = new WeakMap<object, Method | Primitive>()
  /** A method closure handed to sandbox code → the caller host code may use in its place. */
  readonly hostCallers = new WeakMap<object, RealmFunction>()
  /** Every function this kernel handed out (slot callers, DNU thunks): never stored as method source. */
  readonly handedOut = new WeakSet<object>()
  readonly primitives: PrimitiveTable
  /**
   * Bumped by every commit that adds or removes a slot of an object that existed
   * before it, or re-points one of its parents. Lookup caches use it as a fast
   * "nothing structural happened" check before checking their own path exactly.
   */
  structEpoch = 0

  constructor(readonly realm: Realm, primitives: PrimitiveTable = standardPrimitives) {
    this.primitives = primitives
  }

  /** Send `selector` to `receiver` with JS-facing arguments; returns a JS-facing value. */
  send(heap: Heap, receiver: Obj, selector: string, args: readonly unknown[]): unknown {
    const hit = cachedEntry(heap, receiver, selector)
    if (hit !== undefined) {
      const v = hit.value
      // A method this entry already compiled: straight to the call.
      if (hit.fnFor === v) return this.callCompiled(heap, receiver, hit.fn as RealmFunction, args)
      if (typeof v !== 'object' || v === null) return v
    }
    const value = lookupSlot(heap, receiver, selector)
    // Scalars answer as they are (the common data send); MISSING is a symbol.
    if (typeof value !== 'object') return value === MISSING ? this.doesNotUnderstand(heap, receiver, selector, args) : value
    if (value === null) return null
    return value instanceof Method ? this.call(heap, receiver, value, selector, args) : this.perform(heap, receiver, value, selector, args)
  }

  /** Run what a lookup found: a method is called, a primitive is run, data is answered. */
  perform(heap: Heap, receiver: Obj, value: unknown, selector: string, args: readonly unknown[]): unknown {
    if (value instanceof Method) return this.call(heap, receiver, value, selector, args)
    if (value instanceof Primitive) {
      const prim = this.primitives[value.name]
      if (prim === undefined) throw new UvmError('KERNEL_DOES_NOT_UNDERSTAND', `primitive '${value.name}' (slot '${selector}') does not exist in this UVM version`, { selector, receiver: receiver.oid })
      return prim(heap, receiver, args)
    }
    return heap.surface.toJS(receiver, selector, value)
  }

  private call(heap: Heap, receiver: Obj, method: Method, selector: string, args: readonly unknown[]): unknown {
    const fn = method.compiledIn === this.realm ? method.compiled as RealmFunction : this.compile(method, selector)
    const hit = receiver.lookupCache?.get(selector)
    if (hit !== undefined && hit.value === method) { hit.fn = fn; hit.fnFor = method }
    return this.callCompiled(heap, receiver, fn, args)
  }

  private callCompiled(heap: Heap, receiver: Obj, fn: RealmFunction, args: readonly unknown[]): unknown {
    const realm = this.realm
    if (realm.depth > 0) return realm.callMethod(fn, heap.surface.proxy(receiver), args)
    const result = realm.callMethod(fn, heap.surface.proxy(receiver), args)
    // Host code awaiting an async method needs a promise it can await: sandbox callers keep the realm's.
    return typeof result === 'object' && result !== null ? realm.settle(result) : result
  }

  compile(method: Method, selector: string): RealmFunction {
    if (method.compiledIn !== this.realm) {
      method.compiled = this.realm.compileMethod(method.source, selector)
      method.compiledIn = this.realm
    }
    return method.compiled as RealmFunction
  }

  /**
   * A failed lookup becomes a send of `doesNotUnderstand:` with the reified
   * message. A missing handler, or a handler that (synchronously) sends the
   * same unknown selector to the same receiver again, raises DoesNotUnderstand
   * instead of looping.
   */
  doesNotUnderstand(heap: Heap, receiver: Obj, selector: string, args: readonly unknown[]): unknown {
    const label = () => safePrintString(heap, receiver)
    if (selector === DNU) throw new DoesNotUnderstand(String(describeMessage(args)), receiver.oid, 'doesNotUnderstand: itself is not understood', label())
    const holder = lookup(heap, receiver, DNU)
    if (holder === undefined) throw new DoesNotUnderstand(selector, receiver.oid, '', label())
    const guard = heap.surface.dnuGuard
    const key = `${receiver.oid}\u0000${selector}`
    if (guard.has(key)) throw new DoesNotUnderstand(selector, receiver.oid, 'doesNotUnderstand: recursed on the same selector and receiver', label())
    const message = this.realm.newObject()
    message.selector = selector
    message.args = this.realm.newArray(args)
    message.receiver = heap.surface.proxy(receiver)
    guard.add(key)
    try {
      return this.perform(heap, receiver, heap.read(holder).slots.get(DNU), DNU, [message])
    } finally {
      guard.delete(key)
    }
  }

  // ValueResolver: how values handed out by this kernel are recognised on the way back in.
  objectOf(v: unknown): Obj | undefined {
    if (typeof v !== 'object' || v === null) return undefined
    // The WeakMap first: `instanceof` on a graph proxy runs its getPrototypeOf trap (~50 ns).
    return this.proxyTargets.get(v) ?? (v instanceof Obj ? v : undefined)
  }

  dataOf(_v: unknown): unknown {
    return undefined
  }

  slotFunctionOf(v: unknown): Method | Primitive | undefined {
    return typeof v === 'function' ? this.slotFunctions.get(v) : undefined
  }

  sourceOf(fn: Function): string | undefined {
    if (this.handedOut.has(fn)) return undefined
    let src: string
    try { src = this.realm.sourceText(fn) } catch { return undefined }
    return /\{\s*\[native code\]\s*\}\s*$/.test(src) ? undefined : src
  }
}

/** `<Name #oid>` for error messages; never lets a broken image turn one error into another. */
function safePrintString(heap: Heap, obj: Obj): string {
  try {
    return printString(heap, obj)
  } catch {
    return `#${obj.oid}`
  }
}

function describeMessage(args: readonly unknown[]): unknown {
  const m = args[0] as { selector?: unknown } | undefined
  return m && typeof m === 'object' && typeof m.selector === 'string' ? m.selector : DNU
}
