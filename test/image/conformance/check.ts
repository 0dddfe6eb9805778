import { expect, it } from 'vitest'
import type { Backend } from '../../support/images.js'
import { objectRecordKey, oidOf } from '../../support/uvm.js'
import { freshImagePerTest } from './fixture.js'

export function checkConformance(backend: Backend): void {
  const ctx = freshImagePerTest(backend)

  /** root.a → leaf, root.b → leaf (twice-referenced), plus an unrelated sibling. Image closed and reopened. */
  const build = async () => {
    const ids: Record<string, number> = {}
    await ctx.image.transact((tx) => {
      const leaf = tx.root.clone()
      const a = tx.root.clone()
      const b = tx.root.clone()
      a.leaf = leaf
      b.list = [leaf]
      tx.root.a = a
      tx.root.b = b
      Object.assign(ids, { leaf: oidOf(tx, leaf), a: oidOf(tx, a), b: oidOf(tx, b) })
    })
    const image = await ctx.reopen()
    return { image, ids }
  }

  it('a clean image is ok, with counts', async () => {
    const { image } = await build()
    const report = await image.check()
    expect(report).toEqual({
      ok: true,
      objects: 7,
      reachable: 7,
      unreachable: 0,
      revisions: 1, // the root's genesis revision
      transactions: 2,
      danglingCount: 0,
      undecodableCount: 0,
      dangling: [],
      undecodable: [],
    })
  })

  it('reports a dangling reference (a record deleted behind the image\'s back) with counts', async () => {
    const { image, ids } = await build()
    await image.store.db.del(objectRecordKey(ids.leaf!))
    const report = await image.check()
    expect(report.ok).toBe(false)
    expect(report.danglingCount).toBe(2)
    expect(report.dangling).toEqual(expect.arrayContaining([{ from: ids.a, to: ids.leaf }, { from: ids.b, to: ids.leaf }]))
    expect(report.objects).toBe(6)
    expect(report.undecodableCount).toBe(0)
    // Listing is capped, counting is not.
    const capped = await image.check({ maxListed: 1 })
    expect(capped.dangling).toHaveLength(1)
    expect(capped.danglingCount).toBe(2)
    // Loading the missing object is an IMAGE_DANGLING error, not a crash.
    const tx = image.begin()
    let code: unknown
    try { void tx.root.a.leaf.x } catch (e) { code = (e as { code?: unknown }).code }
    expect(code).toBe('IMAGE_DANGLING')
    tx.abort()
  })

  it('reports an undecodable record (garbage bytes) with counts', async () => {
    const { image, ids } = await build()
    await image.store.db.put(objectRecordKey(ids.a!), new Uint8Array([0xc1, 0xff, 0x00, 0x13]))
    await image.store.db.put(objectRecordKey(5000), new Uint8Array([0x92, 0x01])) // an unreachable, truncated record
    const report = await image.check()
    expect(report.ok).toBe(false)
    expect(report.undecodableCount).toBe(2)
    expect(report.undecodable.map((u) => u.oid).sort((x, y) => x - y)).toEqual([ids.a, 5000])
    expect(report.undecodable[0]!.error).toMatch(/cannot be decoded/)
    expect(report.objects).toBe(8)
    const tx = image.begin()
    let code: unknown
    try { void tx.root.a.leaf } catch (e) { code = (e as { code?: unknown }).code }
    expect(code).toBe('IMAGE_CORRUPT')
    tx.abort()
  })
}
