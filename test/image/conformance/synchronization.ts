import { expect, it } from 'vitest'
import type { Backend } from '../../support/images.js'
import type { P } from '../../support/uvm.js'
import { oidOf, rejected, tick } from '../../support/uvm.js'
import { freshImagePerTest } from './fixture.js'

export function synchronizationConformance(backend: Backend): void {
  const ctx = freshImagePerTest(backend)

  const setup = async () => {
    const image = ctx.image
    await image.transact((tx) => {
      tx.root.x = 1
      const a = tx.root.clone(); a.v = 'a'
      const b = tx.root.clone(); b.v = 'b'
      tx.root.a = a
      tx.root.b = b
      tx.root.child = a
    })
    return image
  }

  it('a transaction never sees another\'s uncommitted writes', async () => {
    const image = await setup()
    const tx1 = image.begin()
    const tx2 = image.begin()
    tx1.root.x = 2
    tx1.root.fresh = 'only in tx1'
    const made = tx1.root.clone()
    tx1.root.made = made
    expect(tx2.root.x).toBe(1)
    expect(tx2.root.hasSlot('fresh')).toBe(false)
    expect(tx2.byOid(oidOf(tx1, made))).toBeUndefined()
    const tx3 = image.begin()
    expect(tx3.root.x).toBe(1)
    tx1.abort(); tx2.abort(); tx3.abort()
  })

  it('snapshot: a transaction begun before another commits keeps seeing the old state', async () => {
    const image = await setup()
    const reader = image.begin()
    expect(reader.root.x).toBe(1) // loaded before the commit …
    const writer = image.begin()
    writer.root.x = 2
    writer.root.b.v = 'b2' // … and one not loaded before it
    writer.root.child = writer.root.b
    writer.root.added = true
    await writer.commit()
    expect(reader.root.x).toBe(1)
    expect(reader.root.b.v).toBe('b')
    expect(reader.root.child.v).toBe('a')
    expect(reader.root.hasSlot('added')).toBe(false)
    expect(Array.from(reader.root.slotNames())).not.toContain('added')
    const later = image.begin()
    expect(later.root.x).toBe(2)
    expect(later.root.child.v).toBe('b2')
    later.abort()
    // The stale reader writing what it read is a conflict, not a lost update.
    reader.root.x = reader.root.x + 10
    const e = await rejected(reader.commit())
    expect(e.code).toBe('IMAGE_CONFLICT')
  })

  it('snapshot reads walk back over several later commits, also for objects evicted meanwhile', async () => {
    const image = await setup()
    const reader = image.begin()
    for (const v of [2, 3, 4]) {
      await image.transact((tx) => { tx.root.x = v; tx.root.a.v = 'a' + v })
    }
    image.cache.clear() // the reader's objects become ghosts: loads bring the newest revision back
    expect(reader.root.x).toBe(1)
    expect(reader.root.a.v).toBe('a')
    const now = image.begin()
    expect(now.root.x).toBe(4)
    expect(now.root.a.v).toBe('a4')
    now.abort()
    reader.abort()
  })

  it('two transactions writing the same object: the second commit fails with Conflict and writes nothing', async () => {
    const image = await setup()
    const tx1 = image.begin()
    const tx2 = image.begin()
    tx1.root.a.v = 'from tx1'
    tx2.root.a.v = 'from tx2'
    tx2.root.b.v = 'also from tx2'
    const kid = tx2.root.clone()
    tx2.root.b.kid = kid
    await tx1.commit()
    const lastTid = image.lastTid
    const txCount = (await image.transactions()).length
    const objects = (await image.check()).objects

    const e = await rejected(tx2.commit())
    expect(e.code).toBe('IMAGE_CONFLICT')
    expect(e.retryable).toBe(true)
    expect(e.name).toBe('Conflict')
    expect(e.oids).toEqual([oidOf(tx2, tx2.root.a)])
    expect(tx2.status).toBe('aborted')
    expect(image.lastTid).toBe(lastTid)
    expect(await image.transactions()).toHaveLength(txCount)
    expect((await image.check()).objects).toBe(objects)
    const tx3 = image.begin()
    expect(tx3.root.a.v).toBe('from tx1')
    expect(tx3.root.b.v).toBe('b')
    expect(tx3.root.b.hasSlot('kid')).toBe(false)
    tx3.abort()
  })

  it('conflicting transactions committed at the same moment: exactly one wins', async () => {
    const image = await setup()
    const before = image.lastTid
    const txs = [image.begin(), image.begin(), image.begin()]
    txs.forEach((tx, i) => { tx.root.a.v = `writer ${i}` })
    const results = await Promise.allSettled(txs.map((tx) => tx.commit()))
    const won = results.filter((r) => r.status === 'fulfilled')
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(won).toHaveLength(1)
    expect((won[0] as PromiseFulfilledResult<{ tid: number }>).value.tid).toBe(before + 1)
    expect(lost.map((r) => r.reason.code)).toEqual(['IMAGE_CONFLICT', 'IMAGE_CONFLICT'])
    expect(image.lastTid).toBe((won[0] as PromiseFulfilledResult<{ tid: number }>).value.tid) // losers consume no tid
    const winner = results.findIndex((r) => r.status === 'fulfilled')
    const tx = image.begin()
    expect(tx.root.a.v).toBe(`writer ${winner}`)
    tx.abort()
  })

  it('transactions writing different objects do not conflict', async () => {
    const image = await setup()
    const tx1 = image.begin()
    const tx2 = image.begin()
    tx1.root.a.v = 'a2'
    tx2.root.b.v = 'b2'
    await tx1.commit()
    await tx2.commit()
    const tx = image.begin()
    expect([tx.root.a.v, tx.root.b.v]).toEqual(['a2', 'b2'])
    tx.abort()
  })

  it('image.transact retries a conflict with a fresh transaction and succeeds', async () => {
    const image = await setup()
    let attempts = 0
    const { value, info } = await image.transact(async (tx) => {
      attempts++
      const next = tx.root.x + 1
      tx.root.x = next
      if (attempts === 1) await image.transact((other) => { other.root.x = 100 }) // commits first
      return next
    }, { retries: 3, meta: { description: 'retrying' } })
    expect(attempts).toBe(2)
    expect(value).toBe(101)
    expect((await image.transaction(info.tid!))!.description).toBe('retrying')
    const tx = image.begin()
    expect(tx.root.x).toBe(101)
    tx.abort()
  })

  it('image.transact gives up after `retries` and rethrows the Conflict; other errors are not retried', async () => {
    const image = await setup()
    let attempts = 0
    const e = await rejected(image.transact(async (tx) => {
      attempts++
      tx.root.x = attempts
      await image.transact((other) => { other.root.x = -attempts })
    }, { retries: 2 }))
    expect(e.code).toBe('IMAGE_CONFLICT')
    expect(attempts).toBe(3)

    let calls = 0
    const lastTid = image.lastTid
    const boom = await rejected(image.transact((tx) => { calls++; tx.root.x = 'never'; throw new Error('boom') }, { retries: 5 }))
    expect(boom.message).toBe('boom')
    expect(calls).toBe(1)
    expect(image.lastTid).toBe(lastTid)
  })

  it('20 concurrent async transactions incrementing one counter (with awaits inside) end with the right count', async () => {
    const image = ctx.image
    await image.transact((tx) => { tx.root.counter = 0; tx.root.log = [] })
    let attempts = 0
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => image.transact(async (tx) => {
      attempts++
      const seen = tx.root.counter as number
      await tick()
      tx.root.log.push(i)
      await Promise.resolve()
      tx.root.counter = seen + 1
      return seen + 1
    }, { retries: 200 })))
    expect(results.map((r) => r.value).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    const tids = results.map((r) => r.info.tid!)
    expect(new Set(tids).size).toBe(20)
    expect(attempts).toBeGreaterThan(20) // there really was contention
    const tx = image.begin()
    expect(tx.root.counter).toBe(20)
    expect([...tx.root.log].sort((a: number, b: number) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    tx.abort()
  })

  it('group commit: 4 concurrent writers on distinct objects all commit, with unique increasing tids', async () => {
    const image = ctx.image
    await image.transact((tx) => {
      tx.root.cells = Array.from({ length: 4 }, () => tx.root.clone())
    })
    const seen: number[] = []
    const off = image.onCommit((info) => seen.push(info.tid))
    const txs = Array.from({ length: 4 }, (_, i) => {
      const tx = image.begin({ description: `writer ${i}` })
      ;(tx.root.cells as P[])[i]!.value = i
      return tx
    })
    const before = image.lastTid
    const infos = await Promise.all(txs.map((tx) => tx.commit()))
    off()
    const tids = infos.map((i) => i.tid!)
    expect(new Set(tids).size).toBe(4)
    for (let i = 1; i < tids.length; i++) expect(tids[i]).toBeGreaterThan(tids[i - 1]!)
    expect(tids[0]).toBe(before + 1)
    expect(tids[3]).toBe(before + 4)
    expect(image.lastTid).toBe(before + 4)
    expect(seen).toEqual(tids)
    const records = await image.transactions({ limit: 4 })
    expect(records.map((r) => r.description)).toEqual(['writer 3', 'writer 2', 'writer 1', 'writer 0'])
    const reopened = await ctx.reopen()
    const tx = reopened.begin()
    expect((tx.root.cells as P[]).map((c) => c.value)).toEqual([0, 1, 2, 3])
    tx.abort()
    expect((await reopened.check()).ok).toBe(true)
  })

  it('in a commit group, a transaction with nothing reachable to store takes no tid', async () => {
    const image = ctx.image
    const before = image.lastTid
    const loose = image.begin()
    loose.root.clone().x = 'nobody reaches me'
    const real = image.begin()
    real.root.x = 'stored'
    const [a, b] = await Promise.all([loose.commit(), real.commit()])
    expect(a.tid).toBeUndefined()
    expect(b.tid).toBe(before + 1)
    expect(image.lastTid).toBe(before + 1)
    expect((await image.transactions())[0]!.tid).toBe(before + 1)
  })

  it('close waits for commits in flight', async () => {
    const image = ctx.image
    const tx = image.begin()
    tx.root.x = 'in flight'
    const pending = tx.commit()
    await image.close()
    const info = await pending
    expect(info.tid).toBeDefined()
    const reopened = await ctx.reopen()
    const tx2 = reopened.begin()
    expect(tx2.root.x).toBe('in flight')
    tx2.abort()
  })
}
