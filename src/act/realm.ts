/**
 * The hardened realm: one `node:vm` context per instance, locked down once
 * (see lockdown.ts), in which methods and acts are compiled and run.
 *
 * Rules the code below keeps:
 * - Sandbox code only runs inside a timed `runInContext` (the trampoline), or
 *   nested inside one. The host never reads a property of a realm value
 *   outside that, except through own data descriptors of non-proxies, which
 *   cannot run sandbox code.
 * - With `microtaskMode: 'afterEvaluate'` the context's promise jobs run only
 *   at the end of a `runInContext`. Every host-side settlement of a realm
 *   promise is itself made through the trampoline, so its continuations run
 *   at once, under the CPU limit.
 */
import { randomUUID } from 'node:crypto'
import { types } from 'node:util'
import { getHeapStatistics, setFlagsFromString } from 'node:v8'
import { compileFunction, createContext, Script, type Context } from 'node:vm'
import { ErrorCodes, MethodSyntaxError, UvmError, type ErrorCode } from '../errors.js'
import type { Realm, RealmFunction } from '../kernel/realm.js'
import { ACT_FILE, METHOD_FILE, SETUP_FILE, setupSource, type CallCell, type RealmKit } from './lockdown.js'
import { clock, type Clock } from './clock.js'
import { CALL_MARK, TICK, UNWIND, uninstrument, type Instrumented } from './instrument.js'
import { actBody, excerpt, methodBody, SourceProblem, v8SyntaxPosition } from './parse.js'
import { RAW, traceFrames, type CompiledMethod, type Raw } from './trace.js'

export interface HardenedRealmOptions {
  /** CPU (watchdog) limit for each synchronous run of sandbox code entered from the host. Default 1000 ms. */
  cpuTimeoutMs?: number
  /** Default wall-clock limit for `runAct`. Default 30000 ms. */
  wallTimeoutMs?: number
  /** The clock the CPU-limit checkpoints read. Default: the process clock (clock.ts). */
  clock?: Clock
  /**
   * How much an act may grow the heap, in MiB (checked every ${MEMORY_CHECK_MS} ms of its code's
   * running; undefined: not checked). Past it the act fails with ACT_OUT_OF_MEMORY. One native
   * allocation can overshoot between checks: the daemon's execution unit has a hard cap behind this.
   */
  actMemoryMb?: number
  /** Runs a full collection before an act is failed for memory (what looked used may be garbage). */
  collect?: () => void
}

export interface RealmActOptions {
  cpuTimeoutMs?: number | undefined
  wallTimeoutMs?: number | undefined
  /** Receives the arguments of every `print(...)` made while this act's code runs, methods it calls included. */
  print?: ((args: unknown[]) => void) | undefined
  /**
   * Who the act's code works for (its transaction): graph objects compare it with their own
   * transaction and refuse to be used by any other act's code.
   */
  owner?: unknown
  /** A number the watchdog reports when this act's code has to be stopped from outside (watchdog.ts). */
  tag?: number | undefined
}

/** How often the memory limit is looked at while an act's code runs. */
const MEMORY_CHECK_MS = 20

const ACT_CACHE_LIMIT = 500
/**
 * A regular expression backtracks inside V8 where no checkpoint runs: `/(a+)+$/` on 30 a's and a b
 * would take hours. With this flag V8 switches such a match to its linear-time engine after a bounded
 * number of backtracks. Process-wide, and harmless to host code (same results, bounded time).
 */
setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks')
const BUILTIN_ERRORS = new Set(['TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError'])
const hostThen = Promise.prototype.then

interface CompiledAct {
  fn: RealmFunction
  /** `act:<n>`: what its stack frames name it. */
  file: string
  /** Maps a column of the compiled (checkpointed) text back to the act's own. */
  column: Instrumented['column']
  nested: Instrumented['nested']
}

/** `{excerpt}`: the line with a caret under the column, for a syntax error's reader. */
function withExcerpt(source: string, line: number, column: number): { excerpt?: string } {
  const text = excerpt(source, line, column)
  return text === undefined ? {} : { excerpt: text }
}

function methodSyntax(message: string, line: number, column: number, selector: string, source: string): MethodSyntaxError {
  const e = new MethodSyntaxError(message, line, column, selector)
  Object.assign(e.details, withExcerpt(source, line, column))
  return e
}

/** A thrown primitive as the message shows it: strings quoted, bounded. */
/** An error's own message is the act's to write: an empty one says which error, a huge one is cut with a note. */
const MESSAGE_LIMIT = 10_000
function errorMessage(name: string, message: string): string {
  if (message === '') return `${name || 'an Error'} with no message`
  return message.length > MESSAGE_LIMIT ? `${message.slice(0, MESSAGE_LIMIT)}… (${(message.length - MESSAGE_LIMIT).toLocaleString('en-US')} more characters)` : message
}

function shownPrimitive(v: unknown): string {
  const t = typeof v === 'string' ? JSON.stringify(v) : typeof v === 'symbol' ? v.toString() : typeof v === 'bigint' ? `${v}n` : String(v)
  return t.length > 200 ? t.slice(0, 199) + '…' : t
}

/** An act between its start and its settlement. */
interface Act {
  readonly cpuMs: number
  /** Where the global `print` writes while this act's code runs. */
  readonly print: ((args: unknown[]) => void) | undefined
  readonly owner: unknown
  readonly tag: number
  /** Heap used when the act began (bytes), for the memory limit. */
  readonly heapBase: number
  /** Its code, for the send trace of a limit it ran past. */
  readonly compiled: CompiledAct
  /** Its wall-clock deadline (Date.now() time) and limit, for sleep. */
  readonly wallEnd: number
  readonly wallMs: number
  done: boolean
  fail(e: Error): void
}

function callWithSelf(fn: RealmFunction, self: unknown, args: readonly unknown[]): unknown {
  switch (args.length) {
    case 0: return fn.call(self, self)
    case 1: return fn.call(self, self, args[0])
    case 2: return fn.call(self, self, args[0], args[1])
    case 3: return fn.call(self, self, args[0], args[1], args[2])
    default: return Reflect.apply(fn, self, [self, ...args])
  }
}

function isPrimitive(v: unknown): boolean {
  return v === null || (typeof v !== 'object' && typeof v !== 'function')
}

function checkMs(what: string, ms: number): number {
  if (!Number.isInteger(ms) || ms <= 0) throw new TypeError(`${what} must be a positive integer of milliseconds, got ${ms}`)
  return ms
}

/** Whether `v`'s prototype chain reaches `root`, reading no property (proxies count as unknown: false). */
function chainReaches(v: unknown, root: object): boolean {
  for (let o = v; o !== null && !isPrimitive(o); o = Object.getPrototypeOf(o)) {
    if (types.isProxy(o)) return false
    if (o === root) return true
  }
  return false
}

/** A data property found on `v` or its prototypes, never calling a getter or a proxy trap. */
function dataProperty(v: object, key: string): unknown {
  for (let o: object | null = v; o !== null; o = Object.getPrototypeOf(o) as object | null) {
    if (types.isProxy(o)) return undefined
    const d = Object.getOwnPropertyDescriptor(o, key)
    if (d !== undefined) return 'value' in d ? d.value : undefined
  }
  return undefined
}

/** Own enumerable data fields holding primitives, by descriptor (no getter runs). */
function primitiveFields(o: object): [string, unknown][] {
  const out: [string, unknown][] = []
  for (const key of Reflect.ownKeys(o)) {
    if (typeof key !== 'string' || key === 'name' || key === 'message' || key === 'stack') continue
    const d = Object.getOwnPropertyDescriptor(o, key)
    if (d?.enumerable && 'value' in d && isPrimitive(d.value)) out.push([key, d.value])
  }
  return out
}

function primitiveText(v: unknown): string {
  return typeof v === 'symbol' ? v.toString() : String(v)
}

/**
 * How far past the CPU limit node's watchdog stops an act's entry while the checkpoints run. The
 * watchdog is their backstop (a native operation meets no checkpoint) and must not fire at the same
 * moment: a termination between the act's async function returning its rejected promise (a
 * checkpoint threw) and the handler being attached to it leaves that promise unhandled.
 */
function backstopMargin(ms: number): number {
  return Math.max(20, Math.ceil(ms / 10))
}

/**
 * node's watchdog error. Sandbox throws never leave the trampoline as exceptions (they come back as
 * THREW), and `Error.prototype` identity is no test: the host module may live in another context
 * than node's internals (vitest runs test files that way).
 */
function isScriptTimeout(e: unknown): boolean {
  return types.isNativeError(e) && !types.isProxy(e) &&
    Object.getOwnPropertyDescriptor(e, 'code')?.value === 'ERR_SCRIPT_EXECUTION_TIMEOUT'
}

function cpuTimeout(ms: number): UvmError {
  return new UvmError('ACT_TIMEOUT', `sandbox code ran past its CPU limit of ${ms} ms`, { limit: 'cpu', ms })
}

function cancelled(): UvmError {
  return new UvmError('ACT_CANCELLED', 'the act was cancelled: it was stopped, and nothing it did was committed')
}

function outOfMemory(mb: number): UvmError {
  return new UvmError('ACT_OUT_OF_MEMORY', `the act grew the heap past its memory limit of ${mb} MiB`, { limit: 'memory', mb })
}

function heapUsed(): number {
  // External memory too: ArrayBuffers live outside the V8 heap, and an act can hold gigabytes of them.
  const s = getHeapStatistics()
  return s.used_heap_size + s.external_memory
}

export class HardenedRealm implements Realm {
  readonly cpuTimeoutMs: number
  readonly wallTimeoutMs: number
  readonly arrayPrototype: object
  readonly objectPrototype: object

  readonly #context: Context
  readonly #kit: RealmKit
  readonly #trampoline: Script
  readonly #methods = new Map<string, RealmFunction>()
  /** By the id in their file name: what a stack frame of each compiled method maps back to. */
  readonly #methodInfo = new Map<number, CompiledMethod>()
  #methodCount = 0
  /** Host errors turned into realm errors (toRealmError) → the host stack where they were raised, for --debug. */
  readonly #hostStacks = new WeakMap<object, string>()
  readonly #acts = new Map<string, CompiledAct>()
  /** Act texts that passed checkActSyntax (insertion order: the oldest goes first). */
  readonly #checked = new Set<string>()
  readonly #made = new WeakSet<object>()
  readonly #inFlight = new Set<Act>()
  /** The act whose code the running timed entry serves (undefined: a plain invoke or drain). */
  #current: Act | undefined
  /**
   * Entries on the stack, and [0] the next checkpoint's trigger time and [1] the running entry's CPU
   * deadline (Infinity between entries), in shared memory: the realm-side trap shims read the depth,
   * and a watchdog thread (watchdog.ts) may read both while this thread is stuck in a native call.
   */
  readonly #depthView = new Int32Array(new SharedArrayBuffer(8))
  /** The depth itself, a plain field (the hot paths read it); the shared view mirrors whether it is 0 (#top). */
  #depth = 0
  #actCount = 0
  /** The process clock the checkpoints read (clock.ts), and the running entry's deadline on it (Infinity between entries). */
  readonly #clock: Clock
  readonly #deadline = new Float64Array(new SharedArrayBuffer(16)).fill(Infinity)
  /** Why the running entry must stop: false (it need not), or the error code it stops with. */
  #overdue: false | 'ACT_TIMEOUT' | 'ACT_OUT_OF_MEMORY' | 'ACT_CANCELLED' = false
  /**
   * [0]: the tag of an act to cancel (0: none), in shared memory: a thread that cannot wait for this one
   * (the execution unit's cancel listener, while a loop holds this thread) writes it, and makes the
   * running entry's deadline[0] "now" so that its next checkpoint asks the host (#checkLimits).
   */
  readonly #cancel = new Int32Array(new SharedArrayBuffer(4))
  readonly #actMemoryMb: number | undefined
  readonly #collect: (() => void) | undefined
  /** The heap in use after the last collection made between acts (or at start): garbage above it is what a collection may free. */
  #lastLive = heapUsed()
  #drainPending = false
  /** The kit's call-mark cell, held here: the kit is a null-prototype object, which V8 keeps in dictionary mode (slow to read). */
  readonly #callCell: CallCell
  /** Where `print` writes when no act is running (a method the host called directly). Default: nowhere. */
  onPrint: ((args: unknown[]) => void) | undefined = undefined

  constructor(options: HardenedRealmOptions = {}) {
    this.cpuTimeoutMs = checkMs('cpuTimeoutMs', options.cpuTimeoutMs ?? 1000)
    this.wallTimeoutMs = checkMs('wallTimeoutMs', options.wallTimeoutMs ?? 30000)
    const sandbox = Object.create(null) as object
    this.#context = createContext(sandbox, {
      codeGeneration: { strings: false, wasm: false },
      microtaskMode: 'afterEvaluate',
    })
    const nonce = randomUUID().replaceAll('-', '')
    const enterName = `__uvmEnter_${nonce}`
    this.#kit = new Script(setupSource(enterName, `__uvmKit_${nonce}`), { filename: SETUP_FILE })
      .runInContext(this.#context) as RealmKit
    this.#trampoline = new Script(`${enterName}()`, { filename: SETUP_FILE })
    // Global reads hit this object before the real global, and writes to it go through node's
    // interceptors: pinning every intrinsic here is what stops `globalThis.Error = {...}` from
    // swapping the Error whose prepareStackTrace node consults.
    const pin = (name: string, value: unknown) => Object.defineProperty(sandbox, name, { value, writable: false, enumerable: false, configurable: false })
    this.#kit.names.forEach((name, i) => { if (name !== 'globalThis') pin(name, this.#kit.values[i]) })
    for (const name of this.#kit.hidden) pin(name, undefined)
    // `print` is a global so that methods (not only acts) can print: the seeds' first
    // method body is `print("New tool created!")`. It writes to the running act's sink.
    const print = this.hostFunction('print', (_this, args) => { (this.#current?.print ?? this.onPrint)?.(args) })
    pin('print', print)
    // Node habits: console.log (info, warn, error, debug) is print, and `await sleep(ms)` waits within the wall limit.
    const realmConsole = this.#kit.makeConsole(print)
    const sleep = this.hostFunction('sleep', (_this, [ms]) => this.#sleep(ms))
    if (!this.#kit.hidden.includes('console')) pin('console', realmConsole)
    pin('sleep', sleep)
    // No state between acts but the image: the real global object takes new properties (node's
    // interceptors put them there even with the sandbox sealed) and cannot be made non-extensible,
    // so code never gets it. `globalThis` is a frozen object of the same intrinsics, and all code is
    // strict (no sloppy `this`): a global set by one act has nowhere to live for the next.
    pin('globalThis', this.#kit.makeGlobal({ print, console: realmConsole, sleep }))
    Object.preventExtensions(sandbox)
    this.#clock = options.clock ?? clock()
    this.#actMemoryMb = options.actMemoryMb === undefined ? undefined : checkMs('actMemoryMb', options.actMemoryMb)
    this.#collect = options.collect
    this.#kit.setClock(this.#clock.now, this.#deadline, this.hostFunction('overdue', () => this.#checkLimits()))
    this.#callCell = this.#kit.callCell
    this.arrayPrototype = this.#kit.ArrayProto
    this.objectPrototype = this.#kit.ObjectProto
  }

  compileMethod(source: string, selector: string): RealmFunction {
    // Per selector too: a stack frame names the method by the file it was compiled in.
    const key = selector + '\0' + source
    const cached = this.#methods.get(key)
    if (cached !== undefined) return cached
    let body: Instrumented
    try {
      body = methodBody(source)
    } catch (e) {
      if (e instanceof SourceProblem) {
        if (e.forbidden) throw new UvmError('ACT_FORBIDDEN', `method '${selector}': ${e.message}`, { line: e.line, column: e.column, selector, ...withExcerpt(source, e.line, e.column) })
        throw methodSyntax(e.message, e.line, e.column, selector, source)
      }
      throw e
    }
    const id = ++this.#methodCount
    const fn = this.#compile(body, `${METHOD_FILE}${id}:${selector.replace(/[^\w$:.-]/g, '_')}`, source, (message, line, column) =>
      methodSyntax(message, line, column, selector, source), this.#kit.unwinder(id))
    this.#methods.set(key, fn)
    this.#methodInfo.set(id, { selector, column: body.column, nested: body.nested })
    return fn
  }

  #sleep(ms: unknown): unknown {
    const act = this.#current
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new TypeError(`sleep(ms) takes a number of milliseconds, 0 or more; got ${shownPrimitive(typeof ms === 'object' && ms !== null ? '[object]' : ms)}`)
    if (act === undefined) throw new UvmError('ACT_FAILED', 'sleep(ms) works in acts and the methods they call: no act is running')
    const left = act.wallEnd - Date.now()
    if (ms > left) throw new UvmError('ACT_TIMEOUT', `sleep(${ms}) would end past the act's wall-clock limit of ${act.wallMs} ms (${Math.max(0, Math.floor(left))} ms left)`, { limit: 'wall', ms: act.wallMs })
    return new Promise((resolve) => setTimeout(resolve, ms))
  }

  /** `cpuTimeoutMs`: this entry's CPU limit when it is a new timed entry (default: the realm's). */
  invoke(fn: RealmFunction, thisArg: unknown, args: readonly unknown[], cpuTimeoutMs?: number): unknown {
    return this.#enter(fn, thisArg, args, cpuTimeoutMs === undefined ? this.cpuTimeoutMs : checkMs('cpuTimeoutMs', cpuTimeoutMs))
  }

  get depth(): number {
    return this.#depth
  }

  /** The owner (RealmActOptions.owner) of the act whose code the running entry serves; undefined outside acts. */
  get owner(): unknown {
    return this.#current?.owner
  }

  /**
   * A proxy handler whose traps are realm functions calling `traps`: whatever a trap throws reaches
   * sandbox code as a realm value. (A stack overflow inside a host trap throws the host's RangeError,
   * whose constructor chain leads to the host Function; only a realm frame can catch and replace it.)
   */
  proxyHandler<T extends object>(traps: ProxyHandler<T>): ProxyHandler<T> {
    return this.#kit.makeProxyHandler(traps, this.#depthView) as ProxyHandler<T>
  }

  /**
   * The shared memory a watchdog thread reads (watchdog.ts): depth[0] the entry depth, depth[1] the
   * tag of the act whose entry it is (0: none), deadline[1] the entry's CPU deadline on `now`.
   */
  get stopSignals(): { depth: Int32Array; deadline: Float64Array; now: Float64Array; awake: Int32Array | undefined; cancel: Int32Array } {
    return { depth: this.#depthView, deadline: this.#deadline, now: this.#clock.now, awake: this.#clock.awake, cancel: this.#cancel }
  }

  takeCallMark(value: unknown, key: string): boolean {
    const cell = this.#callCell
    if (cell.value !== value || (cell.key !== undefined && cell.key !== key)) return false
    cell.value = cell.key = undefined
    return true
  }

  /** `opts.construct`: callable with `new` too (e.g. `new UvmObject()`); `impl` then gets the fresh `this`. */
  bindMethod(name: string, fn: RealmFunction, self: unknown): RealmFunction {
    const bound = this.#kit.bindMethod(String(name), fn, self)
    this.#made.add(bound)
    return bound
  }

  hostFunction(name: string, impl: (thisArg: unknown, args: unknown[]) => unknown, opts: { construct?: boolean } = {}): RealmFunction {
    const call = (thisArg: unknown, args: unknown[]): unknown => {
      let result: unknown
      try {
        result = impl(thisArg, args)
      } catch (e) {
        throw this.#toRealmThrowable(e)
      }
      // A host promise would hand sandbox code a host `then` (and its Function); it also could not wake
      // the context's microtask queue. Swap it for a realm promise settled through the trampoline.
      return types.isPromise(result) && !chainReaches(result, this.#kit.ObjectProto) ? this.#adopt(result as Promise<unknown>) : result
    }
    const fn = this.#kit.makeHostFunction(String(name), call, opts.construct === true)
    this.#made.add(fn)
    return fn
  }

  newArray(items: readonly unknown[] = []): unknown[] {
    const a = new this.#kit.Array<unknown>()
    for (let i = 0; i < items.length; i++) a[i] = items[i]
    return a
  }

  newObject(): Record<string, unknown> {
    return new this.#kit.Object() as Record<string, unknown>
  }

  copyBytes(bytes: Uint8Array): Uint8Array {
    return new this.#kit.Uint8Array(bytes)
  }

  toRealmError(err: unknown): Error {
    if (chainReaches(err, this.#kit.ErrorProto)) return err as Error
    let name: string | undefined
    let message = ''
    const fields: [string, unknown][] = []
    if (isPrimitive(err)) {
      message = primitiveText(err)
    } else if (types.isProxy(err)) {
      message = 'a proxy was thrown'
    } else {
      const o = err as object
      const n = dataProperty(o, 'name')
      if (typeof n === 'string') name = n
      const m = dataProperty(o, 'message')
      message = typeof m === 'string' ? m : isPrimitive(m) && m !== undefined ? primitiveText(m) : ''
      fields.push(...primitiveFields(o))
      // A UvmError keeps some fields (MethodSyntaxError's selector) only in `details`.
      const details = Object.getOwnPropertyDescriptor(o, 'details')?.value as unknown
      if (!isPrimitive(details) && !types.isProxy(details)) {
        for (const [k, v] of primitiveFields(details as object)) if (!fields.some(([f]) => f === k)) fields.push([k, v])
      }
    }
    const Ctor = name !== undefined && BUILTIN_ERRORS.has(name)
      ? this.#kit.errors[name as keyof RealmKit['errors']]
      : this.#kit.errors.Error
    const e = new Ctor(message)
    if (types.isNativeError(err)) {
      // By descriptor, and V8's own formatting may still throw (a Symbol name): then there is none to keep.
      try { const stack = Object.getOwnPropertyDescriptor(err, 'stack')?.value as unknown; if (typeof stack === 'string') this.#hostStacks.set(e, stack) } catch { /* none */ }
    }
    if (name !== undefined && name !== Ctor.name) {
      Object.defineProperty(e, 'name', { value: name, writable: true, enumerable: false, configurable: true })
    }
    for (const [key, value] of fields) {
      Object.defineProperty(e, key, { value, writable: true, enumerable: true, configurable: true })
    }
    return e
  }

  sourceText(fn: Function): string {
    return uninstrument(Function.prototype.toString.call(fn))
  }

  isRealmFunction(value: unknown): value is RealmFunction {
    return typeof value === 'function' && (this.#made.has(value) || chainReaches(value, this.#kit.ObjectProto))
  }

  /**
   * Whether `value` is an object of this realm (its prototype chain ends in the realm's Object.prototype),
   * found without running any realm code. E.g. for a process-wide 'unhandledRejection' listener: sandbox
   * code can always leave a realm promise rejected with no handler, and node reports that to the host.
   */
  isRealmValue(value: unknown): boolean {
    return chainReaches(value, this.#kit.ObjectProto)
  }

  settle(value: unknown): unknown {
    if (!types.isPromise(value) || !this.isRealmValue(value)) return value
    // An act that awaits it: the act machinery drains the context and applies the wall deadline.
    return this.runAct('return await __settle', { __settle: value })
  }

  /**
   * Run pending promise continuations in the context now, under the CPU limit. Needed only by host code
   * that settles realm promises by other means than `hostFunction` results.
   */
  drain(): void {
    this.#enter(undefined, undefined, [], this.#drainLimit())
  }

  /** Throws `UvmError('ACT_SYNTAX' | 'ACT_FORBIDDEN')` with act-relative line/column. */
  checkActSyntax(code: string): void {
    // The answer depends on the text alone: remember the texts that passed (acorn costs ~10 µs a parse).
    if (this.#checked.has(code)) return
    this.#actBody(code, [])
    this.#checked.add(code)
    if (this.#checked.size > ACT_CACHE_LIMIT) this.#checked.delete(this.#checked.values().next().value!)
  }

  /**
   * Run an act: `code` is the body of `async function (<binding names>)`. Resolves with its value;
   * rejects with `ACT_SYNTAX`, `ACT_FORBIDDEN`, `ACT_TIMEOUT` (CPU per synchronous run, or the wall
   * deadline), or with a host `UvmError` describing what the act threw (its `code` when it is a UVM code,
   * else `ACT_FAILED`; `name`, `line`, `column` and the thrown error's primitive fields in `details`).
   */
  async runAct(code: string, bindings: Record<string, unknown>, opts: RealmActOptions = {}): Promise<unknown> {
    const cpu = checkMs('cpuTimeoutMs', opts.cpuTimeoutMs ?? this.cpuTimeoutMs)
    const wall = checkMs('wallTimeoutMs', opts.wallTimeoutMs ?? this.wallTimeoutMs)
    if (opts.tag !== undefined && this.#cancelledTags.delete(opts.tag)) throw cancelled()
    const names = Object.keys(bindings)
    const compiled = this.#compileAct(code, names)
    const { fn } = compiled
    const values = names.map((n) => bindings[n])
    return new Promise((resolve, reject) => {
      const settle = (f: () => void) => {
        if (act.done) return
        act.done = true
        this.#inFlight.delete(act)
        // A cancel of this act is spent (a tag names one act, but a caller may reuse them).
        Atomics.compareExchange(this.#cancel, 0, act.tag, 0)
        clearTimeout(timer)
        // A mark left behind would keep its object (a proxy, and so its transaction) alive until the next call.
        this.#callCell.value = this.#callCell.key = undefined
        f()
      }
      const act: Act = { cpuMs: cpu, print: opts.print, owner: opts.owner, tag: opts.tag ?? 0, compiled, heapBase: this.#heapBase(), wallEnd: Date.now() + wall, wallMs: wall, done: false, fail: (e) => settle(() => reject(e)) }
      const ok = (value: unknown) => settle(() => {
        // What the act holds at its end counts too (a short act meets no periodic check): its value included.
        if (this.#overMemory(act)) { reject(outOfMemory(this.#actMemoryMb!)); return }
        const hazard = this.#adoptionHazard(value)
        if (hazard === undefined) resolve(value)
        else reject(new UvmError('ACT_FAILED', `the act's result cannot be handed to the host: ${hazard}`))
      })
      const thrown = (e: unknown) => settle(() => reject(this.#actError(e, compiled)))
      const timer = setTimeout(() => act.fail(new UvmError('ACT_TIMEOUT', `the act did not finish within ${wall} ms (wall clock)`, { limit: 'wall', ms: wall })), wall)
      this.#inFlight.add(act)
      try {
        this.#enter(this.#kit.startAct, undefined, [fn, values, ok, thrown], cpu, act)
      } catch (e) {
        act.fail(e instanceof UvmError ? e : new UvmError('ACT_FAILED', 'the act could not start'))
      }
    })
  }

  /**
   * Stop the act run with `tag` (RealmActOptions.tag; 0 names none): one that awaits fails at once, one
   * whose code runs at its next checkpoint, with ACT_CANCELLED (its transaction is the caller's to
   * abort, as for any failure). False when no act of that tag is in flight: then an act that starts
   * under it later fails at once (the JIT runs a send's act again after compiling what it needed, and
   * a cancel may come while the LLM works).
   */
  cancel(tag: number): boolean {
    if (tag === 0) return false
    for (const act of this.#inFlight) {
      if (act.tag !== tag) continue
      Atomics.store(this.#cancel, 0, tag)
      if (this.#current === act) this.#deadline[0] = -Infinity
      else act.fail(cancelled())
      return true
    }
    this.#cancelledTags.add(tag)
    if (this.#cancelledTags.size > 64) this.#cancelledTags.delete(this.#cancelledTags.values().next().value!)
    return false
  }

  /** Tags cancelled while no act of theirs ran (bounded: a tag names one request, and most never run again). */
  readonly #cancelledTags = new Set<number>()

  /**
   * Enter the context. Already inside: a plain call. From the host: an act's entry (`owner`) and drains go
   * through the trampoline under node's watchdog as well as the checkpoints; a call of a compiled function
   * is made directly, bounded by the checkpoints alone (node's watchdog costs ~30 µs an entry).
   */
  #enter(fn: RealmFunction | undefined, thisArg: unknown, args: readonly unknown[], timeoutMs: number, owner?: Act): unknown {
    if (this.#depth > 0) {
      if (fn === undefined) return undefined // the running entry's checkpoint will drain
      this.#depth++
      try { return Reflect.apply(fn, thisArg, args) } finally { this.#depth-- }
    }
    // A sleeping clock (nothing ran for a while) ticks again from here on; the host's fast path meets it asleep and comes here.
    if (!this.#clock.running) this.#clock.wake?.()
    this.#startEntry(timeoutMs)
    // Without a running clock the checkpoints never fire: every entry then goes under node's watchdog.
    if (owner === undefined && fn !== undefined && this.#clock.running) return this.#call(fn, thisArg, args, timeoutMs)
    this.#kit.arm(fn, thisArg, args)
    let result: unknown
    this.#current = owner
    if (owner !== undefined) this.#deadline[0] = this.#nextCheck(this.#clock.now[0]!)
    this.#depthView[1] = owner?.tag ?? 0
    this.#depth++
    this.#depthView[0] = 1
    try {
      result = this.#trampoline.runInContext(this.#context, { timeout: this.#clock.running ? timeoutMs + backstopMargin(timeoutMs) : timeoutMs })
    } catch (e) {
      if (!isScriptTimeout(e)) throw e
      throw this.#timedOut(timeoutMs, owner)
    } finally {
      // Not a decrement: a timeout unwinds nested frames without running their finally blocks.
      this.#depth = 0; this.#depthView[0] = 0
      this.#current = undefined
      this.#deadline[0] = this.#deadline[1] = Infinity
    }
    if (this.#overdue) throw this.#dropped(result, this.#timedOut(timeoutMs, owner))
    if (result === this.#kit.THREW) throw this.#kit.takeThrown()
    return result
  }

  #startEntry(ms: number): void {
    const end = this.#clock.now[0]! + ms
    this.#deadline[1] = end
    this.#deadline[0] = end
    this.#overdue = false
  }

  /**
   * A checkpoint found its trigger time passed (#deadline[0]): past the CPU deadline, or time to look
   * at the act's memory. Returns the error code the code must stop with, or false to go on.
   */
  #checkLimits(): false | 'ACT_TIMEOUT' | 'ACT_OUT_OF_MEMORY' | 'ACT_CANCELLED' {
    if (this.#overdue !== false) return this.#overdue
    const cancel = Atomics.load(this.#cancel, 0)
    if (cancel !== 0 && cancel === this.#current?.tag) return (this.#overdue = 'ACT_CANCELLED')
    const now = this.#clock.now[0]!
    if (now > this.#deadline[1]!) return (this.#overdue = 'ACT_TIMEOUT')
    const act = this.#current
    if (act !== undefined && this.#overMemory(act)) return (this.#overdue = 'ACT_OUT_OF_MEMORY')
    this.#deadline[0] = this.#nextCheck(now)
    return false
  }

  /** Whether `act` holds more than its memory limit now (after a full collection, when the first look says so). */
  #overMemory(act: Act): boolean {
    const limit = this.#actMemoryMb
    if (limit === undefined || heapUsed() - act.heapBase <= limit * 1048576) return false
    // (Not a new floor for #heapBase: what this act holds is live now, and garbage once it ends.)
    this.#collect?.()
    return heapUsed() - act.heapBase > limit * 1048576
  }

  /**
   * The heap an act's memory is counted from. Garbage left by earlier acts would count in its favour
   * (a collection during the act frees it): past half the limit of it, collect first.
   */
  #heapBase(): number {
    const limit = this.#actMemoryMb
    if (limit === undefined) return 0
    let used = heapUsed()
    if (this.#collect !== undefined && used - this.#lastLive > limit * 524288) {
      this.#collect()
      used = this.#lastLive = heapUsed()
    }
    return used
  }

  #nextCheck(now: number): number {
    return this.#actMemoryMb === undefined || this.#current === undefined ? this.#deadline[1]! : Math.min(this.#deadline[1]!, now + MEMORY_CHECK_MS)
  }

  /** The error for an entry that had to stop (#overdue says why). */
  #limitError(ms: number): UvmError {
    return this.#overdue === 'ACT_OUT_OF_MEMORY' ? outOfMemory(this.#actMemoryMb!) : this.#overdue === 'ACT_CANCELLED' ? cancelled() : cpuTimeout(ms)
  }

  /**
   * Call a compiled method as a send does: `fn.call(self, self, ...args)`, entering the realm if the host
   * calls (a promise it answers the host with is settled: see `settle`). The kernel's hot path: no
   * arguments array is built for up to three arguments.
   */
  callMethod(fn: RealmFunction, self: unknown, args: readonly unknown[]): unknown {
    // Kept small, with the rare cases out of line, so that V8 inlines it into the send sites.
    if (this.#depth !== 0 || !this.#clock.running) return this.#callMethodOther(fn, self, args)
    // An entry from the host (as #call, without building an arguments array).
    this.#startEntry(this.cpuTimeoutMs)
    this.#depth = 1; this.#depthView[0] = 1
    let result: unknown
    try {
      result = callWithSelf(fn, self, args)
    } catch (e) {
      throw this.#overdue ? this.#limitError(this.cpuTimeoutMs) : e
    } finally {
      this.#endCall()
    }
    if (this.#overdue) throw this.#dropped(result, this.#limitError(this.cpuTimeoutMs))
    // #settleObject written out: one more call here and V8 no longer inlines callMethod into kernel.send.
    return typeof result === 'object' && result !== null ? this.settle(result) : result
  }

  /** callMethod nested in a running entry, or from the host with no clock (under node's watchdog). */
  #callMethodOther(fn: RealmFunction, self: unknown, args: readonly unknown[]): unknown {
    if (this.#depth !== 0) return this.#nested(fn, self, args)
    return this.#settleObject(this.#enter(fn, self, [self, ...args], this.cpuTimeoutMs))
  }

  #settleObject(result: unknown): unknown {
    return typeof result === 'object' && result !== null ? this.settle(result) : result
  }

  #nested(fn: RealmFunction, self: unknown, args: readonly unknown[]): unknown {
    this.#depth++
    try { return callWithSelf(fn, self, args) } finally { this.#depth-- }
  }

  /**
   * After an entry from the host. The deadline is left as it was: sandbox code runs only inside
   * entries, and the next entry sets its own.
   */
  #endCall(): void {
    this.#depth = 0; this.#depthView[0] = 0
    if (!this.#drainPending) this.#scheduleDrain()
  }

  #scheduleDrain(): void {
    this.#drainPending = true
    queueMicrotask(this.#drainSoon)
  }

  /** A direct call from the host: no trampoline, so the context's promise jobs are drained soon after. */
  #call(fn: RealmFunction, thisArg: unknown, args: readonly unknown[], timeoutMs: number): unknown {
    this.#depth = 1; this.#depthView[0] = 1
    let result: unknown
    try {
      result = Reflect.apply(fn, thisArg, args)
    } catch (e) {
      if (this.#overdue) throw this.#limitError(timeoutMs)
      throw e
    } finally {
      this.#endCall()
    }
    if (this.#overdue) throw this.#dropped(result, this.#limitError(timeoutMs))
    return result
  }

  /**
   * `error`, for an entry that ran past its limit after all: the value it returned is dropped, and if
   * that is a realm promise (an async method whose body the limit ended), it gets a handler first, or
   * node would report it as an unhandled rejection (by default a crash of the host process).
   */
  #dropped(result: unknown, error: UvmError): UvmError {
    if (types.isPromise(result) && this.isRealmValue(result)) this.#kit.ignore(result)
    return error
  }

  /**
   * The promise jobs a direct call left in the context run at the host's next microtask checkpoint,
   * after the host's synchronous work, under the checkpoints' CPU limit. (An async method the host
   * awaits is settled by `settle`, which drains at once.)
   */
  readonly #drainSoon = (): void => {
    this.#drainPending = false
    if (this.#depth > 0) return
    this.#kit.arm(undefined, undefined, [])
    if (!this.#clock.running) this.#clock.wake?.()
    this.#startEntry(this.#drainLimit())
    this.#depth = 1; this.#depthView[0] = 1
    try {
      this.#trampoline.runInContext(this.#context, this.#clock.running ? undefined : { timeout: this.#drainLimit() })
    } catch (e) {
      if (!isScriptTimeout(e)) throw e
      this.#overdue = 'ACT_TIMEOUT'
    } finally {
      this.#depth = 0; this.#depthView[0] = 0
      this.#deadline[0] = this.#deadline[1] = Infinity
    }
    if (this.#overdue) {
      const err = this.#limitError(this.#drainLimit())
      for (const act of [...this.#inFlight]) act.fail(err)
    }
  }

  /** The error for an entry past its limit; when the overrun was in the promise jobs, the act(s) they serve fail too. */
  #timedOut(timeoutMs: number, owner: Act | undefined): UvmError {
    const err = this.#limitError(timeoutMs)
    // Where a checkpoint met the limit (node's own watchdog leaves nothing to say where).
    const limit = this.#kit.takeLimit()
    if (owner !== undefined && limit !== undefined) {
      const raw: Raw = { frames: traceFrames(limit.stack, owner.compiled, this.#kit.takeTrace(limit.error), this.#methodInfo) }
      Object.defineProperty(err, RAW, { value: raw, enumerable: false })
    }
    if (this.#kit.finished()) {
      if (owner !== undefined) owner.fail(err)
      else for (const act of [...this.#inFlight]) act.fail(err)
    }
    return err
  }

  #drainLimit(): number {
    let ms = 0
    for (const act of this.#inFlight) ms = Math.max(ms, act.cpuMs)
    return ms || this.cpuTimeoutMs
  }

  /**
   * A realm promise that follows a host one. It is settled from a macrotask, not a microtask: an act
   * looping on `await hostFn()` would otherwise keep the host's microtask queue busy forever, and no
   * timer (the wall deadline included) could fire. It belongs to the act whose run asked for it; once
   * that act has ended, it is never settled, so an orphaned act stops at its next host await.
   */
  #adopt(hostPromise: Promise<unknown>): Promise<unknown> {
    const d = this.#kit.newDeferred()
    const owner = this.#current
    const settle = (fn: RealmFunction, v: unknown) => setImmediate(() => {
      if (owner?.done) return
      try {
        this.#enter(fn, undefined, [v], owner?.cpuMs ?? this.#drainLimit(), owner)
      } catch {
        // Only ACT_TIMEOUT can land here (resolve/reject never throw), and it already failed the act(s).
      }
    })
    Reflect.apply(hostThen, hostPromise, [
      (v: unknown) => settle(d.resolve, v),
      (e: unknown) => settle(d.reject, this.#toRealmThrowable(e)),
    ])
    return d.promise
  }

  /** Host exceptions become realm errors; realm values and proxies (host-made: the realm has no Proxy) pass. */
  #toRealmThrowable(e: unknown): unknown {
    if (isPrimitive(e) || types.isProxy(e) || chainReaches(e, this.#kit.ObjectProto)) return e
    return this.toRealmError(e)
  }

  /**
   * A host promise resolved with an object reads its `then`: a sandbox getter or method there would run
   * untimed and receive host resolving functions. Proxies are the kernel's (the realm has no Proxy).
   */
  #adoptionHazard(value: unknown): string | undefined {
    for (let o = value; !isPrimitive(o); o = Object.getPrototypeOf(o)) {
      if (types.isProxy(o)) return undefined
      const d = Object.getOwnPropertyDescriptor(o as object, 'then')
      if (d !== undefined && (!('value' in d) || typeof d.value === 'function')) return 'it is a thenable (has a then method or getter)'
    }
    return undefined
  }

  #actError(thrown: unknown, compiled: CompiledAct): UvmError {
    const { file, column } = compiled
    // What the methods it left noted (the kit's own record, read without running sandbox code).
    const notes = this.#kit.takeTrace(thrown)
    let d: ReturnType<RealmKit['describe']>
    try {
      d = this.#enter(this.#kit.describe, undefined, [thrown], this.cpuTimeoutMs) as ReturnType<RealmKit['describe']>
    } catch (e) {
      return e instanceof UvmError ? e : new UvmError('ACT_FAILED', 'the act threw a value that could not be described')
    }
    const details: Record<string, unknown> = { ...d.fields, name: d.name }
    const code = d.code !== undefined && Object.hasOwn(ErrorCodes, d.code) ? d.code as ErrorCode : 'ACT_FAILED'
    if (d.code !== undefined && code === 'ACT_FAILED') details.thrownCode = d.code
    delete details.code
    if (d.stack !== undefined) {
      details.stack = d.stack
      const at = new RegExp(`\\b${file}:(\\d+):(\\d+)\\)?$`, 'm').exec(d.stack)
      // The stack's line is already act-relative (compiled with lineOffset -1); the body line is one more.
      if (at) { const line = Number(at[1]); details.line = line; details.column = column(line + 1, Number(at[2])) }
    }
    const host = !isPrimitive(thrown) ? this.#hostStacks.get(thrown as object) : undefined
    if (host !== undefined) details.hostStack = host
    // Not an Error (`throw {code: 1}`, `throw root`): runAct shows the value, where it can print graph objects.
    const raw: Raw = { frames: traceFrames(d.stack, compiled, notes, this.#methodInfo), ...(!d.primitive && !d.error && { thrown }) }
    const message = d.primitive ? `the act threw ${shownPrimitive(thrown)}` : d.error ? errorMessage(d.name, d.message) : 'the act threw a value that is not an Error'
    const err = new UvmError(code, message, details)
    Object.defineProperty(err, 'name', { value: d.name, writable: true, enumerable: false, configurable: true })
    Object.defineProperty(err, RAW, { value: raw, enumerable: false })
    return err
  }

  #actBody(code: string, names: readonly string[]): Instrumented {
    try {
      return actBody(code, names)
    } catch (e) {
      if (!(e instanceof SourceProblem)) throw e
      throw new UvmError(e.forbidden ? 'ACT_FORBIDDEN' : 'ACT_SYNTAX', e.message, { line: e.line, column: e.column, ...withExcerpt(code, e.line, e.column) })
    }
  }

  #compileAct(code: string, names: readonly string[]): CompiledAct {
    const key = names.join(',') + '\0' + code
    const hit = this.#acts.get(key)
    if (hit !== undefined) {
      this.#acts.delete(key)
      this.#acts.set(key, hit)
      return hit
    }
    const body = this.#actBody(code, names)
    const file = `${ACT_FILE}${++this.#actCount}`
    const fn = this.#compile(body, file, code, (message, line, column) => new UvmError('ACT_SYNTAX', message, { line, column, ...withExcerpt(code, line, column) }))
    const entry = { fn, file, column: body.column, nested: body.nested }
    this.#acts.set(key, entry)
    if (this.#acts.size > ACT_CACHE_LIMIT) this.#acts.delete(this.#acts.keys().next().value!)
    return entry
  }

  /**
   * Compile a checked body into the context. The wrapper only evaluates `return (function ...)`
   * (parse.ts verified that shape), so calling it directly runs no user code.
   */
  #compile(body: Instrumented, filename: string, source: string, syntaxError: (m: string, l: number, c: number) => Error, unwind?: RealmFunction): RealmFunction {
    let wrapper: (tick: () => void, callMark: (v: unknown) => unknown, unwind: RealmFunction | undefined) => RealmFunction
    try {
      wrapper = compileFunction(body.text, [TICK, CALL_MARK, UNWIND], { parsingContext: this.#context, filename, lineOffset: -1 }) as typeof wrapper
    } catch (e) {
      // acorn accepted what V8 refuses (syntax V8 does not know yet, or an early error acorn skips).
      if (!types.isNativeError(e) || !(chainReaches(e, this.#kit.errors.SyntaxError.prototype) || e instanceof SyntaxError)) throw e
      // Made by V8 at compile time, not by sandbox code: reading its stack runs nothing of the sandbox.
      const { line, column } = v8SyntaxPosition((e as Error).stack ?? '', source, body.column)
      throw syntaxError(String(dataProperty(e, 'message')), line, column)
    }
    // Frozen: a method can name itself (`function m() { m.call = ... }`), and the kernel calls it with `fn.call`.
    const fn = Object.freeze(wrapper(this.#kit.tick, this.#kit.callMark, unwind))
    // Its prototype object too: the function lives as long as the realm, shared by every act and send
    // that calls it, so a writable `f.prototype` (or a generator's) would carry state from one act to
    // the next (and a parked resolver into another act's run).
    const proto = Object.getOwnPropertyDescriptor(fn, 'prototype')?.value as unknown
    if (proto !== null && typeof proto === 'object') Object.freeze(proto)
    this.#made.add(fn)
    return fn
  }
}
