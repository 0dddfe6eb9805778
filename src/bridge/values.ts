import { UvmError } from '../errors.js'
import type { Transaction } from '../image/index.js'
import type { Obj } from '../kernel/index.js'
import { Method, Obj as ObjClass, Primitive, isPlainObject, printString } from '../kernel/index.js'
import { ACT_SCOPE_NAMES, Shown, isActScopeName } from '../act/index.js'

/**
 * Values between the image and the wire. Objects go out as
 * `{"$ref": oid, "$print": "<WorldMorph #5>", "$slots": {...}}`, with `$slots`
 * only within the requested depth (and once per object per reply, so cycles end;
 * a paged get_full_state adds `$slot_count` to its target);
 * methods as `{"$method": source}`, primitives as `{"$primitive": name}`.
 * What JSON and MessagePack do not carry faithfully is tagged (docs/REPL.md):
 * `{"$bigint": "10"}`, `{"$number": "NaN"}`, `{"$undefined": true}` (inside data; a reply's own
 * value says `undefined: true` beside `value: null`), `{"$map": [[k, v], ...]}`, `{"$set": [...]}`,
 * `{"$date": ISO}`, `{"$function": source}`, `{"$error": "TypeError: ..."}`, `{"$opaque": "a RegExp"}`.
 * With get_full_state's `elements_limit`, a longer array is `{"$array": [first elements], "$length": n}`.
 */
export class WireWriter {
  private readonly expanded = new Set<Obj>()

  /** `elementsLimit`: arrays longer than this go out as `{"$array": first elements, "$length"}` (get_full_state's paging). */
  constructor(private readonly tx: Transaction, private readonly elementsLimit?: number) {}

  /** A window of an array slot's elements, `{"$array", "$length", "$offset"}`: the next page of a long array. */
  elements(items: readonly unknown[], offset: number, limit: number, depth: number): Record<string, unknown> {
    return { $array: items.slice(offset, offset + limit).map((x) => this.stored(x, depth)), $length: items.length, $offset: offset }
  }

  /**
   * An object and its slots down to `depth` levels of references. With `page`, only that window of
   * its own slots (in slot order) and `$slot_count`, how many it has: get_full_state's paging.
   */
  object(obj: Obj, depth: number, page?: { offset?: number; limit?: number }): Record<string, unknown> {
    const out: Record<string, unknown> = { $ref: obj.oid, $print: printString(this.tx, obj) }
    if (depth <= 0 || this.expanded.has(obj)) return out
    this.expanded.add(obj)
    const slots: Record<string, unknown> = {}
    const all = this.tx.read(obj).slots
    const from = page?.offset ?? 0
    const to = page?.limit === undefined ? Infinity : from + page.limit
    let i = 0
    for (const [name, v] of all) {
      if (i >= to) break
      if (i++ >= from) define(slots, name, this.stored(v, depth - 1))
    }
    out.$slots = slots
    if (page !== undefined) out.$slot_count = all.size
    return out
  }

  /** A stored slot value. */
  stored(v: unknown, depth: number): unknown {
    if (typeof v === 'bigint') return { $bigint: v.toString() }
    if (typeof v === 'number' && !Number.isFinite(v)) return { $number: String(v) }
    if (v === null || typeof v !== 'object') return v
    if (v instanceof ObjClass) return this.object(v, depth)
    if (v instanceof Method) return { $method: v.source }
    if (v instanceof Primitive) return { $primitive: v.name }
    if (v instanceof Uint8Array) return v
    if (Array.isArray(v)) {
      if (this.elementsLimit !== undefined && v.length > this.elementsLimit) return { $array: v.slice(0, this.elementsLimit).map((x) => this.stored(x, depth)), $length: v.length }
      return v.map((x) => this.stored(x, depth))
    }
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(v)) define(out, k, this.stored((v as Record<string, unknown>)[k], depth))
    return out
  }

  /**
   * A value an act or a method returned, as runAct hands it over: already a
   * host copy (detached under the CPU limit, cycles and depth cut), in which
   * graph objects are still proxies and slot functions still functions.
   */
  js(v: unknown, depth: number): unknown {
    return v === undefined ? null : this.inner(v, depth)
  }

  private inner(v: unknown, depth: number): unknown {
    if (v === undefined) return { $undefined: true }
    if (typeof v === 'function') {
      const slot = this.tx.kernel.slotFunctionOf(v)
      return slot instanceof Method ? { $method: slot.source } : slot instanceof Primitive ? { $primitive: slot.name } : { $function: '' }
    }
    if (typeof v === 'bigint') return { $bigint: v.toString() }
    if (typeof v === 'number' && !Number.isFinite(v)) return { $number: String(v) }
    if (v === null || typeof v !== 'object') return typeof v === 'symbol' ? String(v) : v
    const obj = this.tx.kernel.objectOf(v)
    if (obj !== undefined) return this.object(obj, depth)
    if (v instanceof Uint8Array) return v
    if (v instanceof Shown) return v.kind === 'function' ? { $function: v.text } : v.kind === 'error' ? { $error: v.text } : { $opaque: v.text }
    if (v instanceof Map) return { $map: [...v].map(([k, x]) => [this.inner(k, depth), this.inner(x, depth)]) }
    if (v instanceof Set) return { $set: [...v].map((x) => this.inner(x, depth)) }
    if (v instanceof Date) return { $date: Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString() }
    if (Array.isArray(v)) return v.map((x) => this.inner(x, depth))
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(v)) define(out, k, this.inner((v as Record<string, unknown>)[k], depth))
    return out
  }
}

/** How deep wire data may nest: deeper is almost surely an attack or a bug, and would exhaust the stack later. */
export const MAX_NESTING = 256

/** Refuse wire data nested deeper than MAX_NESTING, without recursion (the input may be deep enough to overflow it). */
export function assertNesting(v: unknown, path: string): void {
  const stack: [unknown, number][] = [[v, 0]]
  while (stack.length > 0) {
    const [x, d] = stack.pop()!
    if (x === null || typeof x !== 'object' || x instanceof Uint8Array) continue
    if (d >= MAX_NESTING) {
      throw new UvmError('KERNEL_NOT_STORABLE', `${path}: data nested more than ${MAX_NESTING} levels deep (use objects for deep structures)`, { invalidCommand: true })
    }
    for (const child of Array.isArray(x) ? x : Object.values(x)) stack.push([child, d + 1])
  }
}

/** Wire data into realm values a method can use: `{"$ref": oid}` becomes the object, `{"$method": src}` a method. */
export function fromWire(tx: Transaction, v: unknown, path = 'value', depth = 0): unknown {
  const realm = tx.kernel.realm
  if (v === null || typeof v !== 'object') return v
  if (depth >= MAX_NESTING) {
    throw new UvmError('KERNEL_NOT_STORABLE', `${path}: data nested more than ${MAX_NESTING} levels deep (use objects for deep structures)`, { invalidCommand: true })
  }
  if (v instanceof Uint8Array) return realm.copyBytes(v)
  if (Array.isArray(v)) return realm.newArray(v.map((x, i) => fromWire(tx, x, `${path}[${i}]`, depth + 1)))
  if (!isPlainObject(v)) {
    // A MessagePack extension the decoder turned into something else (a timestamp into a Date, say).
    const kind = Object.prototype.toString.call(v).slice(8, -1)
    throw new UvmError('KERNEL_NOT_STORABLE', `${path}: a ${kind} is not data the covenant carries (plain maps, arrays, strings, numbers, booleans, null, bytes, {"$ref": oid}, {"$method": source})`, { invalidCommand: true })
  }
  const rec = v as Record<string, unknown>
  const keys = Object.keys(rec)
  if (keys.length === 1 && keys[0] === '$ref') {
    const proxy = typeof rec.$ref === 'number' ? tx.byOid(rec.$ref) : undefined
    if (proxy === undefined) throw new UvmError('KERNEL_NOT_AN_OBJECT', `${path}: {"$ref": ${JSON.stringify(rec.$ref)}} names no object in the image`, { unknownTarget: true })
    return proxy
  }
  if (keys.length === 1 && keys[0] === '$method' && typeof rec.$method === 'string') {
    // Compiled now, as create_method does: a syntax error is answered before anything is written.
    realm.compileMethod(rec.$method, path.slice(path.lastIndexOf('.') + 1))
    return new Method(rec.$method)
  }
  const out = realm.newObject()
  for (const k of keys) define(out, k, fromWire(tx, rec[k], `${path}.${k}`, depth + 1))
  return out
}

/** Names the REPL's session binds (run_act's `bindings`): never one the act's own scope has. */
export { isActScopeName as isReservedBinding, ACT_SCOPE_NAMES }

export function sessionBindings(bindings: Record<string, unknown>): (tx: Transaction) => Record<string, unknown> {
  const names = Object.keys(bindings)
  const bad = names.find(isActScopeName)
  if (bad !== undefined) throw new UvmError('ACT_FORBIDDEN', `bindings: '${bad}' is a name the act's scope already has`, { invalidCommand: true })
  assertNesting(bindings, 'bindings')
  return (tx) => {
    const out: Record<string, unknown> = {}
    for (const n of names) define(out, n, bindingValue(tx, bindings[n], `bindings.${n}`))
    return out
  }
}

/** A session value: wire data, or one of the tagged primitives a reply sends (a bigint, NaN, undefined). */
function bindingValue(tx: Transaction, v: unknown, path: string): unknown {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)) {
    const keys = Object.keys(v)
    const x = (v as Record<string, unknown>)[keys[0]!]
    if (keys.length === 1 && keys[0] === '$undefined') return undefined
    if (keys.length === 1 && keys[0] === '$bigint' && typeof x === 'string' && /^-?\d+$/.test(x)) return BigInt(x)
    if (keys.length === 1 && keys[0] === '$number' && (x === 'NaN' || x === 'Infinity' || x === '-Infinity')) return Number(x)
  }
  return fromWire(tx, v, path)
}

function define(o: Record<string, unknown>, k: string, value: unknown): void {
  Object.defineProperty(o, k, { value, enumerable: true, writable: true, configurable: true })
}
