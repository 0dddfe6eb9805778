/**
 * A slow or vanished client never blocks the others: one that floods requests
 * and never reads its replies, one that disconnects mid-request, one that
 * stalls half-way through a ZeroMQ handshake. And heartbeats: the ROUTER pings
 * its peers (seen on the wire by a hand-made ZMTP 3.1 peer) and drops a peer
 * that stops answering.
 */
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BridgeClient } from '../../src/bridge/index.js'
import { decodeReply, mp, rawDealer, sleep, startBridge } from './support.js'
import type { Bridge } from './support.js'

/** Ping `n` times from a fresh client; the slowest round trip in ms. */
async function worstPing(endpoint: string, n: number): Promise<number> {
  const c = BridgeClient.connect(endpoint, { timeoutMs: 5000 })
  try {
    await c.ping()
    let worst = 0
    for (let i = 0; i < n; i++) {
      const t0 = performance.now()
      await c.ping()
      worst = Math.max(worst, performance.now() - t0)
      await sleep(5)
    }
    return worst
  } finally {
    await c.close()
  }
}

function portOf(endpoint: string): number {
  return Number(/:(\d+)$/.exec(endpoint)![1])
}

describe('slow and vanished clients', () => {
  let bridge: Bridge
  beforeAll(async () => {
    bridge = await startBridge({ wallTimeoutMs: 600 })
    // a slot whose snapshot is big: each get_full_state reply is ~256 KiB
    await bridge.image.transact((tx) => { tx.genesis.big = 'b'.repeat(256 * 1024) })
  })
  afterAll(async () => { await bridge.dispose() })

  it('a client that sends many requests and never reads: the others still get prompt replies', async () => {
    const flooder = rawDealer(bridge.server.endpoint, { receiveHighWaterMark: 1, sendHighWaterMark: 100_000 })
    let flooding = true
    let sent = 0
    const flood = (async () => {
      const frames = [mp({ command: 'get_full_state' }), mp({ command: 'ping' }), mp({ command: 'update_property', property_name: 'flood', property_value: 1 })]
      while (flooding && sent < 20_000) {
        await flooder.send(frames[sent % 3]!)
        sent++
        if (sent % 200 === 0) await sleep(1)
      }
    })()
    try {
      await sleep(200)
      const worst = await worstPing(bridge.server.endpoint, 30)
      expect(sent).toBeGreaterThan(1000)
      expect(worst).toBeLessThan(1000)
      // a write from another client goes through as well
      const other = BridgeClient.connect(bridge.server.endpoint, { timeoutMs: 5000 })
      try {
        expect((await other.set('other', 1)).event).toBe('ack')
      } finally {
        await other.close()
      }
    } finally {
      flooding = false
      await flood
      flooder.close()
    }
    expect(await worstPing(bridge.server.endpoint, 5)).toBeLessThan(1000)
    expect((await bridge.image.check()).ok).toBe(true)
  })

  it('a client that disconnects mid-request: its command finishes, the reply is dropped, nobody waits on it', async () => {
    const quitters = [0, 1, 2].map(() => rawDealer(bridge.server.endpoint))
    for (const q of quitters) {
      await q.send(mp({ command: 'run_act', code: 'genesis.quit = 1; await new Promise(() => {})' })) // runs until the 600 ms wall clock
      await q.send(mp({ command: 'update_property', property_name: 'after_quit', property_value: 1 })) // queued behind it
    }
    await sleep(50)
    for (const q of quitters) q.close()
    const t0 = performance.now()
    expect(await worstPing(bridge.server.endpoint, 10)).toBeLessThan(500)
    expect(performance.now() - t0).toBeLessThan(600)
    // the quitters' commands ran to their end: the act timed out (nothing written), the write after it committed
    await sleep(800)
    const tx = bridge.image.begin()
    expect(tx.genesis.after_quit).toBe(1)
    expect(tx.genesis.quit).toBeTypeOf('function') // never written
    tx.abort()
  })

  it('a TCP peer that stalls half-way through the ZeroMQ greeting does not hold up anyone', async () => {
    const stalled: Socket = connect(portOf(bridge.server.endpoint), '127.0.0.1')
    await new Promise((r) => stalled.once('connect', r))
    stalled.write(Buffer.from([0xff, 0, 0, 0])) // 4 of the 64 greeting bytes, then nothing
    try {
      expect(await worstPing(bridge.server.endpoint, 10)).toBeLessThan(500)
    } finally {
      stalled.destroy()
    }
  })

  it('a raw DEALER can still talk after all that', async () => {
    const d = rawDealer(bridge.server.endpoint)
    try {
      await d.send(mp({ command: 'ping', id: 'end' }))
      expect(decodeReply((await d.receive())[0]!)).toMatchObject({ event: 'pong', id: 'end' })
    } finally {
      d.close()
    }
  })
})

/** A minimal ZMTP 3.1 peer over plain TCP (NULL mechanism, DEALER), to watch what the server puts on the wire. */
function zmtpPeer(port: number) {
  const sock = connect(port, '127.0.0.1')
  let data = Buffer.alloc(0)
  let closedAt: number | undefined
  sock.on('data', (d) => { data = Buffer.concat([data, d]) })
  sock.on('close', () => { closedAt = performance.now() })
  sock.on('error', () => {})
  const greeting = Buffer.alloc(64)
  greeting[0] = 0xff
  greeting[9] = 0x7f
  greeting[10] = 3 // major
  greeting[11] = 1 // minor
  greeting.write('NULL', 12, 'ascii')
  const prop = (name: string, value: string) => {
    const v = Buffer.alloc(4)
    v.writeUInt32BE(value.length)
    return Buffer.concat([Buffer.from([name.length]), Buffer.from(name), v, Buffer.from(value)])
  }
  const body = Buffer.concat([Buffer.from([5]), Buffer.from('READY'), prop('Socket-Type', 'DEALER')])
  const ready = Buffer.concat([Buffer.from([0x04, body.length]), body])
  sock.on('connect', () => { sock.write(greeting); sock.write(ready) })
  return {
    get received() { return data },
    get closedAt() { return closedAt },
    /** Commands named `name` the server sent after its greeting. */
    commands(name: string): number {
      let n = 0
      for (let i = data.indexOf(Buffer.from([name.length, ...Buffer.from(name)])); i >= 0; i = data.indexOf(Buffer.from([name.length, ...Buffer.from(name)]), i + 1)) n++
      return n
    },
    close() { sock.destroy() },
  }
}

describe('heartbeats', () => {
  it('are on by default (5 s interval)', async () => {
    const bridge = await startBridge()
    try {
      const router = (bridge.server as unknown as { router: { heartbeatInterval: number; heartbeatTimeout: number } }).router
      expect(router.heartbeatInterval).toBe(5000)
      expect(router.heartbeatTimeout).toBe(15_000)
    } finally {
      await bridge.dispose()
    }
  })

  it('the ROUTER sends ZMTP PINGs, and drops a peer that never answers them', async () => {
    const bridge = await startBridge({ heartbeatMs: 100 })
    const peer = zmtpPeer(portOf(bridge.server.endpoint))
    const t0 = performance.now()
    try {
      for (let i = 0; i < 100 && peer.closedAt === undefined; i++) await sleep(20)
      expect(peer.received.subarray(0, 1)[0]).toBe(0xff) // the server's greeting
      expect(peer.commands('READY')).toBe(1)
      expect(peer.commands('PING')).toBeGreaterThanOrEqual(1)
      // never answered: dropped after about interval + timeout (100 + 300 ms)
      expect(peer.closedAt).toBeDefined()
      expect(peer.closedAt! - t0).toBeLessThan(1500)
      // a real client, which answers pings, stays connected across many intervals
      const c = BridgeClient.connect(bridge.server.endpoint, { timeoutMs: 2000 })
      try {
        await c.ping()
        await sleep(700)
        await c.ping()
      } finally {
        await c.close()
      }
    } finally {
      peer.close()
      await bridge.dispose()
    }
  })
})
