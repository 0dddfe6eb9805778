/**
 * Concurrent clients: each command is its own transaction; conflicts between
 * clients are retried by the server, so nothing is lost and the state is
 * never corrupted. A durable classic-level image, so commits really group.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type * as zmq from 'zeromq'
import { BridgeClient } from '../../src/bridge/index.js'
import { WriteGate } from '../../src/bridge/write-gate.js'
import { decodeReply, genesisSlot, mp, rawDealer, startBridge, transactionCount } from './support.js'
import type { Bridge } from './support.js'

let bridge: Bridge
beforeAll(async () => { bridge = await startBridge({ classic: true }) })
afterAll(async () => { await bridge.dispose() })

/** Send all `bodies` on a raw DEALER with many in flight; resolve with the replies (one per request, in order). */
async function pipeline(d: zmq.Dealer, bodies: Buffer[]): Promise<Record<string, any>[]> {
  const replies: Record<string, any>[] = []
  const reading = (async () => { while (replies.length < bodies.length) replies.push(decodeReply((await d.receive())[0]!)) })()
  for (const b of bodies) await d.send(b)
  await reading
  return replies
}

describe('4 DEALER clients × 50 writes, all in flight at once', () => {
  it('update_property on the same slot: every one acknowledged with its own tid, the last tid\'s value wins', async () => {
    const dealers = [0, 1, 2, 3].map(() => rawDealer(bridge.server.endpoint))
    try {
      const txBefore = await transactionCount(bridge.image)
      const results = await Promise.all(dealers.map((d, k) => pipeline(d, Array.from({ length: 50 }, (_, i) =>
        mp({ command: 'update_property', id: `${k}:${i}`, property_name: 'shared', property_value: `${k}:${i}` })))))
      const all = results.flat()
      expect(all).toHaveLength(200)
      for (const r of all) expect(r.event).toBe('ack')
      // in order per client
      results.forEach((rs, k) => {
        expect(rs.map((r) => r.id)).toEqual(Array.from({ length: 50 }, (_, i) => `${k}:${i}`))
        const tids = rs.map((r) => r.tid as number)
        expect(tids).toEqual([...tids].sort((a, b) => a - b))
      })
      const tids = all.map((r) => r.tid as number)
      expect(new Set(tids).size).toBe(200)
      const winner = all.reduce((a, b) => (a.tid > b.tid ? a : b))
      expect(genesisSlot(bridge.image, 'shared')).toBe(winner.id)
      expect(await transactionCount(bridge.image)).toBe(txBefore + 200)
      expect((await bridge.image.check()).ok).toBe(true)
    } finally {
      for (const d of dealers) d.close()
    }
  })

  it('run_act incrementing one counter: the final count is exact', async () => {
    await bridge.image.transact((tx) => { tx.genesis.counter = 0 })
    const clients = [0, 1, 2, 3].map(() => BridgeClient.connect(bridge.server.endpoint, { timeoutMs: 30_000 }))
    try {
      const replies = await Promise.all(clients.flatMap((c) => Array.from({ length: 50 }, () =>
        c.act('genesis.counter = genesis.counter + 1; return genesis.counter'))))
      const values = replies.map((r) => r.value as number).sort((a, b) => a - b)
      // each act saw a distinct count: 1 … 200
      expect(values).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
      expect(genesisSlot(bridge.image, 'counter')).toBe(200)
    } finally {
      await Promise.all(clients.map((c) => c.close()))
    }
  })

  it('send_message to an incrementing method, with concurrent readers: exact, and readers never see a torn state', async () => {
    await bridge.image.transact((tx) => { tx.genesis.a = 0; tx.genesis.b = 0 })
    const writers = [0, 1, 2, 3].map(() => BridgeClient.connect(bridge.server.endpoint, { timeoutMs: 30_000 }))
    const reader = BridgeClient.connect(bridge.server.endpoint, { timeoutMs: 30_000 })
    try {
      await writers[0]!.createMethod('both', 'self.a = self.a + 1; self.b = self.b + 1; return self.a')
      let reading = true
      const snapshots: [number, number][] = []
      const readLoop = (async () => {
        while (reading) {
          const s = (await reader.state()).state as any
          snapshots.push([s.$slots.a, s.$slots.b])
        }
      })()
      await Promise.all(writers.flatMap((c) => Array.from({ length: 50 }, () => c.send('both'))))
      reading = false
      await readLoop
      expect(genesisSlot(bridge.image, 'a')).toBe(200)
      expect(genesisSlot(bridge.image, 'b')).toBe(200)
      expect(snapshots.length).toBeGreaterThan(0)
      for (const [a, b] of snapshots) expect(a).toBe(b)
    } finally {
      await Promise.all([...writers, reader].map((c) => c.close()))
    }
  })

  it('writers of different slots of different objects all succeed', async () => {
    await bridge.image.transact((tx) => {
      for (let k = 0; k < 4; k++) { const o = tx.genesis.clone(); tx.genesis.prototypes['Own' + k] = o }
    })
    const dealers = [0, 1, 2, 3].map(() => rawDealer(bridge.server.endpoint))
    try {
      const results = await Promise.all(dealers.map((d, k) => pipeline(d, Array.from({ length: 50 }, (_, i) =>
        mp({ command: 'update_property', target: `genesis.prototypes.Own${k}`, property_name: 'v', property_value: i })))))
      for (const r of results.flat()) expect(r.event).toBe('ack')
      const tx = bridge.image.begin()
      for (let k = 0; k < 4; k++) expect(tx.genesis.prototypes['Own' + k].v).toBe(49)
      tx.abort()
    } finally {
      for (const d of dealers) d.close()
    }
  })
})

describe('a write that lost a conflict retries with priority (WriteGate)', () => {
  it('a slow act in flight holds up neither the retries nor the other clients for long', async () => {
    const b = await startBridge({ wallTimeoutMs: 3000 })
    const slow = BridgeClient.connect(b.server.endpoint, { timeoutMs: 10_000 })
    const clients = [0, 1, 2, 3].map(() => BridgeClient.connect(b.server.endpoint, { timeoutMs: 10_000 }))
    try {
      await b.image.transact((tx) => { tx.genesis.n = 0 })
      // writes genesis too, then waits until the wall clock ends it (3 s)
      const stuck = slow.request({ command: 'run_act', code: 'genesis.n = -1; await new Promise(() => {})' })
      const t0 = performance.now()
      await Promise.all(clients.flatMap((c) => Array.from({ length: 30 }, (_, i) => (i % 2
        ? c.act('genesis.n = genesis.n + 1')
        : c.request({ command: 'update_property', property_name: 'last', property_value: i }).then((r) => expect(r.event).toBe('ack'))))))
      expect(performance.now() - t0).toBeLessThan(2500)
      expect(genesisSlot(b.image, 'n')).toBe(60)
      expect(await stuck).toMatchObject({ event: 'error', error: { code: 'timeout' } })
      expect(genesisSlot(b.image, 'n')).toBe(60)
    } finally {
      await Promise.all([slow, ...clients].map((c) => c.close()))
      await b.dispose()
    }
  })

  it('a retry begins after the commit it lost to; later writes wait for it; first come first served', async () => {
    const b = await startBridge()
    try {
      await b.image.transact((tx) => { for (const n of ['a', 'b', 'X', 'c', 'Y']) tx.genesis.prototypes['O' + n] = tx.genesis.clone() })
      const gate = new WriteGate(b.image)
      const log: string[] = []
      /** Which of the jobs' writes a fresh transaction sees. */
      const seen = () => {
        const tx = b.image.begin()
        try { return ['a', 'b', 'X', 'c', 'Y'].filter((n) => tx.genesis.prototypes['O' + n].v === 1).join('') } finally { tx.abort() }
      }
      const job = (name: string, priority: boolean) => gate.run(priority ? b.image.lastTid : undefined, async () => {
        log.push(`+${name} sees [${seen()}]`)
        await b.image.transact((tx) => { tx.genesis.prototypes['O' + name].v = 1 })
        log.push(`-${name}`)
      })
      await Promise.all([job('a', false), job('b', false), job('X', true), job('c', false), job('Y', true)])
      expect(log.slice(0, 3)).toEqual(['+a sees []', '+b sees []', '+X sees [ab]']) // X began once a and b were committed (one batch)
      expect(log.indexOf('+c sees [abX]')).toBeGreaterThan(log.indexOf('-X')) // c waited for X's window
      // Y lost its try before a and b committed: nothing to wait for, it began once c had begun
      expect(log.indexOf('+Y sees [abX]')).toBeGreaterThan(log.indexOf('+c sees [abX]'))
      // a failing run releases the gate
      await expect(gate.run(-1, async () => { throw new Error('no') })).rejects.toThrow('no')
      await gate.run(undefined, async () => { log.push('after') })
      expect(log.at(-1)).toBe('after')
    } finally {
      await b.dispose()
    }
  })

  it('every wait is bounded: a slow run in progress, or a slow priority run, holds the others up for a window only', async () => {
    const b = await startBridge()
    try {
      const gate = new WriteGate(b.image, 50, 150)
      const t0 = performance.now()
      const at: Record<string, number> = {}
      const job = (name: string, priority: boolean, ms: number) => gate.run(priority ? b.image.lastTid : undefined, async () => {
        at[name] = performance.now() - t0
        await new Promise((r) => setTimeout(r, ms))
      })
      await Promise.all([job('slow', false, 400), job('retry', true, 400), job('next', false, 1)])
      expect(at.retry).toBeGreaterThanOrEqual(140) // waited for a commit that never came (settleMs)…
      expect(at.retry).toBeLessThan(350) // …but not until 'slow' finished
      expect(at.next).toBeLessThan(150) // and 'next' waited for the window (windowMs), not for 'retry' to finish
    } finally {
      await b.dispose()
    }
  })
})
