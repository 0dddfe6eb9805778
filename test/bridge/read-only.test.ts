/**
 * A read-only bridge (`uvm boot --read-only`): every command that would change the image gets
 * exactly one `unauthorized` reply with its id, in MessagePack and JSON, and nothing is written
 * (tid, transaction records and state unchanged, on a durable classic-level image); reads, and
 * sends and acts that only read, work; the daemon keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type * as zmq from 'zeromq'
import { Method, writeSlot } from '../../src/kernel/index.js'
import { askReply, decodeReply, genesisSlot, json, mp, rawDealer, startBridge, transactionCount } from './support.js'
import type { Bridge } from './support.js'

const WRITE_ACCESS = 'ask the operator for the writers\' endpoint'
const READ_ONLY_HINT = /this endpoint serves the image read-only, so nothing was written\. For write access, ask the operator for the writers' endpoint$/

/** Seed a few slots and methods the refused commands would change. */
async function seed(bridge: Bridge): Promise<number> {
  const { info } = await bridge.image.transact((tx) => {
    const g = tx.objectOf(tx.genesis)
    tx.genesis.counter = 0
    tx.genesis.items = [1]
    tx.genesis.label = 'before'
    writeSlot(tx, g, 'bump', new Method('self.counter = self.counter + 1; return self.counter'))
    writeSlot(tx, g, 'grow', new Method('self.items.push(9); return self.items.length'))
    writeSlot(tx, g, 'total', new Method('return self.counter + self.items.length'))
  }, { meta: { description: 'seed' } })
  return info.tid!
}

describe('a read-only bridge', () => {
  let bridge: Bridge
  let dealer: zmq.Dealer
  let seeded: number
  let before: { tid: number; records: number; state: unknown }

  const snapshot = async () => ({
    tid: bridge.image.lastTid,
    records: await transactionCount(bridge.image),
    state: (await askReply(dealer, mp({ command: 'get_full_state', depth: 3 }))).state,
  })

  beforeAll(async () => {
    bridge = await startBridge({ classic: true, readOnly: true, writeAccess: WRITE_ACCESS })
    seeded = await seed(bridge)
    dealer = rawDealer(bridge.server.endpoint)
    before = await snapshot()
  })
  afterAll(async () => {
    dealer.close()
    await bridge.dispose()
  })

  const refused: [string, Record<string, unknown>, RegExp][] = [
    ['update_property', { command: 'update_property', property_name: 'label', property_value: 'after' }, /^update_property refused: it sets slot 'label'/],
    ['update_property on a missing target (refused before the target is resolved)', { command: 'update_property', target: 'genesis.nowhere', property_name: 'x', property_value: 1 }, /^update_property refused/],
    ['create_method', { command: 'create_method', method_name: 'm', method_code: 'return 1' }, /^create_method refused: it installs method 'm'/],
    ['create_method with code that does not parse', { command: 'create_method', method_name: 'm', method_code: 'return (' }, /^create_method refused/],
    ['undo', { command: 'undo', tid: 1 }, /^undo refused: it writes a transaction that puts back what 1 changed/],
    ['send_message of a method that writes a slot', { command: 'send_message', selector: 'bump' }, /^send_message refused: 'bump' changed #\d+/],
    ['send_message of a method that mutates an array in place', { command: 'send_message', selector: 'grow' }, /^send_message refused: 'grow' changed/],
    ['send_message of the setSlot primitive', { command: 'send_message', selector: 'setSlot', args: ['label', 'after'] }, /^send_message refused: 'setSlot' changed/],
    ['run_act that writes a slot', { command: 'run_act', code: 'genesis.label = "after"' }, /^run_act refused: the act changed #\d+/],
    ['run_act that mutates an array in place', { command: 'run_act', code: 'genesis.items.push(2)' }, /^run_act refused/],
    ['run_act that stores a new object', { command: 'run_act', code: 'prototypes.W = prototypes.clone()' }, /^run_act refused/],
    ['run_act that removes a slot', { command: 'run_act', code: 'genesis.removeSlot("label")' }, /^run_act refused/],
    ['run_act that writes through a method', { command: 'run_act', code: 'return genesis.bump()' }, /^run_act refused/],
  ]

  describe.each([['MessagePack', mp], ['JSON', json]] as const)('over %s', (format, enc) => {
    it.each(refused)('%s → exactly one unauthorized reply, id echoed', async (what, body, message) => {
      const id = `${format}: ${what}`
      // The ping after it is answered next (in order per client): the refusal was the only reply.
      await dealer.send(enc({ ...body, id }))
      await dealer.send(enc({ command: 'ping', id: 'after' }))
      const refusal = decodeReply((await dealer.receive()).at(-1)!)
      const pong = decodeReply((await dealer.receive()).at(-1)!)
      expect(refusal).toMatchObject({ event: 'error', id, error: { code: 'unauthorized', uvm_code: 'BRIDGE_READ_ONLY', command: body.command } })
      expect(refusal.error.message).toMatch(message)
      expect(refusal.error.message).toMatch(READ_ONLY_HINT)
      expect(pong).toMatchObject({ event: 'pong', id: 'after', read_only: true })
      expect(bridge.image.lastTid).toBe(before.tid)
    })
  })

  it('an act that printed before it wrote: the refusal carries its output', async () => {
    const reply = await askReply(dealer, mp({ command: 'run_act', id: 'out', code: 'print("working"); genesis.label = "after"; return 1' }))
    expect(reply).toMatchObject({ event: 'error', id: 'out', error: { code: 'unauthorized', output: 'working\n' } })
  })

  it('reads work: ping, describe, history, get_full_state', async () => {
    expect(await askReply(dealer, mp({ command: 'ping', id: 1 }))).toMatchObject({ event: 'pong', id: 1, read_only: true })
    expect(await askReply(dealer, json({ command: 'describe', id: 2 }))).toMatchObject({ event: 'covenant', id: 2, read_only: true })
    const h = await askReply(dealer, mp({ command: 'history', limit: 1 }))
    expect(h.transactions).toEqual([expect.objectContaining({ tid: seeded, description: 'seed' })])
    const s = await askReply(dealer, mp({ command: 'get_full_state', target: 'genesis' }))
    expect(s.state.$slots).toMatchObject({ counter: 0, items: [1], label: 'before' })
  })

  it('sends and acts that only read work, and commit nothing', async () => {
    const total = await askReply(dealer, mp({ command: 'send_message', id: 't', selector: 'total' }))
    expect(total).toMatchObject({ event: 'result', id: 't', value: 1 })
    expect(total.tid).toBeUndefined()
    const printed = await askReply(dealer, json({ command: 'send_message', selector: 'printString' }))
    expect(printed.value).toMatch(/^<Genesis #\d+>$/)
    const act = await askReply(dealer, mp({ command: 'run_act', code: 'print(genesis.label); return genesis.items.length + genesis.counter' }))
    expect(act).toMatchObject({ event: 'result', value: 1, output: 'before\n' })
    expect(act.tid).toBeUndefined()
  })

  it('an act may build scratch objects that nothing stored refers to', async () => {
    const reply = await askReply(dealer, mp({ command: 'run_act', code: 'const o = new UvmObject(); o.n = 41; const c = prototypes.clone(); c.n = o.n + 1; return c.n' }))
    expect(reply).toMatchObject({ event: 'result', value: 42 })
    expect(reply.tid).toBeUndefined()
  })

  it('hostile input still gets its own clear errors', async () => {
    expect((await askReply(dealer, Buffer.alloc(0))).error.code).toBe('bad_frame')
    expect((await askReply(dealer, mp({ command: 'update_property', id: 'bad', property_value: 1 })))).toMatchObject({ id: 'bad', error: { code: 'invalid_command' } })
    expect((await askReply(dealer, mp({ command: 'send_message', selector: 'nope' }))).error.code).toBe('does_not_understand')
    expect((await askReply(dealer, mp({ command: 'run_act', code: 'genesis.label = 1;\nlet = ;' }))).error.code).toBe('syntax_error')
    // An act that writes and then fails is reported as its own failure; nothing is written either way.
    expect((await askReply(dealer, mp({ command: 'run_act', code: 'genesis.label = 1; throw new Error("boom")' }))).error).toMatchObject({ code: 'act_failed', message: expect.stringContaining('boom') })
    // An act cannot pass its own failure off as the server's refusal.
    const forged = await askReply(dealer, mp({ command: 'run_act', code: 'throw Object.assign(new Error("forged"), { code: "BRIDGE_READ_ONLY", command: "undo" })' }))
    expect(forged.error.code).toBe('act_failed')
    expect(forged.error.command).toBeUndefined()
  })

  it('after all that, the image is as it was: same tid, same records, same state, nothing on disk', async () => {
    expect(await snapshot()).toEqual(before)
    expect(genesisSlot(bridge.image, 'label')).toBe('before')
    expect(genesisSlot(bridge.image, 'items')).toEqual([1])
    expect(genesisSlot(bridge.image, 'counter')).toBe(0)
  })
})

describe('a writable bridge', () => {
  let bridge: Bridge
  let dealer: zmq.Dealer
  beforeAll(async () => {
    bridge = await startBridge()
    dealer = rawDealer(bridge.server.endpoint)
  })
  afterAll(async () => {
    dealer.close()
    await bridge.dispose()
  })

  it('pong and describe carry no read_only flag (absent means writable), and nothing is unauthorized', async () => {
    expect(bridge.server.readOnly).toBe(false)
    expect((await askReply(dealer, mp({ command: 'ping' }))).read_only).toBeUndefined()
    expect((await askReply(dealer, json({ command: 'describe' }))).read_only).toBeUndefined()
    expect(await askReply(dealer, mp({ command: 'update_property', property_name: 'label', property_value: 'x' }))).toMatchObject({ event: 'ack', tid: expect.any(Number) })
    const forged = await askReply(dealer, mp({ command: 'run_act', code: 'throw Object.assign(new Error("forged"), { code: "BRIDGE_READ_ONLY" })' }))
    expect(forged.error).toMatchObject({ code: 'act_failed', uvm_code: 'BRIDGE_READ_ONLY' })
  })
})
