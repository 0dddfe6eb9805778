/**
 * MessagePack at its edges: msgpackr's structured-clone extensions (a graph that
 * shares one node 2^n times decodes from a few hundred bytes, and takes 2^n steps to walk) are refused as
 * bad_frame, and bigints past 64 bits (which slots may hold) still go out in
 * MessagePack replies and PUB events, spelled {"$bigint": "..."} as in JSON.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as zmq from 'zeromq'
import { askReply, decode, mp, rawDealer, startBridge, transactionCount } from './support.js'
import type { Bridge } from './support.js'

let bridge: Bridge
let dealer: zmq.Dealer

beforeAll(async () => {
  bridge = await startBridge()
  dealer = rawDealer(bridge.server.endpoint)
})
afterAll(async () => { dealer.close(); await bridge.dispose() })

function u32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}

/** Level k: an array (msgpackr id k) holding level k-1 and a pointer to it: 2^k leaves in ~13k bytes. */
function sharedGraph(k: number): Buffer {
  if (k === 0) return Buffer.concat([Buffer.from([0xd6, 0x69]), u32(0), Buffer.from([0x90])])
  return Buffer.concat([Buffer.from([0xd6, 0x69]), u32(k), Buffer.from([0x92]), sharedGraph(k - 1), Buffer.from([0xd6, 0x70]), u32(k - 1)])
}

describe('msgpack structured clones', () => {
  it('a frame using the id/pointer extensions is bad_frame, answered at once, and writes nothing', async () => {
    // A 4-entry map written by hand, its last value the shared graph.
    const entries = ['command', 'update_property', 'id', 'dag', 'property_name', 'dag', 'property_value'].map((x) => mp(x))
    const frame = Buffer.concat([Buffer.from([0x84]), ...entries, sharedGraph(18)])
    expect(frame.length).toBeLessThan(1000)
    const before = await transactionCount(bridge.image)
    const started = performance.now()
    const r = await askReply(dealer, frame)
    expect(performance.now() - started).toBeLessThan(2000)
    expect(r.event).toBe('error')
    expect(r.error.code).toBe('bad_frame')
    expect(await transactionCount(bridge.image)).toBe(before)
    const g = await askReply(dealer, mp({ command: 'get_full_state' }))
    expect(Object.keys(g.state.$slots)).not.toContain('dag')
    expect((await askReply(dealer, mp({ command: 'ping', id: 1 }))).event).toBe('pong')
  })
})

describe('the byte MessagePack never uses', () => {
  it('a frame of 0xc1 is bad_frame', async () => {
    const r = await askReply(dealer, Buffer.from([0xc1]))
    expect(r.event).toBe('error')
    expect(r.error.code).toBe('bad_frame')
  })
})

describe('bigints past 64 bits in MessagePack', () => {
  it('a slot holding one: get_full_state goes out with {"$bigint": "..."}, and the PUB event too', async () => {
    const sub = new zmq.Subscriber({ linger: 0, receiveTimeout: 5000 })
    sub.connect(bridge.server.pubEndpoint)
    sub.subscribe()
    try {
      await new Promise((r) => setTimeout(r, 300))
      const big = 2n ** 70n
      const a = await askReply(dealer, mp({ command: 'run_act', id: 'a', code: 'genesis.big = 2n ** 70n; return [genesis.big, -(2n ** 70n)]' }))
      expect(a.event).toBe('result')
      expect(a.value).toEqual([{ $bigint: big.toString() }, { $bigint: (-big).toString() }])
      const [topic, payload] = await sub.receive()
      expect(topic!.toString()).toBe('uvm_state_update')
      const ev = decode(payload!)
      expect(ev.tid).toBe(a.tid)
      expect(ev.state).toBeUndefined() // events name the commit and its objects; the state is asked for
      const s = await askReply(dealer, mp({ command: 'get_full_state', id: 's' }))
      expect(s.event).toBe('uvm_state_update')
      expect(s.state.$slots.big).toEqual({ $bigint: big.toString() })
    } finally {
      sub.close()
    }
  })
})
