import type { State } from '../kernel/index.js'
import { Method, Obj, Primitive } from '../kernel/index.js'

/**
 * A state as plain data (for history views, export and the wire): references
 * become `{$ref: oid}`, methods `{$method: source}`, primitives `{$primitive: name}`.
 */
export type Plain = null | boolean | number | string | bigint | Uint8Array | Plain[] | { [k: string]: Plain }
export type PlainSlots = Record<string, Plain>

export function toPlain(state: State): PlainSlots {
  const out: PlainSlots = {}
  for (const [k, v] of state.slots) Object.defineProperty(out, k, { value: plainValue(v), enumerable: true, writable: true, configurable: true })
  return out
}

export function plainValue(v: unknown): Plain {
  if (v === null || typeof v !== 'object') return v as Plain
  if (v instanceof Obj) return { $ref: v.oid }
  if (v instanceof Method) return { $method: v.source }
  if (v instanceof Primitive) return { $primitive: v.name }
  if (v instanceof Uint8Array) return v
  if (Array.isArray(v)) return v.map(plainValue)
  const out: { [k: string]: Plain } = {}
  for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: plainValue((v as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true })
  return out
}

/**
 * A plain value (or any tree holding them) as JSON can carry it: bigints as `{$bigint: "…"}` and
 * bytes as `{$bytes: base64}`, the tags the export writes (JSON has neither). `plainFromJson` undoes it.
 */
export function plainToJson(v: unknown): unknown {
  if (typeof v === 'bigint') return { $bigint: v.toString() }
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('base64') }
  if (v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) return v.map(plainToJson)
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: plainToJson((v as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true })
  return out
}

export function plainFromJson(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) return v.map(plainFromJson)
  const keys = Object.keys(v)
  const o = v as Record<string, unknown>
  if (keys.length === 1 && typeof o.$bigint === 'string' && /^-?\d+$/.test(o.$bigint)) return BigInt(o.$bigint)
  if (keys.length === 1 && typeof o.$bytes === 'string') return new Uint8Array(Buffer.from(o.$bytes, 'base64'))
  const out: Record<string, unknown> = {}
  for (const k of keys) Object.defineProperty(out, k, { value: plainFromJson(o[k]), enumerable: true, writable: true, configurable: true })
  return out
}
