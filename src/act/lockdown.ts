/**
 * The script that turns a fresh `node:vm` context into the sandbox realm, and
 * the helpers it leaves behind for the host. It runs once, before any sandbox
 * code, so everything it captures is still pristine.
 *
 * It is plain JavaScript source (not a TypeScript function turned back into
 * text) because it must run inside the context untouched by any transpiler or
 * coverage instrumentation.
 */
import type { RealmFunction } from '../kernel/realm.js'

/** What the setup script returns; only the host ever holds it. */
export interface RealmKit {
  /** Load the entry cell read by the trampoline; `fn` undefined means "just drain microtasks". */
  arm(fn: RealmFunction | undefined, thisArg: unknown, args: readonly unknown[]): void
  /** False while an armed call is still running (a timeout then hit the call itself, not the microtask drain). */
  finished(): boolean
  /** Returned by the trampoline instead of throwing, so the context's microtask checkpoint still runs. */
  THREW: object
  takeThrown(): unknown
  /** `construct`: an ordinary (constructible) function instead of a method, so `new f()` works. */
  makeHostFunction(name: string, call: (thisArg: unknown, args: unknown[]) => unknown, construct?: boolean): RealmFunction
  /** The CPU-limit checkpoint compiled code calls (instrument.ts). */
  tick(): void
  callMark(v: unknown, key?: string): unknown
  /** The value and property name `callMark` was last given, until a proxy takes them. */
  callCell: CallCell
  /** Install the clock the checkpoints read, the running entry's deadline, and the host's confirmation that it is past. */
  setClock(now: Float64Array, deadline: Float64Array, overdue: RealmFunction): void
  /** A realm closure calling `fn` with `self` as both `this` and first argument. */
  bindMethod(name: string, fn: RealmFunction, self: unknown): RealmFunction
  describe(thrown: unknown): Described
  newDeferred(): { promise: Promise<unknown>; resolve: RealmFunction; reject: RealmFunction }
  startAct(fn: RealmFunction, args: readonly unknown[], ok: (v: unknown) => void, fail: (e: unknown) => void): void
  /** Give a realm promise a rejection handler that does nothing (the host drops it after a timeout). */
  ignore(promise: unknown): void
  errors: Record<'Error' | 'TypeError' | 'RangeError' | 'SyntaxError' | 'ReferenceError' | 'EvalError' | 'URIError', ErrorConstructor>
  Array: ArrayConstructor
  Object: ObjectConstructor
  Uint8Array: Uint8ArrayConstructor
  ObjectProto: object
  ArrayProto: object
  ErrorProto: object
  names: string[]
  values: unknown[]
  /** Globals the setup could not delete: the host pins them as undefined. */
  hidden: string[]
  /** The object sandbox code sees as `globalThis`: frozen, the same intrinsics and the UVM's own globals (`print`, `console`, `sleep`). */
  makeGlobal(own: Record<string, unknown>): object
  /** `console`: a frozen object whose log, info, warn, error and debug are `print`. */
  makeConsole(print: RealmFunction): object
  /** The send trace's hook for one compiled method (instrument.ts UNWIND): notes `id` and the receiver an error leaves. */
  unwinder(id: number): RealmFunction
  /** What the hooks noted for `thrown`, innermost first: [method id, receiver, method id, receiver, …]; forgotten once taken. */
  takeTrace(thrown: unknown): unknown[] | undefined
  /** The first checkpoint error of a limit since the last take (or act start), with its stack as formatted then. */
  takeLimit(): { error: unknown; stack: string | undefined } | undefined
  /** A frozen handler of realm traps calling the host's `traps`, replacing host throwables while `depth[0] > 0`. */
  makeProxyHandler(traps: object, depth: Int32Array): object
}

/** Where the last call mark is kept (see callMark). */
export interface CallCell {
  value: unknown
  key: string | undefined
}

/** Primitive-only summary of a thrown realm value, built inside the realm (under the CPU limit). */
export interface Described {
  name: string
  message: string
  code?: string
  stack?: string
  primitive: boolean
  /** An Error (its prototype chain reaches the realm's Error.prototype); else a value thrown as it is (`throw {code: 1}`). */
  error: boolean
  fields: Record<string, string | number | boolean | bigint | null | undefined>
}

/** Stack frames outside these files (host code, node internals, the realm's own helpers) are never shown. */
export const ACT_FILE = 'act:'
export const METHOD_FILE = 'method:'
export const SETUP_FILE = 'uvm:realm'
/** How many frames V8 records for a realm error's stack. */
export const STACK_TRACE_LIMIT = 200
/** The stack line prepareStackTrace adds when V8 stopped at that limit: frames further out were not recorded. */
export const TRACE_CUT = '… more frames not recorded'

/**
 * Setup source. `enterName` and `kitName` become script-scope `const`s: visible
 * to the trampoline script, absent from `globalThis`, and unguessable (random).
 */
export function setupSource(enterName: string, kitName: string): string {
  return `"use strict";
const ${kitName} = (function () {
  const G = globalThis
  const { apply, getPrototypeOf, ownKeys, getOwnPropertyDescriptor: gopd, defineProperty } = Reflect
  const { freeze, keys } = Object
  const isArray = Array.isArray
  const ObjectProto = Object.prototype
  const symbolToString = Symbol.prototype.toString

  // Host-flavoured or dangerous globals. console: host output; FinalizationRegistry: its callbacks run later
  // as host tasks, outside any CPU limit; Proxy: traps would run sandbox code whenever the host reads a value
  // (the kernel's own proxies are made on the host); WebAssembly: code generation is off anyway.
  // SharedArrayBuffer: Atomics.wait on one blocks the thread where no CPU-limit checkpoint can run.
  // gc: present when the host runs with --expose-gc (the daemon's execution unit does, to collect before it
  // fails an act for memory); a full collection on demand is a denial of service.
  // One that cannot be deleted (gc is non-configurable under --expose-gc) is hidden instead: the host
  // pins it as undefined where global names are looked up first, and the frozen globalThis leaves it out.
  const hidden = []
  for (const k of ['console', 'FinalizationRegistry', 'Proxy', 'WebAssembly', 'SharedArrayBuffer', 'gc']) {
    try { delete G[k] } catch (e) {}
    if (k in G) hidden.push(k)
  }
  delete Atomics.wait

  const text = (v) => {
    try { return typeof v === 'string' ? v : typeof v === 'symbol' ? apply(symbolToString, v, []) : '' + v } catch (e) { return '' }
  }
  const isRealm = (v) => {
    for (let p = v; p !== null; p = getPrototypeOf(p)) if (p === ObjectProto) return true
    return false
  }
  const isPrimitive = (v) => v === null || (typeof v !== 'object' && typeof v !== 'function')

  // Node formats realm errors with this realm's Error.prepareStackTrace. Pinning a safe one keeps host
  // CallSite objects (and host file paths) away from sandbox code.
  const prepareStackTrace = function prepareStackTrace(error, frames) {
    let name = 'Error', message = ''
    try { const n = error.name; if (typeof n === 'string') name = n } catch (e) {}
    try { const m = error.message; if (typeof m === 'string') message = m } catch (e) {}
    let out = message === '' ? name : name + ': ' + message
    if (!isArray(frames)) return out
    // V8 stops collecting at the limit: say so, or a cut trace reads as a whole one without the act.
    const cut = typeof Error.stackTraceLimit === 'number' && frames.length >= Error.stackTraceLimit
    for (let i = 0; i < frames.length; i++) {
      try {
        const f = frames[i], file = f.getFileName()
        if (typeof file !== 'string' || !(file.startsWith('${ACT_FILE}') || file.startsWith('${METHOD_FILE}'))) continue
        const at = file + ':' + f.getLineNumber() + ':' + f.getColumnNumber(), fn = f.getFunctionName()
        out += '\\n    at ' + (f.isAsync() ? 'async ' : '') + (typeof fn === 'string' && fn !== '' ? fn + ' (' + at + ')' : at)
      } catch (e) {}
    }
    return cut ? out + '\\n    ${TRACE_CUT}' : out
  }
  defineProperty(Error, 'prepareStackTrace', { value: prepareStackTrace, writable: false, enumerable: false, configurable: false })
  // Deep enough for a real recursion's count (a runaway one is cut and says so), bounded for its cost.
  Error.stackTraceLimit = ${STACK_TRACE_LIMIT}

  // Registered 'nodejs.*' symbols are host hooks (util.inspect.custom would hand host objects to sandbox code).
  const symbolFor = Symbol.for
  defineProperty(Symbol, 'for', { value: { for(key) {
    const k = \`\${key}\`
    if (k.startsWith('nodejs.')) throw new TypeError('Symbol.for: host symbols are not available in the sandbox')
    return symbolFor(k)
  } }.for, writable: true, enumerable: false, configurable: true })

  // Frozen prototypes make plain assignment of an inherited name throw ("override mistake": e.name = 'X',
  // obj.toString = f). For the common ones, an accessor keeps the inherited value and lets assignment
  // define an own property instead.
  const tame = (proto, key) => {
    const d = gopd(proto, key)
    if (d === undefined || !('value' in d)) return
    const value = d.value
    defineProperty(proto, key, {
      get: { [key]() { return value } }[key],
      set: { [key](v) {
        if (this === proto) throw new TypeError("Cannot assign to read only property '" + key + "' of a frozen prototype")
        defineProperty(this, key, { value: v, writable: true, enumerable: true, configurable: true })
      } }[key],
      enumerable: d.enumerable, configurable: false,
    })
  }
  for (const k of ['constructor', 'toString', 'valueOf', 'toLocaleString', 'hasOwnProperty']) tame(ObjectProto, k)
  const errors = { __proto__: null, Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError }
  for (const k of keys(errors)) { tame(errors[k].prototype, 'name'); tame(errors[k].prototype, 'message') }
  tame(Error.prototype, 'toString')
  if (typeof AggregateError === 'function') { tame(AggregateError.prototype, 'name'); tame(AggregateError.prototype, 'message') }

  // Deep-freeze every intrinsic reachable from the global object and the hidden ones reachable only
  // through syntax (iterator, generator and async prototypes, %TypedArray%, %ThrowTypeError%).
  const seen = new WeakSet(), todo = []
  const visit = (o) => { if (!isPrimitive(o) && !seen.has(o)) { seen.add(o); todo.push(o) } }
  const protoOf = (o) => getPrototypeOf(o)
  visit(G)
  for (const make of [
    () => protoOf(function* () {}), () => protoOf(async function () {}), () => protoOf(async function* () {}),
    () => protoOf((async function* () {})()), () => protoOf((function* () {})()),
    () => protoOf([][Symbol.iterator]()), () => protoOf(new Map()[Symbol.iterator]()),
    () => protoOf(new Set()[Symbol.iterator]()), () => protoOf(''[Symbol.iterator]()),
    () => protoOf(/x/[Symbol.matchAll]('')), () => protoOf(Int8Array),
    () => gopd(Function.prototype, 'caller').get, () => gopd((function () { return arguments })(), 'callee').get,
    () => protoOf(new Intl.Segmenter().segment('')), () => protoOf(new Intl.Segmenter().segment('')[Symbol.iterator]()),
  ]) { try { visit(make()) } catch (e) {} }
  // Object.freeze gives an object frozen elements, and on Array.prototype or Object.prototype that
  // switches off V8's fast path for every indexed store into every array of the realm (~15 ns a store:
  // V8 must look up the prototype chain for setters). Sealing them and making each property read-only
  // freezes them just as well (Object.isFrozen is true) and keeps the fast path; setPrototypeOf makes
  // V8 turn the prototype, left in dictionary mode by the redefinitions, back into a fast one.
  const freezeKeepingElements = (o) => {
    Object.seal(o)
    for (const k of ownKeys(o)) {
      const d = gopd(o, k)
      if ('value' in d && d.writable) defineProperty(o, k, { writable: false })
    }
    Object.setPrototypeOf({}, o)
  }
  const elementsChain = [Array.prototype, ObjectProto]
  while (todo.length > 0) {
    const o = todo.pop()
    if (elementsChain.includes(o)) freezeKeepingElements(o)
    else if (o !== G) freeze(o)
    visit(getPrototypeOf(o))
    for (const k of ownKeys(o)) {
      const d = gopd(o, k)
      if (d === undefined) continue
      if ('value' in d) visit(d.value); else { visit(d.get); visit(d.set) }
    }
  }

  // The entry cell: filled by the host right before it runs the trampoline script, emptied on read.
  let armed = false, cellFn, cellThis, cellArgs, done = true, thrown
  const THREW = freeze({ __proto__: null })
  const enter = () => {
    if (!armed) return undefined
    const f = cellFn, t = cellThis, a = cellArgs
    armed = false; cellFn = cellThis = cellArgs = undefined
    if (f === undefined) { done = true; return undefined }
    try { const r = apply(f, t, a); done = true; return r } catch (e) { done = true; thrown = e; return THREW }
  }

  // CPU-limit checkpoints (instrument.ts): two loads and a compare. \`now\` is the process clock (clock.ts,
  // shared memory), \`deadline\` the running entry's (Infinity between entries). Past it, the host confirms
  // (and remembers) and every checkpoint throws again, so sandbox code that catches the error meets it
  // again at its next loop iteration or call.
  let now, deadline, overdue, firstLimit
  const checkpoint = () => {
    const code = overdue()
    if (code) {
      const e = new Error(code === 'ACT_OUT_OF_MEMORY' ? 'sandbox code ran past its memory limit' : code === 'ACT_CANCELLED' ? 'the act was cancelled' : 'sandbox code ran past its CPU limit')
      e.code = code
      // Where the limit was met, for the send trace (the host answers with an error of its own). The stack is
      // formatted now, while the error is still the kit's own: later, sandbox code could have hooked its name.
      if (firstLimit === undefined) { let stack; try { stack = e.stack } catch (x) {} firstLimit = { __proto__: null, error: e, stack } }
      throw e
    }
  }
  const tick = () => { if (now[0] > deadline[0]) checkpoint() }
  // The call mark (instrument.ts): the object whose property is about to be read and called, and that
  // property's name (undefined: a computed key). The host reads (and clears) the cell when a graph
  // proxy finds no slot; sandbox code never sees the cell.
  // Named fields of an ordinary object (not an array: with Array.prototype frozen, V8 compiles every
  // indexed store into an array as a megamorphic keyed store, ~8 ns a call; not a null-prototype
  // literal, which V8 makes a dictionary).
  const callCell = { value: undefined, key: undefined }
  const callMark = (v, key) => { callCell.value = v; callCell.key = key; return v }

  // The send trace (instrument.ts UNWIND): each method an error leaves notes its id and receiver, keyed by the
  // thrown value (weakly: an error caught and dropped takes its notes with it); a thrown primitive has one
  // cell, the last one thrown. Bounded: a runaway recursion notes its innermost frames only.
  // A receiver (two entries) for each frame V8 records, no more.
  const TRACE_LIMIT = ${STACK_TRACE_LIMIT * 2}
  const traces = new WeakMap()
  let primitiveTrace
  const note = (e, id, self) => {
    let t
    if (isPrimitive(e)) {
      if (primitiveTrace === undefined || primitiveTrace.value !== e) primitiveTrace = { __proto__: null, value: e, frames: [] }
      t = primitiveTrace.frames
    } else {
      t = traces.get(e)
      if (t === undefined) { t = []; traces.set(e, t) }
    }
    if (t.length < TRACE_LIMIT) { t[t.length] = id; t[t.length] = self }
  }
  const takeTrace = (e) => {
    let t
    if (isPrimitive(e)) { if (primitiveTrace !== undefined && primitiveTrace.value === e) t = primitiveTrace.frames; primitiveTrace = undefined }
    else { t = traces.get(e); traces.delete(e) }
    return t
  }

  const regexpExec = RegExp.prototype.exec
  const emptyMatch = /(?:)/
  const sanitize = (e) => isPrimitive(e) || isRealm(e) ? e : new TypeError('a host function failed')
  const then = Promise.prototype.then
  const bind = Function.prototype.bind
  const names = ownKeys(G).filter((k) => typeof k === 'string' && !hidden.includes(k))

  return freeze({
    __proto__: null,
    enter,
    arm: (f, t, a) => { cellFn = f; cellThis = t; cellArgs = a; armed = true; done = false },
    finished: () => done,
    tick,
    callMark,
    callCell,
    setClock: (nowView, deadlineView, f) => { now = nowView; deadline = deadlineView; overdue = f },
    THREW,
    takeThrown: () => { const e = thrown; thrown = undefined; return e },
    makeHostFunction: (name, call, construct) => {
      if (!construct) return freeze({ [name](...args) {
        try { return call(this, args) } catch (e) { throw sanitize(e) }
      } }[name])
      // An ordinary function, so that \`new\` works (\`new UvmObject()\`); its prototype is frozen with it.
      const f = { [name]: function (...args) {
        try { return call(this, args) } catch (e) { throw sanitize(e) }
      } }[name]
      freeze(f.prototype)
      return freeze(f)
    },
    // A method read off a graph object by sandbox code: a realm function that calls the compiled method with
    // its receiver, without leaving the realm (no host hop, no second lookup). A native bound function: it
    // passes the exact arity through and costs a third of a closure that reads \`arguments\`.
    bindMethod: (name, fn, self) => freeze(apply(bind, fn, [self, self])),
    describe: (e) => {
      const d = { __proto__: null, name: 'Error', message: '', primitive: isPrimitive(e), error: false, fields: { __proto__: null } }
      if (d.primitive) { d.message = text(e); return d }
      try { for (let p = getPrototypeOf(e); p !== null; p = getPrototypeOf(p)) if (p === Error.prototype) { d.error = true; break } } catch (x) {}
      try { const n = e.name; if (typeof n === 'string') d.name = n } catch (x) {}
      try { const m = e.message; d.message = m === undefined ? '' : text(m) } catch (x) {}
      try { const c = e.code; if (typeof c === 'string') d.code = c } catch (x) {}
      try { const s = e.stack; if (typeof s === 'string') d.stack = s } catch (x) {}
      try {
        const ks = keys(e)
        for (let i = 0; i < ks.length; i++) { const v = e[ks[i]]; if (isPrimitive(v) && typeof v !== 'symbol') d.fields[ks[i]] = v }
      } catch (x) {}
      return d
    },
    newDeferred: () => {
      let resolve, reject
      const promise = new Promise((a, b) => { resolve = a; reject = b })
      return { __proto__: null, promise, resolve, reject }
    },
    // RegExp's legacy statics (RegExp.$1, lastMatch, input) are realm-wide state every match updates:
    // emptied before each act, so the last act's matched text is not the next act's to read.
    startAct: (fn, args, ok, fail) => { apply(regexpExec, emptyMatch, ['']); primitiveTrace = undefined; firstLimit = undefined; apply(then, apply(fn, undefined, args), [ok, fail]) },
    ignore: (p) => { apply(then, p, [undefined, () => {}]) },
    errors,
    Array, Object, Uint8Array, ObjectProto, ArrayProto: Array.prototype, ErrorProto: Error.prototype,
    names,
    values: names.map((k) => G[k]),
    hidden,
    unwinder: (id) => freeze({ unwind(e, self) {
      // An error leaving through here must stay that error, whatever noting it costs (a stack overflow).
      try { note(e, id, self) } catch (x) {}
      return e
    } }.unwind),
    takeTrace,
    takeLimit: () => { const l = firstLimit; firstLimit = undefined; return l },
    makeConsole: (print) => freeze({ log: print, info: print, warn: print, error: print, debug: print }),
    makeGlobal: (own) => {
      const g = {}
      for (const k of names) if (k !== 'globalThis' && !(k in own)) defineProperty(g, k, { value: G[k], writable: false, enumerable: false, configurable: false })
      for (const k of keys(own)) defineProperty(g, k, { value: own[k], writable: false, enumerable: false, configurable: false })
      defineProperty(g, 'globalThis', { value: g, writable: false, enumerable: false, configurable: false })
      return freeze(g)
    },
    makeProxyHandler: (h, depth) => {
      // Caught here, in a realm frame: a host RangeError for a stack overflow inside a host trap is the
      // one host throwable the traps' own conversion cannot stop (converting needs stack too). Host
      // callers (depth 0) keep the host's errors.
      const pass = (e) => depth[0] === 0 || isPrimitive(e) || isRealm(e) ? e : new RangeError('Maximum call stack size exceeded (in a UVM object operation)')
      const { get, set, has, deleteProperty, ownKeys: keysTrap, getOwnPropertyDescriptor: descTrap, defineProperty: defTrap, getPrototypeOf: protoTrap, setPrototypeOf: setProtoTrap, preventExtensions: pe, isExtensible: ie } = h
      return freeze({
        __proto__: null,
        get(t, k, r) { try { return get(t, k, r) } catch (e) { throw pass(e) } },
        set(t, k, v, r) { try { return set(t, k, v, r) } catch (e) { throw pass(e) } },
        has(t, k) { try { return has(t, k) } catch (e) { throw pass(e) } },
        deleteProperty(t, k) { try { return deleteProperty(t, k) } catch (e) { throw pass(e) } },
        ownKeys(t) { try { return keysTrap(t) } catch (e) { throw pass(e) } },
        getOwnPropertyDescriptor(t, k) { try { return descTrap(t, k) } catch (e) { throw pass(e) } },
        defineProperty(t, k, d) { try { return defTrap(t, k, d) } catch (e) { throw pass(e) } },
        getPrototypeOf(t) { try { return protoTrap(t) } catch (e) { throw pass(e) } },
        setPrototypeOf(t, p) { try { return setProtoTrap(t, p) } catch (e) { throw pass(e) } },
        preventExtensions(t) { try { return pe(t) } catch (e) { throw pass(e) } },
        isExtensible(t) { try { return ie(t) } catch (e) { throw pass(e) } },
      })
    },
  })
})();
const ${enterName} = ${kitName}.enter;
${kitName}`
}
