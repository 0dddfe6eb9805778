/**
 * Fuzz: more than 10,000 random and mutated frames over real sockets, many in
 * flight on several DEALERs at once (each with its own send and receive
 * loop). Every message gets exactly one reply (matched by a unique envelope
 * frame), every reply is valid under the covenant, and afterwards the bridge
 * still answers ping and image.check() is clean.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type * as zmq from 'zeromq'
import { decodeReply, mp, rawDealer, sleep, startBridge } from './support.js'
import type { Bridge } from './support.js'

const SEED = Number(process.env.UVM_FUZZ_SEED ?? 0x5eed)
const PER_SOCKET = 2600
const SOCKETS = 4
const WINDOW = 48 // requests in flight per socket

/** mulberry32: a small seeded PRNG, so a failure can be replayed with UVM_FUZZ_SEED. */
function prng(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)))
  return { next, int, pick, bytes }
}

type R = ReturnType<typeof prng>

const COMMANDS = ['get_full_state', 'update_property', 'create_method', 'send_message', 'run_act', 'ping', 'describe', 'history', 'undo', 'nope', '', 'PING']
const WEIRD_NUMBERS = [0, -1, 1, 8, 9, -1e9, 1e9, 2 ** 53, -(2 ** 53), 1.5, Number.MAX_VALUE, -0, 0.1, 255, 65536, 2 ** 32]
const WEIRD_STRINGS = ['', 'genesis', 'genesis.prototypes', 'genesis..x', '.', 'root', 'lobby.genesis', 'a'.repeat(300), '__proto__', 'constructor', 'toString', 'then', 'parent*', '\u0000', '💥', '{', '{"command":"ping"}']

/** An own key, whatever its name (`__proto__` included). */
function define(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
}

function scalar(r: R): unknown {
  switch (r.int(8)) {
    case 0: return r.pick(WEIRD_NUMBERS)
    case 1: return r.pick(WEIRD_STRINGS)
    case 2: return r.next() < 0.5
    case 3: return null
    case 4: return r.int(1000) - 500
    case 5: return { $ref: r.pick([0, 1, 2, 3, 4, -1, 99999, 1.5]) }
    case 6: return { $method: r.pick(['return 1', 'return (', 'function () { return self }', '']) }
    default: return r.bytes(r.int(8))
  }
}

function value(r: R, depth = 0): unknown {
  if (depth > 3 || r.next() < 0.5) return scalar(r)
  if (r.next() < 0.5) return Array.from({ length: r.int(4) }, () => value(r, depth + 1))
  const o: Record<string, unknown> = {}
  for (let i = r.int(4); i > 0; i--) define(o, r.pick([...WEIRD_STRINGS, 'a', 'b', '$ref', '$method', '$slots']), value(r, depth + 1))
  return o
}

/** A command that is mostly well formed, with random fields and values. */
function command(r: R): Record<string, unknown> {
  const c: Record<string, unknown> = { command: r.next() < 0.9 ? r.pick(COMMANDS.slice(0, 7)) : r.pick(COMMANDS) }
  if (r.next() < 0.7) c.id = r.next() < 0.5 ? r.int(1e6) : r.pick(WEIRD_STRINGS)
  if (r.next() < 0.3) c.target = r.next() < 0.5 ? r.pick(WEIRD_STRINGS) : scalar(r)
  if (r.next() < 0.1) c.target_uuid = r.pick(WEIRD_STRINGS)
  switch (c.command) {
    case 'get_full_state':
      if (r.next() < 0.7) c.depth = r.next() < 0.5 ? r.int(9) : r.pick([...WEIRD_NUMBERS, '3', null, Infinity, NaN])
      break
    case 'update_property':
      c.property_name = r.next() < 0.9 ? `fz_${r.int(20)}` : scalar(r)
      c.property_value = value(r)
      break
    case 'create_method':
      c.method_name = r.next() < 0.9 ? `fm_${r.int(10)}` : scalar(r)
      c.method_code = r.pick(['return args.length', 'print("New tool created!")', 'return (', 'function (a) { return [a, self.name] }', 'while (', '}{', 'return self.fm_0()', '', scalar(r)])
      break
    case 'send_message':
      c.selector = r.pick(['printString', 'fm_0', 'fm_1', 'fm_2', 'clone', 'nothing', '', 'fz_1', 'setSlot', 'lobby'])
      if (r.next() < 0.7) c.args = Array.from({ length: r.int(3) }, () => value(r))
      break
    case 'run_act':
      c.code = r.pick(['return 1', 'return genesis.fz_1', 'genesis.fz_act = (genesis.fz_act ?? 0) + 1', 'throw new Error("x")', 'return (', 'print(1,2,3)', 'return [root, genesis, prototypes]', 'for (;;) {}', 'await null; return 2', 'return new UvmObject()', scalar(r)])
      break
  }
  if (r.next() < 0.1) define(c, r.pick(WEIRD_STRINGS), value(r))
  return c
}

function nestedArrays(n: number): Buffer {
  return Buffer.concat([Buffer.alloc(n, 0x91), Buffer.from([0xc0])])
}

/** One fuzz payload (the request frame). */
function payload(r: R): Buffer {
  switch (r.int(14)) {
    case 0: return r.bytes(r.int(64)) // random bytes
    case 1: { const b = mp(command(r)); return b.subarray(0, r.int(b.length)) } // truncated msgpack
    case 2: return mp(value(r)) // valid msgpack, wrong shape (mostly)
    case 3: return mp({ command: 'get_full_state', depth: r.pick([-1, -1e9, 9, 1e9, 2 ** 53, 1e308, -0.5, 8.0001]), target: r.pick(['genesis', 'genesis.prototypes', undefined]) })
    case 4: { // deeply nested arrays, alone or inside a command
      const n = r.pick([10, 100, 1000, 5000, 20_000, 100_000])
      if (r.next() < 0.5) return nestedArrays(n)
      const pre = mp({ command: 'update_property', property_name: 'deep', property_value: null })
      return Buffer.concat([pre.subarray(0, pre.length - 1), nestedArrays(n)]) // property_value: [[[…]]]
    }
    case 5: { // JSON-looking garbage
      const s = r.pick(['{', '{"', '{"command":', '{"command":"ping"', '{"command": "ping", "id": }', '{{{{', '{"a":' .repeat(r.int(2000)), '{"command":"ping","id":"\\ud800"}', '{"command":"update_property","property_name":"j","property_value":' + '['.repeat(r.int(3000)) + ']'.repeat(r.int(3000)) + '}'])
      return Buffer.from(s + (r.next() < 0.5 ? r.bytes(r.int(8)).toString('latin1') : ''))
    }
    case 6: return Buffer.from(JSON.stringify(command(r))) // JSON commands
    case 7: { const b = mp(command(r)); for (let i = r.int(4) + 1; i > 0; i--) b[r.int(b.length)] = r.int(256); return b } // mutated msgpack
    case 8: { const b = Buffer.from(JSON.stringify(command(r))); for (let i = r.int(3) + 1; i > 0; i--) b[r.int(b.length)] = r.int(128); return b } // mutated JSON
    case 9: return Buffer.alloc(0) // empty
    case 10: return Buffer.from(r.pick([[0xc1], [0xdd, 0xff, 0xff, 0xff, 0xff], [0xdf, 0x7f, 0xff, 0xff, 0xff], [0xc6, 0xff, 0xff, 0xff, 0xff], [0xd4, 0x72, 0x40], [0xc7, 0x05, 0x70, 0, 0, 0, 1], [0xd6, 0x69, 0, 0, 0, 1, 0x90]]))
    default: return mp(command(r)) // well-formed-ish commands
  }
}

describe('fuzz', () => {
  let bridge: Bridge
  beforeAll(async () => {
    bridge = await startBridge({ cpuTimeoutMs: 50, wallTimeoutMs: 500 })
  })
  afterAll(async () => { await bridge.dispose() })

  it(`${PER_SOCKET * SOCKETS} random and mutated frames: exactly one valid reply each; the bridge and the image survive`, async () => {
    const t0 = performance.now()
    const codes = new Map<string, number>()
    const run = async (k: number, sock: zmq.Dealer) => {
      const r = prng(SEED + k)
      const replied = new Map<string, number>()
      let sent = 0
      let received = 0
      let extra = 0
      let wake: (() => void) | undefined
      const receiving = (async () => {
        while (received < PER_SOCKET) {
          const frames = await sock.receive()
          received++
          wake?.()
          const tag = frames[0]!.toString()
          replied.set(tag, (replied.get(tag) ?? 0) + 1)
          const reply = decodeReply(frames[frames.length - 1]!)
          const code = reply.event === 'error' ? reply.error.code : reply.event
          codes.set(code, (codes.get(code) ?? 0) + 1)
        }
        sock.receiveTimeout = 300
        try { for (;;) { await sock.receive(); extra++ } } catch { /* quiet: nothing more */ }
      })()
      receiving.catch(() => {}) // awaited below; a failure must not go unhandled meanwhile
      for (; sent < PER_SOCKET; sent++) {
        while (sent - received >= WINDOW) await new Promise<void>((res) => { wake = res; setTimeout(res, 50) })
        // a unique first frame names the request; then 0–4 more envelope frames of odd sizes; then the payload
        const envelope = [Buffer.from(`t${k}:${sent}`)]
        for (let i = r.next() < 0.3 ? r.int(5) : 0; i > 0; i--) envelope.push(r.bytes(r.pick([0, 1, 3, 7, 255])))
        await sock.send([...envelope, payload(r)])
      }
      await receiving
      return { replied, extra }
    }
    const socks = Array.from({ length: SOCKETS }, () => rawDealer(bridge.server.endpoint, { receiveTimeout: 20_000 }))
    try {
      const results = await Promise.all(socks.map((s, k) => run(k, s)))
      results.forEach(({ replied, extra }, k) => {
        expect(extra).toBe(0)
        expect(replied.size).toBe(PER_SOCKET)
        for (let i = 0; i < PER_SOCKET; i++) expect(replied.get(`t${k}:${i}`)).toBe(1)
      })
    } finally {
      for (const s of socks) s.close()
    }
    const ms = performance.now() - t0
    console.log(`fuzz: ${PER_SOCKET * SOCKETS} frames in ${(ms / 1000).toFixed(1)} s (seed ${SEED}); replies by code: ${JSON.stringify(Object.fromEntries([...codes].sort()))}`)
    // the mix reached the decoder, the validator and the handlers
    for (const code of ['bad_frame', 'invalid_command', 'unknown_target', 'syntax_error', 'act_failed', 'does_not_understand', 'timeout', 'pong', 'ack', 'result', 'uvm_state_update']) {
      expect(codes.get(code) ?? 0).toBeGreaterThan(0)
    }
    expect(codes.get('overloaded') ?? 0).toBe(0)

    // still alive, still consistent
    const d = rawDealer(bridge.server.endpoint)
    try {
      await d.send(mp({ command: 'ping', id: 'after-fuzz' }))
      expect(decodeReply((await d.receive())[0]!)).toMatchObject({ event: 'pong', id: 'after-fuzz' })
    } finally {
      d.close()
    }
    await sleep(10)
    const report = await bridge.image.check()
    expect(report).toMatchObject({ ok: true, danglingCount: 0, undecodableCount: 0 })
  })
})
