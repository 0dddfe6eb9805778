// realm.cancel and the realm's shared cancel cell: an act that awaits fails at once; a loop, reached from
// another thread as the execution unit's cancel listener does, at its next checkpoint. Nothing commits.
import { Worker } from 'node:worker_threads'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { actImage, type ActImage } from './fixture.js'

let u: ActImage
beforeAll(async () => { u = await actImage('memory-level', { cpuTimeoutMs: 20_000, wallTimeoutMs: 20_000 }) })
afterAll(async () => { await u.dispose() })

describe('cancel', () => {
  it('fails an act that awaits with ACT_CANCELLED, and commits nothing', async () => {
    const before = await u.tids()
    const act = u.act('genesis.mark = 1; await new Promise(() => {})', { tag: 41 })
    await new Promise((r) => setTimeout(r, 50))
    expect(u.realm.cancel(41)).toBe(true)
    await expect(act).rejects.toMatchObject({ code: 'ACT_CANCELLED' })
    expect(await u.tids()).toEqual(before)
    expect((await u.act('return genesis.mark')).value).toBeUndefined()
  })

  it('says false for a tag no act runs under, and for tag 0', () => {
    expect(u.realm.cancel(999)).toBe(false)
    expect(u.realm.cancel(0)).toBe(false)
  })

  it('stops a loop at its next checkpoint when another thread sets the cell and the deadline', async () => {
    const { cancel, deadline } = u.realm.stopSignals
    // As unit-cancel.ts does, after the loop has begun (this thread is held by it from then on).
    const w = new Worker(`
      const { workerData } = require('node:worker_threads')
      const cancel = new Int32Array(workerData.cancel); const deadline = new Float64Array(workerData.deadline)
      setTimeout(() => { Atomics.store(cancel, 0, 42); deadline[0] = -Infinity }, 300)
    `, { eval: true, workerData: { cancel: cancel.buffer, deadline: deadline.buffer } })
    const t0 = Date.now()
    await expect(u.act('genesis.loop = 1; for (;;) {}', { tag: 42 })).rejects.toMatchObject({ code: 'ACT_CANCELLED' })
    // Far from the 20 s CPU limit.
    expect(Date.now() - t0).toBeLessThan(5000)
    await w.terminate()
    expect((await u.act('return [genesis.loop, 6 * 7]')).value).toEqual([undefined, 42])
  })

  it('an act that starts under a tag cancelled while none ran fails at once, once (the JIT runs a send again after a compile)', async () => {
    expect(u.realm.cancel(77)).toBe(false)
    await expect(u.act('genesis.late = 1', { tag: 77 })).rejects.toMatchObject({ code: 'ACT_CANCELLED' })
    expect((await u.act('return genesis.late', { tag: 77 })).value).toBeUndefined()
  })

  it('a cell naming another act leaves this one running', async () => {
    const { cancel } = u.realm.stopSignals
    Atomics.store(cancel, 0, 7)
    expect((await u.act('let n = 0; for (let i = 0; i < 1e6; i++) n++; return n', { tag: 8 })).value).toBe(1e6)
  })
})
