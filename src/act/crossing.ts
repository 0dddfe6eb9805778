import { UvmError } from '../errors.js'
import type { Kernel } from '../kernel/index.js'
import { ACCESSOR, arrayLength, ownEnumerableKeys, ownValue, shapeOf } from '../kernel/index.js'
import type { HardenedRealm } from './realm.js'

/**
 * Values crossing a capability's boundary. What an act hands a host service is copied out as plain
 * JSON-like data, by descriptor (no getter, method or proxy trap of it runs on the host); a graph
 * object becomes `{"$ref": oid}`. What the service answers is made in the realm, so that no host
 * prototype reaches the act.
 */
export function hostData(kernel: Kernel, v: unknown, path = 'value', depth = 0): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new UvmError('ACT_FAILED', `${path}: ${v} is not a number a service can take`)
    return v
  }
  if (typeof v === 'bigint') return v.toString()
  if (v === undefined) return undefined
  if (typeof v !== 'object') throw new UvmError('ACT_FAILED', `${path}: a ${typeof v} cannot be handed to a service (plain data and objects only)`)
  const obj = kernel.objectOf(v)
  if (obj !== undefined) return { $ref: obj.oid }
  if (depth > 32) throw new UvmError('ACT_FAILED', `${path}: nested more than 32 levels deep`)
  const shape = shapeOf(v)
  // The constructor copies from the internal slots: no property of the act's value (`buffer`, say) is read.
  if (shape === 'bytes') return Array.from(new Uint8Array(v as Uint8Array))
  if (shape === 'array') {
    const n = Math.min(arrayLength(v), 1_000_000)
    const out: unknown[] = []
    for (let i = 0; i < n; i++) {
      const x = ownValue(v, i)
      if (x === ACCESSOR) throw new UvmError('ACT_FAILED', `${path}[${i}]: an accessor is never run to hand a value to a service`)
      out.push(hostData(kernel, x, `${path}[${i}]`, depth + 1) ?? null)
    }
    return out
  }
  if (shape === 'map') {
    const out: Record<string, unknown> = {}
    for (const k of ownEnumerableKeys(v, 100_000)) {
      const x = ownValue(v, k)
      if (x === ACCESSOR) throw new UvmError('ACT_FAILED', `${path}.${k}: an accessor is never run to hand a value to a service`)
      const d = hostData(kernel, x, `${path}.${k}`, depth + 1)
      if (d !== undefined) Object.defineProperty(out, k, { value: d, enumerable: true, writable: true, configurable: true })
    }
    return out
  }
  throw new UvmError('ACT_FAILED', `${path}: this kind of value cannot be handed to a service (plain data and objects only)`)
}

/** Plain host data (JSON-like) as realm values. */
export function realmData(realm: HardenedRealm, v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v
  if (v instanceof Uint8Array) return realm.copyBytes(v)
  if (Array.isArray(v)) return realm.newArray(v.map((x) => realmData(realm, x)))
  const o = realm.newObject()
  for (const k of ownEnumerableKeys(v)) Object.defineProperty(o, k, { value: realmData(realm, (v as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true })
  return o
}

/**
 * A capability as one frozen realm object of host functions: frozen, so that no act can leave
 * anything on it for another act that is granted the same one.
 */
export function serviceObject(realm: HardenedRealm, methods: Record<string, (args: unknown[]) => unknown>, data: Record<string, unknown> = {}): Record<string, unknown> {
  const o = realm.newObject()
  for (const [name, fn] of Object.entries(methods)) o[name] = Object.freeze(realm.hostFunction(name, (_t, args) => fn(args)))
  for (const [k, v] of Object.entries(data)) o[k] = realmData(realm, v)
  return Object.freeze(o)
}
