/**
 * Audit classes 3, 4 and 5: every limit holds wherever act code runs, and what the act's own limits
 * cannot stop (a native operation, one huge allocation) the daemon stops from outside within the
 * CPU limit plus the grace, answers, and serves on with its image intact.
 */
import { describe, expect, it } from 'vitest'
import { CPU_MS, GRACE_MS, errorOf, useTarget, valueOf } from './support.js'

const t = useTarget(['--act-memory', '128'])
/** What a stop from outside may take beyond the limit and the grace: the watchdog's period, the reply's trip. */
const SLACK_MS = 1500

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now()
  const r = await f()
  return [r, performance.now() - t0]
}

async function committedIntact(): Promise<void> {
  expect(valueOf(await t.act('return genesis.keep'))).toEqual({ n: 42 })
}

describe('the commit flush', () => {
  it('a getter on a tracked copy is refused, never run (it used to hang the daemon)', async () => {
    await t.act('genesis.keep = { n: 42 }; genesis.nested = { a: 1 }')
    const [r, ms] = await timed(() => t.act(`const m = genesis.nested; Object.defineProperty(m, 'zz', { enumerable: true, get() { for (;;) {} } }); return 1`))
    expect(errorOf(r).message).toMatch(/accessor property/)
    expect(ms).toBeLessThan(CPU_MS + GRACE_MS)
    await t.unharmed()
  })

  it('stored as a method and sent by another client: the same', async () => {
    await t.client.request({ command: 'create_method', method_name: 'trap', method_code: `function () { const m = self.nested; Object.defineProperty(m, 'zz', { enumerable: true, get() { for (;;) {} } }); return 1 }` })
    const { BridgeClient } = await import('../../../src/bridge/index.js')
    const other = BridgeClient.connect(t.d.bind, { timeoutMs: 20_000 })
    try {
      expect(errorOf(await other.request({ command: 'send_message', selector: 'trap' })).message).toMatch(/accessor property/)
      expect((await other.request({ command: 'ping' })).event).toBe('pong')
    } finally { await other.close() }
  })

  it('positive control: a tracked copy mutated in place is written back', async () => {
    expect(valueOf(await t.act('const m = genesis.nested; m.b = 2; return 1'))).toBe(1)
    expect(valueOf(await t.act('return genesis.nested'))).toEqual({ a: 1, b: 2 })
  })
})

describe('long native operations (no checkpoint runs inside them)', () => {
  it.each([
    ['new Array(1e8).fill(1.5)', 'new Array(1e8).fill(1.5); return 1'],
    ['indexOf over a length of 2**32 + 2**31', 'return Array.prototype.indexOf.call({ length: 2 ** 32 + 2 ** 31 }, 1)'],
    ['the same, in a method a send runs', 'genesis.slow = function () { return Array.prototype.lastIndexOf.call({ length: 2 ** 32 + 2 ** 31 }, 1) }; return genesis.slow()'],
  ])('%s: ACT_TIMEOUT within the limit and the grace, then the daemon serves on', async (_what, code) => {
    const [r, ms] = await timed(() => t.act(code))
    const e = errorOf(r)
    expect(e.code).toBe('timeout')
    expect(e.uvm_code).toBe('ACT_TIMEOUT')
    expect(ms).toBeLessThan(CPU_MS + GRACE_MS + SLACK_MS)
    await t.unharmed()
    await committedIntact()
  })

  it('positive control: long work that checkpoints, and short native work, succeed', async () => {
    expect(valueOf(await t.act('let s = 0; for (let i = 0; i < 1e6; i++) s += i; return s'))).toBe(499999500000)
    expect(valueOf(await t.act('return new Array(1e6).fill(1.5).length'))).toBe(1e6)
    expect(valueOf(await t.act('return Array.prototype.indexOf.call({ length: 1000, 999: 7 }, 7)'))).toBe(999)
  })
})

