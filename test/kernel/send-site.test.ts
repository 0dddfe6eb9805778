/**
 * Send sites (src/kernel/send-site.ts): an explicit send with an inline cache,
 * valid for one view while it changes nothing. Every way a view can change
 * must make the site answer anew.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Image, Transaction } from '../../src/image/index.js'
import type { Obj } from '../../src/kernel/index.js'
import { scratchImage } from '../support/images.js'
import type { ScratchImage } from '../support/images.js'

let s: ScratchImage
let image: Image
beforeEach(async () => {
  s = await scratchImage()
  image = s.image
  await image.transact((tx) => {
    const p = tx.root.clone()
    p.x = 1
    p.m = function (a: number) { return 'm1:' + a }
    p.bump = function () { (this as any).x = (this as any).x + 1; return (this as any).x }
    const c = p.clone().clone()
    tx.root.p = p
    tx.root.c = c
  })
})
afterEach(async () => { await s.dispose() })

const c = (tx: Transaction): Obj => tx.objectOf(tx.root.c)

describe('send sites', () => {
  it('answer data and methods three parents up, and again from the cache', () => {
    const x = image.kernel.site('x'), m = image.kernel.site('m')
    const tx = image.begin()
    for (let i = 0; i < 3; i++) {
      expect(x.send(tx, c(tx))).toBe(1)
      expect(m.send(tx, c(tx), [i])).toBe('m1:' + i)
    }
    tx.abort()
  })

  it('a write in the view (a new value, a redefined method, an override) is seen at once', () => {
    const x = image.kernel.site('x'), m = image.kernel.site('m')
    const tx = image.begin()
    expect([x.send(tx, c(tx)), m.send(tx, c(tx), [0])]).toEqual([1, 'm1:0'])
    tx.root.p.x = 2
    tx.root.p.m = function (a: number) { return 'm2:' + a }
    expect([x.send(tx, c(tx)), m.send(tx, c(tx), [0])]).toEqual([2, 'm2:0'])
    tx.root.c.x = 3 // an override on the receiver
    expect(x.send(tx, c(tx))).toBe(3)
    tx.abort()
  })

  it('a method that writes renews the view: the next send sees what it wrote', () => {
    const bump = image.kernel.site('bump'), x = image.kernel.site('x')
    const tx = image.begin()
    expect(x.send(tx, c(tx))).toBe(1)
    expect(bump.send(tx, c(tx))).toBe(2)
    expect(x.send(tx, c(tx))).toBe(2)
    expect(bump.send(tx, c(tx))).toBe(3)
    tx.abort()
  })

  it('a savepoint rollback is seen', () => {
    const x = image.kernel.site('x')
    const tx = image.begin()
    const sp = tx.savepoint()
    tx.root.p.x = 5
    expect(x.send(tx, c(tx))).toBe(5)
    sp.rollback()
    expect(x.send(tx, c(tx))).toBe(1)
    tx.abort()
  })

  it('each transaction gets its own answers (snapshots differ), and an ended one reads the latest', async () => {
    const x = image.kernel.site('x')
    const old = image.begin()
    expect(x.send(old, c(old))).toBe(1)
    await image.transact((tx) => { tx.root.p.x = 7 })
    const fresh = image.begin()
    expect(x.send(fresh, c(fresh))).toBe(7)
    expect(x.send(old, c(old))).toBe(1)
    old.abort()
    expect(x.send(old, c(old))).toBe(7) // an ended view reads the latest committed state
    fresh.abort()
  })

  it('doesNotUnderstand: is never remembered: a slot added later answers', () => {
    const y = image.kernel.site('y')
    const tx = image.begin()
    expect(() => y.send(tx, c(tx))).toThrow(expect.objectContaining({ code: 'KERNEL_DOES_NOT_UNDERSTAND' }))
    tx.root.p.y = 'now'
    expect(y.send(tx, c(tx))).toBe('now')
    tx.abort()
  })

  it('receivers that share a cache line (oids equal modulo its size) each get their own answer', async () => {
    const oids: number[] = []
    await image.transact((tx) => {
      const list = []
      for (let i = 0; i < 200; i++) { const o = tx.root.p.clone(); o.x = i; list.push(o) }
      tx.root.list = list
    })
    const x = image.kernel.site('x')
    const tx = image.begin()
    const objs = [...tx.root.list].map((p) => tx.objectOf(p))
    for (const o of objs) oids.push(o.oid)
    expect(new Set(oids.map((o) => o & 63)).size).toBeLessThan(oids.length)
    for (let round = 0; round < 2; round++) objs.forEach((o, i) => expect(x.send(tx, o)).toBe(i))
    tx.abort()
  })

  it('past the bound on interned sites (an act inventing selectors), sends take the general path and stay correct', async () => {
    await image.transact((tx) => { for (let i = 0; i < 5000; i++) tx.root.p['s' + i] = i })
    const tx = image.begin()
    for (let i = 0; i < 5000; i++) expect(tx.send(tx.root.c, 's' + i)).toBe(i)
    expect(tx.send(tx.root.c, 'x')).toBe(1)
    // Alternating selectors (interned, past the bound, repeated): each send answers its own selector.
    for (let i = 0; i < 3; i++) {
      for (const [sel, v] of [['s4999', 4999], ['x', 1], ['x', 1], ['s0', 0], ['s4998', 4998], ['s0', 0]] as const) {
        expect(tx.send(tx.root.c, sel)).toBe(v)
      }
    }
    tx.abort()
  })

  it('kernel.send and tx.send go through interned sites and stay correct across all of the above', () => {
    const tx = image.begin()
    expect(tx.send(tx.root.c, 'x')).toBe(1)
    expect(image.kernel.send(tx, c(tx), 'x', [])).toBe(1)
    tx.root.p.x = 4
    expect(tx.send(tx.root.c, 'x')).toBe(4)
    tx.abort()
  })
})
