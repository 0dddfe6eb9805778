// cancel on a bridge in this process (LocalBackend): an act that awaits is stopped at once and commits nothing.
// (A loop holds this process's thread: the daemon's execution unit is reached from a thread of its own, test/cli/cancel.test.ts.)
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BridgeClient } from '../../src/bridge/index.js'
import { startBridge, type Bridge } from './support.js'

let bridge: Bridge
const clients: BridgeClient[] = []
const connect = () => { const c = BridgeClient.connect(bridge.server.endpoint, { timeoutMs: 20_000 }); clients.push(c); return c }

beforeAll(async () => { bridge = await startBridge({ wallTimeoutMs: 60_000 }) })
afterAll(async () => {
  for (const c of clients) await c.close()
  await bridge.dispose()
})

describe('cancel (in-process bridge)', () => {
  it('stops an act that awaits; its writes are aborted; the next act runs', async () => {
    const a = connect()
    const before = bridge.image.lastTid
    const key = randomUUID()
    const act = a.request({ command: 'run_act', cancel_key: key, code: 'genesis.inProcessMark = 1; await new Promise(() => {})' })
    await new Promise((r) => setTimeout(r, 200))
    expect(await connect().request({ command: 'cancel', key })).toMatchObject({ event: 'cancel', cancelled: true, outcome: 'cancelled' })
    expect(await act).toMatchObject({ event: 'error', error: { code: 'cancelled', uvm_code: 'ACT_CANCELLED' } })
    expect(bridge.image.lastTid).toBe(before)
    expect(await a.request({ command: 'run_act', code: 'return genesis.inProcessMark === undefined' })).toMatchObject({ event: 'result', value: true })
  })

  it('names a send_message by its id too, and a finished one is not_running', async () => {
    const a = connect()
    await a.request({ command: 'create_method', method_name: 'waitForever', method_code: 'await new Promise(() => {})' })
    const key = randomUUID()
    const send = a.request({ command: 'send_message', cancel_key: key, selector: 'waitForever' })
    await new Promise((r) => setTimeout(r, 200))
    expect(await connect().request({ command: 'cancel', key })).toMatchObject({ cancelled: true })
    expect(await send).toMatchObject({ event: 'error', error: { code: 'cancelled' } })
    expect(await connect().request({ command: 'cancel', key })).toMatchObject({ cancelled: false, outcome: 'not_running' })
  })

  it('an id only from its own connection; a cancel that names nothing is invalid', async () => {
    const a = connect()
    const act = a.request({ command: 'run_act', id: 7, code: 'await new Promise(() => {})' })
    await new Promise((r) => setTimeout(r, 200))
    expect(await connect().request({ command: 'cancel', request: 7 })).toMatchObject({ outcome: 'not_running' })
    expect(await a.request({ command: 'cancel', request: 7 })).toMatchObject({ cancelled: true })
    expect(await act).toMatchObject({ event: 'error', error: { code: 'cancelled' } })
    expect(await a.request({ command: 'cancel' } as never)).toMatchObject({ event: 'error', error: { code: 'invalid_command' } })
  })
})
