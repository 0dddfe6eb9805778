import { DoesNotUnderstand, UvmError } from '../errors.js'
import type { Heap } from './heap.js'
import { MISSING, cachedEntry, lookup, lookupSlot } from './lookup.js'
import { Obj } from './obj.js'
import type { PrimitiveTable } from './primitives.js'
import { printString, primitives as standardPrimitives } from './primitives.js'
import type { Realm, RealmFunction } from './realm.js'
import type { ValueResolver } from './values.js'
import { SendSite } from './send-site.js'
import { Method, Primitive, toStored } from './values.js'
import { intentOf } from './need.js'

export const DNU = 'doesNotUnderstand:'

/** Primitives added after the first image format: older images' traits have no slot for them. */
const LATER_PRIMITIVES = new Set(['capability'])

/** Selectors with an interned send site; a program has far fewer, an act inventing selectors may not. */
const MAX_SITES = 4096

/** The compiled function of `m`, remembered on the receiver's lookup cache entry when that entry holds it. */
function method(kernel: Kernel, receiver: Obj, m: Method, selector: string): RealmFunction {
  const fn = m.compiledIn === kernel.realm ? m.compiled as RealmFunction : kernel.compile(m, selector)
  const hit = receiver.lookupCache?.get(selector)
  if (hit !== undefined && hit.value === m) { hit.fn = fn; hit.fnFor = m }
  return fn
}

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
  private stamps = 0

  constructor(readonly realm: Realm, primitives: PrimitiveTable = standardPrimitives) {
    this.primitives = primitives
  }

  /**
   * Send `selector` to `receiver` with JS-facing arguments; returns a JS-facing value. Goes through
   * the selector's interned send site (its inline cache answers a repeated send in an unchanged view).
   */
  send(heap: Heap, receiver: Obj, selector: string, args: readonly unknown[]): unknown {
    // The last selector's site first: host loops send one selector many times over.
    let site = this.lastSite
    if (site === undefined || site.selector !== selector) site = this.siteOf(selector)
    return site === undefined ? this.sendGeneral(heap, receiver, selector, args, undefined) : site.send(heap, receiver, args)
  }

  /** The interned site of `selector` (undefined past the bound), out of line so that `send` stays small enough to inline. */
  private siteOf(selector: string): SendSite | undefined {
    const site = this.sites.get(selector) ?? this.intern(selector)
    if (site !== undefined) this.lastSite = site
    return site
  }

  private lastSite: SendSite | undefined = undefined

  /** The full send: lookup (through the receiver's lookup cache), then perform; `site` remembers what was found. */
  sendGeneral(heap: Heap, receiver: Obj, selector: string, args: readonly unknown[], site: SendSite | undefined): unknown {
    const hit = cachedEntry(heap, receiver, selector)
    if (hit !== undefined) {
      const v = hit.value
      // A method this entry already compiled: straight to the call.
      if (hit.fnFor === v) {
        site?.remember(heap, receiver, hit.fn as RealmFunction, undefined)
        return this.callCompiled(heap, receiver, hit.fn as RealmFunction, args)
      }
      if (typeof v !== 'object' || v === null) {
        site?.remember(heap, receiver, undefined, v)
        return v
      }
    }
    const value = lookupSlot(heap, receiver, selector)
    // Scalars answer as they are (the common data send); MISSING is a symbol.
    if (typeof value !== 'object') {
      if (value === MISSING) return this.doesNotUnderstand(heap, receiver, selector, args)
      site?.remember(heap, receiver, undefined, value)
      return value
    }
    if (value === null) {
      site?.remember(heap, receiver, undefined, null)
      return null
    }
    if (value instanceof Method) {
      const fn = method(this, receiver, value, selector)
      site?.remember(heap, receiver, fn, undefined)
      return this.callCompiled(heap, receiver, fn, args)
    }
    return this.perform(heap, receiver, value, selector, args)
  }

  /** Interned send sites, one per selector, up to a bound (beyond it, sends take the general path). */
  private readonly sites = new Map<string, SendSite>()

  private intern(selector: string): SendSite | undefined {
    if (this.sites.size >= MAX_SITES) return undefined
    const site = new SendSite(this, selector)
    this.sites.set(selector, site)
    return site
  }

  /** Run what a lookup found: a method is called, a primitive is run, data is answered. */
  perform(heap: Heap, receiver: Obj, value: unknown, selector: string, args: readonly unknown[]): unknown {
    if (value instanceof Method) return this.call(heap, receiver, value, selector, args)
    if (value instanceof Primitive) {
      const prim = this.primitives[value.name]
      if (prim === undefined) throw new UvmError('KERNEL_DOES_NOT_UNDERSTAND', `primitive '${value.name}' (slot '${selector}') does not exist in this UVM version`, { selector, receiver: receiver.oid })
      return prim(heap, receiver, args)
    }
    // Data that is an intent is behaviour not compiled yet (checked after the common kinds: sends of primitives stay as they were).
    const intent = intentOf(value)
    if (intent !== undefined) return this.notUnderstood(heap, receiver, selector, args, { holder: lookup(heap, receiver, selector) ?? receiver, text: intent })
    return heap.surface.toJS(receiver, selector, value)
  }

  private call(heap: Heap, receiver: Obj, m: Method, selector: string, args: readonly unknown[]): unknown {
    return this.callCompiled(heap, receiver, method(this, receiver, m, selector), args)
  }

  /** A fresh view stamp (see Heap.stamp). */
  newStamp(): number {
    return ++this.stamps
  }

  /** A send site for `selector`: an explicit send with an inline cache of its own (see SendSite). */
  site(selector: string): SendSite {
    return new SendSite(this, selector)
  }

  /** Call a method's compiled function with `receiver` as self: the last step of a send that found it. */
  callCompiled(heap: Heap, receiver: Obj, fn: RealmFunction, args: readonly unknown[]): unknown {
    // Host code awaiting an async method gets a promise it can await: sandbox callers keep the realm's.
    return this.realm.callMethod(fn, heap.surface.proxy(receiver), args)
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
    // Images born before a primitive existed lack its slot on the traits: answer it as if they had it.
    if (LATER_PRIMITIVES.has(selector) && !heap.read(heap.traits).slots.has(selector) && this.primitives[selector] !== undefined) return this.primitives[selector]!(heap, receiver, args)
    const holder = lookup(heap, receiver, DNU)
    if (holder === undefined) return this.notUnderstood(heap, receiver, selector, args)
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

  /**
   * Appended to a does-not-understand error when no compiler stands behind the view (how to get
   * one: the daemon says which flag configures an LLM). Empty for embedders that have none.
   */
  dnuHint = ''

  /**
   * The root traits' doesNotUnderstand: (also what happens when no object has one): under a
   * compiler (Heap.deferMissing) the message is recorded for it, and raised either way, so that the
   * act stops here and is run again once the behaviour exists.
   */
  notUnderstood(heap: Heap, receiver: Obj, selector: string, args: readonly unknown[], intent?: { holder: Obj; text: string }): never {
    const label = safePrintString(heap, receiver)
    if (heap.deferMissing) {
      heap.missing ??= { kind: intent ? 'intent' : 'selector', receiver, selector, args: args.map((a) => this.keepable(a)), holder: intent?.holder, intent: intent?.text }
      const e = new DoesNotUnderstand(selector, receiver.oid, 'the JIT compiles it when this act has ended, and then runs the act again', label)
      e.details.deferred = true
      throw e
    }
    const why = intent ? `its slot '${selector}' holds an intent, not code${this.dnuHint ? `: ${this.dnuHint}` : ''}` : this.dnuHint
    throw new DoesNotUnderstand(selector, receiver.oid, why, label)
  }

  /** An argument as a value that outlives its view (see Need.args): undefined when it cannot be kept. */
  private keepable(v: unknown): unknown {
    try {
      const stored = toStored(v, this, 'argument')
      return stored instanceof Method || stored instanceof Primitive ? undefined : stored
    } catch {
      return undefined
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
