// The covenant's cancel against a real daemon: a loop and an await are stopped, nothing commits, the daemon goes on.
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BridgeClient } from '../../src/bridge/index.js'
import type { Reply } from '../../src/covenant/index.js'
import type { Daemon } from './support.js'
import { cleanupTemps, ensureBuilt, killChildren, startDaemon, tempDir } from './support.js'

let d: Daemon
const clients: BridgeClient[] = []
const connect = () => { const c = BridgeClient.connect(d.bind, { timeoutMs: 30_000 }); clients.push(c); return c }

beforeAll(async () => {
  ensureBuilt()
  // Limits far past the bounds below: an act the cancel did not stop would end only at them.
  d = await startDaemon(join(await tempDir(), 'image.db'), { args: ['--cpu-timeout', '20000', '--wall-timeout', '60000'] })
})
afterAll(async () => {
  for (const c of clients) await c.close()
  if (d?.running) expect((await d.stop()).code).toBe(0)
  await killChildren()
  await cleanupTemps()
})

const lastTid = async (c: BridgeClient) => {
  const r = await c.request({ command: 'history', limit: 1 })
  if (r.event !== 'history') throw new Error(JSON.stringify(r))
  return r.transactions[0]?.tid ?? 0
}

/** Start `code` on one connection, cancel it from another once it runs; both replies and the time the act took to end after the cancel. */
async function cancelFromElsewhere(code: string): Promise<{ act: Reply; cancel: Reply; ms: number }> {
  const a = connect()
  const b = connect()
  await a.request({ command: 'ping' })
  await b.request({ command: 'ping' })
  const key = randomUUID()
  const act = a.request({ command: 'run_act', code, cancel_key: key })
  // Let it start (a cancel that comes first finds nothing, and says so: not_running).
  await new Promise((r) => setTimeout(r, 500))
  const t0 = Date.now()
  const cancel = await b.request({ command: 'cancel', key })
  const reply = await act
  return { act: reply, cancel, ms: Date.now() - t0 }
}

describe('cancel', () => {
  it('stops a busy loop within a second; its transaction is aborted and the next act runs', async () => {
    const c = connect()
    const before = await lastTid(c)
    const { act, cancel, ms } = await cancelFromElsewhere('genesis.cancelledLoop = 1; for (;;) {}')
    expect(act).toMatchObject({ event: 'error', error: { code: 'cancelled', uvm_code: 'ACT_CANCELLED' } })
    expect(cancel).toMatchObject({ event: 'cancel', cancelled: true, outcome: 'cancelled' })
    expect(ms).toBeLessThan(1000)
    expect(await lastTid(c)).toBe(before)
    expect(await c.request({ command: 'run_act', code: 'return [genesis.cancelledLoop === undefined, 1 + 1]' })).toMatchObject({ event: 'result', value: [true, 2] })
  })

  it('stops a loop that catches the cancel', async () => {
    const { act, cancel } = await cancelFromElsewhere('for (;;) { try { for (;;) {} } catch (e) {} }')
    expect(act).toMatchObject({ event: 'error', error: { code: 'cancelled' } })
    expect(cancel).toMatchObject({ cancelled: true })
  })

  it('stops an act that awaits a promise that never settles, or a long sleep, at once', async () => {
    const c = connect()
    const before = await lastTid(c)
    for (const code of ['genesis.cancelledAwait = 1; await new Promise(() => {})', 'genesis.cancelledAwait = 1; await sleep(50000)']) {
      const { act, cancel, ms } = await cancelFromElsewhere(code)
      expect(act).toMatchObject({ event: 'error', error: { code: 'cancelled', uvm_code: 'ACT_CANCELLED' } })
      expect(cancel).toMatchObject({ cancelled: true, outcome: 'cancelled' })
      expect(ms).toBeLessThan(1000)
    }
    expect(await lastTid(c)).toBe(before)
    expect(await c.request({ command: 'run_act', code: 'return genesis.cancelledAwait === undefined' })).toMatchObject({ event: 'result', value: true })
  })

  it('answers not_running for an unknown id or key, and for an act that already committed', async () => {
    const c = connect()
    expect(await c.request({ command: 'cancel', id: 'k1', request: 'nothing-runs-under-this' })).toEqual({ event: 'cancel', id: 'k1', request: 'nothing-runs-under-this', cancelled: false, outcome: 'not_running' })
    expect(await c.request({ command: 'cancel', key: randomUUID() })).toMatchObject({ event: 'cancel', cancelled: false, outcome: 'not_running' })
    const key = randomUUID()
    const done = await c.request({ command: 'run_act', cancel_key: key, code: 'genesis.cancelTooLate = 1' })
    expect(done).toMatchObject({ event: 'result', tid: expect.any(Number) })
    // The key is a secret: in no reply, and not in the transaction's record.
    expect(JSON.stringify(done)).not.toContain(key)
    expect(JSON.stringify(await c.request({ command: 'history', limit: 1 }))).not.toContain(key)
    expect(await connect().request({ command: 'cancel', key })).toMatchObject({ cancelled: false, outcome: 'not_running' })
  })

  it('a cancel by key that overtook its act (sent just before, on another connection) waits for it and stops it', async () => {
    const a = connect()
    const b = connect()
    await a.request({ command: 'ping' })
    const key = randomUUID()
    const cancel = b.request({ command: 'cancel', key })
    await new Promise((r) => setTimeout(r, 200))
    const act = a.request({ command: 'run_act', cancel_key: key, code: 'genesis.overtaken = 1; for (;;) {}' })
    expect(await cancel).toMatchObject({ cancelled: true, outcome: 'cancelled' })
    expect(await act).toMatchObject({ event: 'error', error: { code: 'cancelled' } })
    expect(await a.request({ command: 'run_act', code: 'return genesis.overtaken === undefined' })).toMatchObject({ value: true })
  })

  it('says when the act finished before the cancel stopped it', async () => {
    const a = connect()
    const key = randomUUID()
    const act = a.request({ command: 'run_act', cancel_key: key, code: 'await sleep(300); genesis.cancelRace = 1' })
    const cancel = connect().request({ command: 'cancel', key })
    const [r, c] = await Promise.all([act, cancel])
    // Either the cancel reached it while it slept, or (a slow start) it found nothing yet: never a commit the reply calls cancelled.
    if (r.event === 'error') expect(c).toMatchObject({ cancelled: true })
    else expect(c).toMatchObject({ cancelled: false })
  })

  it('an id names an act only on the connection that sent it; another needs its cancel_key', async () => {
    const a = connect()
    await a.request({ command: 'ping' })
    const key = randomUUID()
    const act = a.request({ command: 'run_act', id: 'short-1', cancel_key: key, code: 'await new Promise(() => {})' })
    await new Promise((r) => setTimeout(r, 300))
    const other = connect()
    expect(await other.request({ command: 'cancel', request: 'short-1' })).toMatchObject({ cancelled: false, outcome: 'not_running' })
    expect(await other.request({ command: 'cancel', key: randomUUID() })).toMatchObject({ cancelled: false, outcome: 'not_running' })
    // Given both, both must match.
    expect(await other.request({ command: 'cancel', request: 'short-2', key })).toMatchObject({ cancelled: false, outcome: 'not_running' })
    expect(await other.request({ command: 'cancel' })).toMatchObject({ event: 'error', error: { code: 'invalid_command' } })
    expect(await other.request({ command: 'cancel', key: 'short' })).toMatchObject({ event: 'error', error: { code: 'invalid_command' } })
    // On the same connection a cancel waits for nothing (it does not queue behind the act it names).
    expect(await a.request({ command: 'cancel', request: 'short-1' })).toMatchObject({ cancelled: true, outcome: 'cancelled' })
    expect(await act).toMatchObject({ event: 'error', error: { code: 'cancelled' } })
  })

  it('the covenant describes it', async () => {
    const r = await connect().request({ command: 'describe' })
    expect(JSON.stringify(r)).toContain('CancelCommand')
    expect(JSON.stringify(r)).toContain('CancelReply')
  })
})

describe('cancel while the JIT compiles what a send needs', () => {
  it('the send is not run again once the compile ends: it answers cancelled and commits nothing', async () => {
    const { startFakeLlm } = await import('../support/fake-llm.js')
    // The LLM takes its time: the cancel comes while no act of the send runs (between its two runs).
    const llm = await startFakeLlm([{ delayMs: 1500, then: { answer: { explanation: 'a stamp marks the object', code: "prototypes.Stamped.setSlot('stamp', function () { this.stamped = 1; return 1 })" } } }])
    const own = await startDaemon(join(await tempDir(), 'jit.db'), { env: { UVM_LLM_URL: llm.url } })
    const c = BridgeClient.connect(own.bind, { timeoutMs: 30_000 })
    try {
      expect(await c.request({ command: 'run_act', code: 'prototypes.Stamped = new UvmObject(); root.s = prototypes.Stamped.clone()' })).toMatchObject({ event: 'result' })
      const key = randomUUID()
      const send = c.request({ command: 'send_message', target: 's', selector: 'stamp', cancel_key: key })
      await new Promise((r) => setTimeout(r, 500))
      const other = BridgeClient.connect(own.bind, { timeoutMs: 30_000 })
      const reply = await other.request({ command: 'cancel', key })
      await other.close()
      expect(reply).toMatchObject({ cancelled: true, outcome: 'cancelled' })
      expect(await send).toMatchObject({ event: 'error', error: { code: 'cancelled', uvm_code: 'ACT_CANCELLED' } })
      // The JIT's compile is a transaction of its own; the send's act never ran again.
      expect(await c.request({ command: 'run_act', code: 'return [typeof root.s.stamp, root.s.stamped === undefined]' })).toMatchObject({ value: ['function', true] })
    } finally {
      await c.close()
      await llm.close()
      expect((await own.stop()).code).toBe(0)
    }
  })
})
