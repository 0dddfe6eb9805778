// Pack beside transactions in flight (the daemon runs it live): nothing committed meanwhile is swept,
// and a transaction begun before it can still read what it saw, and commit references to it.
import { describe, expect, it } from 'vitest'
import { scratchImage } from '../support/images.js'

describe('pack beside transactions in flight', () => {
  it('commits during a pack keep every object they made', async () => {
    const s = await scratchImage('classic-level')
    try {
      const image = s.image
      // Garbage and old revisions, so the pack has work long enough to overlap the commits.
      for (let round = 0; round < 5; round++) {
        await image.transact((tx) => {
          const junk = []
          for (let i = 0; i < 500; i++) junk.push(tx.create())
          tx.genesis.junk = junk.map((o) => tx.proxy(o))
        })
      }
      // One holder per writer: they must not conflict with each other, only overlap the pack.
      await image.transact((tx) => { for (let w = 0; w < 4; w++) tx.genesis[`holder${w}`] = tx.proxy(tx.create()) })
      const made: number[] = []
      let packing = true
      const writers = Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; packing || i < 3; i++) {
          const { value } = await image.transact((tx) => {
            const o = tx.create()
            tx.genesis[`holder${w}`][`o${i}`] = tx.proxy(o)
            return o.oid
          })
          made.push(value)
        }
      })
      const report = await image.pack()
      packing = false
      await Promise.all(writers)
      expect(report.objectsRemoved).toBeGreaterThan(0)
      const check = await image.check()
      expect(check.danglingCount).toBe(0)
      for (const oid of made) expect(image.exists(image.handle(oid)), `#${oid}`).toBe(true)
    } finally {
      await s.dispose()
    }
  })

  it('keeps what an open transaction read, so it can commit a reference to an object unlinked since', async () => {
    const s = await scratchImage('classic-level')
    try {
      const image = s.image
      await image.transact((tx) => { tx.genesis.keep = tx.proxy(tx.create()); tx.genesis.other = tx.proxy(tx.create()) })
      const early = image.begin()
      const kept = early.genesis.keep
      const other = early.genesis.other
      // Another transaction unlinks it; a pack now would find it unreachable from the current root.
      await image.transact((tx) => { delete tx.genesis.keep })
      await image.pack()
      other.again = kept
      await early.commit()
      expect((await image.check()).danglingCount).toBe(0)
    } finally {
      await s.dispose()
    }
  })
})
