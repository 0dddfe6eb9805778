import { expect, it } from 'vitest'
import type { Backend } from '../../support/images.js'
import { scratchImage } from '../../support/images.js'
import type { P } from '../../support/uvm.js'
import { oidOf, rejected, thrown } from '../../support/uvm.js'
import { freshImagePerTest } from './fixture.js'

export function basicConformance(backend: Backend): void {
  const ctx = freshImagePerTest(backend)

  it('a new image holds the lobby, the traits and genesis, written by one genesis transaction', async () => {
    const image = ctx.image
    const tx = image.begin()
    expect(tx.root['parent*']).toBe(tx.root.traits)
    expect(tx.objectOf(tx.root.traits)).toBe(image.traits)
    expect(tx.root.traits.lobby).toBe(tx.root)
    expect(tx.genesis.prototypes['parent*']).toBe(tx.root.traits)
    tx.abort()
    const txs = await image.transactions()
    expect(txs).toHaveLength(1)
    expect(txs[0]!.description).toBe('genesis')
    expect(txs[0]!.tid).toBe(image.lastTid)
    const report = await image.check()
    expect(report).toMatchObject({ ok: true, objects: 4, reachable: 4, unreachable: 0, transactions: 1 })
  })

  it('commit answers the tid and records user, description and ext', async () => {
    const image = ctx.image
    const before = image.lastTid
    const tx = image.begin({ user: 'ada', description: 'first change', ext: { why: 'a test', n: 1, nested: { ok: true } } })
    tx.root.x = 1
    const info = await tx.commit()
    expect(info.tid).toBeGreaterThan(before)
    expect(info.tid).toBe(image.lastTid)
    expect(info.oids).toEqual([image.root.oid])
    expect(info.meta).toMatchObject({ user: 'ada', description: 'first change' })
    expect(tx.status).toBe('committed')

    const rec = await image.transaction(info.tid!)
    expect(rec).toMatchObject({ tid: info.tid, user: 'ada', description: 'first change', ext: { why: 'a test', n: 1, nested: { ok: true } }, oids: [image.root.oid] })
    expect(rec!.time).toBe(info.time)
    const txs = await image.transactions()
    expect(txs.map((t) => t.tid)).toEqual([info.tid, before])
    expect(txs[0]).toEqual(rec)
  })

  it('the default user of transaction records comes from the image options', async () => {
    const s = await scratchImage(backend, { user: 'bob' })
    try {
      const { info } = await s.image.transact((tx) => { tx.root.y = 1 })
      expect((await s.image.transaction(info.tid!))!.user).toBe('bob')
      const { info: other } = await s.image.transact((tx) => { tx.root.y = 2 }, { meta: { user: 'carol' } })
      expect((await s.image.transaction(other.tid!))!.user).toBe('carol')
    } finally {
      await s.dispose()
    }
  })

  it('a transaction that wrote nothing commits with tid undefined and records nothing', async () => {
    const image = ctx.image
    const before = image.lastTid
    const tx = image.begin()
    void tx.root.traits
    void tx.genesis.prototypes.slotNames()
    const info = await tx.commit()
    expect(info.tid).toBeUndefined()
    expect(info.oids).toEqual([])
    expect(image.lastTid).toBe(before)
    expect(await image.transactions()).toHaveLength(1)
    // A clone that nothing reaches is a write set with nothing to store: no transaction either.
    const tx2 = image.begin()
    tx2.root.clone().x = 1
    const info2 = await tx2.commit()
    expect(info2.tid).toBeUndefined()
    expect(await image.transactions()).toHaveLength(1)
  })

  it('after commit the transaction refuses writes with IMAGE_TX_FINISHED; reads still work', async () => {
    const image = ctx.image
    const tx = image.begin()
    const o = tx.root.clone()
    tx.root.o = o
    o.x = 1
    await tx.commit()
    for (const write of [() => { o.x = 2 }, () => o.clone(), () => o.removeSlot('x'), () => tx.savepoint(), () => { tx.root.y = 1 }]) {
      expect(thrown(write).code).toBe('IMAGE_TX_FINISHED')
    }
    expect((await rejected(tx.commit())).code).toBe('IMAGE_TX_FINISHED')
    expect(o.x).toBe(1)
    tx.abort() // a no-op now
    expect(tx.status).toBe('committed')
  })

  it('abort drops every change: nothing is persisted and the next transaction sees the committed state', async () => {
    const image = ctx.image
    await image.transact((tx) => { tx.root.x = 1 })
    const lastTid = image.lastTid
    const objects = (await image.check()).objects

    const tx = image.begin()
    tx.root.x = 2
    tx.root.added = 'new slot'
    const kid = tx.root.clone()
    tx.root.kid = kid
    const kidOid = oidOf(tx, kid)
    tx.abort()
    expect(tx.status).toBe('aborted')
    expect(thrown(() => { tx.root.x = 3 }).code).toBe('IMAGE_TX_FINISHED')

    const tx2 = image.begin()
    expect(tx2.root.x).toBe(1)
    expect(tx2.root.hasSlot('added')).toBe(false)
    expect(tx2.root.hasSlot('kid')).toBe(false)
    expect(tx2.byOid(kidOid)).toBeUndefined()
    tx2.abort()
    expect(image.lastTid).toBe(lastTid)
    expect((await image.check()).objects).toBe(objects)

    const reopened = await ctx.reopen()
    const tx3 = reopened.begin()
    expect(tx3.root.x).toBe(1)
    expect(tx3.root.hasSlot('added')).toBe(false)
    expect(reopened.lastTid).toBe(lastTid)
    tx3.abort()
  })

  it('savepoint + rollback restores the state at the savepoint, and can roll back to it again', async () => {
    const image = ctx.image
    const tx = image.begin()
    tx.root.x = 1
    const sp = tx.savepoint()
    tx.root.x = 2
    tx.root.y = 'after'
    sp.rollback()
    expect(tx.root.x).toBe(1)
    expect(tx.root.hasSlot('y')).toBe(false)
    tx.root.x = 3
    tx.root.z = 'again'
    sp.rollback()
    expect(tx.root.x).toBe(1)
    expect(tx.root.hasSlot('z')).toBe(false)
    tx.root.w = 'kept'
    const info = await tx.commit()
    expect(info.tid).toBeDefined()
    const tx2 = image.begin()
    expect(tx2.root.x).toBe(1)
    expect(tx2.root.w).toBe('kept')
    expect(tx2.root.hasSlot('y')).toBe(false)
    expect(tx2.root.hasSlot('z')).toBe(false)
    tx2.abort()
  })

  it('a rollback forgets objects created after the savepoint; nested savepoints roll back independently', async () => {
    const image = ctx.image
    const tx = image.begin()
    const a = tx.root.clone()
    tx.root.a = a
    const outer = tx.savepoint()
    const b = tx.root.clone()
    tx.root.b = b
    const inner = tx.savepoint()
    tx.root.c = 'c'
    inner.rollback()
    expect(tx.root.hasSlot('c')).toBe(false)
    expect(tx.root.b).toBe(b)
    outer.rollback()
    expect(tx.root.hasSlot('b')).toBe(false)
    const bOid = oidOf(tx, b)
    const info = await tx.commit()
    expect(info.oids).toContain(oidOf(tx, a))
    expect(info.oids).not.toContain(bOid)
    const tx2 = image.begin()
    expect(tx2.byOid(bOid)).toBeUndefined()
    expect(tx2.root.a).toBe(tx2.byOid(oidOf(tx, a)))
    tx2.abort()
  })

  it('identity: one oid is one proxy within a transaction, whichever way it is reached', async () => {
    const image = ctx.image
    const tx = image.begin()
    const o = tx.root.clone()
    tx.root.o = o
    tx.root.list = [o, { o }]
    const oid = oidOf(tx, o)
    expect(tx.root.o).toBe(o)
    expect(tx.root.list[0]).toBe(o)
    expect(tx.root.list[1].o).toBe(o)
    expect(tx.byOid(oid)).toBe(o)
    await tx.commit()

    const tx2 = image.begin()
    const o2 = tx2.byOid(oid)!
    expect(o2).toBe(tx2.root.o)
    expect(o2).toBe(tx2.root.list[0])
    expect(o2).not.toBe(o) // another transaction, another proxy …
    expect(tx2.objectOf(o2)).toBe(tx.objectOf(o)) // … for the same object
    tx2.abort()

    const reopened = await ctx.reopen()
    const tx3 = reopened.begin()
    expect(tx3.byOid(oid)).toBe(tx3.root.o)
    expect(tx3.root.list[1].o).toBe(tx3.root.o)
    tx3.abort()
  })

  it('only new objects reachable from the committed graph are written', async () => {
    const image = ctx.image
    const before = await image.check()
    const tx = image.begin()
    const kept = tx.root.clone()
    tx.root.kept = kept
    const viaNew = tx.root.clone() // reachable only through another new object
    kept.child = viaNew
    const viaData = tx.root.clone() // reachable only from inside a data array
    tx.root.list = [1, { deep: [viaData] }]
    const loose = tx.root.clone() // kept only in a local variable
    loose.x = 1
    const looseChild = loose.clone() // references a loose object, but nothing references it
    looseChild.up = kept
    const info = await tx.commit()
    const written = new Set(info.oids)
    for (const o of [kept, viaNew, viaData]) expect(written.has(oidOf(tx, o))).toBe(true)
    for (const o of [loose, looseChild]) expect(written.has(oidOf(tx, o))).toBe(false)

    const after = await image.check()
    expect(after.objects).toBe(before.objects + 3)
    expect(after.unreachable).toBe(0)
    const tx2 = image.begin()
    expect(tx2.byOid(oidOf(tx, loose))).toBeUndefined()
    expect(tx2.byOid(oidOf(tx, looseChild))).toBeUndefined()
    expect(tx2.byOid(oidOf(tx, viaNew))).toBe(tx2.root.kept.child)
    tx2.abort()
  })

  it('an object created first and attached later in the same transaction is written and survives reopen', async () => {
    const image = ctx.image
    const tx = image.begin()
    const later = tx.root.clone()
    later.v = 'v'
    tx.root.x = 1
    tx.root.later = later
    const info = await tx.commit()
    expect(info.oids).toContain(oidOf(tx, later))
    const reopened = await ctx.reopen()
    const tx2 = reopened.begin()
    expect((tx2.root.later as P).v).toBe('v')
    tx2.abort()
  })

  it('lastTid and the transaction log survive close and reopen; new tids continue after them', async () => {
    const image = ctx.image
    const tids: number[] = []
    for (let i = 0; i < 3; i++) tids.push((await image.transact((tx) => { tx.root.n = i })).info.tid!)
    const reopened = await ctx.reopen()
    expect(reopened.lastTid).toBe(tids[2])
    expect((await reopened.transactions()).map((t) => t.tid).slice(0, 3)).toEqual([...tids].reverse())
    const next = (await reopened.transact((tx) => { tx.root.n = 99 })).info.tid!
    expect(next).toBeGreaterThan(tids[2]!)
    // New objects get fresh oids after reopen (no reuse of committed ones).
    const tx = reopened.begin()
    const fresh = tx.root.clone()
    expect(oidOf(tx, fresh)).toBeGreaterThan(Math.max(...(await reopened.transactions()).flatMap((t) => t.oids)))
    tx.abort()
  })

  it('a closed image refuses new transactions, commits and loads with IMAGE_CLOSED', async () => {
    const image = ctx.image
    await image.transact((tx) => { tx.root.kid = tx.root.clone() })
    const reopened = await ctx.reopen()
    const tx = reopened.begin()
    tx.root.x = 1 // loads the root before the close
    await reopened.close()
    expect(thrown(() => reopened.begin()).code).toBe('IMAGE_CLOSED')
    expect((await rejected(tx.commit())).code).toBe('IMAGE_CLOSED')
    const late = thrown(() => tx.root.kid.anything)
    expect(late.code).toBe('IMAGE_CLOSED') // the kid is a ghost: loading it needs the store
    await reopened.close() // closing twice is harmless
  })
}
