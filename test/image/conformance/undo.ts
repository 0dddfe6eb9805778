import { expect, it } from 'vitest'
import type { Backend } from '../../support/images.js'
import { oidOf, rejected, thrown } from '../../support/uvm.js'
import { freshImagePerTest } from './fixture.js'

export function undoConformance(backend: Backend): void {
  const ctx = freshImagePerTest(backend)

  it('undo(tid) puts back the previous revision, as a new transaction', async () => {
    const image = ctx.image
    let oid = 0
    await image.transact((tx) => { const o = tx.root.clone(); o.x = 1; tx.root.o = o; oid = oidOf(tx, o) })
    const t2 = (await image.transact((tx) => { tx.root.o.x = 2 }, { meta: { description: 'set x to 2' } })).info.tid!
    const info = await image.undo(t2, { user: 'ada' })
    expect(info.tid).toBeGreaterThan(t2)
    expect(info.oids).toEqual([oid])
    const tx = image.begin()
    expect(tx.root.o.x).toBe(1)
    tx.abort()
    const rec = await image.transaction(info.tid!)
    expect(rec).toMatchObject({ user: 'ada', ext: { undo: t2 } })
    expect(rec!.description).toContain(`undo ${t2}`)
    const h = await image.history(oid)
    expect(h[0]).toMatchObject({ tid: info.tid, user: 'ada' })
    expect(h).toHaveLength(3) // create, set, undo

    const reopened = await ctx.reopen()
    const tx2 = reopened.begin()
    expect(tx2.root.o.x).toBe(1)
    tx2.abort()
  })

  it('undo restores structure: removed slots, added slots and parents, with lookups following', async () => {
    const image = ctx.image
    await image.transact((tx) => {
      const a = tx.root.clone(); a.hello = function () { return 'a' }
      const b = tx.root.clone(); b.hello = function () { return 'b' }
      const o = a.clone()
      o.keep = 1
      tx.root.abo = [a, b, o]
    })
    const warm = image.begin()
    expect(warm.root.abo[2].hello()).toBe('a') // fills the lookup cache
    warm.abort()
    const t = (await image.transact((tx) => {
      const [, b, o] = tx.root.abo
      o['parent*'] = b
      o.removeSlot('keep')
      o.added = true
    })).info.tid!
    const mid = image.begin()
    expect(mid.root.abo[2].hello()).toBe('b')
    mid.abort()
    await image.undo(t)
    const tx = image.begin()
    const o = tx.root.abo[2]
    expect(o.hello()).toBe('a')
    expect(Array.from(o.slotNames())).toEqual(['parent*', 'keep'])
    expect(thrown(() => o.added()).code).toBe('KERNEL_DOES_NOT_UNDERSTAND')
    tx.abort()
  })

  it('undo is refused when a later transaction changed the same object, and writes nothing', async () => {
    const image = ctx.image
    const t2 = (await image.transact((tx) => { tx.root.x = 2 })).info.tid!
    await image.transact((tx) => { tx.root.x = 3 })
    const lastTid = image.lastTid
    const e = await rejected(image.undo(t2))
    expect(e.code).toBe('IMAGE_UNDO_REFUSED')
    expect(e.retryable).toBe(false)
    expect(e.message).toContain(String(t2))
    expect(e.message).toContain(`#${image.root.oid}`)
    expect(image.lastTid).toBe(lastTid)
    const tx = image.begin()
    expect(tx.root.x).toBe(3)
    tx.abort()
  })

  it('undo of an unknown tid is IMAGE_UNKNOWN_TID', async () => {
    const e = await rejected(ctx.image.undo(424242))
    expect(e.code).toBe('IMAGE_UNKNOWN_TID')
    expect(e.message).toContain('424242')
  })

  it('undo of a transaction that created objects detaches them (they become unreachable until pack)', async () => {
    const image = ctx.image
    const t = (await image.transact((tx) => { const kid = tx.root.clone(); kid.grand = tx.root.clone(); tx.root.kid = kid })).info.tid!
    expect((await image.check()).unreachable).toBe(0)
    await image.undo(t)
    const tx = image.begin()
    expect(tx.root.hasSlot('kid')).toBe(false)
    tx.abort()
    const report = await image.check()
    expect(report.ok).toBe(true)
    expect(report.unreachable).toBe(2)
  })

  it('an undo can itself be undone (redo)', async () => {
    const image = ctx.image
    await image.transact((tx) => { tx.root.x = 1 })
    const t = (await image.transact((tx) => { tx.root.x = 2 })).info.tid!
    const u = (await image.undo(t)).tid!
    const tx = image.begin()
    expect(tx.root.x).toBe(1)
    tx.abort()
    await image.undo(u)
    const tx2 = image.begin()
    expect(tx2.root.x).toBe(2)
    tx2.abort()
  })

  it('a transaction begun before an undo conflicts with it on commit', async () => {
    const image = ctx.image
    const t = (await image.transact((tx) => { tx.root.x = 2 })).info.tid!
    const racing = image.begin()
    racing.root.x = 5
    await image.undo(t)
    expect((await rejected(racing.commit())).code).toBe('IMAGE_CONFLICT')
  })
}
