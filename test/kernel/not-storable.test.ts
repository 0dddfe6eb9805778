import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Image, Transaction } from '../../src/image/index.js'
import { scratchImage } from '../support/images.js'
import type { P } from '../support/uvm.js'
import { oidOf, rejected, thrown } from '../support/uvm.js'

describe('values that cannot live in a slot', () => {
  let s: Awaited<ReturnType<typeof scratchImage>>
  let image: Image
  let tx: Transaction
  let o: P
  let at: string

  beforeEach(async () => {
    s = await scratchImage()
    image = s.image
    tx = image.begin()
    o = tx.root.clone()
    tx.root.o = o
    at = `#${oidOf(tx, o)}`
  })
  afterEach(async () => {
    tx.abort()
    await s.dispose()
  })

  const cyclicArray = () => { const a: unknown[] = [1]; a.push(a); return a }
  const cyclicMap = () => { const m: Record<string, unknown> = {}; m.self = m; return m }

  it.each([
    ['undefined', () => undefined, /undefined/, ''],
    ['a Date', () => new Date(0), /Date/, ''],
    ['a Map', () => new Map([[1, 2]]), /Map/, ''],
    ['a Set', () => new Set([1]), /Set/, ''],
    ['a symbol', () => Symbol('s'), /symbol/, ''],
    ['a cyclic array', cyclicArray, /cyclic/, '[1]'],
    ['a cyclic map', cyclicMap, /cyclic/, '.self'],
    ['a class instance', () => new (class Point { x = 1 })(), /Point/, ''],
    ['a Float64Array', () => new Float64Array(2), /Float64Array/, ''],
    ['a bound function', () => function () { return 1 }.bind(null), /native or bound/, ''],
  ])('%s throws NotStorable naming the slot', (_what, make, kind, suffix) => {
    const e = thrown(() => { o.bad = make() })
    expect(e.code).toBe('KERNEL_NOT_STORABLE')
    expect(e.message).toMatch(kind)
    expect(e.message).toContain(`'bad' of ${at}${suffix}`)
    expect(e.details.path).toBe(`'bad' of ${at}${suffix}`)
    expect(o.hasSlot('bad')).toBe(false)
  })

  it('the path leads to the offending element of nested data', () => {
    expect(thrown(() => { o.list = [1, [2, new Date()]] }).message).toContain(`'list' of ${at}[1][1]`)
    expect(thrown(() => { o.cfg = { a: { b: Symbol('x') } } }).message).toContain(`'cfg' of ${at}.a.b`)
    expect(thrown(() => { o.mixed = { xs: [1, undefined] } }).message).toContain(`'mixed' of ${at}.xs[1]`)
    expect(thrown(() => { o.setSlot('viaPrimitive', new Map()) }).message).toContain(`'viaPrimitive' of ${at}`)
  })

  it('a shared (non-cyclic) sub-array is fine: stored as two copies', () => {
    const shared = [1, 2]
    o.twice = [shared, shared]
    expect(o.twice).toEqual([[1, 2], [1, 2]])
  })

  it('a non-storable value pushed into tracked data fails the commit, which writes nothing', async () => {
    o.items = [1]
    await tx.commit()
    const lastTid = image.lastTid
    const before = (await image.transactions()).length

    tx = image.begin()
    tx.root.o.items.push(new Date())
    tx.root.other = 'also not written'
    const e = await rejected(tx.commit())
    expect(e.code).toBe('KERNEL_NOT_STORABLE')
    expect(e.message).toContain(`'items' of ${at}[1]`)
    expect(tx.status).toBe('aborted')
    expect(image.lastTid).toBe(lastTid)
    expect((await image.transactions()).length).toBe(before)

    tx = image.begin()
    expect(tx.root.o.items).toEqual([1])
    expect(tx.root.hasSlot('other')).toBe(false)
  })

  it('plain data of every storable kind is accepted', () => {
    o.ok = [null, true, 1.5, 'x', 10n, new Uint8Array([1]), { a: [tx.root] }]
    const back = o.ok
    expect(back[6].a[0]).toBe(tx.root)
    expect(back[4]).toBe(10n)
  })
})
