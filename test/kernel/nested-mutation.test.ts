import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Image, Transaction } from '../../src/image/index.js'
import { scratchImage } from '../support/images.js'
import { stateOf } from '../support/uvm.js'

/**
 * ZODB's classic trap: mutating a list inside a persistent object without
 * telling the database. Data read from a slot is a tracked copy; in-place
 * mutation is written back to the receiver at commit (and savepoint).
 */
describe('nested mutation of data slots', () => {
  let s: Awaited<ReturnType<typeof scratchImage>>
  let image: Image
  let tx: Transaction

  beforeEach(async () => {
    s = await scratchImage()
    image = s.image
    tx = image.begin()
  })
  afterEach(async () => {
    tx.abort()
    await s.dispose()
  })

  const reopenAndBegin = async () => {
    image = await s.reopen()
    tx = image.begin()
    return tx
  }

  it('obj.items.push(x) is committed and survives reopen', async () => {
    const o = tx.root.clone()
    tx.root.o = o
    o.items = [1, 2]
    await tx.commit()

    tx = image.begin()
    tx.root.o.items.push(3)
    tx.root.o.items.push(4)
    const info = await tx.commit()
    expect(info.oids).toContain(tx.objectOf(tx.root.o).oid)

    await reopenAndBegin()
    expect(tx.root.o.items).toEqual([1, 2, 3, 4])
  })

  it('obj.config.a.b = 1 (a nested map) is committed and survives reopen', async () => {
    tx.root.config = { a: { b: 0, keep: 'yes' }, list: [{ deep: [1] }] }
    await tx.commit()

    tx = image.begin()
    tx.root.config.a.b = 1
    tx.root.config.list[0].deep.push(2)
    tx.root.config.added = true
    await tx.commit()

    await reopenAndBegin()
    expect(tx.root.config).toEqual({ a: { b: 1, keep: 'yes' }, list: [{ deep: [1, 2] }], added: true })
  })

  it('the same copy is handed out for repeated reads within a transaction', () => {
    tx.root.items = [1]
    const a = tx.root.items
    a.push(2)
    expect(tx.root.items).toBe(a)
    expect(tx.root.items).toEqual([1, 2])
  })

  it('mutating an inherited array writes the receiver\'s own copy; the parent is untouched', async () => {
    const p = tx.root.clone()
    p.items = ['p']
    const c = p.clone()
    tx.root.pc = [p, c]
    await tx.commit()

    tx = image.begin()
    const [p1, c1] = tx.root.pc
    c1.items.push('c')
    expect(c1.items).toEqual(['p', 'c'])
    expect(p1.items).toEqual(['p'])
    await tx.commit()

    await reopenAndBegin()
    const [p2, c2] = tx.root.pc
    expect(c2.hasSlot('items')).toBe(true)
    expect(c2.items).toEqual(['p', 'c'])
    expect(p2.items).toEqual(['p'])
  })

  it('assigning a new array replaces the value; the old copy no longer writes back', async () => {
    tx.root.items = [1, 2, 3]
    await tx.commit()
    tx = image.begin()
    const old = tx.root.items
    tx.root.items = ['new']
    old.push(4)
    expect(tx.root.items).toEqual(['new'])
    await tx.commit()
    await reopenAndBegin()
    expect(tx.root.items).toEqual(['new'])
  })

  it('re-assigning the mutated copy itself stores it and keeps tracking it', async () => {
    const items = (tx.root.items = [1]) && tx.root.items
    items.push(2)
    tx.root.items = items
    items.push(3)
    await tx.commit()
    await reopenAndBegin()
    expect(tx.root.items).toEqual([1, 2, 3])
  })

  it('reading without mutating writes nothing (tid undefined)', async () => {
    tx.root.items = [1, { a: [2] }]
    await tx.commit()
    tx = image.begin()
    expect(tx.root.items).toEqual([1, { a: [2] }])
    void tx.root.items[1].a.length
    const info = await tx.commit()
    expect(info.tid).toBeUndefined()
    expect(info.oids).toEqual([])
  })

  it('a mutation is visible to the savepoint and discarded by its rollback', async () => {
    tx.root.items = [1]
    await tx.commit()
    tx = image.begin()
    tx.root.items.push(2)
    const sp = tx.savepoint() // flushes [1, 2]
    expect(stateOf(tx, tx.root).slots.get('items')).toEqual([1, 2])
    tx.root.items.push(3)
    sp.rollback()
    expect(tx.root.items).toEqual([1, 2])
    await tx.commit()
    await reopenAndBegin()
    expect(tx.root.items).toEqual([1, 2])
  })

  it('stored data is frozen: the committed value is never mutated in place', async () => {
    tx.root.items = [1]
    await tx.commit()
    tx = image.begin()
    const stored = stateOf(tx, tx.root).slots.get('items')
    expect(Object.isFrozen(stored)).toBe(true)
    tx.root.items.push(2)
    await tx.commit()
    expect(stored).toEqual([1])
  })

  it('Uint8Array reads are fresh copies: mutate-and-reassign, not mutate in place', async () => {
    tx.root.bytes = new Uint8Array([1, 2, 3])
    await tx.commit()
    tx = image.begin()
    const b = tx.root.bytes
    b[0] = 9
    expect(Array.from(tx.root.bytes)).toEqual([1, 2, 3])
    b[1] = 8
    tx.root.bytes = b
    await tx.commit()
    await reopenAndBegin()
    expect(Array.from(tx.root.bytes)).toEqual([9, 8, 3])
  })

  it('maps with a __proto__ key keep it as data (and do not change the map\'s prototype)', async () => {
    const m = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}')
    tx.root.m = m
    const read = tx.root.m
    expect(Object.keys(read)).toEqual(['__proto__', 'a'])
    expect(read.polluted).toBeUndefined()
    await tx.commit()
    await reopenAndBegin()
    const back = tx.root.m
    expect(Object.keys(back)).toEqual(['__proto__', 'a'])
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')!.value).toEqual({ polluted: true })
    expect(back.polluted).toBeUndefined()
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    // Mutating through it works like any map.
    back.a = 2
    await tx.commit()
    await reopenAndBegin()
    expect(tx.root.m.a).toBe(2)
    expect(Object.keys(tx.root.m)).toEqual(['__proto__', 'a'])
  })
})
