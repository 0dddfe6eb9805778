// The image commands over the wire (what `uvm check`, `pack` and `export` send to a daemon that holds
// the image): their replies, and a read-only endpoint's refusal of pack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BridgeClient } from '../../src/bridge/index.js'
import { covenantJsonSchema } from '../../src/covenant/index.js'
import { startBridge } from './support.js'
import type { Bridge } from './support.js'

describe('check, pack and export over the bridge', () => {
  let bridge: Bridge
  let client: BridgeClient
  beforeAll(async () => {
    bridge = await startBridge({ classic: true })
    client = BridgeClient.connect(bridge.server.endpoint, { timeoutMs: 10_000 })
  })
  afterAll(async () => {
    await client.close()
    await bridge.dispose()
  })

  it('check: the report with snake_case counts', async () => {
    await client.act('genesis.a = new UvmObject(); genesis.a.x = 1')
    await client.act('genesis.a.x = 2')
    const r = await client.call({ command: 'check' }, 'check')
    expect(r).toMatchObject({ event: 'check', ok: true, unreachable: 0, dangling_count: 0, undecodable_count: 0, dangling: [], undecodable: [] })
    expect(r.revisions).toBeGreaterThan(0)
  })

  it('export: the files, named as in an export folder, never a path to write', async () => {
    const r = await client.call({ command: 'export' }, 'export')
    expect(Object.keys(r.files)).toContain('image.json')
    expect(Object.keys(r.files).filter((f) => f !== 'image.json').every((f) => /^objects\/\d{6}\.uvm$/.test(f))).toBe(true)
    expect(Object.keys(r.files)).toHaveLength(r.objects + 1)
    expect(Object.values(r.files).some((t) => t.includes('slot "x" 2'))).toBe(true)
  })

  it('pack: by tid or by time; garbage goes, nothing reachable does', async () => {
    await client.act('genesis.junk = new UvmObject(); return 1')
    await client.act('delete genesis.junk; return 1')
    const byTime = await client.call({ command: 'pack', before_time: Date.now() + 60_000 }, 'packed')
    expect(byTime).toMatchObject({ event: 'packed', before: bridge.image.lastTid + 1 })
    expect(byTime.objects_removed).toBe(1)
    const r = await client.call({ command: 'pack' }, 'packed')
    expect(r).toMatchObject({ event: 'packed', revisions_removed: 0, objects_removed: 0 })
    expect((await client.call({ command: 'check' }, 'check')).ok).toBe(true)
  })

  it('the covenant describes the three commands', () => {
    const text = JSON.stringify(covenantJsonSchema('0'))
    for (const name of ['CheckCommand', 'PackCommand', 'ExportCommand', 'CheckReply', 'PackReply', 'ExportReply']) expect(text).toContain(name)
  })
})

describe('a read-only endpoint', () => {
  it('refuses pack before it runs, and answers check', async () => {
    const bridge = await startBridge({ readOnly: true, writeAccess: 'use the main endpoint' })
    const client = BridgeClient.connect(bridge.server.endpoint, { timeoutMs: 10_000 })
    try {
      const r = await client.request({ command: 'pack' })
      expect(r).toMatchObject({ event: 'error', error: { code: 'unauthorized', uvm_code: 'BRIDGE_READ_ONLY', command: 'pack' } })
      expect((await client.request({ command: 'check' })).event).toBe('check')
    } finally {
      await client.close()
      await bridge.dispose()
    }
  })
})
