import { expect, it } from 'vitest'
import type { Backend } from '../../support/images.js'
import { oidOf } from '../../support/uvm.js'
import { freshImagePerTest } from './fixture.js'

export function historyConformance(backend: Backend): void {
  const ctx = freshImagePerTest(backend)

  it('history(oid) lists the revisions newest first, with their transactions\' metadata', async () => {
    const image = ctx.image
    let oid = 0
    const t1 = (await image.transact((tx) => { const o = tx.root.clone(); tx.root.o = o; oid = oidOf(tx, o) }, { meta: { user: 'ada', description: 'create' } })).info
    await image.transact((tx) => { tx.root.unrelated = 1 }, { meta: { description: 'elsewhere' } })
    const t2 = (await image.transact((tx) => { tx.root.o.x = 1 }, { meta: { user: 'bob', description: 'set x' } })).info
    const t3 = (await image.transact((tx) => { tx.root.o.x = 2 }, { meta: { user: 'carol', description: 'bump x' } })).info

    const h = await image.history(oid)
    expect(h.map((r) => r.tid)).toEqual([t3.tid, t2.tid, t1.tid])
    expect(h[0]).toEqual({ tid: t3.tid, time: t3.time, user: 'carol', description: 'bump x' })
    expect(h[1]).toMatchObject({ user: 'bob', description: 'set x' })
    expect(h[2]).toMatchObject({ user: 'ada', description: 'create' })
    expect((await image.history(oid, { limit: 2 })).map((r) => r.tid)).toEqual([t3.tid, t2.tid])
    expect(await image.history(999_999)).toEqual([])

    const reopened = await ctx.reopen()
    expect((await reopened.history(oid)).map((r) => r.tid)).toEqual([t3.tid, t2.tid, t1.tid])
  })

  it('transactions() lists records newest first, with limit and before', async () => {
    const image = ctx.image
    const tids: number[] = [image.lastTid]
    for (let i = 0; i < 4; i++) tids.push((await image.transact((tx) => { tx.root.i = i }, { meta: { description: `t${i}` } })).info.tid!)
    const all = await image.transactions()
    expect(all.map((t) => t.tid)).toEqual([...tids].reverse())
    expect(all[0]!.description).toBe('t3')
    expect(all[0]!.oids).toEqual([image.root.oid])
    expect((await image.transactions({ limit: 2 })).map((t) => t.tid)).toEqual([tids[4], tids[3]])
    expect((await image.transactions({ before: tids[3]! })).map((t) => t.tid)).toEqual([tids[2], tids[1], tids[0]])
    expect((await image.transactions({ before: tids[3]!, limit: 1 })).map((t) => t.tid)).toEqual([tids[2]])
    expect(await image.transaction(123456)).toBeUndefined()
  })

  it('tids strictly increase across commits and reopen', async () => {
    const seen: number[] = []
    for (let i = 0; i < 3; i++) seen.push((await ctx.image.transact((tx) => { tx.root.i = i })).info.tid!)
    const image = await ctx.reopen()
    for (let i = 0; i < 3; i++) seen.push((await image.transact((tx) => { tx.root.i = i + 10 })).info.tid!)
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!)
  })
}
