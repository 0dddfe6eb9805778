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
  await client.act("const long = new UvmObject()\nlong.items = Array.from({ length: 100000 }, (_, i) => i)\nlong.few = [1, 2]\nlong.name = 'long'\ngenesis.long = long\nreturn 1")
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

type ArrayPage = { $array: unknown[]; $length: number; $offset?: number }

describe('get_full_state paging of long arrays', () => {
  it('with elements_limit, a longer array comes as its first elements and its length; a shorter one whole', async () => {
    const s = ((await client.request({ command: 'get_full_state', target: 'genesis.long', elements_limit: 200 })) as { state: State }).state
    const items = s.$slots.items as ArrayPage
    expect(items.$length).toBe(100_000)
    expect(items.$array).toEqual(Array.from({ length: 200 }, (_, i) => i))
    expect(s.$slots.few).toEqual([1, 2])
  })

  it('with slot, the next window of that array', async () => {
    const s = ((await client.request({ command: 'get_full_state', target: 'genesis.long', slot: 'items', elements_offset: 99_990, elements_limit: 200 })) as { state: ArrayPage }).state
    expect(s).toEqual({ $array: Array.from({ length: 10 }, (_, i) => 99_990 + i), $length: 100_000, $offset: 99_990 })
  })

  it('without elements_limit, arrays come whole, as before', async () => {
    const s = ((await client.request({ command: 'get_full_state', target: 'genesis.long' })) as { state: State }).state
    expect(s.$slots.items).toHaveLength(100_000)
  })

  it('refuses to page a slot that is no array, or none, with a clear error', async () => {
    for (const slot of ['name', 'nothing']) {
      const r = await client.request({ command: 'get_full_state', target: 'genesis.long', slot, elements_limit: 10 })
      expect(r.event).toBe('error')
      expect((r as { error: { code: string; message: string } }).error).toMatchObject({ code: 'invalid_command', message: expect.stringContaining(`slot '${slot}' of <`) })
    }
  })
})
