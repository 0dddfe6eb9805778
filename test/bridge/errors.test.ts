/**
 * Every error code the server can produce, each over a real socket, each
 * reply checked against the covenant's ErrorReply (the raw helpers validate
 * every reply with the Reply schema). `unauthorized` is covered in
 * read-only.test.ts (a read-only daemon refusing writes).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type * as zmq from 'zeromq'
import { Packr } from 'msgpackr'
import { BridgeClient } from '../../src/bridge/index.js'
import { ErrorCode } from '../../src/covenant/index.js'
import { ask, askReply, decodeReply, genesisSlot, json, mp, rawDealer, sleep, startBridge } from './support.js'
import type { Bridge } from './support.js'

function expectError(reply: Record<string, any>, code: string, id?: unknown): Record<string, any> {
  expect(reply.event).toBe('error')
  expect(reply.error.code).toBe(code)
  expect(typeof reply.error.message).toBe('string')
  expect(reply.error.message.length).toBeGreaterThan(0)
  // host stack traces never leave the daemon
  expect(reply.error.message).not.toMatch(/\n\s+at /)
  expect(JSON.stringify(reply)).not.toMatch(/node_modules|\/src\/|\.ts:\d+/)
  if (id !== undefined) expect(reply.id).toEqual(id)
  return reply.error
}

describe('error codes from one bridge', () => {
  let bridge: Bridge
  let dealer: zmq.Dealer
  beforeAll(async () => {
    bridge = await startBridge({ cpuTimeoutMs: 200, wallTimeoutMs: 400 })
    dealer = rawDealer(bridge.server.endpoint)
  })
  afterAll(async () => { dealer.close(); await bridge.dispose() })

  it('the covenant lists exactly these codes', () => {
    expect([...ErrorCode.options].sort()).toEqual(['act_failed', 'bad_frame', 'conflict', 'does_not_understand', 'invalid_command', 'overloaded',
      'syntax_error', 'timeout', 'too_large', 'unauthorized', 'unknown_target', 'out_of_memory', 'unavailable', 'cancelled'].sort())
  })

  describe('bad_frame: undecodable frames still get exactly one reply', () => {
    it.each([
      ['an empty frame', Buffer.alloc(0)],
      ['trailing bytes after a valid map', Buffer.concat([mp({ command: 'ping' }), Buffer.from([0x01])])],
      ['JSON that does not start with "{"', Buffer.from('["ping"]')],
      ['a truncated map', mp({ command: 'ping', id: 'truncated' }).subarray(0, 9)],
      ['a str32 header claiming 4 GiB', Buffer.from([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61])],
      ['an unknown extension type', Buffer.from([0xd4, 0x13, 0x00])],
    ])('%s → bad_frame (MessagePack reply)', async (_what, frame) => {
      const frames = await ask(dealer, frame)
      expect(frames).toHaveLength(1)
      expect(frames[0]![0]).not.toBe(0x7b)
      expectError(decodeReply(frames[0]!), 'bad_frame')
    })

    it('a frame starting with "{" that is not JSON → bad_frame as a JSON reply', async () => {
      const frames = await ask(dealer, '{"command": "ping", ')
      expect(frames[0]!.toString()[0]).toBe('{')
      const e = expectError(decodeReply(frames[0]!), 'bad_frame')
      expect(e.message).toMatch(/JSON/)
    })
  })

  describe('invalid_command, with zod\'s issue paths', () => {
    const cases: [string, unknown, (string | number)[][]][] = [
      ['a MessagePack array instead of a map', ['ping'], [[]]],
      ['a bare string', 'ping', [[]]],
      ['a map without command', { id: 'x' }, [['command']]],
      ['an unknown command', { command: 'format_disk' }, [['command']]],
      ['depth above 8', { command: 'get_full_state', depth: 9 }, [['depth']]],
      ['a negative depth', { command: 'get_full_state', depth: -1 }, [['depth']]],
      ['a huge depth', { command: 'get_full_state', depth: 1e300 }, [['depth']]],
      ['a fractional depth', { command: 'get_full_state', depth: 1.5 }, [['depth']]],
      ['update_property without property_name', { command: 'update_property', property_value: 1 }, [['property_name']]],
      ['an empty property_name', { command: 'update_property', property_name: '', property_value: 1 }, [['property_name']]],
      ['create_method with numeric code', { command: 'create_method', method_name: 'm', method_code: 5 }, [['method_code']]],
      ['send_message with args not a list', { command: 'send_message', selector: 's', args: 'nope' }, [['args']]],
      ['run_act without code', { command: 'run_act' }, [['code']]],
      ['a malformed dotted target', { command: 'ping', target: 'genesis..x' }, [['target']]],
      ['a negative $ref target', { command: 'ping', target: { $ref: -1 } }, [['target']]],
      ['a bad target_uuid', { command: 'ping', target_uuid: 42 }, [['target_uuid']]],
      ['an id that is a map', { command: 'ping', id: { a: 1 } }, [['id']]],
      ['two problems at once', { command: 'update_property', property_name: 7, id: 1.5 }, [['id'], ['property_name']]],
    ]
    it.each(cases)('%s', async (_what, body, paths) => {
      // JSON is recognised by its first byte "{": only maps travel both ways
      const isMap = body !== null && typeof body === 'object' && !Array.isArray(body)
      for (const enc of isMap ? [mp, json] : [mp]) {
        const reply = await askReply(dealer, enc(body))
        const e = expectError(reply, 'invalid_command')
        expect(Array.isArray(e.issues)).toBe(true)
        const got = (e.issues as { path: (string | number)[] }[]).map((i) => i.path)
        for (const p of paths) expect(got.some((g) => JSON.stringify(g.slice(0, p.length)) === JSON.stringify(p))).toBe(true)
      }
    })

    it('the id is echoed when it is valid, even if the command is not', async () => {
      expectError(await askReply(dealer, mp({ command: 'get_full_state', depth: 99, id: 'keep-me' })), 'invalid_command', 'keep-me')
      expectError(await askReply(dealer, json({ command: 'nope', id: 12 })), 'invalid_command', 12)
    })

    it('data nested deeper than the limit, in property_value or in args, writes nothing', async () => {
      let deep: unknown = 1
      for (let i = 0; i < 2000; i++) deep = [deep]
      const before = bridge.image.lastTid
      const e = expectError(await askReply(dealer, json({ command: 'update_property', property_name: 'deep', property_value: deep, id: 'd1' })), 'invalid_command', 'd1')
      expect(e.message).toMatch(/property_value: data nested more than 256 levels/)
      expectError(await askReply(dealer, json({ command: 'send_message', selector: 'printString', args: [deep], id: 'd2' })), 'invalid_command', 'd2')
      expect(bridge.image.lastTid).toBe(before)
    })
  })

  describe('unknown_target', () => {
    it.each([
      ['a missing slot', { command: 'get_full_state', target: 'genesis.nowhere', id: 1 }],
      ['a slot holding data, not an object', { command: 'get_full_state', target: 'genesis.name', id: 2 }],
      ['an oid not in the image', { command: 'get_full_state', target: { $ref: 987654 }, id: 3 }],
      ['target_uuid (the seeds\' alias)', { command: 'update_property', target_uuid: 'genesis.prototypes.Nope', property_name: 'x', property_value: 1, id: 4 }],
      ['a $ref inside property_value', { command: 'update_property', property_name: 'x', property_value: { a: [{ $ref: 55555 }] }, id: 5 }],
      ['send_message to a missing target', { command: 'send_message', target: 'genesis.ghost', selector: 'printString', id: 6 }],
      ['send_message with a $ref in args naming no object', { command: 'send_message', selector: 'printString', args: [{ $ref: 424242 }], id: 8 }],
      ['create_method on a missing target', { command: 'create_method', target: { $ref: 123456 }, method_name: 'm', method_code: 'return 1', id: 7 }],
    ])('%s', async (_what, body) => {
      const before = bridge.image.lastTid
      expectError(await askReply(dealer, mp(body)), 'unknown_target', body.id)
      expect(bridge.image.lastTid).toBe(before)
      expect(genesisSlot(bridge.image, 'x')).not.toBe(1)
    })
  })

  describe('syntax_error (with line and column) writes nothing', () => {
    it('create_method with a body that does not parse', async () => {
      const before = bridge.image.lastTid
      const reply = await askReply(dealer, mp({ command: 'create_method', id: 'syn', method_name: 'broken', method_code: 'const a = 1\nreturn (a +' }))
      const e = expectError(reply, 'syntax_error', 'syn')
      expect(e.line).toBe(2)
      expect(e.column).toEqual(expect.any(Number))
      expect(bridge.image.lastTid).toBe(before)
      const tx = bridge.image.begin()
      expect(tx.read(bridge.image.handle(tx.objectOf(tx.genesis).oid)).slots.has('broken')).toBe(false)
      tx.abort()
    })

    it('create_method with a function expression that does not parse', async () => {
      const e = expectError(await askReply(dealer, json({ command: 'create_method', method_name: 'f', method_code: 'function (a, { return a }' })), 'syntax_error')
      expect(e).toMatchObject({ line: 1, column: expect.any(Number) })
    })

    it('run_act that does not parse, or uses a refused construct', async () => {
      const e = expectError(await askReply(dealer, mp({ command: 'run_act', code: 'genesis.y = 1\nlet = ;' })), 'syntax_error')
      expect(e.line).toBe(2)
      expectError(await askReply(dealer, mp({ command: 'run_act', code: 'return import("node:fs")' })), 'syntax_error')
      expect(genesisSlot(bridge.image, 'y')).not.toBe(1)
    })
  })

  describe('act_failed', () => {
    it('run_act that throws: nothing it wrote persists; its output comes back', async () => {
      const before = bridge.image.lastTid
      const e = expectError(await askReply(dealer, mp({ command: 'run_act', id: 9, code: 'genesis.partial = 1; print("before"); throw new Error("boom")' })), 'act_failed', 9)
      expect(e.message).toContain('boom')
      expect(e.output).toBe('before\n')
      expect(bridge.image.lastTid).toBe(before)
      expect(genesisSlot(bridge.image, 'partial')).not.toBe(1)
    })

    it('a method that throws, through send_message', async () => {
      await askReply(dealer, mp({ command: 'create_method', method_name: 'fails', method_code: 'throw new TypeError("nope")' }))
      const e = expectError(await askReply(dealer, mp({ command: 'send_message', selector: 'fails' })), 'act_failed')
      expect(e.message).toContain('nope')
    })

    it('a value the covenant does not carry is invalid_command, with its path (msgpack extension types are not slot data)', async () => {
      // msgpackr's own extensions decode to host Sets, RegExps, Dates, typed arrays: none of them is slot data
      const rich = new Packr({ useRecords: false, moreTypes: true })
      for (const value of [new Set([1]), /x+/g, new Date(0), new Float64Array([1.5]), new Error('e')]) {
        const body = rich.pack({ command: 'update_property', property_name: 'rich', property_value: { inner: [value] } })
        const e = expectError(await askReply(dealer, body), 'invalid_command')
        expect(e.message).toMatch(/^property_value\.inner\[0\]: a \w+ is not data the covenant carries/)
      }
      expect(genesisSlot(bridge.image, 'rich')).toBeTypeOf('function') // never written: reads as a doesNotUnderstand: sender
    })

    it('fields a sandbox error carries are passed on only when they fit the covenant', async () => {
      // line/column must be integers, selector a string, receiver an integer: a thrown object can say anything
      const reply = await askReply(dealer, mp({ command: 'run_act', id: 'odd', code: 'throw Object.assign(new Error("odd"), { line: "abc", column: 1.5, selector: 5, receiver: "me" })' }))
      expectError(reply, 'act_failed', 'odd')
    })
  })

  describe('timeout', () => {
    it('CPU: an act that loops forever', async () => {
      const e = expectError(await askReply(dealer, mp({ command: 'run_act', code: 'genesis.spun = true; for (;;) {}' })), 'timeout')
      expect(e.message).toMatch(/CPU/)
      expect(genesisSlot(bridge.image, 'spun')).not.toBe(true)
    })

    it('CPU: a method that loops forever, through send_message', async () => {
      await askReply(dealer, mp({ command: 'create_method', method_name: 'spin', method_code: 'while (true) {}' }))
      expectError(await askReply(dealer, mp({ command: 'send_message', selector: 'spin' })), 'timeout')
    })

    it('wall clock: an act awaiting something that never settles', async () => {
      const t0 = performance.now()
      const e = expectError(await askReply(dealer, json({ command: 'run_act', id: 'w', code: 'await new Promise(() => {})' })), 'timeout', 'w')
      expect(e.message).toMatch(/wall clock/)
      expect(performance.now() - t0).toBeGreaterThanOrEqual(350)
    })
  })

  it('does_not_understand: a selector nothing answers, with selector and receiver', async () => {
    const e = expectError(await askReply(dealer, mp({ command: 'send_message', id: 'dnu', selector: 'display_yourself' })), 'does_not_understand', 'dnu')
    expect(e.selector).toBe('display_yourself')
    expect(e.receiver).toEqual(expect.any(Number))
  })

  it('after all of that the bridge still answers and the image is clean', async () => {
    expect(await askReply(dealer, mp({ command: 'ping', id: 'alive' }))).toMatchObject({ event: 'pong', id: 'alive' })
    expect((await bridge.image.check()).ok).toBe(true)
  })
})

describe('conflict (with conflict retries turned off)', () => {
  let bridge: Bridge
  afterEach(async () => { await bridge.dispose() })

  it('concurrent writers of one object: some get conflict, none is half-applied', async () => {
    bridge = await startBridge({ retries: 0 })
    const clients = [0, 1, 2, 3].map(() => BridgeClient.connect(bridge.server.endpoint, { timeoutMs: 10_000 }))
    try {
      const replies = await Promise.all(clients.flatMap((c, k) => Array.from({ length: 25 }, (_, i) =>
        c.request({ command: 'update_property', property_name: 'contended', property_value: k * 100 + i }))))
      const codes = replies.map((r) => (r.event === 'error' ? r.error.code : r.event))
      expect(new Set(codes)).toEqual(new Set(['ack', 'conflict']))
      const conflict = replies.find((r) => r.event === 'error')!
      if (conflict.event === 'error') expect(conflict.error.message).toMatch(/retry/)
      const acks = replies.filter((r) => r.event === 'ack')
      expect(new Set(acks.map((a) => (a as { tid: number }).tid)).size).toBe(acks.length)
      // the committed value is the one of the last acknowledged write
      const last = replies.indexOf(acks.reduce((a, b) => ((a as { tid: number }).tid > (b as { tid: number }).tid ? a : b)))
      expect(genesisSlot(bridge.image, 'contended')).toBe(Math.floor(last / 25) * 100 + (last % 25))
    } finally {
      await Promise.all(clients.map((c) => c.close()))
    }
  })
})

describe('too_large (a small maxFrameBytes)', () => {
  let bridge: Bridge
  let dealer: zmq.Dealer
  beforeAll(async () => {
    bridge = await startBridge({ maxFrameBytes: 1024 })
    dealer = rawDealer(bridge.server.endpoint)
  })
  afterAll(async () => { dealer.close(); await bridge.dispose() })

  it('a frame over the limit → too_large, in the request\'s format; the bridge lives on', async () => {
    const big = { command: 'update_property', property_name: 'big', property_value: 'x'.repeat(2000) }
    const before = bridge.image.lastTid
    const frames = await ask(dealer, mp(big))
    expect(frames[0]![0]).not.toBe(0x7b)
    expect(decodeReply(frames[0]!).error.code).toBe('too_large')
    const jsonFrames = await ask(dealer, json(big))
    expect(jsonFrames[0]!.toString()[0]).toBe('{')
    expect(decodeReply(jsonFrames[0]!).error).toMatchObject({ code: 'too_large', message: expect.stringMatching(/1024/) })
    expect(bridge.image.lastTid).toBe(before)
    expect(await askReply(dealer, mp({ command: 'ping', id: 'ok' }))).toMatchObject({ event: 'pong', id: 'ok' })
    // exactly at the limit is fine
    const atLimit = mp({ command: 'update_property', property_name: 'fits', property_value: '' })
    const pad = 1024 - atLimit.length
    const exact = mp({ command: 'update_property', property_name: 'fits', property_value: 'y'.repeat(pad - 2) })
    expect(exact.length).toBeLessThanOrEqual(1024)
    expect(await askReply(dealer, exact)).toMatchObject({ event: 'ack' })
  })

  it('the typed client matches the id-less too_large reply to its request by size', async () => {
    const c = BridgeClient.connect(bridge.server.endpoint, { timeoutMs: 5000 })
    try {
      const t0 = performance.now()
      const [big, small] = await Promise.allSettled([c.set('big', 'q'.repeat(3000)), c.ping()])
      expect(big).toMatchObject({ status: 'rejected', reason: { code: 'too_large' } })
      expect(small).toMatchObject({ status: 'fulfilled', value: { event: 'pong' } })
      expect(performance.now() - t0).toBeLessThan(2000)
    } finally {
      await c.close()
    }
  })

  it('a frame far over the limit (libzmq\'s backstop) drops that connection, not the bridge', async () => {
    const victim = rawDealer(bridge.server.endpoint, { receiveTimeout: 500 })
    try {
      await victim.send(mp({ command: 'update_property', property_name: 'huge', property_value: 'z'.repeat(64 * 1024) }))
      await expect(victim.receive()).rejects.toMatchObject({ code: 'EAGAIN' })
    } finally {
      victim.close()
    }
    expect(await askReply(dealer, mp({ command: 'ping', id: 'still' }))).toMatchObject({ event: 'pong', id: 'still' })
  })
})

describe('overloaded (a small maxInFlight)', () => {
  let bridge: Bridge
  afterAll(async () => { await bridge.dispose() })

  it('past maxInFlight commands in progress, new ones are refused at once; later ones are served', async () => {
    bridge = await startBridge({ maxInFlight: 2, wallTimeoutMs: 1000 })
    const slow = [rawDealer(bridge.server.endpoint), rawDealer(bridge.server.endpoint)]
    const probe = rawDealer(bridge.server.endpoint)
    try {
      for (const s of slow) await s.send(mp({ command: 'run_act', code: 'await new Promise(() => {})' }))
      await sleep(100)
      const t0 = performance.now()
      const r = await askReply(probe, json({ command: 'ping', id: 'busy' }))
      expect(performance.now() - t0).toBeLessThan(500)
      const e = expectError(r, 'overloaded', 'busy') // the id is echoed: the request was decoded for it
      expect(e.message).toMatch(/retry/)
      for (const s of slow) expectError(decodeReply((await s.receive())[0]!), 'timeout')
      await sleep(20)
      expect(await askReply(probe, mp({ command: 'ping', id: 'free' }))).toMatchObject({ event: 'pong', id: 'free' })
    } finally {
      for (const s of [...slow, probe]) s.close()
    }
  })

  it('one client cannot take every slot: past maxInFlightPerClient its own requests are refused (with their ids), others are served', async () => {
    const b = await startBridge({ maxInFlightPerClient: 3, wallTimeoutMs: 800 })
    const greedy = BridgeClient.connect(b.server.endpoint, { timeoutMs: 5000 })
    const other = BridgeClient.connect(b.server.endpoint, { timeoutMs: 5000 })
    try {
      const replies = Promise.all(Array.from({ length: 5 }, (_, i) => greedy.request({ command: 'run_act', id: `g${i}`, code: 'await new Promise(() => {})' })))
      await sleep(100)
      expect(await other.ping()).toMatchObject({ event: 'pong' })
      const all = await replies
      expect(all.map((r) => (r.event === 'error' ? r.error.code : r.event))).toEqual(['timeout', 'timeout', 'timeout', 'overloaded', 'overloaded'])
      expect(all.map((r) => r.id)).toEqual(['g0', 'g1', 'g2', 'g3', 'g4'])
    } finally {
      await greedy.close(); await other.close()
      await b.dispose()
    }
  })
})
