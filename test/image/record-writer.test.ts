import { describe, expect, it } from 'vitest'
import { Codec } from '../../src/image/codec.js'
import { Method, Obj, Primitive, State } from '../../src/kernel/index.js'

// The record writer encodes every committed object; msgpackr decodes it. Each case is checked
// against the generic encoder (msgpackr alone): both records must decode to the same slots.
const handles = new Map<number, Obj>()
const handle = (oid: number): Obj => {
  let h = handles.get(oid)
  if (h === undefined) handles.set(oid, (h = new Obj(oid)))
  return h
}
const codec = new Codec(handle)

function roundTrips(slots: Map<string, unknown>, serial = 7, prev = 3): void {
  const state = new State(slots as Map<string, never>)
  const fast = codec.encodeState(state, serial, prev)
  const generic = codec.encodeStateGeneric(state, serial, prev)
  const a = codec.decodeState(fast, 1)
  const b = codec.decodeState(generic, 1)
  expect([a.serial, a.prevSerial]).toEqual([serial, prev])
  expect([...a.slots.keys()]).toEqual([...b.slots.keys()])
  for (const [k, v] of b.slots) {
    const w = a.slots.get(k)
    if (typeof v === 'number') expect(Object.is(w, v), `slot ${k}: ${String(w)} vs ${String(v)}`).toBe(true)
    else expect(w).toEqual(v)
  }
}

// msgpackr hands back bytes as views of its input (a Buffer or a Uint8Array): compare their contents.
const bytesAsArrays = (v: unknown): unknown =>
  v instanceof Uint8Array ? ['bytes', ...v] : Array.isArray(v) ? v.map(bytesAsArrays) : v

const INTS = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 0x100000000, 2 ** 53 - 1, -(2 ** 53) + 1,
  -1, -0x20, -0x21, -0x80, -0x81, -0x8000, -0x8001, -0x80000000, -0x80000001]
const NUMBERS = [...INTS, 0.5, -1.25, 1e300, 5e-324, Number.NaN, Infinity, -Infinity, -0]
const STRINGS = ['', 'a', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(255), 'x'.repeat(256), 'x'.repeat(65535), 'x'.repeat(65536),
  'é', 'naïve', 'ü'.repeat(20), 'ü'.repeat(200), '日本語', '🙂', '🙂'.repeat(40), 'a\u0000b', '__proto__']

describe('record writer', () => {
  it('writes every number kind as msgpackr reads it', () => {
    roundTrips(new Map(NUMBERS.map((n, i) => [`n${i}`, n])))
  })

  it('writes strings of every header size and encoding, as names and as values', () => {
    roundTrips(new Map(STRINGS.map((s, i) => [`s${i}`, s])))
    roundTrips(new Map(STRINGS.map((s, i) => [s || 'empty', i])))
  })

  it('writes references, methods, primitives, booleans and null', () => {
    roundTrips(new Map<string, unknown>([
      ['parent*', handle(12)], ['big', handle(0xffffffff)], ['m', new Method('function () { return 1 }')],
      ['p', new Primitive('clone')], ['t', true], ['f', false], ['nil', null],
    ]))
  })

  it('hands arrays, maps, bigints and bytes to msgpackr, references inside them included', () => {
    const map = Object.assign(Object.create(null), { a: 1, ['__proto__']: [handle(3), -0], nested: { b: 'é' } })
    roundTrips(new Map<string, unknown>([
      ['list', [1, 'two', handle(4), [null, 2n ** 70n]]], ['map', map], ['small', 5n], ['wide', -(2n ** 80n)],
      ['bytes', new Uint8Array([0, 1, 255])], ['empty', []],
    ]))
  })

  it('writes records larger than its buffer, and many slots', () => {
    const slots = new Map<string, unknown>()
    for (let i = 0; i < 70000; i++) slots.set(`k${i}`, i % 3 === 0 ? handle(i) : i % 3 === 1 ? `v${i}` : i * 1.5)
    slots.set('huge', 'z'.repeat(3 * 1024 * 1024))
    roundTrips(slots)
    // The buffer was given up after the huge record: the next small one is still right.
    roundTrips(new Map([['after', 'small']]))
  })

  it('agrees with msgpackr on random states', () => {
    let seed = 42
    const rnd = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff }
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!
    const value = (depth: number): unknown => {
      switch (Math.floor(rnd() * (depth > 2 ? 6 : 8))) {
        case 0: return pick(NUMBERS)
        case 1: return Math.floor((rnd() - 0.5) * 2 ** (rnd() * 60))
        case 2: return pick(STRINGS.slice(0, 12))
        case 3: return handle(Math.floor(rnd() * 1e6))
        case 4: return pick([true, false, null])
        case 5: return String.fromCharCode(...Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 0xd7ff)))
        case 6: return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1))
        default: return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 4) }, (_, i) => [`k${i}`, value(depth + 1)]))
      }
    }
    for (let n = 0; n < 2000; n++) {
      const slots = new Map<string, unknown>()
      const count = Math.floor(rnd() * 12)
      for (let i = 0; i < count; i++) slots.set(i === 0 && rnd() < 0.5 ? 'parent*' : `s${i}`, value(0))
      roundTrips(slots, Math.floor(rnd() * 2 ** 32), Math.floor(rnd() * 2 ** 32))
    }
  })

  it('writes transaction records and metadata (plain maps) as msgpackr reads them', () => {
    const maps: Record<string, unknown>[] = [
      { tid: 7, time: Date.now(), user: 'architect', description: '', ext: {}, oids: [1, 2, 0xffffffff, 2 ** 40] },
      { tid: 2 ** 33, time: 1.5, user: 'é🙂', description: 'x'.repeat(300), ext: { source: 'return 1', intent: 'naïve', n: [1, { a: null }], u: undefined, b: true }, oids: [] },
      { format: 1, root: 0, traits: 1, nextOid: 123456, lastTid: 99, created: 1763800000000 },
      { odd: -0, list: [1, -0, 2], mixed: [1, 'a'], nil: null, yes: false, big: 12n, bytes: new Uint8Array([1, 2]) },
      Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
    ]
    for (const m of maps) {
      const fast = codec.unpack(codec.packMap(m)) as Record<string, unknown>
      const generic = codec.unpack(codec.pack(m)) as Record<string, unknown>
      expect(Object.keys(fast)).toEqual(Object.keys(generic))
      for (const k of Object.keys(generic)) {
        if (typeof generic[k] === 'number') expect(Object.is(fast[k], generic[k]), k).toBe(true)
        else expect(bytesAsArrays(fast[k])).toEqual(bytesAsArrays(generic[k]))
      }
    }
  })

  it('hands out records that later writes never touch (views of shared chunks)', () => {
    const states = Array.from({ length: 3000 }, (_, i) => new Map<string, unknown>([['parent*', handle(i)], ['x', i], ['s', 'v'.repeat(i % 700)]]))
    const records = states.map((slots, i) => codec.encodeState(new State(slots as Map<string, never>), i + 1, i))
    records.forEach((bytes, i) => {
      const back = codec.decodeState(bytes, i)
      expect([back.serial, back.slots.get('x'), (back.slots.get('s') as string).length]).toEqual([i + 1, i, i % 700])
    })
  })
})
