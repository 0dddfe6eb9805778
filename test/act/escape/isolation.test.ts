/**
 * Audit classes 6 and 7: no state between acts but the image, no write outside the act's own
 * transaction, and a read-only daemon that is read-only whatever the act does.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BridgeClient } from '../../../src/bridge/index.js'
import { openImage, runAct } from '../../../src/index.js'
import { memoryDb } from '../../support/images.js'
import { rejected } from '../../support/uvm.js'
import { startDaemon } from '../../cli/support.js'
import { errorOf, useTarget, valueOf } from './support.js'

const t = useTarget()

/** Read the genesis object in a transaction of its own. */
function peek<T>(image: Awaited<ReturnType<typeof openImage>>['image'], f: (genesis: Record<string, any>) => T): T { // eslint-disable-line @typescript-eslint/no-explicit-any
  const tx = image.begin()
  try { return f(tx.genesis as Record<string, any>) } finally { tx.abort() } // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('no state between acts (through the daemon)', () => {
  it('a global one act sets is refused, so the next act cannot find it (the audit\'s openG)', async () => {
    expect(errorOf(await t.act('globalThis.openG = genesis; return 1')).message).toMatch(/not extensible/)
    expect(errorOf(await t.act('openG.injected = 1')).message).toMatch(/openG is not defined/)
    expect(errorOf(await t.act('Object.defineProperty(globalThis, "openH", { value: genesis })')).code).toBe('act_failed')
    expect(await t.slot('injected')).toBeUndefined()
    await t.unharmed()
  })

  it('a method\'s own prototype object is no channel between acts (found by the second, black-box audit)', async () => {
    const made = await t.client.request({ command: 'create_method', method_name: 'chan', method_code: 'function f(k, v) { const o = f.prototype; if (v !== undefined) o[k] = v; return o[k] }' })
    expect(made.event).toBe('ack')
    expect(errorOf(await t.act('genesis.chan("secret", "from act 1"); return 1')).message).toMatch(/not extensible|read only/)
    expect(valueOf(await t.act('return genesis.chan("secret")'))).toBeNull()
    await t.client.request({ command: 'create_method', method_name: 'gen', method_code: 'function* g() { g.prototype.kept = 1; yield 1 }' })
    expect(errorOf(await t.act('return [...genesis.gen()]')).code).toBe('act_failed')
  })

  it('RegExp\'s legacy statics do not carry one act\'s matched text to the next', async () => {
    await t.act('/(secret\\d+)/.exec("secret123"); throw new Error("fails, as in the audit")')
    expect(valueOf(await t.act('return [RegExp.$1, RegExp.lastMatch, RegExp.input]'))).toEqual(['', '', ''])
  })

  it('positive control: a local alias inside one act writes in that act', async () => {
    expect(valueOf(await t.act('const g = genesis; g.aliased = 1; return globalThis.Array === Array && typeof print'))).toBe('function')
    expect(await t.slot('aliased')).toBe(1)
  })
})

describe('graph objects stay in their own act (in one process, handed across by a capability)', () => {
  it('used after its act ended: KERNEL_FOREIGN_OBJECT, nothing written', async () => {
    const { image, realm } = await openImage(memoryDb())
    try {
      let kept: unknown
      const stash = realm.hostFunction('stash', (_t, [v]) => { kept = v })
      const fetch = realm.hostFunction('fetch', () => kept)
      await runAct(image, realm, 'stash(genesis)', { capabilities: { stash } })
      const before = image.lastTid
      const e = await rejected(runAct(image, realm, 'fetch().injected = 1', { capabilities: { fetch } }))
      expect(e.code).toBe('KERNEL_FOREIGN_OBJECT')
      expect((await rejected(runAct(image, realm, 'return fetch().x', { capabilities: { fetch } }))).code).toBe('KERNEL_FOREIGN_OBJECT')
      expect(image.lastTid).toBe(before)
      expect(peek(image, (g) => g.hasSlot('injected'))).toBe(false)
    } finally { await image.close() }
  })

  it('used by another act while its own is still running: KERNEL_FOREIGN_OBJECT; the owner commits only its own writes', async () => {
    const { image, realm } = await openImage(memoryDb())
    try {
      let kept: unknown
      let release!: () => void
      const held = new Promise<void>((r) => { release = r })
      const stash = realm.hostFunction('stash', (_t, [v]) => { kept = v })
      const wait = realm.hostFunction('wait', () => held)
      const fetch = realm.hostFunction('fetch', () => kept)
      const a = runAct(image, realm, 'stash(genesis); genesis.own = 1; await wait(); return 1', { capabilities: { stash, wait } })
      await new Promise((r) => setTimeout(r, 20))
      const e = await rejected(runAct(image, realm, 'fetch().injected = 1', { capabilities: { fetch } }))
      expect(e.code).toBe('KERNEL_FOREIGN_OBJECT')
      expect(e.message).toMatch(/another act/)
      release()
      const done = await a
      expect(peek(image, (g) => [g.own, g.hasSlot('injected')])).toEqual([1, false])
      expect(done.value).toBe(1)
    } finally { await image.close() }
  })

  it('positive control: the host keeps ended proxies, which read the latest state', async () => {
    const { image, realm } = await openImage(memoryDb())
    try {
      const r = await runAct(image, realm, 'genesis.v = 1; return genesis')
      await image.transact((tx) => { tx.genesis.v = 2 })
      expect((r.value as { v: number }).v).toBe(2)
    } finally { await image.close() }
  })
})

describe('read-only is read-only (a --read-only daemon)', () => {
  it('a getter that writes only on its second call is refused, and nothing is written', async () => {
    const ro = await startDaemon(t.d.image.replace(/image\.db$/, 'ro.db'), { args: ['--quiet'] })
    await ro.stop()
    const d = await startDaemon(ro.image, { args: ['--read-only', '--quiet'] })
    const client = BridgeClient.connect(d.bind, { timeoutMs: 20_000 })
    try {
      const history = async () => { const h = await client.request({ command: 'history' }); return h.event === 'history' ? h.transactions.length : -1 }
      const before = await history()
      const attacks = [
        `const n = genesis.prototypes; let calls = 0; const m = [1]; Object.defineProperty(m, 'x', { enumerable: true, get() { if (++calls === 2) genesis.sneaky = 1; return 1 } }); genesis.list = m; return 1`,
        `const m = [1]; let calls = 0; Object.defineProperty(m, 'map', { value(f) { if (++calls === 2) genesis.sneaky = 1; return [] } }); genesis.list = m`,
        `const p = genesis.prototypes; return 1`,
      ]
      const first = errorOf(await client.request({ command: 'run_act', code: attacks[0]! }))
      expect(['unauthorized', 'act_failed']).toContain(first.code)
      expect(errorOf(await client.request({ command: 'run_act', code: attacks[1]! })).code).toBe('unauthorized')
      expect(valueOf(await client.request({ command: 'run_act', code: attacks[2]! }))).toBe(1) // positive control: reads are served
      expect(await history()).toBe(before)
      const state = await client.request({ command: 'get_full_state' })
      expect(state.event === 'uvm_state_update' && (state.state as { $slots: Record<string, unknown> }).$slots.sneaky).toBeUndefined()
      expect(existsSync(join(ro.image, 'LOCK'))).toBe(true)
    } finally {
      await client.close()
      await d.stop()
    }
  })
})
