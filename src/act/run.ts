import { DoesNotUnderstand, UvmError } from '../errors.js'
import type { Image, Transaction, TxMeta } from '../image/index.js'
import type { Need, Obj } from '../kernel/index.js'
import { ACCESSOR, Method, Primitive, arrayLength, bytesLength, describe, ownEnumerableKeys, ownValue, printString, shapeOf, writeSlot } from '../kernel/index.js'
import type { TraceFrame } from '../covenant/index.js'
import type { HardenedRealm } from './realm.js'
import { rawActError } from './trace.js'
import { Output } from './output.js'
import { ActError } from './act-error.js'
import { readCollection, shownFunction, shownObject } from './shown.js'
import { RESERVED_PREFIX } from './instrument.js'

export interface ActOptions {
  intent?: string
  explanation?: string
  user?: string
  /** Synchronous CPU time per entry into sandbox code (default: the realm's, 1 s). */
  cpuTimeoutMs?: number
  /** Names the act to a watchdog (RealmActOptions.tag). */
  tag?: number
  /** Wall-clock deadline for the whole act, awaits included (default 30 s). */
  wallTimeoutMs?: number
  /** Cap on captured `print` output in characters (default 1 MiB). */
  outputLimit?: number
  /**
   * Host services granted to this act by name (an LLM client, a monitor...):
   * explicit capabilities, never ambient authority. Values must be realm-safe
   * (made with the realm's hostFunction/newObject).
   */
  capabilities?: Record<string, unknown>
  /**
   * Bindings made inside the act's transaction (the bridge binds the target of a send this way; the
   * JIT binds `self` and `message`). Host-made and trusted: reserved names are the caller's to bind.
   */
  bind?: (tx: Transaction) => Record<string, unknown>
  /**
   * A compiler stands behind this act (Heap.deferMissing): when it sends a message nothing answers,
   * the act is aborted whatever it then did, and fails with an ActError whose `need` says what to
   * compile; the caller compiles it and runs the act again.
   */
  deferMissing?: boolean
  /** The act is a recorded cycle: every slot it changes points to its transaction (State.origins). */
  marksOrigins?: boolean
  /** Commit a transaction record even when the act writes nothing (Transaction.alwaysRecorded). */
  alwaysRecorded?: boolean
  /**
   * Runs inside the commit, after the last write-back of mutated copies and just before the records
   * are written: the definitive look at what the act wrote. Throwing aborts the transaction (the
   * bridge refuses an act that wrote when it serves the image read-only). The act's own error
   * handling never sees it.
   */
  beforeCommit?: (tx: Transaction) => void
  /** Replaces the transaction record's description and ext (the act source is still recorded unless ext says otherwise). */
  meta?: TxMeta
  /**
   * Turns the act's value into what the caller keeps, inside the act's transaction, before its commit
   * (the bridge writes the reply value here). Objects the act made and stored nowhere are never
   * written, so after the commit nothing could read them: here they can still be shown.
   */
  present?: (tx: Transaction, value: unknown) => unknown
}

export interface ActResult {
  /** What the act returned, as JS code sees it (graph objects are proxies that read the latest state), or what `present` made of it. */
  value: unknown
  output: string
  /** The commit's tid; undefined when the act wrote nothing. */
  tid: number | undefined
  /** Objects the commit wrote. */
  changed: number[]
}

/** The names every act's scope has: no capability or session binding may take one. */
export const ACT_SCOPE_NAMES: readonly string[] = ['root', 'genesis', 'prototypes', 'print', 'UvmObject', 'self', 'args']
const RESERVED = new Set(ACT_SCOPE_NAMES)

/** Whether `name` is one of the act's own (or the runtime's `__uvm…`). */
export function isActScopeName(name: string): boolean {
  return RESERVED.has(name) || name.startsWith(RESERVED_PREFIX)
}

/**
 * Run an autopoietic act: LLM-emitted code, the body of an async function, in
 * the image's hardened realm, in ONE transaction. Success commits with the
 * act's source, intent and explanation in the transaction record; any error or
 * timeout aborts, and nothing of the act persists, in memory either.
 */
export async function runAct(image: Image, realm: HardenedRealm, code: string, opts: ActOptions = {}): Promise<ActResult> {
  try {
    if (typeof code !== 'string') throw new UvmError('ACT_SYNTAX', 'an act is a string of JavaScript')
    realm.checkActSyntax(code)
  } catch (e) {
    // Refused before anything ran: still an ActError, like every other failure of an act.
    throw ActError.from(e, '')
  }
  const meta: TxMeta = {
    description: opts.intent ?? firstLine(code),
    ext: { act: code, ...(opts.intent !== undefined && { intent: opts.intent }), ...(opts.explanation !== undefined && { explanation: opts.explanation }) },
    ...(opts.user !== undefined && { user: opts.user }),
    ...opts.meta,
  }
  const tx = image.begin(meta)
  if (opts.deferMissing === true) tx.deferMissing = true
  if (opts.marksOrigins === true) tx.marksOrigins = true
  if (opts.alwaysRecorded === true) tx.alwaysRecorded = true
  const output = new Output(opts.outputLimit ?? 1 << 20)
  /** Who the act's own frame is shown as in a send trace: its `self` when it has one (the JIT's acts), else the Genesis Object. */
  let actSelf: unknown
  try {
    const bindings = { ...actBindings(tx, realm, opts.capabilities), ...opts.bind?.(tx) }
    actSelf = bindings.self ?? bindings.genesis
    if (opts.capabilities !== undefined) tx.capabilities = new Map(Object.keys(opts.capabilities).map((k) => [k, bindings[k]]))
    const print = (args: unknown[]) => output.print(args.map((a) => formatValue(tx, a)).join(' '))
    const raw = await realm.runAct(code, bindings, { cpuTimeoutMs: opts.cpuTimeoutMs, wallTimeoutMs: opts.wallTimeoutMs, print, owner: tx, ...(opts.tag !== undefined && { tag: opts.tag }) })
    // Everything the host does with what the act left (copying its value out, writing back the
    // arrays and maps it mutated, building the reply) runs in a timed entry: its size is the act's to
    // choose, and the CPU limit must hold there too. Reads are by descriptor (own-data.ts): no code
    // of the act runs.
    let shown: unknown
    realm.invoke(realm.hostFunction('finish', () => {
      const value = (raw === null || (typeof raw !== 'object' && typeof raw !== 'function')) || image.kernel.proxyTargets.has(raw) ? raw : detach(tx, raw)
      // Arrays and maps the act mutated in place are written back at commit: first, so that they show.
      tx.surface.flush()
      shown = opts.present !== undefined ? opts.present(tx, value) : value
    }), undefined, [], opts.cpuTimeoutMs)
    // What the act did after the message it needed failed (it may have caught the error) is not
    // what it would have done with an answer: nothing of this run is kept.
    if (tx.missing !== undefined) throw missingError(tx.missing, tx)
    if (opts.beforeCommit !== undefined) tx.beforeCommit = opts.beforeCommit
    const info = await tx.commit()
    return { value: shown, output: output.text(), tid: info.tid, changed: info.oids }
  } catch (e) {
    const need = tx.missing
    // While the transaction is open: the trace's receivers and a thrown value are printed from it.
    const trace = explain(tx, realm, e, actSelf)
    tx.abort()
    const err = ActError.from(e, output.text())
    if (trace !== undefined && trace.length > 0) err.details.trace = trace
    if (need === undefined) throw err
    // The message the act needed, where the act sent it (what it did after that is void).
    const missing = ActError.from(missingError(need, tx), output.text())
    for (const k of ['line', 'column', 'trace']) if (err.details[k] !== undefined) missing.details[k] = err.details[k]
    missing.sandboxStack = err.sandboxStack
    missing.need = need
    throw missing
  }
}

/**
 * The send trace of a failed act (its receivers printed in `tx`), and the message of a thrown value
 * that is not an Error, set on `e` (`the act threw {code: 1}`). Printing runs in a timed entry: the
 * value is the act's, and so is its size.
 */
function explain(tx: Transaction, realm: HardenedRealm, e: unknown, actSelf: unknown): TraceFrame[] | undefined {
  const raw = rawActError(e)
  if (raw === undefined) return undefined
  const frames: TraceFrame[] = []
  try {
    realm.invoke(realm.hostFunction('explain', () => {
      const label = (self: unknown): Pick<TraceFrame, 'receiver' | 'receiver_print'> => {
        const obj = tx.kernel.objectOf(self)
        if (obj === undefined) return {}
        let print: string
        try { print = printString(tx, obj) } catch { print = `#${obj.oid}` }
        return { receiver: obj.oid, receiver_print: print }
      }
      for (const f of raw.frames) {
        const who = f.act === true ? label(actSelf) : 'self' in f ? label(f.self) : {}
        frames.push({ selector: f.selector, ...(f.line !== undefined && { line: f.line, column: f.column }), ...who, ...(f.act && { act: true }), ...(f.block && { block: true }), ...(f.cut && { cut: true }) })
      }
      if ('thrown' in raw) {
        const shown = formatValue(tx, raw.thrown)
        ;(e as UvmError).message = `the act threw ${shown.length > 200 ? shown.slice(0, 199) + '…' : shown}`
      }
    }), undefined, [])
  } catch {
    // Past its CPU limit, or an image read failed: the error as it is, without what could not be shown.
  }
  return frames
}

function missingError(need: Need, tx: Transaction): DoesNotUnderstand {
  let label: string
  try { label = printString(tx, need.receiver) } catch { label = `#${need.receiver.oid}` }
  const e = new DoesNotUnderstand(need.selector, need.receiver.oid, 'no compiler answered it', label)
  e.details.deferred = true
  return e
}

/**
 * What an act sees besides the realm's own globals (the JS intrinsics and
 * `print`): the graph, UvmObject, and the capabilities granted to it. Nothing
 * else of the host.
 */
export function actBindings(tx: Transaction, realm: HardenedRealm, capabilities: Record<string, unknown> = {}): Record<string, unknown> {
  const root = tx.root
  const genesis = tx.genesis
  const bindings: Record<string, unknown> = {
    root,
    genesis,
    prototypes: genesis.prototypes,
    // The seeds' idiom: `new UvmObject()` makes a fresh object delegating to the root traits.
    UvmObject: realm.hostFunction('UvmObject', () => {
      const o = tx.create()
      writeSlot(tx, o, 'parent*', tx.traits)
      return tx.proxy(o)
    }, { construct: true }),
  }
  for (const [name, value] of Object.entries(capabilities)) {
    if (RESERVED.has(name)) throw new UvmError('ACT_FORBIDDEN', `capability name '${name}' is reserved`)
    bindings[name] = grant(tx, realm, name, value)
  }
  return bindings
}

/**
 * A capability as the act may see it. A plain host function is wrapped (its
 * `.constructor` would be the host Function); realm values and primitives pass;
 * any other host object is refused, since its prototype chain leads to the host.
 */
function grant(tx: Transaction, realm: HardenedRealm, name: string, value: unknown): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return value
  if (realm.isRealmFunction(value) || realm.isRealmValue(value) || tx.kernel.objectOf(value) !== undefined) return value
  if (typeof value === 'function') {
    const fn = value as (...args: unknown[]) => unknown
    return realm.hostFunction(name, (_this, args) => fn(...args))
  }
  throw new UvmError('ACT_FORBIDDEN', `capability '${name}' is a host object: build it with realm.newObject() and realm.hostFunction() so that no host prototype reaches the act`)
}

/** How print shows a value: strings as they are, objects as `<Name #oid>`, data as JSON-like text (read by descriptor: no code of the value runs). */
export function formatValue(tx: Transaction, v: unknown, depth = 0): string {
  if (typeof v === 'string') return depth === 0 ? v : JSON.stringify(v)
  if (typeof v === 'bigint') return `${v}n`
  if (v === undefined) return 'undefined'
  if (typeof v === 'symbol') return 'a symbol'
  if (typeof v === 'function') {
    const slot = tx.kernel.slotFunctionOf(v)
    const text = slot instanceof Primitive ? `primitive ${slot.name}` : slot instanceof Method ? slot.source : shownFunction(tx.kernel.sourceOf(v), v).text
    return `[${slot instanceof Primitive ? text : firstLine(text)}]`
  }
  if (v === null || typeof v !== 'object') return String(v)
  const obj = tx.kernel.objectOf(v)
  if (obj !== undefined) return printString(tx, obj as Obj)
  if (depth > 4) return '…'
  const shown = (x: unknown): string => x === ACCESSOR ? '[getter]' : formatValue(tx, x, depth + 1)
  switch (shapeOf(v)) {
    case 'bytes': return `<${bytesLength(v as Uint8Array)} bytes>`
    case 'array': {
      const n = arrayLength(v)
      const items: string[] = []
      for (let i = 0; i < Math.min(n, 100); i++) items.push(shown(ownValue(v, i)))
      return `[${items.join(', ')}${n > 100 ? ', …' : ''}]`
    }
    case 'map': return `{${ownEnumerableKeys(v, 100).map((k) => `${k}: ${shown(ownValue(v, k))}`).join(', ')}}`
    default: {
      const c = readCollection(v, 100)
      if (c === undefined) return shownObject(v).text
      if ('map' in c) return `Map {${c.map.map(([k, x]) => `${shown(k)} => ${shown(x)}`).join(', ')}}`
      if ('set' in c) return `Set {${c.set.map(shown).join(', ')}}`
      return Number.isNaN(c.date) ? 'Invalid Date' : new Date(c.date).toISOString()
    }
  }
}

/**
 * A host copy of a value an act returned: graph objects stay proxies (the kernel's own), data is
 * copied by descriptor (a getter shows as '[getter]', never runs), Maps, Sets and Dates as host ones,
 * other functions and objects as `Shown` (a function's source, an error's message, a description).
 */
export function detach(tx: Transaction, v: unknown, seen: unknown[] = []): unknown {
  if (v === ACCESSOR) return '[getter]'
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return v
  if (tx.kernel.objectOf(v) !== undefined) return v
  if (typeof v === 'function') {
    const stands = tx.kernel.slotFunctionOf(v)
    if (stands === undefined) return shownFunction(tx.kernel.sourceOf(v), v)
    const caller = tx.kernel.hostCallers.get(v)
    if (caller === undefined) return v
    // The caller stands for the same slot: what shows the value (the bridge's reply) finds the method through it.
    if (tx.kernel.slotFunctionOf(caller) === undefined) tx.kernel.slotFunctions.set(caller, stands)
    return caller
  }
  if (seen.includes(v)) return '[circular]'
  if (seen.length >= 64) return '[too deep]'
  seen.push(v)
  try {
    switch (shapeOf(v)) {
      case 'bytes': return new Uint8Array(v as Uint8Array)
      case 'array': {
        const n = Math.min(arrayLength(v), 100_000)
        const out: unknown[] = []
        for (let i = 0; i < n; i++) out.push(detach(tx, ownValue(v, i), seen))
        return out
      }
      case 'map': {
        const out: Record<string, unknown> = {}
        for (const k of ownEnumerableKeys(v, 100_000)) Object.defineProperty(out, k, { value: detach(tx, ownValue(v, k), seen), enumerable: true, writable: true, configurable: true })
        return out
      }
      default: {
        // Maps, Sets and Dates come back as host ones (their contents copied the same way); the rest is shown, not copied.
        const c = readCollection(v, 100_000)
        if (c === undefined) return shownObject(v)
        if ('map' in c) return new Map(c.map.map(([k, x]) => [detach(tx, k, seen), detach(tx, x, seen)]))
        if ('set' in c) return new Set(c.set.map((x) => detach(tx, x, seen)))
        return new Date(c.date)
      }
    }
  } finally {
    seen.pop()
  }
}

function firstLine(code: string): string {
  const line = code.trim().split('\n', 1)[0] ?? ''
  return line.length > 80 ? line.slice(0, 79) + '…' : line
}
