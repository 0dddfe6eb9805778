// Commit chains: one writer's transactions see its earlier ones as soon as those are accepted into
// the commit queue, share fsyncs with them, and are never durable (or visible to anyone else) without them.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CommitChain } from '../../src/image/index.js'
import type { Image } from '../../src/image/index.js'
import type { Obj } from '../../src/kernel/index.js'
import { UvmError } from '../../src/errors.js'
import { scratchImage } from '../support/images.js'
import type { ScratchImage } from '../support/images.js'

let s: ScratchImage
let image: Image
let o: Obj

beforeEach(async () => {
  s = await scratchImage('classic-level')
  image = s.image
  const { value } = await image.transact((tx) => { const w = tx.genesis.prototypes.clone(); w.x = 0; tx.genesis.ChainTest = w; return tx.objectOf(w) })
  o = value
})
afterEach(async () => { await s.dispose() })

/** Wrap store.write: `hold` makes the next write wait for release(); `failNext` makes the next write fail. */
function instrument(img: Image) {
  const store = img.store
  const real = Object.getPrototypeOf(store).write as typeof store.write
  const state = { writes: 0, failNext: false, held: undefined as undefined | { release: () => void; fail: () => void } }
  let gate: Promise<void> | undefined
  let open: (() => void) | undefined
  let shut: ((e: Error) => void) | undefined
  store.write = async function (ops, sync) {
    state.writes++
    if (gate !== undefined) { const g = gate; gate = undefined; await g }
    if (state.failNext) { state.failNext = false; throw new Error('disk on fire (test)') }
    return real.call(store, ops, sync)
  }
  return {
    state,
    /** The next write waits until the returned release() or fail(). */
    hold() {
      gate = new Promise<void>((r, j) => { open = r; shut = j })
      gate.catch(() => {}) // awaited by the write; failing it before the write starts is no unhandled rejection
      return { release: () => open!(), fail: () => shut!(new Error('disk on fire (test)')) }
    },
    restore() { delete (store as { write?: unknown }).write },
  }
}

const readX = (img: Image, obj: Obj, chain?: CommitChain): number => {
  const tx = img.begin({}, chain)
  try { return (tx.proxy(obj) as { x: number }).x } finally { tx.abort() }
}

describe('commit chains', () => {
  it('a chained transaction sees the queued ones before it; nobody else does until they are durable', async () => {
    const io = instrument(image)
    const gate = io.hold()
    const chain = new CommitChain()
    const tx1 = image.begin({}, chain)
    ;(tx1.proxy(o) as { x: number }).x = 1
    const p1 = tx1.commit()
    const tx2 = image.begin({}, chain)
    expect((tx2.proxy(o) as { x: number }).x).toBe(1)
    ;(tx2.proxy(o) as { x: number }).x = 2
    const p2 = tx2.commit()
    // Outside the chain: the committed value, while both wait for the disk.
    await new Promise((r) => setImmediate(r))
    expect(readX(image, o)).toBe(0)
    expect(readX(image, o, chain)).toBe(2)
    gate.release()
    const [i1, i2] = await Promise.all([p1, p2])
    expect(i2.tid).toBe(i1.tid! + 1)
    expect(io.state.writes).toBe(1) // one batch, one fsync
    expect(readX(image, o)).toBe(2)
    io.restore()
    const reopened = await s.reopen()
    const again = reopened.handle(o.oid)
    expect(readX(reopened, again)).toBe(2)
    expect((await reopened.history(o.oid)).map((r) => r.tid)).toEqual(expect.arrayContaining([i1.tid, i2.tid]))
    expect((await reopened.check()).ok).toBe(true)
  })

  it('a failed batch fails every transaction accepted after it; the chain then starts afresh; the image reopens clean', async () => {
    const io = instrument(image)
    const gate = io.hold()
    const chain = new CommitChain()
    const commitX = (v: number) => { const tx = image.begin({}, chain); (tx.proxy(o) as { x: number }).x = v; return { tx, p: tx.commit() } }
    const a = commitX(1) // in the batch being written (held)
    await new Promise((r) => setImmediate(r)) // the batch has started
    const b = commitX(2) // queued for the next batch, read a's state
    const other = image.transact((tx) => { const n = tx.genesis.prototypes.clone(); n.y = 1; tx.genesis.Other = n; return 1 }, { retries: 0 }).then(() => 'ok', (e: unknown) => e)
    // c began (seeing a and b) before the failure, and commits after it
    const c = image.begin({}, chain)
    expect((c.proxy(o) as { x: number }).x).toBe(2)
    const results = Promise.allSettled([a.p, b.p])
    gate.fail()
    const [ra, rb] = await results
    expect(ra.status).toBe('rejected')
    expect(rb.status).toBe('rejected')
    for (const r of [ra, rb]) {
      const e = (r as PromiseRejectedResult).reason as UvmError
      expect(e).toBeInstanceOf(UvmError)
      expect(e.code).toBe('IMAGE_WRITE_FAILED')
      expect(e.retryable).toBe(false)
    }
    // `other` was accepted after the failing batch, so it failed too, and said so
    expect(((await other) as UvmError).code).toBe('IMAGE_WRITE_FAILED')
    ;(c.proxy(o) as { x: number }).x = 3
    const rc = await c.commit().then(() => undefined, (e: unknown) => e as UvmError)
    expect(rc?.code).toBe('IMAGE_WRITE_FAILED')
    // Nothing of them is visible; a new transaction on the chain sees the committed state and commits.
    expect(readX(image, o)).toBe(0)
    expect(readX(image, o, chain)).toBe(0)
    const d = commitX(4)
    const info = await d.p
    expect(readX(image, o)).toBe(4)
    io.restore()
    const reopened = await s.reopen()
    expect(readX(reopened, reopened.handle(o.oid))).toBe(4)
    expect(reopened.lastTid).toBe(info.tid)
    const tids = (await reopened.transactions({ limit: 5 })).map((t) => t.tid)
    expect(tids[0]).toBe(info.tid)
    const report = await reopened.check()
    expect(report.ok).toBe(true)
  })

  it('a conflict is decided when the transaction is accepted: the chain does not depend on a transaction that lost', async () => {
    const chain = new CommitChain()
    const tx1 = image.begin({}, chain)
    const rival = image.begin()
    ;(rival.proxy(o) as { x: number }).x = 10
    const pr = rival.commit() // accepted first
    ;(tx1.proxy(o) as { x: number }).x = 1
    const e = await tx1.commit().then(() => undefined, (err: unknown) => err as UvmError)
    expect(e?.code).toBe('IMAGE_CONFLICT')
    expect(chain.last).toBeUndefined()
    await pr
    expect(readX(image, o, chain)).toBe(10)
  })

  it('a read-only transaction that saw queued states settles only once they are durable, and fails with them', async () => {
    const io = instrument(image)
    const chain = new CommitChain()
    const order: string[] = []
    let gate = io.hold()
    const tx1 = image.begin({}, chain)
    ;(tx1.proxy(o) as { x: number }).x = 1
    const p1 = tx1.commit().then(() => order.push('write'))
    const ro = image.begin({}, chain)
    expect((ro.proxy(o) as { x: number }).x).toBe(1)
    const p2 = ro.commit().then((info) => { order.push('read'); expect(info.tid).toBeUndefined() })
    await new Promise((r) => setImmediate(r))
    expect(order).toEqual([])
    gate.release()
    await Promise.all([p1, p2])
    expect(order).toEqual(['write', 'read'])

    gate = io.hold()
    const tx3 = image.begin({}, chain)
    ;(tx3.proxy(o) as { x: number }).x = 3
    const p3 = tx3.commit().then(() => 'ok', (e: UvmError) => e.code)
    const ro2 = image.begin({}, chain)
    expect((ro2.proxy(o) as { x: number }).x).toBe(3)
    const p4 = ro2.commit().then(() => 'ok', (e: UvmError) => e.code)
    await new Promise((r) => setImmediate(r))
    gate.fail()
    expect(await p3).toBe('IMAGE_WRITE_FAILED')
    expect(await p4).toBe('IMAGE_WRITE_FAILED')
    io.restore()
    expect(readX(image, o)).toBe(1)
  })

  it('objects created by a queued transaction are there for the chain, and only for it', async () => {
    const io = instrument(image)
    const gate = io.hold()
    const chain = new CommitChain()
    const tx1 = image.begin({}, chain)
    const made = tx1.genesis.prototypes.clone()
    made.x = 7
    tx1.genesis.Made = made
    const madeObj = tx1.objectOf(made)
    const p1 = tx1.commit()
    const tx2 = image.begin({}, chain)
    expect(tx2.byOid(madeObj.oid)).toBeDefined()
    expect((tx2.proxy(madeObj) as { x: number }).x).toBe(7)
    ;(tx2.proxy(madeObj) as { x: number }).x = 8
    const p2 = tx2.commit()
    const outsider = image.begin()
    expect(outsider.byOid(madeObj.oid)).toBeUndefined()
    expect(outsider.read(outsider.objectOf(outsider.genesis)).slots.has('Made')).toBe(false)
    outsider.abort()
    gate.release()
    await Promise.all([p1, p2])
    io.restore()
    const reopened = await s.reopen()
    expect(readX(reopened, reopened.handle(madeObj.oid))).toBe(8)
  })
})
