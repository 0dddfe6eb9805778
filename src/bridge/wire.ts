import { C1, Packr } from 'msgpackr'

export type WireFormat = 'msgpack' | 'json'

/**
 * Frame payloads: MessagePack maps, or JSON when the first byte is `{` (the
 * seeds' Kivy client uses send_json). A reply goes back in the request's format.
 */
export class WireCodec {
  // Plain maps and arrays only: no msgpackr records or structures on the wire, so any msgpack client can read it.
  // No structured clones either: msgpackr's id/pointer extensions (0x69, 0x70) would let a few hundred bytes
  // decode to a graph sharing one node 2^n times (or a cycle), which everything after the decoder walks as a tree.
  private readonly packr = new Packr({ useRecords: false, mapsAsObjects: true, useBigIntExtension: false, int64AsType: 'number', structuredClone: false })
  private readonly mapPackr = new Packr({ useRecords: false, mapsAsObjects: false, useBigIntExtension: false, int64AsType: 'number', structuredClone: false })

  formatOf(frame: Uint8Array): WireFormat {
    return frame.length > 0 && frame[0] === 0x7b ? 'json' : 'msgpack'
  }

  /** Decode a request payload; throws with a message a person can act on. */
  decode(frame: Uint8Array, format: WireFormat): unknown {
    if (format === 'json') {
      try {
        return JSON.parse(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('utf8'))
      } catch (e) {
        throw new Error(`the frame starts with "{" but is not valid JSON: ${(e as Error).message}`)
      }
    }
    if (frame.length === 0) throw new Error('empty frame: a request is a MessagePack map (or a JSON object)')
    let value: unknown
    try {
      // msgpackr renames a map key __proto__ to __proto_ (JSON.parse keeps it as an own key): a frame
      // holding those bytes is decoded to Maps and made into objects here, key for key, as JSON's are.
      value = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).includes(PROTO_KEY) ? fromMaps(this.mapPackr.unpack(frame)) : this.packr.unpack(frame)
    } catch (e) {
      throw new Error(`the frame is not valid MessagePack: ${(e as Error).message}`)
    }
    // msgpackr reads the one byte MessagePack never uses as a marker object rather than failing.
    if (value === C1) throw new Error('the frame is not valid MessagePack: 0xc1 is never used')
    return value
  }

  encode(value: unknown, format: WireFormat): Buffer {
    if (format === 'json') return Buffer.from(JSON.stringify(value, jsonSafe))
    // msgpackr writes a number past 32 bits as a float64: a typed client (Go, Rust) reading a time in
    // ms into an int64 would fail, and Python reads 1733112345678.0. As a bigint it goes out as int64.
    const exact = mapNumbers(value, exactInteger)
    try {
      return this.packr.pack(exact)
    } catch (e) {
      // MessagePack integers stop at 64 bits: a bigger bigint (one a slot may hold) travels as {"$bigint": "123"}, as in JSON.
      if (!(e instanceof Error) || !/too large to fit in MessagePack/.test(e.message)) throw e
      return this.packr.pack(mapNumbers(exact, spelledBigInt))
    }
  }
}

/**
 * `v` with each number or bigint leaf replaced by `leaf(x)`, walking plain arrays and maps; copied only
 * along the paths where something changed (most replies go through untouched).
 */
function mapNumbers(v: unknown, leaf: (x: number | bigint) => unknown): unknown {
  if (typeof v === 'number' || typeof v === 'bigint') return leaf(v)
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v
  if (Array.isArray(v)) {
    let out: unknown[] | undefined
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i]
      const y = mapNumbers(x, leaf)
      if (y !== x) (out ??= v.slice())[i] = y
    }
    return out ?? v
  }
  const o = v as Record<string, unknown>
  let out: Record<string, unknown> | undefined
  for (const k of Object.keys(o)) {
    const x = o[k]
    const y = mapNumbers(x, leaf)
    if (y === x) continue
    if (out === undefined) {
      out = {}
      for (const j of Object.keys(o)) define(out, j, o[j])
    }
    define(out, k, y)
  }
  return out ?? v
}

/** defineProperty, not assignment: a key named __proto__ stays a key. */
function define(o: Record<string, unknown>, k: string, value: unknown): void {
  Object.defineProperty(o, k, { value, enumerable: true, writable: true, configurable: true })
}

/** A safe integer outside 32 bits as a bigint, which msgpackr writes as an int64. */
const exactInteger = (x: number | bigint): unknown =>
  typeof x === 'number' && (x > 0xffffffff || x < -0x80000000) && Number.isSafeInteger(x) ? BigInt(x) : x

const INT64_MIN = -(2n ** 63n)
const UINT64_END = 2n ** 64n

/** A bigint that no MessagePack integer holds, as {"$bigint": "123"}. */
const spelledBigInt = (x: number | bigint): unknown =>
  typeof x === 'bigint' && (x < INT64_MIN || x >= UINT64_END) ? { $bigint: x.toString() } : x

/** JSON has no bigint or bytes: they travel as {"$bigint": "123"} and {"$bytes": base64}. */
function jsonSafe(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return { $bigint: v.toString() }
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('base64') }
  if (v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
    return { $bytes: Buffer.from((v as { data: number[] }).data).toString('base64') }
  }
  return v
}

const PROTO_KEY = Buffer.from('__proto__')

/** Decoded Maps as plain objects, every key an own data property (`__proto__` included). Iterative: the input may nest deep. */
function fromMaps(v: unknown): unknown {
  const convert = (x: unknown): unknown => {
    if (x instanceof Map) {
      const o: Record<string, unknown> = {}
      for (const [k, val] of x) {
        if (typeof k !== 'string' && typeof k !== 'number') throw new Error(`a map key is ${k === null ? 'nil' : typeof k}: keys are strings (or numbers)`)
        Object.defineProperty(o, String(k), { value: val, writable: true, enumerable: true, configurable: true })
      }
      return o
    }
    return x
  }
  const root = { v: convert(v) }
  const stack: unknown[] = [root.v]
  while (stack.length > 0) {
    const x = stack.pop()
    if (x === null || typeof x !== 'object' || x instanceof Uint8Array) continue
    if (Array.isArray(x)) {
      for (let i = 0; i < x.length; i++) { x[i] = convert(x[i]); stack.push(x[i]) }
    } else {
      for (const k of Object.keys(x)) {
        const c = convert((x as Record<string, unknown>)[k])
        Object.defineProperty(x, k, { value: c, writable: true, enumerable: true, configurable: true })
        stack.push(c)
      }
    }
  }
  return root.v
}
