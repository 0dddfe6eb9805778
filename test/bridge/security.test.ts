/**
 * Security: loopback by default; a non-loopback bind without keys is refused;
 * with CURVE keys the ZAP handler admits only listed client public keys. A
 * refused client gets no connection at all (so never a reply, `unauthorized`
 * included: the server never sees its requests; `unauthorized` is a read-only
 * daemon's answer, read-only.test.ts), and the server goes on serving the listed ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as zmq from 'zeromq'
import { openImage } from '../../src/index.js'
import { BridgeClient, BridgeServer, DEFAULT_BIND, DEFAULT_PUB, isLoopback, loadClientKeys, loadServerKeys, makeKeys, subscribe } from '../../src/bridge/index.js'
import type { ClientKeys, ServerKeys } from '../../src/bridge/index.js'
import { memoryDb, tempDir } from '../support/images.js'
import { LOOPBACK, mp, sleep, startBridge } from './support.js'
import type { Bridge } from './support.js'

describe('loopback by default', () => {
  it('the default endpoints are loopback', () => {
    expect(DEFAULT_BIND).toBe('tcp://127.0.0.1:5555')
    expect(DEFAULT_PUB).toBe('tcp://127.0.0.1:5556')
    expect(isLoopback(DEFAULT_BIND) && isLoopback(DEFAULT_PUB)).toBe(true)
  })

  it.each([
    ['tcp://127.0.0.1:5555', true], ['tcp://127.8.9.10:1', true], ['tcp://localhost:5555', true], ['tcp://[::1]:5555', true], ['ipc:///tmp/uvm.sock', true],
    ['tcp://0.0.0.0:5555', false], ['tcp://*:5555', false], ['tcp://192.168.1.4:5555', false], ['tcp://[::]:5555', false], ['tcp://eth0:5555', false],
    ['tcp://localhost.example.com:5555', false], ['tcp://127.0.0.1.nip.io:5555', false],
  ])('isLoopback(%s) = %s', (endpoint, loopback) => {
    expect(isLoopback(endpoint)).toBe(loopback)
  })

  it('a bridge on ephemeral loopback ports reports where it listens', async () => {
    const bridge = await startBridge()
    try {
      expect(bridge.server.endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
      expect(bridge.server.pubEndpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
      expect(bridge.server.endpoint).not.toBe(bridge.server.pubEndpoint)
      expect(bridge.server.loopbackOnly).toBe(true)
      expect(bridge.server.secure).toBe(false)
    } finally {
      await bridge.dispose()
    }
  })

  it.each([
    [{ bind: 'tcp://0.0.0.0:0', pub: LOOPBACK }],
    [{ bind: 'tcp://*:0', pub: LOOPBACK }],
    [{ bind: LOOPBACK, pub: 'tcp://0.0.0.0:0' }],
  ])('binding beyond loopback without keys is refused with a clear message (%j)', async (opts) => {
    const { image, realm } = await openImage(memoryDb(), { durable: false })
    try {
      await expect(BridgeServer.start(image, realm, opts)).rejects.toThrow(/not loopback\) requires CURVE: run `uvm keys`/)
    } finally {
      await image.close()
    }
  })

  it('a malformed endpoint is refused', async () => {
    const { image, realm } = await openImage(memoryDb(), { durable: false })
    try {
      await expect(BridgeServer.start(image, realm, { bind: '127.0.0.1:5555', pub: LOOPBACK })).rejects.toThrow(/not a ZeroMQ endpoint/)
    } finally {
      await image.close()
    }
  })
})

/** Handshake events a socket sees within `ms`. */
async function handshakeEvents(sock: zmq.Socket, ms: number): Promise<string[]> {
  const seen: string[] = []
  for (const type of ['handshake', 'handshake:error:auth', 'handshake:error:protocol', 'handshake:error:other'] as const) {
    sock.events.on(type, () => seen.push(type))
  }
  await sleep(ms)
  return seen
}

describe('CURVE with a ZAP allow-list', () => {
  let keysDir: Awaited<ReturnType<typeof tempDir>>
  let serverKeys: ServerKeys
  let alice: ClientKeys
  let bridge: Bridge
  /** A keypair the server has never heard of. */
  let mallory: ClientKeys

  beforeAll(async () => {
    keysDir = await tempDir('uvm-keys-')
    const made = await makeKeys(keysDir.path, ['alice'])
    expect(made.created).toEqual(expect.arrayContaining(['server.key', 'server.key_secret', 'clients/alice.key', 'clients/alice.key_secret']))
    serverKeys = await loadServerKeys(keysDir.path)
    alice = await loadClientKeys(keysDir.path, 'alice')
    expect(serverKeys.allowedClients).toEqual([alice.publicKey])
    const kp = zmq.curveKeyPair()
    mallory = { publicKey: kp.publicKey, secretKey: kp.secretKey, serverPublicKey: serverKeys.publicKey }
    bridge = await startBridge({ keys: serverKeys })
  })
  afterAll(async () => {
    await bridge.dispose()
    await keysDir.cleanup()
  })

  it('the server sockets are CURVE servers with a ZAP domain that is enforced', () => {
    expect(bridge.server.secure).toBe(true)
    const s = bridge.server as unknown as Record<'router' | 'publisher', zmq.Socket & { curveServer: boolean; zapDomain: string; zapEnforceDomain: boolean }>
    for (const sock of [s.router, s.publisher]) {
      expect(sock.curveServer).toBe(true)
      expect(sock.zapDomain).toBe('uvm')
      expect(sock.zapEnforceDomain).toBe(true)
    }
  })

  it('a listed client key connects and gets a pong', async () => {
    const c = BridgeClient.connect(bridge.server.endpoint, { keys: alice, timeoutMs: 5000 })
    try {
      expect(await c.ping()).toMatchObject({ event: 'pong' })
      expect(await c.set('secure', true)).toMatchObject({ event: 'ack' })
    } finally {
      await c.close()
    }
  })

  it('an unlisted client key gets no reply: its handshake fails (ZAP 400), and the request says so at once', async () => {
    // The deadline is long: only the handshake's event can end the request before it.
    const c = BridgeClient.connect(bridge.server.endpoint, { keys: mallory, timeoutMs: 60_000 })
    try {
      await expect(c.ping()).rejects.toMatchObject({ name: 'BridgeError', code: 'curve_refused', message: expect.stringMatching(/refused your CURVE key/) })
    } finally {
      await c.close()
    }
    const raw = new zmq.Dealer({ linger: 0, receiveTimeout: 500, curveServerKey: mallory.serverPublicKey, curvePublicKey: mallory.publicKey, curveSecretKey: mallory.secretKey })
    const events = handshakeEvents(raw, 400)
    raw.connect(bridge.server.endpoint)
    try {
      expect(await events).toContain('handshake:error:auth')
      expect(await events).not.toContain('handshake')
    } finally {
      raw.close()
    }
  })

  it('a plain-text client (no CURVE) gets no reply, and is told the daemon requires CURVE', async () => {
    const c = BridgeClient.connect(bridge.server.endpoint, { timeoutMs: 60_000 })
    try {
      await expect(c.ping()).rejects.toMatchObject({ code: 'curve_mismatch', message: expect.stringMatching(/requires CURVE/) })
    } finally {
      await c.close()
    }
    const raw = new zmq.Dealer({ linger: 0, receiveTimeout: 500, sendTimeout: 500 })
    raw.connect(bridge.server.endpoint)
    try {
      const sent = raw.send(mp({ command: 'ping' })).then(() => raw.receive())
      await expect(sent).rejects.toMatchObject({ code: 'EAGAIN' })
    } finally {
      raw.close()
    }
  })

  it('a listed client key with the wrong server key gets no reply', async () => {
    const other = zmq.curveKeyPair()
    const c = BridgeClient.connect(bridge.server.endpoint, { keys: { ...alice, serverPublicKey: other.publicKey }, timeoutMs: 1500 })
    try {
      // The server drops the connection without a word, so only the timeout can tell; it counts the failed handshakes.
      await expect(c.ping()).rejects.toMatchObject({ code: 'timeout', message: expect.stringMatching(/no reply .* within 1500 ms \(the handshake failed \d+ times: is the server.key you were given this daemon's\?\)/) })
    } finally {
      await c.close()
    }
  })

  it('the server still serves the listed client afterwards (and the refused ones changed nothing)', async () => {
    const before = bridge.image.lastTid
    const c = BridgeClient.connect(bridge.server.endpoint, { keys: alice, timeoutMs: 5000 })
    try {
      expect(await c.ping()).toMatchObject({ event: 'pong' })
      expect(bridge.image.lastTid).toBe(before)
    } finally {
      await c.close()
    }
  })

  it('the PUB socket is CURVE-protected too: a listed subscriber gets events, an unlisted one none', async () => {
    const c = BridgeClient.connect(bridge.server.endpoint, { keys: alice, timeoutMs: 5000 })
    const good = new AbortController()
    const bad = new AbortController()
    const got: number[] = []
    const refused: number[] = []
    const reading = [
      (async () => { for await (const ev of subscribe(bridge.server.pubEndpoint, { keys: alice, signal: good.signal })) got.push(ev.tid!) })(),
      (async () => { for await (const ev of subscribe(bridge.server.pubEndpoint, { keys: mallory, signal: bad.signal })) refused.push(ev.tid!) })(),
    ]
    try {
      for (let i = 0; i < 50 && got.length === 0; i++) { await c.set('tick', i); await sleep(20) }
      expect(got.length).toBeGreaterThan(0)
      for (let i = 0; i < 5; i++) { await c.set('tick', i); await sleep(20) }
      expect(refused).toEqual([])
    } finally {
      good.abort(); bad.abort()
      await Promise.all(reading)
      await c.close()
    }
  })

  it('with keys, binding beyond loopback is allowed', async () => {
    const { image, realm } = await openImage(memoryDb(), { durable: false })
    const server = await BridgeServer.start(image, realm, { bind: 'tcp://0.0.0.0:0', pub: 'tcp://0.0.0.0:0', keys: serverKeys })
    try {
      expect(server.loopbackOnly).toBe(false)
      const port = /:(\d+)$/.exec(server.endpoint)![1]
      const c = BridgeClient.connect(`tcp://127.0.0.1:${port}`, { keys: alice, timeoutMs: 5000 })
      try {
        expect(await c.ping()).toMatchObject({ event: 'pong' })
      } finally {
        await c.close()
      }
    } finally {
      await server.stop()
      await image.close()
    }
  })
})
