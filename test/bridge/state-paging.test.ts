/**
 * get_full_state's optional paging (slots_offset, slots_limit): an inspector opens an object of
 * 100,000 slots a page at a time, told how many there are in all ($slot_count).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BridgeClient } from '../../src/bridge/index.js'
import { VERSION } from '../../src/version.js'
import { startBridge } from './support.js'
import type { Bridge } from './support.js'

let bridge: Bridge
let client: BridgeClient

beforeAll(async () => {
  bridge = await startBridge({ version: VERSION })
  client = BridgeClient.connect(bridge.server.endpoint, { format: 'json', timeoutMs: 30_000 })
  await client.act("const big = new UvmObject()\nfor (let i = 0; i < 100000; i++) big['s' + i] = i\ngenesis.big = big\nreturn 1")
}, 60_000)
afterAll(async () => {
  await client.close()
  await bridge.dispose()
})

type State = { $ref: number; $slots: Record<string, unknown>; $slot_count?: number }

describe('get_full_state paging', () => {
  it('answers one page of the slots and the count of all', async () => {
    const r = await client.request({ command: 'get_full_state', target: 'genesis.big', slots_offset: 500, slots_limit: 3 })
    const s = (r as { state: State }).state
    expect(s.$slot_count).toBe(100_001) // 100,000 data slots and parent*
    expect(Object.keys(s.$slots)).toEqual(['s499', 's500', 's501'])
  })

  it('past the end answers no slots, still with the count', async () => {
    const s = ((await client.request({ command: 'get_full_state', target: 'genesis.big', slots_offset: 200_000, slots_limit: 10 })) as { state: State }).state
    expect(s.$slots).toEqual({})
    expect(s.$slot_count).toBe(100_001)
  })

  it('without paging fields answers every slot and no count, as before', async () => {
    const s = ((await client.request({ command: 'get_full_state', target: 'genesis.big' })) as { state: State }).state
    expect(Object.keys(s.$slots)).toHaveLength(100_001)
    expect(s.$slot_count).toBeUndefined()
  })

  it('refuses a negative offset as an invalid command', async () => {
    const r = await client.request({ command: 'get_full_state', target: 'genesis.big', slots_offset: -1 } as never)
    expect(r.event).toBe('error')
    expect((r as { error: { code: string } }).error.code).toBe('invalid_command')
  })
})
