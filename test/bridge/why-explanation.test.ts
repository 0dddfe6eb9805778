/** why answers the explanation of the transaction that made a slot, so a client can show it beside the provenance. */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { BridgeClient } from '../../src/bridge/index.js'
import { VERSION } from '../../src/version.js'
import { startBridge } from './support.js'
import type { Bridge } from './support.js'

let bridge: Bridge
let client: BridgeClient

beforeAll(async () => {
  bridge = await startBridge({ version: VERSION })
  client = BridgeClient.connect(bridge.server.endpoint, { format: 'json', timeoutMs: 10_000 })
})
afterAll(async () => {
  await client.close()
  await bridge.dispose()
})

it('carries the explanation the act was sent with', async () => {
  await client.act('genesis.colour = "teal"', { explanation: 'ROBIN: a calmer colour.' })
  const r = await client.request({ command: 'why', selector: 'colour' })
  expect(r).toMatchObject({ event: 'provenance', kind: 'data', explanation: 'ROBIN: a calmer colour.' })
})

it('has none when the act had none', async () => {
  await client.act('genesis.plain = 1')
  const r = await client.request({ command: 'why', selector: 'plain' })
  expect(r.event).toBe('provenance')
  expect('explanation' in r).toBe(false)
})
