import type { Heap } from './heap.js'
import { MISSING, cachedEntry, lookup, lookupSlot } from './lookup.js'
import { Obj } from './obj.js'
import type { RealmFunction } from './realm.js'
import { removeSlot, setSlot, writeSlot } from './slots.js'
import type { Data, SlotValue } from './values.js'
import { intentOf } from './need.js'
import { Method, Primitive, toStored } from './values.js'
import { UvmError } from '../errors.js'

/** Names JS machinery probes for; a missing one must read as undefined, not as a doesNotUnderstand: thunk. */
const PROBES = new Set(['then', 'constructor', '__proto__', 'toJSON', 'valueOf', 'prototype', 'caller', 'callee', 'arguments', 'inspect', 'asymmetricMatch', '$$typeof', 'nodeType', 'tagName', '@@__IMMUTABLE_ITERABLE__@@', '@@__IMMUTABLE_RECORD__@@', '_isMockFunction'])

/**
 * A data value read out of a slot. The caller gets a private realm copy; at
 * commit (and savepoint) the copy is compared with what the slot held and, if
 * it was mutated in place (`obj.items.push(x)`), written back to the receiver.
 * This closes ZODB's classic trap (mutating a list inside a persistent object
 * and losing the change) without freezing values under the programmer.
 */
interface Tracked {
  stored: SlotValue
  copy: unknown
}

/** The functions handed out for one slot of one object. */
interface Caller {
  /** Calling it sends the selector (safe from anywhere: host calls enter the realm with the CPU limit). */
  fn: RealmFunction
  stands: Method | Primitive | undefined
  /** A realm closure over the compiled method, for sandbox code, and the method it was made for. */
  bound?: RealmFunction | undefined
  boundFor?: Method | undefined
}

/**
 * The JS face of one transaction: graph objects as proxies, slot functions,
 * tracked data, and the doesNotUnderstand: recursion guard.
 */
export class Surface {
  private readonly proxies = new Map<Obj, object>()
  private handler: ProxyHandler<ProxyTarget> | undefined
  private readonly callers = new Map<Obj, Map<string, Caller>>()
  private readonly tracked = new Map<Obj, Map<string, Tracked>>()
  readonly dnuGuard = new Set<string>()

  constructor(private readonly heap: Heap) {}

  proxy(obj: Obj): object {
    if (obj.proxyBy === this) return obj.proxy!
    let p = this.proxies.get(obj)
    if (p === undefined) {
      p = new Proxy(new ProxyTarget(obj), this.handler ??= this.makeHandler())
      this.proxies.set(obj, p)
      this.heap.kernel.proxyTargets.set(p, obj)
    }
    obj.proxy = p
    obj.proxyBy = this
    return p
  }

  /** The transaction ended: handles shared with later transactions must not keep its proxies (and it) alive. */
  release(): void {
    for (const obj of this.proxies.keys()) {
      if (obj.proxyBy === this) { obj.proxy = undefined; obj.proxyBy = undefined }
      const hits = obj.lookupCache
      if (hits !== undefined) for (const e of hits.values()) if (e.boundBy === this) { e.bound = e.boundBy = e.boundFor = undefined }
    }
  }

  /** A stored value as JS code sees it. `receiver`/`name` key the tracking of mutable copies. */
  toJS(receiver: Obj, name: string, value: unknown): unknown {
    if (value === null || typeof value !== 'object') return value
    if (value instanceof Obj) return this.proxy(value)
    if (value instanceof Method) return this.heap.kernel.realm.depth > 0 ? this.bound(receiver, name, value) : this.caller(receiver, name, value)
    if (value instanceof Primitive) return this.caller(receiver, name, value)
    // An intent slot is behaviour not yet compiled: reading it gives what calling a method would (a send).
    if (intentOf(value) !== undefined) return this.caller(receiver, name)
    let byName = this.tracked.get(receiver)
    const t = byName?.get(name)
    if (t !== undefined && t.stored === value) return t.copy
    if (t !== undefined) this.flushOne(receiver, name, t)
    const copy = this.copyIn(value as Data)
    if (value instanceof Uint8Array) return copy
    if (byName === undefined) this.tracked.set(receiver, byName = new Map())
    byName.set(name, { stored: value as SlotValue, copy })
    return copy
  }

  /** Keep tracking consistent after a slot write: storing the tracked copy itself keeps it live. */
  slotWritten(obj: Obj, name: string, jsValue: unknown, stored: SlotValue | undefined): void {
    const byName = this.tracked.get(obj)
    const t = byName?.get(name)
    if (t === undefined) return
    if (stored !== undefined && jsValue === t.copy) t.stored = stored
    else byName!.delete(name)
  }

  /** Write back every tracked copy that was mutated in place. Called before commit and savepoint. */
  flush(): void {
    for (const [obj, byName] of this.tracked) for (const [name, t] of byName) this.flushOne(obj, name, t)
  }

  /** Write back `obj`'s tracked copies that were mutated in place (before a primitive reads its raw slots). */
  flushObject(obj: Obj): void {
    const byName = this.tracked.get(obj)
    if (byName !== undefined) for (const [name, t] of byName) this.flushOne(obj, name, t)
  }

  /** Forget tracked copies (after a rollback: copies handed out before it no longer write back). */
  forgetTracked(): void {
    this.tracked.clear()
  }

  private flushOne(obj: Obj, name: string, t: Tracked): void {
    const now = toStored(t.copy, this.heap.kernel, `'${name}' of #${obj.oid}`)
    if (!sameData(now, t.stored)) {
      writeSlot(this.heap, obj, name, now)
      t.stored = now
    }
  }

  private copyIn(value: Data): unknown {
    const realm = this.heap.kernel.realm
    if (value === null || typeof value !== 'object') return value
    if (value instanceof Obj) return this.proxy(value)
    if (value instanceof Uint8Array) return realm.copyBytes(value)
    if (Array.isArray(value)) return realm.newArray(value.map((v) => this.copyIn(v)))
    const out = realm.newObject()
    for (const k of Object.keys(value)) {
      // defineProperty, not assignment: a stored key named __proto__ must not set the copy's prototype.
      Object.defineProperty(out, k, { value: this.copyIn((value as Record<string, Data>)[k]!), writable: true, enumerable: true, configurable: true })
    }
    return out
  }

  /** The function standing for slot `name` of `obj`: calling it sends `name` to `obj`. */
  caller(obj: Obj, name: string, stands?: Method | Primitive): RealmFunction {
    const entry = this.callerEntry(obj, name)
    // What the function stands for matters only if it is stored in a slot; record changes only.
    if (entry.stands !== stands) {
      entry.stands = stands
      if (stands !== undefined) this.heap.kernel.slotFunctions.set(entry.fn, stands)
      else this.heap.kernel.slotFunctions.delete(entry.fn)
    }
    return entry.fn
  }

  /**
   * A method as sandbox code reads it (`obj.m`, then a call): a realm closure
   * over the compiled method and this receiver, so the call never leaves the
   * realm. Like any JS read-then-call, it calls the method found at the read.
   */
  private bound(obj: Obj, name: string, method: Method): RealmFunction {
    const entry = this.callerEntry(obj, name)
    if (entry.boundFor !== method) {
      const kernel = this.heap.kernel
      const bound = kernel.realm.bindMethod(name, kernel.compile(method, name), this.proxy(obj))
      kernel.handedOut.add(bound)
      kernel.slotFunctions.set(bound, method)
      // Host code must never call it directly (it would skip the CPU limit): hand it the caller instead.
      kernel.hostCallers.set(bound, entry.fn)
      entry.bound = bound
      entry.boundFor = method
    }
    // Remembered on the lookup cache entry too, where the proxy's get trap finds it without the maps above.
    const hit = obj.lookupCache?.get(name)
    if (hit !== undefined && hit.value === method) { hit.bound = entry.bound; hit.boundBy = this; hit.boundFor = method }
    return entry.bound!
  }

  private callerEntry(obj: Obj, name: string): Caller {
    let byName = this.callers.get(obj)
    let entry = byName?.get(name)
    if (entry === undefined) {
      const { heap } = this
      const fn = heap.kernel.realm.hostFunction(name, (_this, args) => heap.kernel.send(heap, obj, name, args))
      heap.kernel.handedOut.add(fn)
      if (byName === undefined) this.callers.set(obj, byName = new Map())
      byName.set(name, entry = { fn, stands: undefined })
    }
    return entry
  }

  /**
   * Everything a property read does beyond a trusted cache hit (kept apart so the hit path stays small
   * enough to inline). A slot no lookup finds reads as `undefined` in sandbox code unless the read is
   * the callee of a call (a call mark for `receiver` and `prop`: `obj.m()`), which gets the function
   * that sends doesNotUnderstand:. Host code cannot tell a read from a call: it always gets that function.
   */
  private slowGet(obj: Obj, prop: string, receiver: unknown): unknown {
    const { heap } = this
    const realm = heap.kernel.realm
    try {
      if (realm.depth > 0 && realm.owner !== undefined && realm.owner !== heap) {
        throw new UvmError('KERNEL_FOREIGN_OBJECT', "this object belongs to another act's transaction: an act uses only the objects it reads itself")
      }
      const value = lookupSlot(heap, obj, prop)
      if (value === MISSING) {
        if (prop === 'toString') return realm.hostFunction('toString', () => heap.kernel.send(heap, obj, 'printString', []))
        if (PROBES.has(prop) || (realm.depth > 0 && !realm.takeCallMark(receiver, prop))) return undefined
        return this.caller(obj, prop)
      }
      return value === null || typeof value !== 'object' ? value : this.toJS(obj, prop, value)
    } catch (e) {
      throw realm.depth > 0 ? realm.toRealmError(e) : e
    }
  }

  /**
   * The traps of every proxy of this transaction: one handler, the object found on the target.
   * (A handler of closures per proxy cost a dozen allocations for each object an act touches.)
   */
  private makeHandler(): ProxyHandler<ProxyTarget> {
    const heap = this.heap
    const realm = heap.kernel.realm
    // Errors raised on the host must reach sandbox code as realm errors (a host
    // Error's constructor chain leads to the host Function); host callers keep
    // the host classes.
    // Sandbox code may use an object only inside the act it was handed to: after that act ended, or
    // from another act, a use could read or write a transaction that is not the running code's own.
    // (Host code keeps ended proxies: they read the latest state, as a REPL shows them.)
    const foreign = (): boolean => realm.depth > 0 && (heap.stamp === 0 || (realm.owner !== undefined && realm.owner !== heap))
    const refuse = (): never => {
      throw new UvmError('KERNEL_FOREIGN_OBJECT', heap.stamp === 0
        ? 'this object was handed to an act that has ended: read it again from genesis, root or a slot in the running act'
        : "this object belongs to another act's transaction: an act uses only the objects it reads itself")
    }
    const guard = <T>(f: () => T): T => {
      try {
        if (foreign()) refuse()
        return f()
      } catch (e) { throw realm.depth > 0 ? realm.toRealmError(e) : e }
    }
    return realm.proxyHandler<ProxyTarget>({
      // The hot path (every `obj.x` and `obj.m()` in acts and methods): no closure per access.
      get: (t, prop, receiver) => {
        if (typeof prop !== 'string') return undefined
        const stamp = heap.stamp
        // The method this proxy gave sandbox code last, asked for again in the same view (a loop calling it).
        if (t.method === prop && t.stamp === stamp && realm.depth > 0) return t.bound
        if (prop === 'then') return undefined // a graph object is never a thenable: `await obj` must give obj
        if (stamp === 0 && realm.depth > 0) return guard(refuse)
        const obj = t.obj
        // The cache hit reads fields only (nothing here can throw).
        const hit = cachedEntry(heap, obj, prop)
        if (hit !== undefined) {
          const v = hit.value
          if (v === null || typeof v !== 'object') return v
          if (hit.boundFor === v && hit.boundBy === this && realm.depth > 0) {
            if (stamp !== 0) t.rememberMethod(prop, stamp, hit.bound)
            return hit.bound
          }
        }
        return this.slowGet(obj, prop, receiver)
      },
      set: (t, prop, value) => guard(() => {
        if (typeof prop !== 'string') throw new TypeError('symbol-keyed properties cannot be stored in slots')
        setSlot(heap, t.obj, prop, value)
        return true
      }),
      has: (t, prop) => guard(() => typeof prop === 'string' && lookup(heap, t.obj, prop) !== undefined),
      deleteProperty: (t, prop) => guard(() => {
        if (typeof prop === 'string') removeSlot(heap, t.obj, prop)
        return true
      }),
      ownKeys: (t) => guard(() => [...heap.read(t.obj).slots.keys()]),
      getOwnPropertyDescriptor: (t, prop) => guard(() => {
        if (typeof prop !== 'string') return undefined
        const slots = heap.read(t.obj).slots
        if (!slots.has(prop)) return undefined
        return { value: this.toJS(t.obj, prop, slots.get(prop)), writable: true, enumerable: true, configurable: true }
      }),
      defineProperty: (t, prop, desc) => guard(() => {
        if (typeof prop !== 'string' || !('value' in desc)) throw new TypeError('slots hold values: accessors and symbol keys cannot be defined on UVM objects')
        setSlot(heap, t.obj, prop, desc.value)
        return true
      }),
      getPrototypeOf: () => null,
      setPrototypeOf: () => guard(() => { throw new TypeError("UVM objects delegate through 'parent*' slots: assign obj['parent*'] instead") }),
      preventExtensions: () => false,
      isExtensible: () => true,
    })
  }
}

/**
 * A proxy's target: it carries the object, in a private field (the target has no own property for
 * the Proxy invariants to hold the traps to). Host-made; no code ever hands a target out.
 */
class ProxyTarget {
  readonly #obj: Obj
  /**
   * The method closure the get trap last gave sandbox code, its selector, and the view stamp it holds
   * for ('' and 0: none; the selector field only ever holds a string).
   */
  #method = ''
  #stamp = 0
  #bound: unknown = undefined
  constructor(obj: Obj) { this.#obj = obj }
  get obj(): Obj { return this.#obj }
  get method(): string { return this.#method }
  get stamp(): number { return this.#stamp }
  get bound(): unknown { return this.#bound }
  rememberMethod(selector: string, stamp: number, bound: unknown): void {
    this.#method = selector
    this.#stamp = stamp
    this.#bound = bound
  }
}

/** Structural equality of stored values (objects by identity). */
export function sameData(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (a instanceof Obj || b instanceof Obj || a instanceof Method || b instanceof Method || a instanceof Primitive || b instanceof Primitive) return false
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
    return true
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a), kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] !== kb[i]) return false
    if (!sameData((a as Record<string, unknown>)[ka[i]!], (b as Record<string, unknown>)[kb[i]!])) return false
  }
  return true
}
