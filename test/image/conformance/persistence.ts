import { expect, it } from 'vitest'
import { Method } from '../../../src/kernel/index.js'
import type { Backend } from '../../support/images.js'
import type { P } from '../../support/uvm.js'
import { oidOf, stateOf } from '../../support/uvm.js'
import { freshImagePerTest } from './fixture.js'

export function persistenceConformance(backend: Backend): void {
  const ctx = freshImagePerTest(backend)

  const roundTrip = async (build: (root: P) => void): Promise<P> => {
    await ctx.image.transact((tx) => build(tx.root))
    const image = await ctx.reopen()
    return image.begin().root
  }

  it.each([
    ['null', null],
    ['true', true],
    ['false', false],
    ['zero', 0],
    ['an integer', 42],
    ['a negative integer', -7],
    ['2**40', 2 ** 40],
    ['2**53 - 1', Number.MAX_SAFE_INTEGER],
    ['1.5', 1.5],
    ['a float', -1234.5678e-9],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['NaN', NaN],
    ['-0', -0],
    ['the empty string', ''],
    ['a string', 'hello'],
    ['unicode', 'héllo ✓ 𝄞 日本'],
    ['a long string', 'x'.repeat(100_000)],
    ['a small bigint', 5n],
    ['a negative bigint', -5n],
    ['a bigint > 2**64', 2n ** 64n + 1n],
    ['a bigint < -(2**64)', -(2n ** 70n) - 3n],
    ['a huge bigint', 3n ** 200n],
    ['an empty array', []],
    ['an empty map', {}],
    ['nested arrays', [1, [2, [3, []]], 'x']],
    ['nested maps', { a: { b: { c: 1 } }, d: [{ e: null }] }],
  ])('%s round-trips through reopen', async (_what, value) => {
    const root = await roundTrip((r) => { r.v = value })
    const back = root.v
    if (typeof value === 'number') expect(Object.is(back, value)).toBe(true)
    else expect(back).toEqual(value)
    expect(typeof back).toBe(typeof value)
  })

  it('a Uint8Array round-trips as bytes', async () => {
    const root = await roundTrip((r) => { r.bytes = new Uint8Array([0, 1, 127, 128, 255]); r.empty = new Uint8Array(0); r.inList = [new Uint8Array([7])] })
    expect(Object.prototype.toString.call(root.bytes)).toBe('[object Uint8Array]')
    expect(Array.from(root.bytes)).toEqual([0, 1, 127, 128, 255])
    expect(root.empty.length).toBe(0)
    expect(Array.from(root.inList[0])).toEqual([7])
  })

  it('maps keep their key order and a __proto__ key as data', async () => {
    const root = await roundTrip((r) => { r.m = JSON.parse('{"z": 1, "__proto__": {"x": 1}, "a": 2, "10": 3}') })
    expect(Object.keys(root.m)).toEqual(['10', 'z', '__proto__', 'a'])
    expect(Object.getOwnPropertyDescriptor(root.m, '__proto__')!.value).toEqual({ x: 1 })
    expect(root.m.x).toBeUndefined()
  })

  it('references inside arrays and maps come back as the same objects', async () => {
    let oids: number[] = []
    const root = await ctx.image.transact((tx) => {
      const a = tx.root.clone()
      const b = tx.root.clone()
      a.name = 'a'
      b.name = 'b'
      tx.root.refs = [a, { b, both: [a, b] }, a]
      oids = [oidOf(tx, a), oidOf(tx, b)]
    }).then(() => ctx.reopen()).then((image) => image.begin().root)
    const [a, mid, a2] = root.refs
    expect(a.name).toBe('a')
    expect(a2).toBe(a)
    expect(mid.b.name).toBe('b')
    expect(mid.both[0]).toBe(a)
    expect(mid.both[1]).toBe(mid.b)
    const tx = ctx.image.begin()
    expect(tx.objectOf(tx.root.refs[0]).oid).toBe(oids[0])
    expect(tx.objectOf(tx.root.refs[1].b).oid).toBe(oids[1])
    tx.abort()
  })

  it('every slot, parent and method is back after close and reopen, in slot order', async () => {
    let ids: Record<string, number> = {}
    await ctx.image.transact((tx) => {
      const Point = tx.root.clone()
      tx.genesis.prototypes.Point = Point
      Point.x = 0
      Point.y = 0
      Point.norm1 = function (this: P) { return Math.abs(this.x) + Math.abs(this.y) }
      Point.moveBy = function (this: P, dx: number, dy: number) { this.x = this.x + dx; this.y = this.y + dy; return this }
      const Named = tx.root.clone()
      Named.describe = function (this: P) { return this.name + ' at ' + this.x + ',' + this.y }
      const p = Point.clone()
      p['named*'] = Named
      p.name = 'p'
      p.x = 3
      p.y = -4
      p.tags = ['a', 'b']
      tx.root.p = p
      ids = { Point: oidOf(tx, Point), Named: oidOf(tx, Named), p: oidOf(tx, p) }
    })
    const image = await ctx.reopen()
    const tx = image.begin()
    const p = tx.root.p
    expect(tx.objectOf(p).oid).toBe(ids.p)
    expect(Array.from(p.slotNames())).toEqual(['parent*', 'named*', 'name', 'x', 'y', 'tags'])
    expect(Array.from(p.parents()).map((o) => tx.objectOf(o).oid)).toEqual([ids.Point, ids.Named])
    expect(p.norm1()).toBe(7)
    expect(p.describe()).toBe('p at 3,-4')
    expect(p.moveBy(1, 1).describe()).toBe('p at 4,-3')
    expect(p.tags).toEqual(['a', 'b'])
    expect(p.printString()).toBe(`<Point #${ids.p}>`)
    const Point = tx.byOid(ids.Point)!
    expect(Array.from(Point.slotNames())).toEqual(['parent*', 'x', 'y', 'norm1', 'moveBy'])
    expect(stateOf(tx, Point).slots.get('norm1')).toBeInstanceOf(Method)
    expect(Point.x).toBe(0) // the child's writes stayed on the child
    tx.abort()
  })

  it('unusual slot names are ordinary slots and round-trip: __proto__, constructor, then, toString, *, unicode, spaces', async () => {
    let other = 0
    await ctx.image.transact((tx) => {
      const o = tx.root.clone()
      o.__proto__ = 'a slot, not a prototype'
      o.constructor = 1
      o.then = 2
      o.toString = function () { return 'custom toString' }
      o['*'] = tx.root // one character: not a parent slot
      o['日本 語'] = 3
      o['doesNotUnderstand:'] = function (msg: { selector: string }) { return 'dnu ' + msg.selector }
      tx.root.o = o
      other = oidOf(tx, tx.root)
    })
    const tx = (await ctx.reopen()).begin()
    const o = tx.root.o
    expect(Object.keys(o)).toEqual(['parent*', '__proto__', 'constructor', 'then', 'toString', '*', '日本 語', 'doesNotUnderstand:'])
    expect(o.__proto__).toBe('a slot, not a prototype')
    expect(Object.getPrototypeOf(o)).toBeNull()
    expect(o.constructor).toBe(1)
    expect(o.then).toBeUndefined() // a graph object is never a thenable …
    expect(tx.send(o, 'then')).toBe(2) // … but the slot is there for a send
    expect(String(o)).toBe('custom toString')
    expect(o['日本 語']).toBe(3)
    expect(Array.from(o.parents()).map((p) => tx.objectOf(p).oid)).toEqual([other])
    expect(o.whatever()).toBe('dnu whatever')
    tx.abort()
  })

  it('nested mutations made in place are committed and survive reopen', async () => {
    await ctx.image.transact((tx) => { tx.root.items = [1]; tx.root.config = { a: { b: 0 } } })
    await ctx.image.transact((tx) => {
      tx.root.items.push(2)
      tx.root.config.a.b = 1
    })
    const tx = (await ctx.reopen()).begin()
    expect(tx.root.items).toEqual([1, 2])
    expect(tx.root.config).toEqual({ a: { b: 1 } })
    tx.abort()
  })

  it('methods are callable after reopen and still see none of the assigning code\'s variables', async () => {
    const hidden = 'host local'
    await ctx.image.transact((tx) => {
      tx.root.twice = function (n: number) { return n * 2 }
      tx.root.leak = function () { return typeof hidden }
    })
    const tx = (await ctx.reopen()).begin()
    expect(tx.root.twice(21)).toBe(42)
    expect(tx.root.leak()).toBe('undefined')
    tx.abort()
  })

  it('a reopened image loads lazily: only what is touched is in the cache', async () => {
    await ctx.image.transact((tx) => {
      const list: P[] = []
      for (let i = 0; i < 50; i++) { const o = tx.root.clone(); o.i = i; list.push(o) }
      tx.root.list = list
    })
    const image = await ctx.reopen()
    expect(image.cache.size).toBeLessThanOrEqual(2)
    const tx = image.begin()
    const list = tx.root.list
    const afterRoot = image.cache.size
    expect(afterRoot).toBeLessThanOrEqual(3)
    expect(list[10].i).toBe(10)
    expect(image.cache.size).toBe(afterRoot + 1)
    tx.abort()
  })
}
