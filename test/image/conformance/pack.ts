import { expect, it } from 'vitest'
import type { Backend } from '../../support/images.js'
import type { P } from '../../support/uvm.js'
import { oidOf, rejected } from '../../support/uvm.js'
import { freshImagePerTest } from './fixture.js'

export function packConformance(backend: Backend): void {
  const ctx = freshImagePerTest(backend)

  /** o has three revisions; p is a prototype with a method; two objects are detached (unreachable). */
  const build = async () => {
    const image = ctx.image
    const ids: Record<string, number> = {}
    await image.transact((tx) => {
      const Proto = tx.root.clone()
      Proto.describe = function (this: P) { return 'x=' + this.x }
      tx.genesis.prototypes.Thing = Proto
      const o = Proto.clone()
      o.x = 1
      tx.root.o = o
      const gone = tx.root.clone()
      gone.inner = tx.root.clone()
      tx.root.gone = gone
      Object.assign(ids, { proto: oidOf(tx, Proto), o: oidOf(tx, o), gone: oidOf(tx, gone), inner: oidOf(tx, gone.inner) })
    })
    await image.transact((tx) => { tx.root.o.x = 2 })
    const t3 = (await image.transact((tx) => { tx.root.o.x = 3; tx.root.removeSlot('gone') })).info.tid!
    return { ids, t3 }
  }

  it('drops old revisions (history shortens) and unreachable objects (counts via check)', async () => {
    const { ids } = await build()
    const image = ctx.image
    expect(await image.history(ids.o!)).toHaveLength(3)
    const before = await image.check()
    expect(before.ok).toBe(true)
    expect(before.unreachable).toBe(2)
    expect(before.revisions).toBeGreaterThan(0)

    const report = await image.pack()
    expect(report.objectsRemoved).toBe(2)
    expect(report.objectsKept).toBe(before.objects - 2)
    expect(report.revisionsRemoved).toBe(before.revisions)

    const after = await image.check()
    expect(after).toMatchObject({ ok: true, objects: before.objects - 2, unreachable: 0, revisions: 0 })
    expect(after.transactions).toBe(before.transactions) // transaction records stay
    expect(await image.history(ids.o!)).toHaveLength(1)
    const tx = image.begin()
    expect(tx.byOid(ids.gone!)).toBeUndefined()
    expect(tx.byOid(ids.inner!)).toBeUndefined()
    tx.abort()
  })

  it('keeps data and methods intact, also after reopen', async () => {
    const { ids } = await build()
    await ctx.image.pack()
    for (const reopen of [false, true]) {
      const image = reopen ? await ctx.reopen() : ctx.image
      const tx = image.begin()
      const o = tx.root.o
      expect(o.x).toBe(3)
      expect(o.describe()).toBe('x=3')
      expect(o.printString()).toBe(`<Thing #${ids.o}>`)
      expect(tx.objectOf(tx.genesis.prototypes.Thing).oid).toBe(ids.proto)
      tx.abort()
    }
    expect((await ctx.image.check()).ok).toBe(true)
  })

  it('refuses undo of a packed transaction with a clear error', async () => {
    const { t3 } = await build()
    await ctx.image.pack()
    const e = await rejected(ctx.image.undo(t3))
    expect(e.code).toBe('IMAGE_UNDO_REFUSED')
    expect(e.message).toMatch(/packed/)
    const tx = ctx.image.begin()
    expect(tx.root.o.x).toBe(3)
    tx.abort()
  })

  it('pack({before}) keeps the revisions a reader at or after `before` may still need', async () => {
    const { ids, t3 } = await build()
    const image = ctx.image
    const h = await image.history(ids.o!)
    const t2 = h[1]!.tid
    await image.pack({ before: t2 })
    expect((await image.history(ids.o!)).map((r) => r.tid)).toEqual([t3, t2])
    expect(await image.loadBefore(ids.o!, t3)).toMatchObject({ serial: t2, slots: { x: 2 } })
    // Undo of t3 is still possible: its previous revision was kept.
    await image.undo(t3)
    const tx = image.begin()
    expect(tx.root.o.x).toBe(2)
    tx.abort()
  })

  it('the image keeps working after pack: commits, history and another pack', async () => {
    const { ids } = await build()
    const image = ctx.image
    await image.pack()
    await image.transact((tx) => { tx.root.o.x = 4 })
    expect((await image.history(ids.o!)).length).toBe(2)
    await image.pack()
    expect((await image.history(ids.o!)).length).toBe(1)
    expect((await image.check()).ok).toBe(true)
  })
}
