/**
 * Every covenant command over real loopback sockets, in MessagePack and in
 * JSON: through the typed client (format 'msgpack' / 'json') and through raw
 * zeromq.js DEALERs that send hand-made frames (a JSON string, as the seeds'
 * Kivy client's send_json does).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type * as zmq from 'zeromq'
import { BridgeClient } from '../../src/bridge/index.js'
import type { WireFormat } from '../../src/bridge/index.js'
import { VERSION } from '../../src/version.js'
import { askReply, genesisSlot, json, mp, packr, rawDealer, startBridge } from './support.js'
import type { Bridge } from './support.js'

let bridge: Bridge

beforeAll(async () => { bridge = await startBridge({ version: VERSION }) })
afterAll(async () => { await bridge.dispose() })

describe.each(['msgpack', 'json'] as WireFormat[])('every command through BridgeClient (%s)', (format) => {
  let client: BridgeClient
  beforeAll(() => { client = BridgeClient.connect(bridge.server.endpoint, { format, timeoutMs: 10_000 }) })
  afterAll(async () => { await client.close() })

  it('ping → pong with the version', async () => {
    const r = await client.request({ command: 'ping', id: `p-${format}` })
    expect(r).toEqual({ event: 'pong', id: `p-${format}`, version: VERSION })
  })

  it('describe → covenant with the JSON Schema of commands and replies', async () => {
    const r = await client.describe()
    expect(r.event).toBe('covenant')
    const schema = r.schema as Record<string, any>
    expect(schema.version).toBe(VERSION)
    expect(JSON.stringify(schema.command)).toContain('get_full_state')
    for (const name of ['get_full_state', 'update_property', 'create_method', 'send_message', 'run_act', 'ping', 'describe']) {
      expect(JSON.stringify(schema.command)).toContain(`"${name}"`)
    }
    expect(JSON.stringify(schema.reply)).toContain('uvm_state_update')
  })

  it('get_full_state → uvm_state_update with the Genesis Object (depth 1 by default)', async () => {
    const r = await client.request({ command: 'get_full_state', id: 7 })
    expect(r.event).toBe('uvm_state_update')
    expect(r.id).toBe(7)
    const state = (r as { state: Record<string, any> }).state
    expect(state.$print).toBe(`<Genesis #${state.$ref}>`)
    expect(state.$slots.name).toBe('Genesis')
    // depth 1: the slots' objects are references without their own slots
    expect(state.$slots.prototypes).toEqual({ $ref: expect.any(Number), $print: expect.stringContaining('Prototypes') })
  })

  it('update_property → ack with tid; the slot holds the value', async () => {
    const value = { label: `hello ${format}`, list: [1, 2.5, 'three', null, true], nested: { a: { b: [] } } }
    const r = await client.request({ command: 'update_property', id: `u-${format}`, property_name: `prop_${format}`, property_value: value })
    expect(r).toEqual({ event: 'ack', id: `u-${format}`, tid: expect.any(Number) })
    expect(genesisSlot(bridge.image, `prop_${format}`)).toEqual(value)
    const state = await client.state()
    expect(state.state).toMatchObject({ $slots: { [`prop_${format}`]: value } })
  })

  it('create_method → ack with tid; send_message runs it → result with value', async () => {
    await client.set('bias', 0)
    const created = await client.createMethod(`add_${format}`, 'return args[0] + args[1] + self.bias')
    expect(created).toEqual({ event: 'ack', id: expect.any(String), tid: expect.any(Number) })
    const r = await client.send(`add_${format}`, [40, 2])
    expect(r.value).toBe(42)
    expect(r.tid).toBeUndefined() // read-only: nothing committed
  })

  it('send_message that writes → result with value and tid', async () => {
    await client.createMethod(`bump_${format}`, 'function (by) { self.count = self.count + by; return self.count }')
    await client.set('count', 10)
    const before = genesisSlot(bridge.image, 'count') as number
    expect(before).toBe(10)
    const r = await client.send(`bump_${format}`, [5])
    expect(r).toEqual({ event: 'result', id: expect.any(String), value: before + 5, tid: expect.any(Number) })
    expect(genesisSlot(bridge.image, 'count')).toBe(before + 5)
  })

  it('send_message with no args (default []) to a primitive', async () => {
    const r = await client.request({ command: 'send_message', selector: 'printString' })
    expect(r).toMatchObject({ event: 'result', value: expect.stringContaining('Genesis') })
  })

  it('run_act → result with value, output and tid', async () => {
    const r = await client.act(`const m = new UvmObject(); m.kind = '${format}'; prototypes.Act_${format} = m; print('made', m); return { m, n: 1 + 1 }`,
      { intent: 'make a prototype', explanation: 'a test' })
    expect(r.event).toBe('result')
    expect(r.tid).toEqual(expect.any(Number))
    expect(r.output).toMatch(/^made <.*#\d+>\n$/)
    const v = r.value as Record<string, any>
    expect(v.n).toBe(2)
    expect(v.m).toMatchObject({ $ref: expect.any(Number), $print: expect.any(String), $slots: { kind: format } })
    // the transaction record keeps the intent and explanation
    const rec = await bridge.image.transaction(r.tid!)
    expect(rec?.description).toBe('make a prototype')
    expect(rec?.ext).toMatchObject({ intent: 'make a prototype', explanation: 'a test' })
  })

  it('the seeds\' example: create_method new_tool with the body print("New tool created!"); send_message returns its output', async () => {
    await client.createMethod('new_tool', 'print("New tool created!")')
    const r = await client.send('new_tool')
    expect(r).toEqual({ event: 'result', id: expect.any(String), value: null, undefined: true, output: 'New tool created!\n' })
  })

  it('history → the newest transaction records; undo → ack with the tid of the undoing transaction', async () => {
    await client.set(`undoable_${format}`, 1)
    const second = await client.set(`undoable_${format}`, 2)
    const h = await client.request({ command: 'history', limit: 2 })
    expect(h.event).toBe('history')
    const records = (h as { transactions: { tid: number; description: string }[] }).transactions
    expect(records).toHaveLength(2)
    expect(records[0]).toMatchObject({ tid: second.tid, description: `update_property undoable_${format}` })
    const u = await client.request({ command: 'undo', tid: second.tid! })
    expect(u).toMatchObject({ event: 'ack', tid: expect.any(Number) })
    expect(genesisSlot(bridge.image, `undoable_${format}`)).toBe(1)
  })

  it('run_act that writes nothing → result without tid, output empty', async () => {
    const r = await client.act('return 6 * 7')
    expect(r).toEqual({ event: 'result', id: expect.any(String), value: 42, output: '' })
  })
})

describe('raw DEALER frames', () => {
  let dealer: zmq.Dealer
  beforeAll(() => { dealer = rawDealer(bridge.server.endpoint) })
  afterAll(() => { dealer.close() })

  it('a JSON string frame gets a JSON reply (like the seeds\' send_json)', async () => {
    await dealer.send(JSON.stringify({ command: 'ping', id: 'j1' }))
    const [frame] = await dealer.receive()
    expect(frame![0]).toBe(0x7b) // "{"
    expect(JSON.parse(frame!.toString())).toEqual({ event: 'pong', id: 'j1', version: VERSION })
  })

  it('a MessagePack map frame gets a MessagePack reply', async () => {
    await dealer.send(mp({ command: 'ping', id: 'm1' }))
    const [frame] = await dealer.receive()
    expect(frame![0]).not.toBe(0x7b)
    expect(frame![0] === 0xde || (frame![0]! & 0xf0) === 0x80).toBe(true) // a map16 or fixmap
    expect(packr.unpack(frame!)).toEqual({ event: 'pong', id: 'm1', version: VERSION })
  })

  it.each([['msgpack', mp], ['json', json]] as const)('every command in raw %s', async (_name, enc) => {
    const tag = _name
    expect(await askReply(dealer, enc({ command: 'ping', id: 1 }))).toEqual({ event: 'pong', id: 1, version: VERSION })
    const d = await askReply(dealer, enc({ command: 'describe', id: 2 }))
    expect(d).toMatchObject({ event: 'covenant', id: 2, schema: { title: expect.any(String) } })
    const u = await askReply(dealer, enc({ command: 'update_property', id: 3, property_name: `raw_${tag}`, property_value: [1, { two: 2 }] }))
    expect(u).toEqual({ event: 'ack', id: 3, tid: expect.any(Number) })
    const s = await askReply(dealer, enc({ command: 'get_full_state', id: 4, depth: 0 }))
    expect(s).toMatchObject({ event: 'uvm_state_update', id: 4, tid: u.tid, state: { $ref: expect.any(Number), $print: expect.stringContaining('Genesis') } })
    expect(s.state.$slots).toBeUndefined() // depth 0: no slots
    const c = await askReply(dealer, enc({ command: 'create_method', id: 5, method_name: `greet_${tag}`, method_code: 'function (who) { return `hello ${who}` }' }))
    expect(c).toEqual({ event: 'ack', id: 5, tid: expect.any(Number) })
    const m = await askReply(dealer, enc({ command: 'send_message', id: 6, selector: `greet_${tag}`, args: ['Ada'] }))
    expect(m).toEqual({ event: 'result', id: 6, value: 'hello Ada' })
    const a = await askReply(dealer, enc({ command: 'run_act', id: 7, code: `print(genesis.raw_${tag}[1].two); return genesis.raw_${tag}` }))
    expect(a).toEqual({ event: 'result', id: 7, value: [1, { two: 2 }], output: '2\n' })
  })

  it('ids are echoed: strings and integers (also negative and large); no id, no id in the reply', async () => {
    for (const id of ['x', '', 0, -5, 2 ** 40]) {
      expect(await askReply(dealer, mp({ command: 'ping', id }))).toMatchObject({ event: 'pong', id })
      expect(await askReply(dealer, json({ command: 'ping', id }))).toMatchObject({ event: 'pong', id })
    }
    const r = await askReply(dealer, mp({ command: 'ping' }))
    expect('id' in r).toBe(false)
  })

  it('get_full_state depth: 0 … 8, deeper expands further', async () => {
    // a chain genesis.chain → c1 → c2 → … → c9
    await askReply(dealer, mp({ command: 'run_act', code: 'let o = genesis; for (let i = 1; i <= 9; i++) { const n = new UvmObject(); n.i = i; o.next = n; o = n }; genesis.chain = genesis.next' }))
    const expandedLevels = (state: Record<string, any>): number => {
      let n = 0
      for (let o = state; o?.$slots !== undefined; o = o.$slots.next) n++
      return n
    }
    for (const depth of [0, 1, 2, 5, 8]) {
      const r = await askReply(dealer, mp({ command: 'get_full_state', depth, target: 'genesis.chain' }))
      expect(expandedLevels(r.state)).toBe(depth)
    }
    const dflt = await askReply(dealer, mp({ command: 'get_full_state', target: 'genesis.chain' }))
    expect(expandedLevels(dflt.state)).toBe(1)
  })
})
