import { UvmError } from '../errors.js'
import type { Transaction } from '../image/index.js'
import type { Obj } from '../kernel/index.js'
import { Method, Obj as ObjClass, Primitive, isPlainObject, printString } from '../kernel/index.js'

/**
 * Values between the image and the wire. Objects go out as
 * `{"$ref": oid, "$print": "<WorldMorph #5>", "$slots": {...}}`, with `$slots`
 * only within the requested depth (and once per object per reply, so cycles end);
 * methods as `{"$method": source}`, primitives as `{"$primitive": name}`.
 */
export class WireWriter {
  private readonly expanded = new Set<Obj>()

  constructor(private readonly tx: Transaction) {}

  /** An object and its slots down to `depth` levels of references. */
  object(obj: Obj, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = { $ref: obj.oid, $print: printString(this.tx, obj) }
    if (depth <= 0 || this.expanded.has(obj)) return out
    this.expanded.add(obj)
    const slots: Record<string, unknown> = {}
    for (const [name, v] of this.tx.read(obj).slots) define(slots, name, this.stored(v, depth - 1))
    out.$slots = slots
    return out
  }

  /** A stored slot value. */
  stored(v: unknown, depth: number): unknown {
    if (v === null || typeof v !== 'object') return v
    if (v instanceof ObjClass) return this.object(v, depth)
    if (v instanceof Method) return { $method: v.source }
    if (v instanceof Primitive) return { $primitive: v.name }
    if (v instanceof Uint8Array) return v
    if (Array.isArray(v)) return v.map((x) => this.stored(x, depth))
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
    if (v === undefined) return null
    if (typeof v === 'function') {
      const slot = this.tx.kernel.slotFunctionOf(v)
      return slot instanceof Method ? { $method: slot.source } : slot instanceof Primitive ? { $primitive: slot.name } : { $function: true }
    }
    if (typeof v === 'number' && !Number.isFinite(v)) return String(v)
    if (v === null || typeof v !== 'object') return typeof v === 'symbol' ? String(v) : v
    const obj = this.tx.kernel.objectOf(v)
    if (obj !== undefined) return this.object(obj, depth)
    if (v instanceof Uint8Array) return v
    if (Array.isArray(v)) return v.map((x) => this.js(x, depth))
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(v)) define(out, k, this.js((v as Record<string, unknown>)[k], depth))
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

function define(o: Record<string, unknown>, k: string, value: unknown): void {
  Object.defineProperty(o, k, { value, enumerable: true, writable: true, configurable: true })
}
