import { describe, expect, it } from 'vitest'
import { writeSlot } from '../../src/kernel/index.js'
import type { Obj } from '../../src/kernel/index.js'
import type { Backend } from '../support/images.js'
import { BACKENDS, scratchImage } from '../support/images.js'
import type { P } from '../support/uvm.js'

const CHUNKS = 100
const PER_CHUNK = 1000
const CHUNKS_PER_TX = 10
const CACHE = 1000

/**
 * An image of ~100k objects opens without reading them, and walking all of
 * them with a small object cache keeps the cache within its bound. Only cheap,
 * deterministic quantities are asserted (cache sizes and sums), never timings.
 */
describe.each<Backend>(BACKENDS)('lazy loading of a 100k-object image (%s)', (backend) => {
  it('opens reading almost nothing, and a full walk stays within cacheSize', async () => {
    const s = await scratchImage(backend, { cacheSize: CACHE })
    try {
      // Build: root.chunks → 100 chunk objects, each with items → 1000 leaves (clones of one prototype).
      await s.image.transact((tx) => {
        const Leaf = tx.root.clone()
        Leaf.double = function (this: P) { return this.n * 2 }
        tx.root.Leaf = Leaf
        tx.root.chunks = []
      })
      for (let batch = 0; batch < CHUNKS / CHUNKS_PER_TX; batch++) {
        await s.image.transact((tx) => {
          const leafProto = tx.objectOf(tx.root.Leaf)
          const chunks = tx.root.chunks as P[]
          for (let c = 0; c < CHUNKS_PER_TX; c++) {
            const chunkIndex = batch * CHUNKS_PER_TX + c
            const items: Obj[] = []
            for (let i = 0; i < PER_CHUNK; i++) {
              const leaf = tx.create()
              writeSlot(tx, leaf, 'parent*', leafProto)
              writeSlot(tx, leaf, 'n', chunkIndex * PER_CHUNK + i)
              items.push(leaf)
            }
            const chunk = tx.root.clone()
            chunk.items = items.map((o) => tx.proxy(o))
            chunks.push(chunk)
          }
        })
        expect(s.image.cache.size).toBeLessThanOrEqual(CACHE)
      }

      const image = await s.reopen()
      // Opening read the metadata only: no object state is loaded yet.
      expect(image.cache.size).toBeLessThanOrEqual(2)
      const tx = image.begin()
      const chunks = tx.root.chunks as P[]
      expect(chunks).toHaveLength(CHUNKS)
      expect(image.cache.size).toBeLessThanOrEqual(3)

      let sum = 0
      let count = 0
      let maxSeen = 0
      for (const chunk of chunks) {
        const items = chunk.items as P[]
        for (const leaf of items) {
          sum += leaf.n as number
          count++
          if (count % 100 === 0) maxSeen = Math.max(maxSeen, image.cache.size)
        }
      }
      const n = CHUNKS * PER_CHUNK
      expect(count).toBe(n)
      expect(sum).toBe((n * (n - 1)) / 2)
      expect(maxSeen).toBeLessThanOrEqual(CACHE)
      expect(maxSeen).toBeGreaterThan(CACHE / 2) // the walk really filled the cache up to its bound
      expect(image.cache.size).toBeLessThanOrEqual(CACHE)
      // Evicted objects come back on demand, methods included.
      expect(chunks[0]!.items[0].n).toBe(0)
      expect(chunks[0]!.items[7].double()).toBe(14)
      tx.abort()
    } finally {
      await s.dispose()
    }
  })
})
