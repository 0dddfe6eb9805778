// SIGTERM during a stream of writes loses no acknowledged commit.
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, cleanupTemps, ensureBuilt, killChildren, lines, runCli, startDaemon, tempDir } from './support.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
let BridgeClient: any

beforeAll(async () => {
  ensureBuilt()
  ;({ BridgeClient } = await import(pathToFileURL(join(ROOT, 'dist/bridge/index.js')).href))
})
afterEach(() => killChildren())
afterAll(() => cleanupTemps())

interface Ack { tid: number; value: number }

/** Values read back from a stopped image, in-process. */
async function readBack(image: string): Promise<{ n: number; m: number }> {
  const r = await runCli(['repl', '--image', image, '--history', ''], { input: 'print(JSON.stringify({ n: genesis.n, m: genesis.m }))\n' })
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(lines(r.stdout).find((l) => l.startsWith('uvm> {'))!.slice(5))
}

describe('SIGTERM during a stream of writes', () => {
  it('the daemon exits 0 and every acknowledged commit is in the image', async () => {
    const image = join(await tempDir(), 'image.db')
    let lastN = 0
    let lastM = 0
    for (let round = 0; round < 3; round++) {
      const d = await startDaemon(image)
      const setup = BridgeClient.connect(d.bind, { timeoutMs: 5000 })
      if (round === 0) {
        await setup.set('n', 0)
        await setup.set('m', 0)
      }
      await setup.close()

      const acts: Ack[] = []
      const sets: Ack[] = []
      let stop = false
      const clients: { close(): Promise<void> }[] = []
      // Four clients incrementing n with acts (conflicts are retried by the daemon), one setting m = 1, 2, 3, ...
      const actWorker = async () => {
        const c = BridgeClient.connect(d.bind, { timeoutMs: 3000 })
        clients.push(c)
        while (!stop) {
          const r = await c.request({ command: 'run_act', code: 'genesis.n = genesis.n + 1; return genesis.n' }).catch(() => undefined)
          if (r?.event === 'result') acts.push({ tid: r.tid, value: r.value })
          else if (r === undefined || r.event === 'error') await new Promise((res) => setTimeout(res, 20))
        }
      }
      const setWorker = async () => {
        const c = BridgeClient.connect(d.bind, { timeoutMs: 3000 })
        clients.push(c)
        for (let i = lastM + 1; !stop; i++) {
          const r = await c.request({ command: 'update_property', property_name: 'm', property_value: i }).catch(() => undefined)
          if (r?.event === 'ack') sets.push({ tid: r.tid, value: i })
          else await new Promise((res) => setTimeout(res, 20))
        }
      }
      const workers = [actWorker(), actWorker(), actWorker(), actWorker(), setWorker()]

      // Mid-stream: once writes are flowing.
      const deadline = Date.now() + 15_000
      while (acts.length + sets.length < 60 + round * 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
      expect(acts.length + sets.length).toBeGreaterThan(0)
      const ackedBeforeSignal = acts.length + sets.length
      d.child.kill('SIGTERM')
      const exit = await d.exited
      stop = true
      await Promise.all(clients.map((c) => c.close()))
      await Promise.all(workers)

      expect(exit).toEqual({ code: 0, signal: null })
      expect(d.stderr).toContain('SIGTERM received')
      expect(acts.length + sets.length).toBeGreaterThanOrEqual(ackedBeforeSignal)

      // Reopen the image: every acknowledged tid is there, and the values are at least the last acknowledged ones.
      const h = await runCli(['history', '--json', '--limit', '1000000', '--image', image])
      expect(h.code, h.stderr).toBe(0)
      const records = JSON.parse(h.stdout) as { tid: number; description: string }[]
      const tids = new Set(records.map((t) => t.tid))
      for (const a of [...acts, ...sets]) expect(tids.has(a.tid), `acknowledged tid ${a.tid}`).toBe(true)
      // Each tid was acknowledged once.
      expect(new Set([...acts, ...sets].map((a) => a.tid)).size).toBe(acts.length + sets.length)
      const { n, m } = await readBack(image)
      const maxN = Math.max(lastN, ...acts.map((a) => a.value))
      expect(n).toBeGreaterThanOrEqual(maxN)
      expect(m).toBeGreaterThanOrEqual(sets.length ? sets[sets.length - 1]!.value : lastM)
      // n counts the act transactions exactly: no increment lost or doubled.
      expect(n).toBe(records.filter((t) => t.description.startsWith('genesis.n = genesis.n + 1')).length)
      // The acked values of n are distinct (each increment saw the one before it).
      expect(new Set(acts.map((a) => a.value)).size).toBe(acts.length)
      lastN = n
      lastM = m
      const check = await runCli(['check', '--image', image])
      expect(check.code, check.stdout).toBe(0)
    }
  }, 120_000)
})
