/**
 * The typed DEALER client: request → promise of a typed reply (matched by id,
 * many in flight), BridgeError for error replies and for timeouts, reconnect
 * when the daemon comes back on the same port, close.
 */
import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BridgeClient, BridgeError, BridgeServer } from '../../src/bridge/index.js'
import { Reply } from '../../src/covenant/index.js'
import { sleep, startBridge } from './support.js'
import type { Bridge } from './support.js'

/** A TCP port nobody listens on (bound then released). */
async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as { port: number }).port
  await new Promise((r) => srv.close(r))
  return port
}

describe('requests and replies', () => {
  let bridge: Bridge
  let client: BridgeClient
  beforeAll(async () => {
    bridge = await startBridge()
    client = BridgeClient.connect(bridge.server.endpoint, { timeoutMs: 5000 })
  })
  afterAll(async () => { await client.close(); await bridge.dispose() })

  it('request() resolves with typed replies, error replies included, each valid under the covenant', async () => {
    const ok = await client.request({ command: 'ping' })
    expect(Reply.parse(ok)).toEqual(ok)
    const err = await client.request({ command: 'send_message', selector: 'nope' })
    expect(err.event).toBe('error')
    if (err.event === 'error') expect(err.error.code).toBe('does_not_understand')
  })

  it('ids: generated when absent, the caller\'s own when given (string or integer)', async () => {
    expect((await client.request({ command: 'ping' })).id).toMatch(/^c\d+$/)
    expect((await client.request({ command: 'ping', id: 'mine' })).id).toBe('mine')
    expect((await client.request({ command: 'ping', id: 123 })).id).toBe(123)
  })

  it('the typed helpers throw BridgeError with the reply\'s code', async () => {
    const e = await client.send('nope').catch((x: unknown) => x)
    expect(e).toBeInstanceOf(BridgeError)
    expect(e).toMatchObject({ code: 'does_not_understand', reply: { event: 'error' } })
    await expect(client.act('throw new Error("x")')).rejects.toMatchObject({ code: 'act_failed' })
    await expect(client.createMethod('m', 'return (')).rejects.toMatchObject({ code: 'syntax_error' })
    await expect(client.state({ target: 'genesis.none' })).rejects.toMatchObject({ code: 'unknown_target' })
  })

  it('many requests in flight are matched to their replies', async () => {
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) =>
      i % 2 ? client.act(`return ${i}`) : client.set(`k${i % 10}`, i)))
    replies.forEach((r, i) => {
      if (i % 2) expect(r).toMatchObject({ event: 'result', value: i })
      else expect(r.event).toBe('ack')
    })
  })

  it('close() rejects what is pending and refuses new requests', async () => {
    const c = BridgeClient.connect(bridge.server.endpoint, { timeoutMs: 5000 })
    await c.ping()
    const pending = c.act('await new Promise(() => {})') // would run until the wall clock
    await c.close()
    await expect(pending).rejects.toMatchObject({ code: 'closed' })
    await expect(c.ping()).rejects.toMatchObject({ code: 'closed' })
    await c.close() // idempotent
  })
})

describe('timeouts', () => {
  it('no daemon: the request rejects with code timeout after the client\'s timeout', async () => {
    const c = BridgeClient.connect(`tcp://127.0.0.1:${await freePort()}`, { timeoutMs: 300 })
    try {
      const t0 = performance.now()
      const e = await c.ping().catch((x: unknown) => x)
      expect(e).toBeInstanceOf(BridgeError)
      expect(e).toMatchObject({ code: 'timeout', message: expect.stringMatching(/no reply .* within 300 ms/) })
      expect(performance.now() - t0).toBeGreaterThanOrEqual(290)
      expect(performance.now() - t0).toBeLessThan(2000)
    } finally {
      await c.close()
    }
  })

  it('a per-request timeout overrides the client\'s', async () => {
    const bridge = await startBridge({ wallTimeoutMs: 600 })
    const c = BridgeClient.connect(bridge.server.endpoint, { timeoutMs: 10_000 })
    try {
      const t0 = performance.now()
      await expect(c.request({ command: 'run_act', code: 'await new Promise(() => {})' }, { timeoutMs: 200 })).rejects.toMatchObject({ code: 'timeout' })
      expect(performance.now() - t0).toBeLessThan(1000)
    } finally {
      await c.close()
      await bridge.dispose()
    }
  })
})

describe('reconnect', () => {
  it('the daemon stops and a new one starts on the same port: the same client gets a pong again', async () => {
    const first = await startBridge({ version: 'first' })
    const endpoint = first.server.endpoint
    const pubEndpoint = first.server.pubEndpoint
    const c = BridgeClient.connect(endpoint, { timeoutMs: 5000 })
    let second: BridgeServer | undefined
    try {
      expect(await c.ping()).toMatchObject({ version: 'first' })
      await first.server.stop()
      // down: requests time out (and do not wedge the client)
      await expect(c.request({ command: 'ping' }, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'timeout' })
      second = await BridgeServer.start(first.image, first.realm, { bind: endpoint, pub: pubEndpoint, version: 'second' })
      expect(second.endpoint).toBe(endpoint)
      let pong
      for (let i = 0; i < 20 && pong === undefined; i++) {
        const r = await c.request({ command: 'ping' }, { timeoutMs: 1000 }).catch(() => undefined)
        if (r?.event === 'pong') pong = r
      }
      expect(pong).toMatchObject({ event: 'pong', version: 'second' })
      // and it keeps working, writes included
      expect(await c.set('after_restart', 1)).toMatchObject({ event: 'ack' })
    } finally {
      await c.close()
      await second?.stop()
      await first.dispose()
    }
  })

  it('a client that starts before the daemon connects once it is up', async () => {
    const port = await freePort()
    const c = BridgeClient.connect(`tcp://127.0.0.1:${port}`, { timeoutMs: 5000 })
    const reply = c.ping()
    await sleep(300)
    const late = await startBridge({ bind: `tcp://127.0.0.1:${port}` })
    try {
      expect(await reply).toMatchObject({ event: 'pong' })
    } finally {
      await c.close()
      await late.dispose()
    }
  })
})
