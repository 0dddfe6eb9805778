import { expect, it } from 'vitest'
import type { Backend } from '../../support/images.js'
import { oidOf } from '../../support/uvm.js'
import { freshImagePerTest } from './fixture.js'

export function revisionConformance(backend: Backend): void {
  const ctx = freshImagePerTest(backend)

  /** One object written by three transactions: x = 1, 2, 3. */
  const threeRevisions = async () => {
    const image = ctx.image
    let oid = 0
    const t1 = (await image.transact((tx) => { const o = tx.root.clone(); o.x = 1; tx.root.o = o; oid = oidOf(tx, o) })).info.tid!
    const t2 = (await image.transact((tx) => { tx.root.o.x = 2 })).info.tid!
    const t3 = (await image.transact((tx) => { tx.root.o.x = 3; tx.root.o.extra = tx.root })).info.tid!
    return { oid, t1, t2, t3 }
  }

  it('loadBefore answers the revision current just before a tid, with its serial', async () => {
    const { oid, t1, t2, t3 } = await threeRevisions()
    const image = ctx.image
    expect(await image.loadBefore(oid, t3)).toMatchObject({ serial: t2, slots: { x: 2 } })
    expect(await image.loadBefore(oid, t2)).toMatchObject({ serial: t1, slots: { x: 1 } })
    expect(await image.loadBefore(oid, t3 + 1)).toMatchObject({ serial: t3, slots: { x: 3, extra: { $ref: image.root.oid } } })
    expect(await image.loadBefore(oid, t1)).toBeUndefined() // the object did not exist before t1
    expect((await image.loadBefore(oid, t3))!.slots).not.toHaveProperty('extra')
  })

  it('loadBefore shows references, parents and methods in plain form', async () => {
    const { oid, t3 } = await threeRevisions()
    await ctx.image.transact((tx) => { tx.root.o.m = function () { return 1 } })
    const rev = await ctx.image.loadBefore(oid, ctx.image.lastTid + 1)
    expect(rev!.slots['parent*']).toEqual({ $ref: ctx.image.root.oid })
    expect(String((rev!.slots.m as { $method: string }).$method)).toMatch(/return 1/)
    expect(rev!.serial).toBeGreaterThan(t3)
  })

  it('old revisions survive reopen', async () => {
    const { oid, t2, t3 } = await threeRevisions()
    const image = await ctx.reopen()
    expect(await image.loadBefore(oid, t3)).toMatchObject({ serial: t2, slots: { x: 2 } })
  })

  it('loadBefore of an unknown object answers undefined', async () => {
    expect(await ctx.image.loadBefore(987654, ctx.image.lastTid + 1)).toBeUndefined()
  })
}
