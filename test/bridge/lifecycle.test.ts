/**
 * The server's life: start on busy ports fails clearly, stop() answers the
 * requests in flight before it closes the sockets, and leaves the image open.
 */
import { describe, expect, it } from 'vitest'
import { BridgeServer } from '../../src/bridge/index.js'
import { decodeReply, mp, rawDealer, sleep, startBridge } from './support.js'

describe('start and stop', () => {
  it('a second server on the same ports fails with a clear message', async () => {
    const bridge = await startBridge()
    try {
      await expect(BridgeServer.start(bridge.image, bridge.realm, { bind: bridge.server.endpoint, pub: 'tcp://127.0.0.1:0' }))
        .rejects.toThrow(/cannot bind the bridge \(tcp:\/\/127\.0\.0\.1:\d+/)
      // the first one is unharmed
      const d = rawDealer(bridge.server.endpoint)
      await d.send(mp({ command: 'ping', id: 1 }))
      expect(decodeReply((await d.receive())[0]!)).toMatchObject({ event: 'pong', id: 1 })
      d.close()
    } finally {
      await bridge.dispose()
    }
  })

  it('stop() answers the commands in flight, then closes; the image stays open; stop() twice is fine', async () => {
    const bridge = await startBridge({ wallTimeoutMs: 500 })
    const d = rawDealer(bridge.server.endpoint)
    try {
      await d.send(mp({ command: 'run_act', id: 'slow', code: 'await new Promise(() => {})' }))
      await d.send(mp({ command: 'update_property', id: 'queued', property_name: 'during_stop', property_value: 1 }))
      await sleep(100)
      const t0 = performance.now()
      await bridge.server.stop()
      expect(performance.now() - t0).toBeGreaterThanOrEqual(300) // it waited for the act
      expect(decodeReply((await d.receive())[0]!)).toMatchObject({ id: 'slow', error: { code: 'timeout' } })
      expect(decodeReply((await d.receive())[0]!)).toMatchObject({ id: 'queued', event: 'ack' })
      expect(bridge.image.isClosed).toBe(false)
      const tx = bridge.image.begin()
      expect(tx.genesis.during_stop).toBe(1)
      tx.abort()
      await bridge.server.stop()
    } finally {
      d.close()
      await bridge.dispose()
    }
  })

  it('a request that arrives while the server is stopping is answered overloaded, not run', async () => {
    const bridge = await startBridge()
    const d = rawDealer(bridge.server.endpoint)
    try {
      await d.send(mp({ command: 'ping', id: 'before' }))
      expect(decodeReply((await d.receive())[0]!)).toMatchObject({ event: 'pong', id: 'before' })
      const stopping = bridge.server.stop()
      await d.send(mp({ command: 'update_property', id: 'late', property_name: 'late', property_value: 1 }))
      expect(decodeReply((await d.receive())[0]!)).toMatchObject({ id: 'late', event: 'error', error: { code: 'overloaded', message: expect.stringMatching(/shutting down/) } })
      await stopping
      const tx = bridge.image.begin()
      expect(tx.genesis.hasSlot('late')).toBe(false)
      tx.abort()
    } finally {
      d.close()
      await bridge.dispose()
    }
  })
})
