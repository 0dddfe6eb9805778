/**
 * Values and targets on the wire: plain data as is, objects as
 * {"$ref", "$print", "$slots"?} expanded to the requested depth, methods as
 * {"$method": source}; property_value may carry $refs to existing objects;
 * targets as dotted paths, {"$ref": oid}, or target_uuid (the seeds' alias).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BridgeClient } from '../../src/bridge/index.js'
import { startBridge } from './support.js'
import type { Bridge } from './support.js'

let bridge: Bridge
let client: BridgeClient
let genesisOid: number
let prototypesOid: number

beforeAll(async () => {
  bridge = await startBridge()
  client = BridgeClient.connect(bridge.server.endpoint, { timeoutMs: 10_000 })
  const s = await client.state()
  const state = s.state as Record<string, any>
  genesisOid = state.$ref
  prototypesOid = state.$slots.prototypes.$ref
  // genesis.prototypes.Morph, genesis.prototypes.World (a Morph with a child and a cycle back to itself)
  await client.act(`
    const Morph = new UvmObject(); Morph.name = 'Morph'; Morph.color = 'red'
    Morph.describe = function () { return this.name + ' in ' + this.color }
    const World = Morph.clone(); World.name = 'World'; World.children = []; World.me = World
    prototypes.Morph = Morph; prototypes.World = World`)
})
afterAll(async () => { await client.close(); await bridge.dispose() })

describe('objects, methods and data out', () => {
  it('an object is {$ref, $print, $slots}; its slots at depth 1 are references without slots', async () => {
    const r = await client.state({ target: 'genesis.prototypes.World' })
    const w = r.state as Record<string, any>
    expect(w.$print).toBe(`<World #${w.$ref}>`)
    expect(w.$slots.name).toBe('World')
    expect(w.$slots.children).toEqual([])
    expect(w.$slots['parent*']).toEqual({ $ref: expect.any(Number), $print: expect.stringMatching(/^<Morph #\d+>$/) })
    expect(w.$slots.me).toEqual({ $ref: w.$ref, $print: w.$print }) // a cycle ends in a plain reference
  })

  it('methods go out as {$method: source}', async () => {
    const r = await client.state({ target: 'genesis.prototypes.Morph' })
    expect((r.state as any).$slots.describe).toEqual({ $method: expect.stringContaining("this.name + ' in ' + this.color") })
  })

  it('depth 2 expands the references of the references, each object once per reply', async () => {
    const r = await client.state({ target: 'genesis.prototypes.World', depth: 2 })
    const w = r.state as Record<string, any>
    expect(w.$slots['parent*'].$slots).toMatchObject({ name: 'Morph', color: 'red' })
    expect(w.$slots.me.$slots).toBeUndefined() // already expanded above
  })

  it('a send\'s result and an act\'s value go out the same way', async () => {
    const r = await client.send('describe', [], 'genesis.prototypes.World')
    expect(r.value).toBe('World in red')
    const a = await client.act('return [prototypes.World, 1n, new Uint8Array([1, 2]), undefined, NaN]')
    const [w, big, bytes, undef, nan] = a.value as unknown[]
    expect(w).toMatchObject({ $ref: expect.any(Number), $print: expect.stringContaining('World'), $slots: { name: 'World' } })
    // What MessagePack and JSON carry unfaithfully is tagged (a bigint that fits int64 used to arrive as a number).
    expect(big).toEqual({ $bigint: '1' })
    expect(Buffer.from(bytes as Uint8Array)).toEqual(Buffer.from([1, 2]))
    expect(undef).toEqual({ $undefined: true })
    expect(nan).toEqual({ $number: 'NaN' })
  })

  it('Maps, Sets, Dates, functions, methods and errors go out tagged; an undefined value says so beside null', async () => {
    await client.act('genesis.hello = function () { return "hi" }')
    const a = await client.act('return [new Map([[1, genesis]]), new Set(["a"]), new Date(0), (x) => x + 1, genesis.hello, genesis.clone, new TypeError("no"), /re/, null]')
    const [map, set, date, fn, method, primitive, error, regexp, nil] = a.value as unknown[]
    expect(map).toEqual({ $map: [[1, expect.objectContaining({ $ref: genesisOid })]] })
    expect([set, date, fn, method, primitive, error, regexp, nil]).toEqual([{ $set: ['a'] }, { $date: '1970-01-01T00:00:00.000Z' }, { $function: '(x) => x + 1' },
      { $method: 'function () { return "hi" }' }, { $primitive: 'clone' }, { $error: 'TypeError: no' }, { $opaque: 'a RegExp' }, null])
    const u = await client.request({ command: 'run_act', code: 'return undefined' })
    expect(u).toMatchObject({ event: 'result', value: null, undefined: true })
    const n = await client.request({ command: 'run_act', code: 'return null' })
    expect(n).toMatchObject({ event: 'result', value: null })
    expect('undefined' in n).toBe(false)
  })

  it('run_act bindings: names in the act\'s scope ({$ref} is the object); a description for the history', async () => {
    const r = await client.request({ command: 'run_act', code: 'return [q + 1, g === genesis, big, nothing]', bindings: { q: 41, g: { $ref: genesisOid }, big: { $bigint: '5' }, nothing: { $undefined: true } }, description: 'as typed' })
    expect(r).toMatchObject({ event: 'result', value: [42, true, { $bigint: '5' }, { $undefined: true }] })
    const w = await client.request({ command: 'run_act', code: 'genesis.described = q', bindings: { q: 1 }, description: 'as typed' })
    expect(w.event).toBe('result')
    const h = await client.request({ command: 'history', limit: 1 })
    expect(h).toMatchObject({ event: 'history', transactions: [{ description: 'as typed' }] })
    for (const bindings of [{ genesis: 1 }, { __uvm_x: 1 }, { 'not-a-name': 1 }]) {
      const bad = await client.request({ command: 'run_act', code: 'return 1', bindings })
      expect(bad).toMatchObject({ event: 'error', error: { code: 'invalid_command' } })
    }
  })
})

describe('targets', () => {
  it('default: the Genesis Object', async () => {
    expect(((await client.state()).state as any).$ref).toBe(genesisOid)
  })

  it('dotted paths from the root (a leading root. or lobby. is allowed), {$ref}, and target_uuid', async () => {
    for (const target of ['genesis.prototypes', 'root.genesis.prototypes', 'lobby.genesis.prototypes', { $ref: prototypesOid }]) {
      expect(((await client.state({ target })).state as any).$ref).toBe(prototypesOid)
    }
    const r = await client.request({ command: 'get_full_state', target_uuid: 'genesis.prototypes' })
    expect((r as any).state.$ref).toBe(prototypesOid)
    const byRef = await client.request({ command: 'get_full_state', target_uuid: { $ref: genesisOid } })
    expect((byRef as any).state.$ref).toBe(genesisOid)
  })

  it('paths resolve slots through delegation, like a send (nothing runs)', async () => {
    // genesis has no own `lobby` slot: its parent, traits, has one (→ the root)
    const r = await client.request({ command: 'get_full_state', target: 'genesis.lobby' })
    expect(r.event).toBe('uvm_state_update')
    expect((r as any).state.$print).toMatch(/Lobby/)
  })

  it('update_property, create_method and send_message act on their target', async () => {
    await client.set('color', 'blue', 'genesis.prototypes.World')
    await client.request({ command: 'create_method', target_uuid: 'genesis.prototypes.World', method_name: 'shout', method_code: 'return self.describe().toUpperCase()' })
    const r = await client.send('shout', [], 'genesis.prototypes.World')
    expect(r.value).toBe('WORLD IN BLUE')
    expect(((await client.state({ target: 'genesis.prototypes.Morph' })).state as any).$slots.color).toBe('red')
  })
})

describe('values in', () => {
  it('property_value may carry {$ref} to existing objects, at any depth; they are stored as references', async () => {
    const morph = ((await client.state({ target: 'genesis.prototypes.Morph', depth: 0 })).state as any).$ref as number
    await client.set('favourite', { $ref: morph })
    await client.set('palette', { main: { $ref: morph }, all: [{ $ref: morph }, { $ref: prototypesOid }], n: 3 })
    const g = (await client.state()).state as any
    expect(g.$slots.favourite).toEqual({ $ref: morph, $print: `<Morph #${morph}>` })
    expect(g.$slots.palette).toEqual({ main: { $ref: morph, $print: `<Morph #${morph}>` }, all: [{ $ref: morph, $print: `<Morph #${morph}>` }, { $ref: prototypesOid, $print: expect.any(String) }], n: 3 })
    // a real reference: a send through it reaches the object
    const r = await client.act('return genesis.favourite.describe()')
    expect(r.value).toBe('Morph in red')
  })

  it('args of send_message may carry {$ref} too', async () => {
    await client.createMethod('nameOf', 'function (o) { return o.name }')
    const r = await client.send('nameOf', [{ $ref: prototypesOid }])
    expect(r.value).toBe('Prototypes')
  })

  it('{$method: source} in property_value installs a method', async () => {
    await client.set('twice', { $method: 'function (x) { return 2 * x }' })
    expect((await client.send('twice', [21])).value).toBe(42)
  })

  it('plain data round-trips: nested maps, arrays, numbers, strings, booleans, null, bytes (msgpack)', async () => {
    const value = { s: 'ünïcødé ✓', n: -1.25, i: 2 ** 31, t: true, f: false, z: null, a: [[[]]], m: { '': 1, 'a.b': 2, __proto__x: 3 }, b: new Uint8Array([0, 255]) }
    await client.set('data', value)
    const g = (await client.state()).state as any
    expect({ ...g.$slots.data, b: Buffer.from(g.$slots.data.b) }).toEqual({ ...value, b: Buffer.from([0, 255]) })
  })

  it('JSON clients get bytes and bigints spelled out ({$bytes}, {$bigint})', async () => {
    const j = BridgeClient.connect(bridge.server.endpoint, { format: 'json', timeoutMs: 10_000 })
    try {
      const r = await j.act('return [new Uint8Array([1, 2, 3]), 2n ** 70n]')
      expect(r.value).toEqual([{ $bytes: 'AQID' }, { $bigint: (2n ** 70n).toString() }])
    } finally {
      await j.close()
    }
  })
})
