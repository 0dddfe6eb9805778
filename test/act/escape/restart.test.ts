/**
 * When the execution unit is stopped from outside, every request in flight is answered, and no
 * acknowledged commit is lost.
 */
import { describe, expect, it } from 'vitest'
import { BridgeClient } from '../../../src/bridge/index.js'
import { errorOf, useTarget, valueOf } from './support.js'

const t = useTarget()

describe('a unit restart, with writes in flight', () => {
  it('answers every request (acks, or explicit errors) and keeps every acknowledged write', async () => {
    await t.act('genesis.log = new UvmObject()')
    const writers = Array.from({ length: 3 }, () => BridgeClient.connect(t.d.bind, { timeoutMs: 30_000 }))
    const acked: string[] = []
    const errors: string[] = []
    let stop = false
    const writing = writers.map(async (w, k) => {
      for (let i = 0; !stop && i < 400; i++) {
        const name = `w${k}_${i}`
        const r = await w.request({ command: 'update_property', target: 'genesis.log', property_name: name, property_value: i })
        if (r.event === 'ack') acked.push(name)
        else errors.push(r.error.code)
      }
    })
    await new Promise((r) => setTimeout(r, 150))
    const killer = await t.act('new Array(1e8).fill(1.5); return 1')
    expect(errorOf(killer).code).toBe('timeout')
    await new Promise((r) => setTimeout(r, 300))
    stop = true
    await Promise.all(writing)
    await Promise.all(writers.map((w) => w.close()))
    // every request got a reply (the loops ended); errors, if any, are the restart's own
    expect(errors.every((c) => c === 'unavailable')).toBe(true)
    const names = valueOf(await t.act('return Object.keys(genesis.log).filter((k) => k.startsWith("w"))')) as string[]
    for (const name of acked) expect(names).toContain(name)
    expect(acked.length).toBeGreaterThan(10)
  }, 60_000)
})
