// The WebSocket gateway against a real daemon (`uvm boot` in a child process), with real `ws` pages:
// hostile input gets a clear error, other pages keep working, and the daemon keeps serving its image.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BridgeClient } from '../../src/bridge/index.js'
import { startUi } from '../../src/ui/index.js'
import type { Ui } from '../../src/ui/index.js'
import { cleanupTemps, ensureBuilt, freeAddresses, jsonLines, killChildren, spawnCli, startDaemon, tempDir } from '../cli/support.js'
import type { Daemon } from '../cli/support.js'
import { openPage } from './support.js'
import type { Page } from './support.js'

let d: Daemon
let dir: string
let staticDir: string
let ui: Ui
let zmq: BridgeClient
let witness: Page
const uis: Ui[] = []
const wsUrl = (u: Ui, token?: string) => `ws://127.0.0.1:${u.port}/ws${token !== undefined ? `?token=${encodeURIComponent(token)}` : ''}`
const isStatus = (status: string) => (m: Record<string, unknown>) => m.event === 'gateway' && m.status === status

async function gateway(opts: Partial<Parameters<typeof startUi>[0]> = {}): Promise<Ui> {
  const u = await startUi({ connect: d.bind, events: d.pub, port: 0, staticDir, maxBufferedBytes: 1024 * 1024, ...opts })
  uis.push(u)
  return u
}

/** After each hostile page: the witness page still gets replies and events, and the image is as it was. */
async function stillServing(): Promise<void> {
  const before = witness.messages.length
  const value = Math.floor(Math.random() * 1e9)
  expect(await zmq.set('probe', value)).toMatchObject({ event: 'ack' })
  await witness.next((m, ) => m.event === 'uvm_state_update' && witness.messages.indexOf(m) >= before, 10_000, 'the event of the probe')
  const state = await witness.ask({ command: 'get_full_state', target: 'genesis', depth: 1 })
  expect(state).toMatchObject({ event: 'uvm_state_update', state: { $slots: { witness: 42, probe: value } } })
}

beforeAll(async () => {
  ensureBuilt()
  dir = await tempDir('uvm-ui-')
  staticDir = join(dir, 'static')
  mkdirSync(staticDir)
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>uvm</title><script src="/app.js"></script>\n')
  writeFileSync(join(staticDir, 'app.js'), 'console.log("page")\n')
  writeFileSync(join(dir, 'secret.txt'), 'not for pages\n')
  d = await startDaemon(join(dir, 'image.db'))
  zmq = BridgeClient.connect(d.bind, { timeoutMs: 20_000 })
  await zmq.set('witness', 42)
  ui = await gateway()
}, 60_000)

afterAll(async () => {
  await witness?.close()
  for (const u of uis) await u.close()
  await zmq?.close()
  if (d?.running) await d.stop()
  await killChildren()
  await cleanupTemps()
})

describe('the gateway, idle', () => {
  it('pings the daemon only while a page is connected', async () => {
    const pings = () => jsonLines(d.stdout).filter((r) => r.command === 'ping').length
    await new Promise((r) => setTimeout(r, 2500))
    const idle = pings()
    await new Promise((r) => setTimeout(r, 2500))
    expect(pings(), 'no page, no ping').toBe(idle)
    const page = await openPage(wsUrl(ui))
    await page.next(isStatus('connected'))
    await new Promise((r) => setTimeout(r, 2500))
    expect(pings()).toBeGreaterThan(idle)
    await page.close()
    await waitUntil(() => ui.pages() === 0)
    await new Promise((r) => setTimeout(r, 1500))
    const after = pings()
    await new Promise((r) => setTimeout(r, 2500))
    expect(pings(), 'the last page gone, the pings stop').toBe(after)
  }, 30_000)
})

describe('the gateway', () => {
  beforeAll(async () => {
    witness = await openPage(wsUrl(ui))
  })

  it('serves the page with no-store and a strict CSP, and nothing outside its folder', async () => {
    const base = `http://127.0.0.1:${ui.port}`
    const index = await fetch(`${base}/`)
    expect(index.status).toBe(200)
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(index.headers.get('cache-control')).toBe('no-store')
    expect(index.headers.get('content-security-policy')).toMatch(/^default-src 'self'; connect-src 'self' ws: wss:/)
    expect(await index.text()).toContain('<title>uvm</title>')
    const js = await fetch(`${base}/app.js`)
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/nothing.js']) {
      const r = await fetch(`${base}${path}`)
      expect(r.status, path).toBe(404)
      expect(await r.text(), path).not.toContain('not for pages')
    }
    expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(405)
    expect((await fetch(`${base}/ws`)).status).toBe(426)
  })

  it('greets a page with its status, then relays a command and its reply', async () => {
    const status = await witness.next(isStatus('connected'))
    expect(status).toEqual({ event: 'gateway', status: 'connected', read_only: false, version: expect.any(String), daemon: d.bind })
    expect(await witness.ask({ command: 'ping' })).toMatchObject({ event: 'pong' })
    expect(witness.messages.find((m) => m.event === 'pong')).not.toHaveProperty('read_only')
    await stillServing()
  })

  it('relays the JIT\'s events as they happen: display_yourself through the curriculum JIT', async () => {
    const page = await openPage(wsUrl(ui))
    await page.next(isStatus('connected'))
    await new Promise((r) => setTimeout(r, 300))
    const reply = await page.ask({ command: 'send_message', id: 'dy', selector: 'display_yourself' }, 60_000)
    expect(reply).toMatchObject({ event: 'result', id: 'dy', value: { kind: 'WorldMorph' } })
    // Events and replies travel on different sockets: the last event may come after the reply.
    expect(await page.next((m) => m.event === 'jit_cycle' && m.request === 'dy' && m.phase === 'compiled')).toMatchObject({ selector: 'display_yourself' })
    const phases = page.messages.filter((m) => m.event === 'jit_cycle' && m.request === 'dy').map((m) => m.phase)
    expect(phases[0]).toBe('started')
    await page.close()
    await stillServing()
  }, 90_000)

  it('answers malformed JSON with invalid_command and keeps the page', async () => {
    const page = await openPage(wsUrl(ui))
    page.ws.send('{"command": "ping", ')
    const e = await page.next((m) => m.event === 'error')
    expect(e).toEqual({ event: 'error', error: { code: 'invalid_command', message: expect.stringMatching(/^not JSON: /) } })
    for (const text of ['[1,2]', '"ping"', 'null', '42']) page.ws.send(text)
    await page.next(() => page.messages.filter((m) => m.event === 'error').length === 5, 10_000, 'four more refusals')
    expect(page.messages.filter((m) => m.event === 'error').slice(1).map((m) => (m.error as { message: string }).message)).toEqual(Array(4).fill('a command must be a JSON object with a "command" field'))
    expect(await page.ask({ command: 'ping' })).toMatchObject({ event: 'pong' })
    await page.close()
    await stillServing()
  })

  it('closes a page that sends a 2 MiB frame with 1009 and a reason; the others are unaffected', async () => {
    const page = await openPage(wsUrl(ui))
    const other = await openPage(wsUrl(ui))
    page.ws.send(JSON.stringify({ command: 'run_act', id: 'big', code: 'x'.repeat(2 * 1024 * 1024) }))
    const closed = await page.closed
    expect(closed.code).toBe(1009)
    expect(closed.reason).toMatch(/too big.*1 MiB/)
    expect(await other.ask({ command: 'ping' })).toMatchObject({ event: 'pong' })
    // Just under the limit is taken (and the covenant's own limits answer it).
    const near = await other.ask({ command: 'update_property', property_name: 'near', property_value: 'y'.repeat(1024 * 1024 - 200) })
    expect(near).toMatchObject({ event: 'ack' })
    await other.close()
    await stillServing()
  })

  it('refuses binary frames with invalid_command and keeps the page', async () => {
    const page = await openPage(wsUrl(ui))
    page.ws.send(Buffer.from(JSON.stringify({ command: 'ping', id: 'bin' })))
    const e = await page.next((m) => m.event === 'error')
    expect(e).toEqual({ event: 'error', error: { code: 'invalid_command', message: expect.stringMatching(/binary frame.*text frame/) } })
    expect(page.messages.some((m) => m.event === 'pong')).toBe(false)
    expect(await page.ask({ command: 'ping' })).toMatchObject({ event: 'pong' })
    await page.close()
    await stillServing()
  })

  it('refuses valid JSON the covenant refuses, with the id and zod\'s issues; nothing reaches the image', async () => {
    const page = await openPage(wsUrl(ui))
    const unknown = await page.ask({ command: 'format_disk', id: 'u1' })
    expect(unknown).toMatchObject({ event: 'error', id: 'u1', error: { code: 'invalid_command', message: expect.stringMatching(/^invalid 'format_disk' command: command: /) } })
    const wrong = await page.ask({ command: 'update_property', id: 'u2', property_name: 7, property_value: 1 })
    expect(wrong).toMatchObject({ event: 'error', id: 'u2', error: { code: 'invalid_command', issues: [{ path: ['property_name'], message: expect.any(String) }] } })
    const depth = await page.ask({ command: 'get_full_state', id: 'u3', depth: 'deep' })
    expect(depth).toMatchObject({ event: 'error', id: 'u3', error: { code: 'invalid_command', issues: [{ path: ['depth'] }] } })
    const noCommand = await page.ask({ id: 'u4', property_name: 'x' })
    expect(noCommand).toMatchObject({ event: 'error', id: 'u4', error: { code: 'invalid_command' } })
    // The same id twice while the first is in flight would mix their replies.
    page.ws.send(JSON.stringify({ command: 'run_act', id: 'dup', code: 'let s = 0; for (let i = 0; i < 2e6; i++) s += i; return 1' }))
    page.ws.send(JSON.stringify({ command: 'ping', id: 'dup' }))
    await page.next((m) => m.id === 'dup' && m.event === 'error')
    expect((await page.next((m) => m.id === 'dup' && m.event === 'result'))).toMatchObject({ value: 1 })
    const state = await zmq.state({ target: 'genesis' })
    expect(Object.keys((state.state as { $slots: Record<string, unknown> }).$slots)).not.toContain('x')
    await page.close()
    await stillServing()
  })

  it('answers a burst past the in-flight limit with overloaded, and every request gets a reply', async () => {
    const page = await openPage(wsUrl(ui))
    await page.next(isStatus('connected'))
    try {
      // Acts, which the daemon runs one after another: the burst is in flight together.
      const burst = Array.from({ length: 200 }, (_, i) => JSON.stringify({ command: 'run_act', id: `b${i}`, code: 'let s = 0; for (let i = 0; i < 1e6; i++) s += i; return s' }))
      page.ws.send(burst[0]!)
      for (const frame of burst.slice(1)) page.ws.send(frame)
      const mine = () => page.messages.filter((m) => typeof m.id === 'string' && (m.id as string).startsWith('b'))
      await page.next(() => mine().length === 200, 60_000, '200 replies')
      const overloaded = mine().filter((m) => m.event === 'error')
      expect(overloaded.length).toBeGreaterThan(0)
      for (const m of overloaded) expect(m).toMatchObject({ error: { code: 'overloaded', message: expect.stringMatching(/64 requests of this page are in flight/) } })
      expect(mine().filter((m) => m.event === 'result').length).toBeGreaterThanOrEqual(64)
      expect(await page.ask({ command: 'ping' })).toMatchObject({ event: 'pong' })
    } finally {
      await page.close()
    }
    await stillServing()
  })

  it('closes a page that never reads while events flood, with a clear reason; the gateway holds a bounded amount', async () => {
    const slow = await openPage(wsUrl(ui))
    await slow.next(isStatus('connected'))
    const before = ui.pages()
    // It reads nothing from here on: what the gateway sends it waits in the gateway.
    const socket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket
    socket.pause()
    // Its own requests with big replies, and a flood of commits from elsewhere.
    // (Noise, so that permessage-deflate cannot shrink it to nothing.)
    const noise = (seed: number) => `let x = ${seed}, s = []; for (let i = 0; i < 50000; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; s.push((x >>> 0).toString(36)) } return s.join('')`
    for (let i = 0; i < 60; i++) slow.ws.send(JSON.stringify({ command: 'run_act', id: `s${i}`, code: noise(i + 1) }))
    const flood = Array.from({ length: 200 }, (_, i) => zmq.set('flood', i))
    await waitUntil(() => ui.pages() === before - 1, 60_000, 'the gateway closes the slow page')
    await Promise.all(flood)
    socket.resume()
    const closed = await slow.closed
    expect(closed.code).toBe(1008)
    expect(closed.reason).toMatch(/^too slow: \d+ bytes unread \(limit 1048576\)$/)
    // What it got before the close is whole: every message it read is JSON (openPage parses each).
    expect(slow.messages.length).toBeGreaterThan(0)
    await stillServing()
  }, 90_000)

  it('serves 100 pages at once: each gets its status and a reply', async () => {
    const pages = await Promise.all(Array.from({ length: 100 }, () => openPage(wsUrl(ui))))
    const replies = await Promise.all(pages.map(async (p, i) => {
      await p.next(isStatus('connected'), 30_000)
      return p.ask({ command: 'get_full_state', id: `many${i}`, target: 'genesis', depth: 0 }, 30_000)
    }))
    for (const [i, r] of replies.entries()) expect(r, `page ${i}`).toMatchObject({ event: 'uvm_state_update', id: `many${i}` })
    // Each has its own subscription: one commit reaches every page.
    await new Promise((r) => setTimeout(r, 300))
    await zmq.set('hundred', 100)
    await Promise.all(pages.map((p) => p.next((m) => m.event === 'uvm_state_update' && m.id === undefined, 20_000, 'the commit event')))
    await Promise.all(pages.map((p) => p.close()))
    await waitUntil(() => ui.pages() === 1, 10_000, () => `the 100 pages gone (${ui.pages()} left)`)
    await stillServing()
  }, 120_000)

  it('refuses the WebSocket of another origin (403) and a non-loopback Host on loopback (421)', async () => {
    await expect(openPage(wsUrl(ui), { headers: { Origin: 'http://evil.example' } })).rejects.toMatchObject({ status: 403 })
    await expect(openPage(wsUrl(ui), { headers: { Host: 'evil.example' } })).rejects.toMatchObject({ status: 421 })
    const same = await openPage(wsUrl(ui), { headers: { Origin: `http://127.0.0.1:${ui.port}` } })
    await same.next(isStatus('connected'))
    await same.close()
    await stillServing()
  })
})

describe('limits', () => {
  it('refuses pages past maxPages with HTTP 503, and takes one again when a page leaves', async () => {
    const small = await gateway({ maxPages: 2 })
    const a = await openPage(wsUrl(small))
    const b = await openPage(wsUrl(small))
    await expect(openPage(wsUrl(small))).rejects.toMatchObject({ status: 503, body: expect.stringMatching(/2 pages are open/) })
    await a.close()
    await waitUntil(() => small.pages() === 1)
    const c = await openPage(wsUrl(small))
    await c.next(isStatus('connected'))
    expect(await b.ask({ command: 'ping' })).toMatchObject({ event: 'pong' })
    await Promise.all([b.close(), c.close()])
    await stillServing()
  })
})

describe('beyond loopback', () => {
  it('needs the token printed at start: missing or wrong gets HTTP 401 and no upgrade', async () => {
    const wide = await gateway({ host: '0.0.0.0' })
    expect(wide.token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(wide.url).toBe(`http://0.0.0.0:${wide.port}/?token=${wide.token}`)
    await expect(openPage(wsUrl(wide))).rejects.toMatchObject({ status: 401, body: expect.stringMatching(/token/) })
    await expect(openPage(wsUrl(wide, 'wrong'))).rejects.toMatchObject({ status: 401 })
    await expect(openPage(wsUrl(wide, wide.token!.slice(0, -1) + (wide.token!.endsWith('A') ? 'B' : 'A')))).rejects.toMatchObject({ status: 401 })
    expect(wide.pages()).toBe(0)
    const page = await openPage(wsUrl(wide, wide.token))
    await page.next(isStatus('connected'))
    expect(await page.ask({ command: 'ping' })).toMatchObject({ event: 'pong' })
    await page.close()
    await stillServing()
  })
})

describe('a read-only daemon', () => {
  it('gives a read-only page: writes are refused unauthorized at the gateway, reads served', async () => {
    const reader = await freeAddresses()
    const image = join(dir, 'readers.db')
    const rw = await startDaemon(image, { args: ['--reader-bind', reader.bind, '--reader-pub', reader.pub] })
    try {
      const ro = await startUi({ connect: reader.bind, events: reader.pub, port: 0, staticDir })
      uis.push(ro)
      const page = await openPage(wsUrl(ro))
      expect(await page.next(isStatus('connected'))).toMatchObject({ read_only: true, daemon: reader.bind })
      const logged = () => jsonLines(rw.stdout).filter((r) => r.command === 'update_property').length
      for (const [command, fields] of [['update_property', { property_name: 'x', property_value: 1 }], ['create_method', { method_name: 'm', method_code: 'return 1' }], ['undo', { tid: 1 }], ['pack', {}]] as const) {
        const r = await page.ask({ command, ...fields })
        expect(r, command).toMatchObject({ event: 'error', error: { code: 'unauthorized', command, message: expect.stringMatching(/this page is read-only/) } })
      }
      expect(logged(), 'refused before the daemon').toBe(0)
      expect(await page.ask({ command: 'get_full_state', target: 'genesis' })).toMatchObject({ event: 'uvm_state_update' })
      await page.close()
    } finally {
      await rw.stop()
    }
  }, 60_000)
})

describe('the daemon lost and back', () => {
  it('tells the pages daemon_lost when it is killed, refuses commands meanwhile, and daemon_back when it returns', async () => {
    const other = await openPage(wsUrl(ui))
    await other.next(isStatus('connected'))
    // A request in flight when the daemon dies is answered when the loss is seen, not at its timeout.
    other.ws.send(JSON.stringify({ command: 'run_act', id: 'inflight', code: 'let s = 0; for (let i = 0; i < 2e7; i++) s += i; return s' }))
    await d.stop('SIGKILL')
    for (const p of [witness, other]) await p.next(isStatus('daemon_lost'), 15_000, 'daemon_lost')
    const inflight = await other.next((m) => m.id === 'inflight', 5000, 'the in-flight reply')
    expect(inflight).toMatchObject({ error: { code: 'unavailable', message: expect.stringMatching(/was lost while this request was in flight/) } })
    expect(await other.ask({ command: 'ping' })).toMatchObject({ event: 'error', error: { code: 'unavailable', message: expect.stringMatching(/daemon_back/) } })
    // The same addresses and image: a supervisor's restart.
    let back: Daemon | undefined
    for (let attempt = 0; attempt < 10 && back === undefined; attempt++) {
      const proc = spawnCli(['boot', '--image', d.image, '--bind', d.bind, '--pub', d.pub])
      try {
        await proc.waitFor(/ready: .*\n/, 20_000, 'the ready line')
        back = Object.assign(proc, { bind: d.bind, pub: d.pub, image: d.image, readyLine: '' })
      } catch {
        await proc.stop('SIGKILL')
        await new Promise((r) => setTimeout(r, 500))
      }
    }
    expect(back, 'the daemon restarted').toBeDefined()
    d = back!
    for (const p of [witness, other]) expect(await p.next(isStatus('daemon_back'), 20_000, 'daemon_back')).toMatchObject({ read_only: false, daemon: d.bind })
    expect(await other.ask({ command: 'ping' }, 20_000)).toMatchObject({ event: 'pong' })
    // The events come again too (the subscriptions reconnected by themselves).
    await new Promise((r) => setTimeout(r, 500))
    await stillServing()
    await other.close()
  }, 90_000)
})

async function waitUntil(test: () => boolean, timeoutMs = 10_000, what: string | (() => string) = 'the condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
