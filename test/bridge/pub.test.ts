/**
 * Events: after every commit the PUB socket sends [topic "uvm_state_update",
 * {event, tid, changed}]: the commit and the oids it wrote, never their state
 * (a subscriber asks get_full_state), so an event costs the same whatever the
 * objects hold, and none is encoded while nobody subscribes (XPUB). Read with
 * the client's subscribe() and with a raw zmq.Subscriber.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as zmq from 'zeromq'
import { BridgeClient, subscribe } from '../../src/bridge/index.js'
import { PUB_TOPIC, UvmStateUpdateEvent } from '../../src/covenant/index.js'
import { packr, sleep, startBridge } from './support.js'
import type { Bridge } from './support.js'

let bridge: Bridge
let client: BridgeClient
beforeAll(async () => {
  bridge = await startBridge()
  client = BridgeClient.connect(bridge.server.endpoint, { timeoutMs: 10_000 })
})
afterAll(async () => { await client.close(); await bridge.dispose() })

/** Events from subscribe(), buffered, with a waiter. */
function collect(endpoint: string) {
  const controller = new AbortController()
  const events: UvmStateUpdateEvent[] = []
  let wake: (() => void) | undefined
  const done = (async () => {
    for await (const ev of subscribe(endpoint, { signal: controller.signal })) {
      events.push(ev)
      wake?.()
    }
  })()
  return {
    events,
    async next(pred: (e: UvmStateUpdateEvent) => boolean, timeoutMs = 5000): Promise<UvmStateUpdateEvent> {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const hit = events.find(pred)
        if (hit) return hit
        if (Date.now() > deadline) throw new Error('no matching event')
        await new Promise<void>((r) => { wake = r; setTimeout(r, 50) })
      }
    },
    async stop() { controller.abort(); await done },
  }
}

/** Commit until the subscriber sees an event (ZeroMQ subscriptions take a moment to reach the publisher). */
async function warmUp(seen: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !seen(); i++) {
    await client.set('warmup', i)
    await sleep(20)
  }
  expect(seen()).toBe(true)
}

describe('subscribe() (client.ts)', () => {
  it('every commit of a bridge command publishes its tid and the oids it changed; the state is asked for', async () => {
    const sub = collect(bridge.server.pubEndpoint)
    try {
      await warmUp(() => sub.events.length > 0)
      const ack = await client.set('watched', { n: 1 })
      const ev = await sub.next((e) => e.tid === ack.tid)
      expect(ev.event).toBe('uvm_state_update')
      expect(ev.state).toBeUndefined()
      const state = (await client.state()).state as Record<string, any>
      expect(ev.changed).toEqual([state.$ref]) // the Genesis Object
      expect(state.$slots.watched).toEqual({ n: 1 })

      const created = await client.createMethod('hello', 'return "hi"')
      expect((await sub.next((e) => e.tid === created.tid)).changed).toEqual([state.$ref])

      const act = await client.act('const o = new UvmObject(); o.x = 1; prototypes.Thing = o')
      const actEvent = await sub.next((e) => e.tid === act.tid)
      expect(actEvent.changed!.length).toBe(2) // prototypes and the new object
    } finally {
      await sub.stop()
    }
  })

  it('commits made beside the bridge (image.transact) are published too; read-only and failed commands publish nothing', async () => {
    const sub = collect(bridge.server.pubEndpoint)
    try {
      await warmUp(() => sub.events.length > 0)
      const before = sub.events.length
      const { info } = await bridge.image.transact((tx) => { tx.genesis.direct = 'yes' })
      expect((await sub.next((e) => e.tid === info.tid)).changed).toHaveLength(1)
      // read-only and failing commands, then one write: the next event after the direct one is that write's
      await client.state()
      await client.ping()
      await client.request({ command: 'send_message', selector: 'nothing_here' })
      await client.request({ command: 'run_act', code: 'genesis.lost = 1; throw new Error("no")' })
      await client.act('return genesis.direct')
      const ack = await client.set('after', 1)
      await sub.next((e) => e.tid === ack.tid)
      const tids = sub.events.slice(before).map((e) => e.tid)
      expect(tids).toEqual([info.tid, ack.tid])
      expect(ack.tid).toBe(info.tid! + 1)
    } finally {
      await sub.stop()
    }
  })
})

describe('an event costs the same whatever the objects hold', () => {
  it('a 4 MiB slot beside the change does not grow the event', async () => {
    const frames: Buffer[][] = []
    const sub = new zmq.Subscriber({ linger: 0, receiveTimeout: 5000 })
    sub.connect(bridge.server.pubEndpoint)
    sub.subscribe(PUB_TOPIC)
    const reading = (async () => { for (;;) { try { frames.push(await sub.receive()) } catch { return } } })()
    try {
      await warmUp(() => frames.length > 0)
      await client.set('huge', 'x'.repeat(4 * 1024 * 1024))
      const ack = await client.set('small', 1)
      for (let i = 0; i < 100 && !frames.some((f) => packr.unpack(f[1]!).tid === ack.tid); i++) await sleep(20)
      const hit = frames.find((f) => packr.unpack(f[1]!).tid === ack.tid)!
      expect(hit[1]!.length).toBeLessThan(200)
      expect(Math.max(...frames.map((f) => f[1]!.length))).toBeLessThan(200)
    } finally {
      sub.close()
      await reading
      await client.request({ command: 'run_act', code: 'genesis.removeSlot("huge")' })
    }
  })
})

describe('a raw zmq.Subscriber', () => {
  it('gets two frames: the topic and a MessagePack payload that matches the covenant', async () => {
    const sub = new zmq.Subscriber({ linger: 0, receiveTimeout: 5000 })
    sub.connect(bridge.server.pubEndpoint)
    sub.subscribe(PUB_TOPIC)
    const frames: Buffer[][] = []
    const reading = (async () => {
      for (;;) {
        try { frames.push(await sub.receive()) } catch { return }
      }
    })()
    try {
      await warmUp(() => frames.length > 0)
      const ack = await client.set('raw_sub', [1, 2, 3])
      for (let i = 0; i < 100 && !frames.some((f) => packr.unpack(f[1]!).tid === ack.tid); i++) await sleep(20)
      const hit = frames.find((f) => packr.unpack(f[1]!).tid === ack.tid)!
      expect(hit).toHaveLength(2)
      expect(hit[0]!.toString()).toBe('uvm_state_update')
      const payload = packr.unpack(hit[1]!)
      expect(UvmStateUpdateEvent.parse(payload)).toEqual(payload)
      expect(payload).toEqual({ event: 'uvm_state_update', tid: ack.tid, changed: [expect.any(Number)] })
    } finally {
      sub.close()
      await reading
    }
  })

  it('several subscribers each get every event, in tid order', async () => {
    const subs = [collect(bridge.server.pubEndpoint), collect(bridge.server.pubEndpoint), collect(bridge.server.pubEndpoint)]
    try {
      await warmUp(() => subs.every((s) => s.events.length > 0))
      const acks: { tid?: number }[] = []
      for (let i = 0; i < 20; i++) acks.push(await client.set('burst', i))
      const last = acks[acks.length - 1]!.tid!
      for (const s of subs) {
        await s.next((e) => e.tid === last)
        const seen = s.events.map((e) => e.tid!).filter((t) => t >= acks[0]!.tid!)
        expect(seen).toEqual(acks.map((a) => a.tid))
      }
    } finally {
      await Promise.all(subs.map((s) => s.stop()))
    }
  })
})
