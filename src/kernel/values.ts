import { types } from 'node:util'
import { NotStorable, UvmError } from '../errors.js'
import { Obj } from './obj.js'
import { ACCESSOR, arrayLength, hasOwn, ownEnumerableKeys, ownValue, shapeOf } from './own-data.js'

/** A method slot: JS source text, never a closure (a closure cannot be persisted). */
export class Method {
  /** Compiled function, cached per realm so a method version compiles once. */
  compiled: unknown = undefined
  compiledIn: unknown = undefined
  constructor(readonly source: string) {}
}

/** A slot answered by the host (clone, setSlot, ...), stored by name. */
export class Primitive {
  constructor(readonly name: string) {}
}

/**
 * What a slot can hold: data (deep-frozen), a reference, a method or a
 * primitive. Data may nest references inside arrays and maps.
 */
export type SlotValue = Data | Obj | Method | Primitive
export type Data = null | boolean | number | string | bigint | Uint8Array | readonly Data[] | DataMap | Obj
export interface DataMap { readonly [key: string]: Data }

export function isParentSlot(name: string): boolean {
  return name.length > 1 && name.charCodeAt(name.length - 1) === 42 /* '*' */
}

export function checkSlotName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new UvmError('KERNEL_BAD_SLOT_NAME', `slot names are non-empty strings, got ${describe(name)}`)
  }
  return name
}

export function describe(v: unknown): string {
  if (v === null) return 'null'
  if (typeof v === 'function') return 'a function'
  if (typeof v === 'symbol') return 'a symbol'
  if (typeof v === 'object') {
    // By descriptor: `describe` names values sandbox code made, and must run none of their code.
    let name: unknown
    try {
      const proto = types.isProxy(v) ? null : Reflect.getPrototypeOf(v)
      const ctor = proto !== null && !types.isProxy(proto) ? ownValue(proto, 'constructor') : undefined
      name = typeof ctor === 'function' && !types.isProxy(ctor) ? ownValue(ctor, 'name') : undefined
    } catch { name = undefined }
    return `a ${typeof name === 'string' ? name : 'object'}`
  }
  return typeof v === 'string' ? JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v) : String(v)
}

/** How the kernel recognises values of its own that arrive from JS code. */
export interface ValueResolver {
  /** The object behind a graph proxy, if `v` is one. */
  objectOf(v: unknown): Obj | undefined
  /** The stored value behind a tracked data proxy (array/map read from a slot), if `v` is one. */
  dataOf(v: unknown): unknown
  /** A method or primitive behind a function the kernel handed out (e.g. `obj.greet`). */
  slotFunctionOf(v: unknown): Method | Primitive | undefined
  /** Source text of any other function (realm or host); undefined when it has none (native code). */
  sourceOf(fn: Function): string | undefined
}

/** Convert a value arriving from JS code into a storable slot value; throws NotStorable naming the path. */
export function toStored(value: unknown, r: ValueResolver, path: string): SlotValue {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return toData(value, r, path, [])
  // Graph proxies first: `instanceof` on a proxy runs its getPrototypeOf trap.
  const obj = r.objectOf(value)
  if (obj !== undefined) return obj
  if (value instanceof Method || value instanceof Primitive) return value
  if (typeof value === 'function') {
    const known = r.slotFunctionOf(value)
    if (known) return known
    const src = r.sourceOf(value)
    if (src === undefined) throw new NotStorable('a native or bound function (it has no source text)', path)
    return new Method(src)
  }
  return toData(value, r, path, [])
}

function toData(value: unknown, r: ValueResolver, path: string, seen: unknown[]): Data {
  switch (typeof value) {
    case 'string': case 'boolean': case 'bigint': return value
    case 'number': return value
    case 'undefined': throw new NotStorable('undefined (use null, or removeSlot)', path)
    case 'symbol': throw new NotStorable('a symbol', path)
    case 'function': throw new NotStorable('a function inside data (methods live in their own slots)', path)
  }
  if (value === null) return null
  const obj = r.objectOf(value)
  if (obj) return obj
  const inner = r.dataOf(value)
  if (inner !== undefined) value = inner
  if (value instanceof Obj) return value
  if (seen.includes(value)) throw new NotStorable('a cyclic data structure (use objects for cycles)', path)
  // Read by descriptor only (own-data.ts): sandbox code made this value, and no getter, method or
  // species of it may run here, on the host, perhaps outside any CPU limit.
  switch (shapeOf(value as object)) {
    case 'bytes':
      // Typed arrays cannot be frozen: the stored copy is private and every read hands out a fresh copy.
      return new Uint8Array(value as Uint8Array)
    case 'array': {
      seen.push(value)
      const n = arrayLength(value as object)
      const out: Data[] = new Array(n)
      for (let i = 0; i < n; i++) {
        const v = ownValue(value as object, i)
        if (v === undefined && !hasOwn(value as object, i)) throw new NotStorable('a sparse array (a hole here; use null)', `${path}[${i}]`)
        if (v === ACCESSOR) throw new NotStorable(ACCESSOR_TEXT, `${path}[${i}]`)
        out[i] = toData(v, r, `${path}[${i}]`, seen)
      }
      seen.pop()
      return Object.freeze(out)
    }
    case 'map': {
      seen.push(value)
      // Null prototype: a key named __proto__ stays a key instead of re-pointing the map's prototype.
      const out: Record<string, Data> = Object.create(null)
      for (const k of ownEnumerableKeys(value as object)) {
        const v = ownValue(value as object, k)
        if (v === ACCESSOR) throw new NotStorable(ACCESSOR_TEXT, `${path}.${k}`)
        out[k] = toData(v, r, `${path}.${k}`, seen)
      }
      seen.pop()
      return Object.freeze(out)
    }
  }
  throw new NotStorable(describe(value), path)
}

const ACCESSOR_TEXT = 'an accessor property (a getter or setter is never run to store data: store the value itself)'

/** A plain map from any realm: its prototype is null or some realm's Object.prototype (found without running its code). */
export function isPlainObject(v: unknown): boolean {
  return v !== null && typeof v === 'object' && shapeOf(v) === 'map'
}
