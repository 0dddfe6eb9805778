// The object cache's handle table: one handle per oid while anything holds it, weak once a few macrotasks have passed.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { ObjectCache } from '../../src/image/cache.js'
import type { Obj } from '../../src/kernel/index.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Macrotasks until every new handle is weak (the cache makes them weak in batches). */
async function settle(cache: ObjectCache): Promise<void> {
  for (let i = 0; i < 1000 && cache.strongHandles > 0; i++) await macrotask()
  expect(cache.strongHandles).toBe(0)
}

describe('object cache handles', () => {
  it('give one handle per oid, before and after the table makes it weak', async () => {
    const cache = new ObjectCache(10)
    const a = cache.handle(7)
    expect(cache.handle(7)).toBe(a)
    expect(cache.peek(7)).toBe(a)
    expect(cache.strongHandles).toBe(1)
    await settle(cache)
    expect(cache.handle(7)).toBe(a)
    expect(cache.peek(7)).toBe(a)
    expect(cache.peek(8)).toBeUndefined()
  })

  it('keep a handle nobody holds until it is weak, then let it be collected', async () => {
    const cache = new ObjectCache(10)
    let h: Obj | undefined = cache.handle(42)
    const ref = new WeakRef(h)
    h = undefined
    gc()
    // The same oid still gives the same handle. (This cannot tell the table's strong hold from the
    // test's own WeakRef, which keeps the target alive until this job ends: what it checks is identity.)
    expect(cache.peek(42)).toBe(ref.deref())
    await settle(cache)
    // A WeakRef keeps its target until the job that made or read it ends.
    await macrotask()
    gc()
    await macrotask()
    expect(ref.deref()).toBeUndefined()
    expect(cache.peek(42)).toBeUndefined()
    const again = cache.handle(42)
    expect(again.oid).toBe(42)
    expect(cache.handle(42)).toBe(again)
  })

  it('make thousands of handles weak across macrotasks, losing none that is held', async () => {
    const cache = new ObjectCache(10)
    const held: Obj[] = []
    for (let oid = 0; oid < 5500; oid++) {
      const h = cache.handle(oid)
      if (oid % 10 === 0) held.push(h)
    }
    expect(cache.strongHandles).toBe(5500)
    await macrotask()
    // One batch a macrotask: the rest stays strong meanwhile.
    expect(cache.strongHandles).toBeGreaterThan(0)
    expect(cache.strongHandles).toBeLessThan(5500)
    await settle(cache)
    gc()
    await macrotask()
    for (const h of held) expect(cache.handle(h.oid)).toBe(h)
    // Handles made while a batch is pending join the queue and are weakened too.
    cache.handle(9001)
    expect(cache.strongHandles).toBe(1)
    await settle(cache)
  })
})
