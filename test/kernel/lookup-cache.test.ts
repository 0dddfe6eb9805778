import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Image, Transaction } from '../../src/image/index.js'
import type { CacheEntry } from '../../src/kernel/index.js'
import { scratchImage } from '../support/images.js'
import type { P } from '../support/uvm.js'

/**
 * The per-receiver lookup cache (Obj.lookupCache) must never answer a stale
 * holder: structure changes within a transaction bypass it, committed ones
 * invalidate it, and older snapshots never trust entries newer than they are.
 */
describe('lookup cache', () => {
  let s: Awaited<ReturnType<typeof scratchImage>>
  let image: Image
  let oids: { p: number; m: number; c: number; q: number }

  const entry = (tx: Transaction, o: P, selector: string): CacheEntry | undefined => tx.objectOf(o).lookupCache?.get(selector)
  const holderOid = (tx: Transaction, o: P, selector: string) => entry(tx, o, selector)?.holder?.oid
  const view = (tx: Transaction) => {
    const objs = {
      p: tx.byOid(oids.p)!,
      m: tx.byOid(oids.m)!,
      c: tx.byOid(oids.c)!,
      q: tx.byOid(oids.q)!,
    }
    return objs
  }

  // c → m → p (p holds greet); q is another prototype with its own greet.
  beforeEach(async () => {
    s = await scratchImage()
    image = s.image
    const tx = image.begin()
    const p = tx.root.clone()
    p.greet = function () { return 'p' }
    const m = p.clone()
    const c = m.clone()
    const q = tx.root.clone()
    q.greet = function () { return 'q' }
    tx.root.objs = [p, m, c, q]
    oids = { p: tx.objectOf(p).oid, m: tx.objectOf(m).oid, c: tx.objectOf(c).oid, q: tx.objectOf(q).oid }
    await tx.commit()
  })
  afterEach(async () => {
    await s.dispose()
  })

  it('a structural commit elsewhere keeps the entry (checked exactly, then trusted again); one on the path replaces it', async () => {
    const tx1 = image.begin()
    expect(view(tx1).c.greet()).toBe('p')
    const first = entry(tx1, view(tx1).c, 'greet')!
    const epoch = image.kernel.structEpoch
    tx1.abort()
    // An unrelated object gains a slot: the epoch moves, the path did not change.
    await image.transact((tx) => { view(tx).q.extra = 1 })
    expect(image.kernel.structEpoch).toBe(epoch + 1)
    const tx2 = image.begin()
    expect(view(tx2).c.greet()).toBe('p')
    expect(entry(tx2, view(tx2).c, 'greet')).toBe(first)
    expect(first.epoch).toBe(image.kernel.structEpoch)
    tx2.abort()
    // A slot added on the path (an override on m): a new walk, a new entry.
    await image.transact((tx) => { view(tx).m.greet = function () { return 'm' } })
    const tx3 = image.begin()
    expect(view(tx3).c.greet()).toBe('m')
    expect(entry(tx3, view(tx3).c, 'greet')).not.toBe(first)
    tx3.abort()
  })

  it('a view older than a cache entry never trusts it, even when the epoch has not moved since', async () => {
    const old = image.begin()
    await image.transact((tx) => { view(tx).m.greet = function () { return 'm' } })
    const fresh = image.begin()
    expect(view(fresh).c.greet()).toBe('m') // fills the entry after the override, at the current epoch
    const e = entry(fresh, view(fresh).c, 'greet')!
    expect(e.epoch).toBe(image.kernel.structEpoch)
    expect(e.filledAt).toBeGreaterThan(old.snapshot)
    expect(view(old).c.greet()).toBe('p') // its snapshot predates the override
    expect(view(fresh).c.greet()).toBe('m')
    old.abort()
    fresh.abort()
  })

  it('a view older than the holder\'s last commit reads its own revision, though a newer view refreshed the cached value', async () => {
    await image.transact((tx) => { view(tx).p.x = 1 })
    const old = image.begin()
    expect([old.send(view(old).c, 'x'), view(old).c.x]).toEqual([1, 1])
    await image.transact((tx) => { view(tx).p.x = 2 }) // a value change: no structure moved, the epoch stands
    const fresh = image.begin()
    expect([fresh.send(view(fresh).c, 'x'), view(fresh).c.x]).toEqual([2, 2]) // refreshes the entry's value
    expect([old.send(view(old).c, 'x'), view(old).c.x, image.kernel.send(old, old.objectOf(view(old).c)!, 'x', [])]).toEqual([1, 1, 1])
    // the same for a method: the old view runs the method its snapshot holds
    await image.transact((tx) => { view(tx).p.v = function () { return 'v1' } })
    const older = image.begin()
    expect(view(older).c.v()).toBe('v1')
    await image.transact((tx) => { view(tx).p.v = function () { return 'v2' } })
    const newer = image.begin()
    expect([newer.send(view(newer).c, 'v'), view(newer).c.v()]).toEqual(['v2', 'v2'])
    expect([older.send(view(older).c, 'v'), view(older).c.v()]).toEqual(['v1', 'v1'])
    for (const t of [old, fresh, older, newer]) t.abort()
  })

  it('is filled by a send and hit by the next one (same entry, no new walk)', () => {
    const tx = image.begin()
    const { c, p } = view(tx)
    expect(tx.objectOf(c).lookupCache?.has('greet') ?? false).toBe(false)
    expect(c.greet()).toBe('p')
    const first = entry(tx, c, 'greet')
    expect(first).toBeDefined()
    expect(first!.holder).toBe(tx.objectOf(p))
    expect(first!.deps.map((d) => d.oid)).toEqual([oids.c, oids.m, oids.p])
    expect(c.greet()).toBe('p')
    expect(tx.send(c, 'greet')).toBe('p')
    expect(entry(tx, c, 'greet')).toBe(first)
    // Misses are cached too (then answered by doesNotUnderstand:).
    expect(c.respondsTo('nothing')).toBe(false)
    const miss = entry(tx, c, 'nothing')
    expect(miss).toBeDefined()
    expect(miss!.holder).toBeUndefined()
    expect(c.respondsTo('nothing')).toBe(false)
    expect(entry(tx, c, 'nothing')).toBe(miss)
    tx.abort()
  })

  it('redefining the parent method inside the transaction after it was cached runs the new one', () => {
    const tx = image.begin()
    const { c, p } = view(tx)
    expect(c.greet()).toBe('p')
    const cached = entry(tx, c, 'greet')
    p.greet = function () { return 'p2' } // same slot, new value: not a structure change
    expect(c.greet()).toBe('p2')
    expect(entry(tx, c, 'greet')).toBe(cached) // still the right holder
    tx.abort()
    const tx2 = image.begin()
    expect(view(tx2).c.greet()).toBe('p') // the abort left the committed method
    tx2.abort()
  })

  it('redefining the parent method in a committed transaction is seen by the next one', async () => {
    const tx0 = image.begin()
    expect(view(tx0).c.greet()).toBe('p')
    tx0.abort()
    const tx1 = image.begin()
    view(tx1).p.greet = function () { return 'p2' }
    await tx1.commit()
    const tx2 = image.begin()
    expect(view(tx2).c.greet()).toBe('p2')
    expect(holderOid(tx2, view(tx2).c, 'greet')).toBe(oids.p)
    tx2.abort()
  })

  it('re-parenting: within the transaction, and across a commit (the old entry is replaced)', async () => {
    const tx0 = image.begin()
    expect(view(tx0).c.greet()).toBe('p')
    const old = entry(tx0, view(tx0).c, 'greet')
    tx0.abort()

    const tx1 = image.begin()
    const v1 = view(tx1)
    expect(v1.c.greet()).toBe('p')
    v1.c['parent*'] = v1.q
    expect(v1.c.greet()).toBe('q')
    await tx1.commit()

    const tx2 = image.begin()
    const v2 = view(tx2)
    expect(v2.c.greet()).toBe('q')
    const fresh = entry(tx2, v2.c, 'greet')
    expect(fresh).not.toBe(old)
    expect(fresh!.holder!.oid).toBe(oids.q)
    tx2.abort()
  })

  it('removing an overriding slot falls back to the parent, within and across transactions', async () => {
    const tx1 = image.begin()
    view(tx1).c.greet = function () { return 'c' }
    await tx1.commit()

    const tx2 = image.begin()
    const v2 = view(tx2)
    expect(v2.c.greet()).toBe('c')
    expect(holderOid(tx2, v2.c, 'greet')).toBe(oids.c)
    expect(v2.c.removeSlot('greet')).toBe(true)
    expect(v2.c.greet()).toBe('p')
    await tx2.commit()

    const tx3 = image.begin()
    const v3 = view(tx3)
    expect(v3.c.greet()).toBe('p')
    expect(holderOid(tx3, v3.c, 'greet')).toBe(oids.p)
    tx3.abort()
  })

  it('adding an overriding slot to an intermediate parent, within and across transactions', async () => {
    const tx0 = image.begin()
    expect(view(tx0).c.greet()).toBe('p')
    const before = entry(tx0, view(tx0).c, 'greet')
    tx0.abort()

    const tx1 = image.begin()
    const v1 = view(tx1)
    expect(v1.c.greet()).toBe('p')
    v1.m.greet = function () { return 'm' }
    expect(v1.c.greet()).toBe('m')
    await tx1.commit()

    const tx2 = image.begin()
    const v2 = view(tx2)
    expect(v2.c.greet()).toBe('m')
    expect(entry(tx2, v2.c, 'greet')).not.toBe(before)
    expect(holderOid(tx2, v2.c, 'greet')).toBe(oids.m)
    tx2.abort()
  })

  it('an aborted structure change does not disturb the cache', () => {
    const tx0 = image.begin()
    expect(view(tx0).c.greet()).toBe('p')
    const cached = entry(tx0, view(tx0).c, 'greet')
    tx0.abort()
    const tx1 = image.begin()
    const v1 = view(tx1)
    v1.m.greet = function () { return 'm' }
    v1.c['parent*'] = v1.q
    expect(v1.c.greet()).toBe('q')
    tx1.abort()
    const tx2 = image.begin()
    expect(view(tx2).c.greet()).toBe('p')
    expect(entry(tx2, view(tx2).c, 'greet')).toBe(cached)
    tx2.abort()
  })

  it('a savepoint rollback of a structure change restores the old lookup', () => {
    const tx = image.begin()
    const v = view(tx)
    expect(v.c.greet()).toBe('p')
    const sp = tx.savepoint()
    v.m.greet = function () { return 'm' }
    expect(v.c.greet()).toBe('m')
    sp.rollback()
    expect(v.c.greet()).toBe('p')
    tx.abort()
  })

  it('a view that found an entry current keeps its answer when a commit changes the value, and a newer view sees the new one', async () => {
    await image.transact((tx) => { view(tx).p.x = 1 })
    const old = image.begin()
    const c = view(old).c
    expect([c.x, c.x]).toEqual([1, 1]) // the second read is answered as checked in this view
    await image.transact((tx) => { view(tx).p.x = 2 })
    expect([c.x, old.send(c, 'x')]).toEqual([1, 1])
    const fresh = image.begin()
    expect(view(fresh).c.x).toBe(2) // refills the entry for the new state: what the old view checked is gone
    expect([c.x, old.send(c, 'x')]).toEqual([1, 1])
    expect([view(fresh).c.x, view(fresh).c.x]).toEqual([2, 2])
    expect([c.x, old.send(c, 'x')]).toEqual([1, 1])
    // A write in the view renews its stamp: the answer is checked again (and the cache bypassed).
    view(old).p.x = 3
    expect([c.x, old.send(c, 'x')]).toEqual([3, 3])
    old.abort()
    expect(view(fresh).c.x).toBe(2)
    fresh.abort()
  })

  it('a transaction begun before a structure change commits keeps its snapshot\'s lookups, even after newer ones fill the cache', async () => {
    const old = image.begin()
    expect(view(old).c.greet()).toBe('p')

    const writer = image.begin()
    view(writer).m.greet = function () { return 'm' }
    await writer.commit()

    const fresh = image.begin()
    expect(view(fresh).c.greet()).toBe('m') // fills the shared cache with the new holder
    expect(holderOid(fresh, view(fresh).c, 'greet')).toBe(oids.m)

    expect(view(old).c.greet()).toBe('p')
    expect(view(old).c.greet()).toBe('p')
    // The old snapshot's walk was not published over the newer entry.
    expect(holderOid(fresh, view(fresh).c, 'greet')).toBe(oids.m)
    expect(view(fresh).c.greet()).toBe('m')
    old.abort()
    fresh.abort()
  })

  it('stays correct after the cached objects were evicted and reloaded', async () => {
    await s.reopen()
    image = s.image
    const tx1 = image.begin()
    expect(view(tx1).c.greet()).toBe('p')
    tx1.abort()
    image.cache.clear()
    const tx2 = image.begin()
    view(tx2).m.greet = function () { return 'm' }
    await tx2.commit()
    image.cache.clear()
    const tx3 = image.begin()
    expect(view(tx3).c.greet()).toBe('m')
    tx3.abort()
  })
})
