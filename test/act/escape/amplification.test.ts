/**
 * Audit class 8: bounded output. One 15 MB slot and 150 get_full_state requests in flight once took
 * the daemon from 224 MB to 3.5 GB, and made every commit re-encode the Genesis state for the PUB
 * event (update_property from 212/s to 4/s). Now replies are capped and their queued bytes budgeted,
 * and an event carries the commit, not the state.
 */
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { BridgeClient } from '../../../src/bridge/index.js'
import { errorOf, useTarget, valueOf } from './support.js'
import { startDaemon } from '../../cli/support.js'

const t = useTarget(['--max-reply', '32'])

/** Resident memory of a process and its children (the daemon and its execution unit), in MiB. */
function rssMb(pid: number): number {
  const pids = [pid, ...execFileSync('pgrep', ['-P', String(pid)]).toString().trim().split('\n').filter(Boolean).map(Number)]
  let kb = 0
  for (const p of pids) {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))
    if (m) kb += Number(m[1])
  }
  return kb / 1024
}

async function writeRate(client: BridgeClient, n: number): Promise<number> {
  const t0 = performance.now()
  for (let i = 0; i < n; i++) await client.request({ command: 'update_property', target: 'genesis.counter', property_name: 'n', property_value: i })
  return n / ((performance.now() - t0) / 1000)
}

describe('bounded output', () => {
  it('a 15 MB slot and 150 get_full_state requests at once: RSS stays bounded, every request is answered', async () => {
    expect(valueOf(await t.act('genesis.counter = new UvmObject(); genesis.big = "x".repeat(15e6) + "y"; return genesis.big.length'))).toBe(15e6 + 1)
    const before = rssMb(t.d.child.pid!)
    const clients = Array.from({ length: 5 }, () => BridgeClient.connect(t.d.bind, { timeoutMs: 60_000 }))
    let peak = before
    const sampler = setInterval(() => { try { peak = Math.max(peak, rssMb(t.d.child.pid!)) } catch { /* a unit restarting */ } }, 20)
    try {
      const replies = await Promise.all(Array.from({ length: 150 }, (_, i) => clients[i % 5]!.request({ command: 'get_full_state', depth: 1 })))
      const kinds = new Set(replies.map((r) => r.event === 'error' ? r.error.code : r.event))
      expect([...kinds].every((k) => k === 'uvm_state_update' || k === 'overloaded')).toBe(true)
      expect(replies.some((r) => r.event === 'uvm_state_update')).toBe(true)
    } finally {
      clearInterval(sampler)
      await Promise.all(clients.map((c) => c.close()))
    }
    // The audit saw 3.5 GB. Bounded: the reply budget (256 MiB) in each process, plus the slot's copies.
    console.log(`amplification: RSS ${before.toFixed(0)} MiB before, peak ${peak.toFixed(0)} MiB`)
    expect(peak - before).toBeLessThan(1200)
  }, 120_000)

  it('the write rate with the 15 MB slot beside is within 2x of the rate without it', async () => {
    const fresh = await startDaemon(t.d.image.replace(/image\.db$/, 'rate.db'), { args: ['--quiet'] })
    const plain = BridgeClient.connect(fresh.bind, { timeoutMs: 20_000 })
    try {
      await plain.request({ command: 'run_act', code: 'genesis.counter = new UvmObject()' })
      await writeRate(plain, 30)
      const without = await writeRate(plain, 150)
      await writeRate(t.client, 30)
      const withSlot = await writeRate(t.client, 150)
      console.log(`write rate: ${without.toFixed(0)}/s without the 15 MB slot, ${withSlot.toFixed(0)}/s with it`)
      expect(withSlot).toBeGreaterThan(without / 2)
    } finally {
      await plain.close()
      await fresh.stop()
    }
  }, 120_000)

  it('a reply over --max-reply gets too_large naming the cap; the work itself was done', async () => {
    const r = await t.act('genesis.bigger = "z".repeat(40e6); return genesis.bigger')
    const e = errorOf(r) as { code: string; uvm_code?: string; message: string; limit?: number }
    expect(e.code).toBe('too_large')
    expect(e.uvm_code).toBe('BRIDGE_REPLY_TOO_LARGE')
    expect(e.message).toMatch(/reply cap of 32\.0 MiB \(--max-reply\)/)
    expect(valueOf(await t.act('const n = genesis.bigger.length; genesis.removeSlot("bigger"); return n'))).toBe(40e6)
    // positive control: a reply under the cap goes out whole
    expect(valueOf(await t.act('return "q".repeat(1e6)'))).toHaveLength(1e6)
  }, 60_000)
})
