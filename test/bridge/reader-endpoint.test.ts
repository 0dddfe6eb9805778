/**
 * Per-key permissions by endpoint: a daemon with a reader endpoint admits readers/ keys there only,
 * where writes get `unauthorized`; its main endpoint never admits them (no connection at all), so
 * no choice a client makes (routing id, socket type) turns a reader key into a writer.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as zmq from 'zeromq'
import { BridgeClient, loadClientKeys, loadServerKeys, makeKeys, subscribe } from '../../src/bridge/index.js'
import type { ClientKeys } from '../../src/bridge/index.js'
import { Daemon } from '../../src/daemon/index.js'
import { tempDir } from '../support/images.js'
import { LOOPBACK, decodeReply, mp } from './support.js'

describe('a daemon with a reader endpoint', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let daemon: Daemon
  let alice: ClientKeys
  let bob: ClientKeys
  const lines: string[] = []

  beforeAll(async () => {
    dir = await tempDir('uvm-readers-')
    await makeKeys(join(dir.path, 'keys'), ['alice'], ['bob'])
    alice = await loadClientKeys(join(dir.path, 'keys'), 'alice')
    bob = await loadClientKeys(join(dir.path, 'keys'), 'bob')
    daemon = await Daemon.start({ image: join(dir.path, 'image.db'), bind: LOOPBACK, pub: LOOPBACK, readerBind: LOOPBACK, readerPub: LOOPBACK, keys: join(dir.path, 'keys'), out: (l) => lines.push(l) })
  })
  afterAll(async () => {
    await daemon?.stop()
    await dir?.cleanup()
  })

  const client = (endpoint: string, keys: ClientKeys, timeoutMs = 5000) => BridgeClient.connect(endpoint, { keys, timeoutMs })

  it('keeps the layout apart: bob is a reader, not a client', async () => {
    const server = await loadServerKeys(join(dir.path, 'keys'))
    expect(server.allowedClients).toEqual([alice.publicKey])
    expect(server.readOnlyClients).toEqual([bob.publicKey])
    await expect(makeKeys(join(dir.path, 'keys'), ['bob'])).rejects.toThrow(/"bob" already has a key in .*readers/)
  })

  it('the ready line names both endpoints', () => {
    const ready = lines.filter((l) => l.includes(' ready: '))
    expect(ready).toHaveLength(1)
    expect(ready[0]).toContain(`commands ${daemon.bridge.endpoint}`)
    expect(ready[0]).toContain(`; readers (read-only): commands ${daemon.readerBridge!.endpoint}, events ${daemon.readerBridge!.pubEndpoint}`)
    expect(daemon.bridge.readOnly).toBe(false)
    expect(daemon.readerBridge!.readOnly).toBe(true)
  })

  it('a writer key writes on the main endpoint', async () => {
    const c = client(daemon.bridge.endpoint, alice)
    try {
      expect((await c.ping()).read_only).toBeUndefined()
      expect(await c.request({ command: 'update_property', property_name: 'label', property_value: 'by alice' })).toMatchObject({ event: 'ack', tid: expect.any(Number) })
    } finally { await c.close() }
  })

  it('a reader key reads on the reader endpoint and gets unauthorized for writes; nothing is written', async () => {
    const before = daemon.unit!.lastTid
    const c = client(daemon.readerBridge!.endpoint, bob)
    try {
      expect(await c.ping()).toMatchObject({ event: 'pong', read_only: true })
      expect(await c.request({ command: 'get_full_state' })).toMatchObject({ state: { $slots: { label: 'by alice' } } })
      for (const cmd of [
        { command: 'update_property', property_name: 'label', property_value: 'by bob', id: 1 },
        { command: 'create_method', method_name: 'm', method_code: 'return 1', id: 2 },
        { command: 'undo', tid: before, id: 3 },
        { command: 'run_act', code: 'genesis.label = "by bob"', id: 4 },
      ] as const) {
        const reply = await c.request(cmd)
        expect(reply).toMatchObject({ event: 'error', id: cmd.id, error: { code: 'unauthorized', command: cmd.command } })
        expect((reply as { error: { message: string } }).error.message).toMatch(new RegExp(`For write access, send to the daemon's main endpoint, ${daemon.bridge.endpoint}, with a key from its clients/ folder$`))
      }
      expect(await c.request({ command: 'run_act', code: 'return genesis.label' })).toMatchObject({ event: 'result', value: 'by alice' })
    } finally { await c.close() }
    expect(daemon.unit!.lastTid).toBe(before)
  })

  it('a writer key on the reader endpoint is read-only there too', async () => {
    const c = client(daemon.readerBridge!.endpoint, alice)
    try {
      expect(await c.request({ command: 'update_property', property_name: 'x', property_value: 1 })).toMatchObject({ error: { code: 'unauthorized' } })
    } finally { await c.close() }
  })

  it('a reader key never connects to the main endpoint, whatever routing id it claims', async () => {
    // alice's socket is connected (with this routing id) while bob's tries: a ROUTER keyed on routing ids would be fooled.
    const writer = new zmq.Dealer({ linger: 0, receiveTimeout: 5000, routingId: 'alice', curveServerKey: alice.serverPublicKey, curvePublicKey: alice.publicKey, curveSecretKey: alice.secretKey })
    writer.connect(daemon.bridge.endpoint)
    await writer.send(mp({ command: 'ping', id: 'alice' }))
    expect(decodeReply((await writer.receive()).at(-1)!)).toMatchObject({ event: 'pong', id: 'alice' })
    for (const routingId of ['alice', 'someone-else']) {
      const before = daemon.unit!.lastTid
      const spoof = new zmq.Dealer({ linger: 0, receiveTimeout: 500, sendTimeout: 500, routingId, curveServerKey: bob.serverPublicKey, curvePublicKey: bob.publicKey, curveSecretKey: bob.secretKey })
      spoof.connect(daemon.bridge.endpoint)
      try {
        await spoof.send(mp({ command: 'update_property', property_name: 'label', property_value: 'spoofed' })).catch(() => {})
        await expect(spoof.receive()).rejects.toMatchObject({ code: 'EAGAIN' })
      } finally { spoof.close() }
      expect(daemon.unit!.lastTid).toBe(before)
    }
    writer.close()
    const c = client(daemon.bridge.endpoint, bob, 500)
    try {
      await expect(c.ping()).rejects.toMatchObject({ name: 'BridgeError', code: 'curve_refused' })
    } finally { await c.close() }
  })

  it('a reader key gets the events on the reader endpoint', async () => {
    const stop = new AbortController()
    const got: number[] = []
    const listening = (async () => { for await (const ev of subscribe(daemon.readerBridge!.pubEndpoint, { keys: bob, signal: stop.signal })) { got.push(ev.tid!); stop.abort() } })()
    const c = client(daemon.bridge.endpoint, alice)
    try {
      // PUB drops what is sent before the subscription lands: write until one arrives.
      for (let i = 0; got.length === 0 && i < 50; i++) {
        await c.request({ command: 'update_property', property_name: 'n', property_value: i })
        await new Promise((r) => setTimeout(r, 50))
      }
    } finally { await c.close() }
    await listening.catch(() => {})
    expect(got.length).toBe(1)
  })
})

describe('reader endpoint options', () => {
  it('needs both addresses, and CURVE beyond loopback', async () => {
    const dir = await tempDir('uvm-readers-')
    try {
      const image = join(dir.path, 'image.db')
      await expect(Daemon.start({ image, bind: LOOPBACK, pub: LOOPBACK, readerBind: LOOPBACK, out: () => {} })).rejects.toThrow(/needs both addresses/)
      await expect(Daemon.start({ image, bind: LOOPBACK, pub: LOOPBACK, readerBind: 'tcp://0.0.0.0:0', readerPub: LOOPBACK, out: () => {} })).rejects.toThrow(/requires CURVE/)
    } finally { await dir.cleanup() }
  })
})
