import { Packr, addExtension } from 'msgpackr'
import { UvmError } from '../errors.js'
import { Method, Obj, Primitive, State } from '../kernel/index.js'
import type { Data, SlotValue } from '../kernel/index.js'
import { RecordWriter } from './record-writer.js'

/**
 * One object revision on disk: a msgpack array
 * `[FORMAT, serial, prevSerial, name1, value1, name2, value2, ...]`.
 * References are stored as oids (ext 0x40), never as nested copies; methods as
 * their source (0x41); primitives by name (0x44; 0x42 is msgpackr's own
 * extension for bigints wider than 64 bits); data maps as key/value lists
 * (0x43) because msgpackr renames a `__proto__` key when it decodes a map;
 * -0 as 0x45 because msgpack integers have no sign of zero.
 */
export const RECORD_FORMAT = 1
/**
 * A record whose state has slot origins (State.origins): `[2, serial, prevSerial, [name, tid, ...],
 * name1, value1, ...]`. Records without origins stay format 1, so images written before origins
 * existed read as they are, and an ordinary record costs nothing more.
 */
export const RECORD_FORMAT_ORIGINS = 2

class OidRef { constructor(readonly oid: number) {} }
class MapEntries { constructor(readonly flat: unknown[]) {} }
class NegativeZero {}
const NEGATIVE_ZERO = new NegativeZero()

// Registrations are keyed by our own classes and carry no state, so one set
// serves every image in the process.
addExtension({ Class: Obj, type: 0x40, write: (o: Obj) => o.oid, read: (oid: number) => new OidRef(oid) })
addExtension({ Class: Method, type: 0x41, write: (m: Method) => m.source, read: (src: string) => new Method(src) })
addExtension({ Class: Primitive, type: 0x44, write: (p: Primitive) => p.name, read: (name: string) => new Primitive(name) })
addExtension({ Class: MapEntries, type: 0x43, write: (m: MapEntries) => m.flat, read: (flat: unknown[]) => new MapEntries(flat) })
addExtension({ Class: NegativeZero, type: 0x45, write: () => 0, read: () => -0 })

export class Codec {
  private readonly packr = new Packr({ useRecords: false, useBigIntExtension: true, mapsAsObjects: true })

  private readonly writer = new RecordWriter((v) => this.packr.pack(outbound(v)))

  constructor(private readonly handle: (oid: number) => Obj) {}

  encodeState(state: State, serial: number, prevSerial: number): Uint8Array {
    const origins = state.origins
    if (origins === undefined) return this.writer.record(RECORD_FORMAT, serial, prevSerial, state.slots)
    return this.writer.record(RECORD_FORMAT_ORIGINS, serial, prevSerial, state.slots, flatOrigins(origins))
  }

  /** The same record through msgpackr alone: the reference the record writer is tested against. */
  encodeStateGeneric(state: State, serial: number, prevSerial: number): Uint8Array {
    const rec: unknown[] = state.origins === undefined ? [RECORD_FORMAT, serial, prevSerial] : [RECORD_FORMAT_ORIGINS, serial, prevSerial, flatOrigins(state.origins)]
    for (const [name, value] of state.slots) rec.push(name, outbound(value))
    return this.packr.pack(rec)
  }

  decodeState(bytes: Uint8Array, oid: number): State {
    let rec: unknown
    try {
      rec = this.packr.unpack(bytes)
    } catch (e) {
      throw corrupt(oid, (e as Error).message)
    }
    if (!Array.isArray(rec) || rec.length < 3) throw corrupt(oid, 'not an object record')
    if (rec[0] !== RECORD_FORMAT && rec[0] !== RECORD_FORMAT_ORIGINS) throw corrupt(oid, `record format ${String(rec[0])}; this UVM reads formats ${RECORD_FORMAT} and ${RECORD_FORMAT_ORIGINS}`)
    const first = rec[0] === RECORD_FORMAT ? 3 : 4
    if (rec.length < first || (rec.length - first) % 2 !== 0) throw corrupt(oid, 'not an object record')
    let origins: Map<string, number> | undefined
    if (first === 4) {
      const flat = rec[3]
      if (!Array.isArray(flat) || flat.length % 2 !== 0) throw corrupt(oid, 'its slot origins are not a list of names and tids')
      origins = new Map()
      for (let i = 0; i < flat.length; i += 2) {
        if (typeof flat[i] !== 'string' || typeof flat[i + 1] !== 'number') throw corrupt(oid, 'a slot origin is not a name and a tid')
        origins.set(flat[i] as string, flat[i + 1] as number)
      }
    }
    const slots = new Map<string, SlotValue>()
    for (let i = first; i < rec.length; i += 2) {
      const name = rec[i]
      if (typeof name !== 'string') throw corrupt(oid, 'a slot name is not a string')
      slots.set(name, this.inbound(rec[i + 1]) as SlotValue)
    }
    const state = new State(slots)
    if (origins !== undefined && origins.size > 0) state.origins = origins
    state.serial = Number(rec[1])
    state.prevSerial = Number(rec[2])
    return state
  }

  pack(value: unknown): Uint8Array {
    return this.packr.pack(value)
  }

  /** A plain map (transaction record, metadata): what `pack` would write, without a msgpackr call per commit. */
  packMap(value: object): Uint8Array {
    return this.writer.map(value, this.plain)
  }

  private readonly plain = (v: unknown): Uint8Array => this.packr.pack(v)

  unpack(bytes: Uint8Array): unknown {
    return this.packr.unpack(bytes)
  }

  private inbound(v: unknown): unknown {
    if (v === null || typeof v !== 'object') return v
    if (v instanceof OidRef) return this.handle(v.oid)
    if (v instanceof Method || v instanceof Primitive) return v
    if (v instanceof Uint8Array) return new Uint8Array(v) // own the bytes: decoded buffers may share a slab
    if (Array.isArray(v)) return Object.freeze(v.map((x) => this.inbound(x)))
    if (v instanceof MapEntries) {
      const out: Record<string, unknown> = Object.create(null)
      for (let i = 0; i + 1 < v.flat.length; i += 2) out[String(v.flat[i])] = this.inbound(v.flat[i + 1])
      return Object.freeze(out)
    }
    throw new UvmError('IMAGE_CORRUPT', 'a slot holds a value of unknown kind')
  }
}

function flatOrigins(origins: ReadonlyMap<string, number>): unknown[] {
  const flat: unknown[] = []
  for (const [name, tid] of origins) flat.push(name, tid)
  return flat
}

function outbound(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return Object.is(v, -0) ? NEGATIVE_ZERO : v
  if (v instanceof Obj || v instanceof Method || v instanceof Primitive || v instanceof Uint8Array) return v
  if (Array.isArray(v)) return v.map(outbound)
  const flat: unknown[] = []
  for (const k of Object.keys(v)) flat.push(k, outbound((v as Record<string, Data>)[k]))
  return new MapEntries(flat)
}

function corrupt(oid: number, why: string): UvmError {
  return new UvmError('IMAGE_CORRUPT', `object #${oid} cannot be decoded: ${why}`, { oid })
}

/** Every object referenced from a state (parents, slots, and references nested in data). */
export function referencesOf(state: State, out: Obj[] = []): Obj[] {
  for (const v of state.slots.values()) collect(v, out)
  return out
}

function collect(v: unknown, out: Obj[]): void {
  if (v === null || typeof v !== 'object') return
  if (v instanceof Obj) { out.push(v); return }
  if (v instanceof Method || v instanceof Primitive || v instanceof Uint8Array) return
  if (Array.isArray(v)) { for (const x of v) collect(x, out); return }
  for (const k of Object.keys(v)) collect((v as Record<string, unknown>)[k], out)
}
