/**
 * How host code reads a value that sandbox code made: by own data descriptor, with intrinsics captured
 * when this module loaded. Nothing here runs a getter, a proxy trap, a method looked up on the value,
 * or a species constructor, so no sandbox code runs and no host function reaches sandbox code.
 * (`value.map(f)` hands `f`, a host function, to whatever `map` the value carries; `Object.keys` on a
 * proxy runs its traps; `Object.prototype.toString` reads a `Symbol.toStringTag` getter.)
 */
import { types } from 'node:util'

const { getOwnPropertyDescriptor, ownKeys, getPrototypeOf } = Reflect
const isArray = Array.isArray
const { isProxy, isUint8Array } = types
// The intrinsic getter, called on the value: a typed array's length lives in an internal slot, not in an own property.
const typedLength = Reflect.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype) as object, 'length')!.get!

/** What host code may copy out of a value: its kind, found from internal slots and prototypes only. */
export type Shape = 'array' | 'map' | 'bytes' | 'exotic'

export function shapeOf(v: object): Shape {
  if (isProxy(v)) return 'exotic'
  if (isUint8Array(v)) return 'bytes'
  if (isArray(v)) return 'array'
  const proto = getPrototypeOf(v) as object | null
  if (proto === null) return 'map'
  // Some realm's Object.prototype: the last link of its chain.
  if (!isProxy(proto) && getPrototypeOf(proto) === null && !isArray(proto)) return 'map'
  return 'exotic'
}

/** An own property as host code may read it: its value, `ACCESSOR` for a getter/setter, undefined when absent. */
export const ACCESSOR: unique symbol = Symbol('accessor')
export function ownValue(o: object, key: string | number): unknown {
  const d = getOwnPropertyDescriptor(o, key)
  if (d === undefined) return undefined
  return 'value' in d ? d.value : ACCESSOR
}

export function hasOwn(o: object, key: string | number): boolean {
  return getOwnPropertyDescriptor(o, key) !== undefined
}

/** An array's length, from its own data property (a real array's is never an accessor). */
export function arrayLength(a: object): number {
  const n = getOwnPropertyDescriptor(a, 'length')?.value
  return typeof n === 'number' ? n : 0
}

/** A Uint8Array's length (from its internal slot, through the host's intrinsic getter: no code of the value runs). */
export function bytesLength(b: Uint8Array): number {
  return Reflect.apply(typedLength, b, []) as number
}

/** Own enumerable string keys, in property order (what Object.keys gives, without a proxy's traps). */
export function ownEnumerableKeys(o: object, limit = Infinity): string[] {
  const out: string[] = []
  for (const k of ownKeys(o)) {
    if (typeof k !== 'string') continue
    if (getOwnPropertyDescriptor(o, k)?.enumerable === true) {
      out.push(k)
      if (out.length >= limit) break
    }
  }
  return out
}
