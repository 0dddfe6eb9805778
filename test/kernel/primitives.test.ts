import { describe, expect, it } from 'vitest'
import type { Transaction } from '../../src/image/index.js'
import { eachScratchTx } from '../support/images.js'
import type { ScratchImage } from '../support/images.js'
import type { P } from '../support/uvm.js'
import { oidOf, thrown } from '../support/uvm.js'

describe('primitives', () => {
  let s: ScratchImage
  let tx: Transaction
  const oid = (o: P) => oidOf(tx, o)

  eachScratchTx((image, transaction) => { s = image; tx = transaction })

  it('clone makes a new empty object whose only slot is parent* → the receiver', () => {
    const o = tx.root.clone()
    o.x = 1
    const c = o.clone()
    expect(c).not.toBe(o)
    expect(oid(c)).not.toBe(oid(o))
    expect(Array.from(c.slotNames())).toEqual(['parent*'])
    expect(c['parent*']).toBe(o)
    expect(Array.from(c.parents())).toEqual([o])
    expect(c.x).toBe(1) // inherited
    expect(c.hasSlot('x')).toBe(false)
    o.x = 2
    expect(c.x).toBe(2) // differential: follows the parent
  })

  it('copy makes a shallow copy of all slots: same parents and references, independent slots', () => {
    const shared = tx.root.clone()
    const o = tx.root.clone()
    o.x = 1
    o.list = [1, 2]
    o.ref = shared
    o.m = function () { return 'm' }
    const k = o.copy()
    expect(k).not.toBe(o)
    expect(Array.from(k.slotNames())).toEqual(Array.from(o.slotNames()))
    expect(Array.from(k.slotNames())).toEqual(['parent*', 'x', 'list', 'ref', 'm'])
    expect(k['parent*']).toBe(o['parent*'])
    expect(k.ref).toBe(shared) // shallow: the same object, not a copy of it
    expect(k.x).toBe(1)
    expect(k.list).toEqual([1, 2])
    expect(k.m()).toBe('m')
    k.x = 99
    k.list.push(3)
    expect(o.x).toBe(1)
    expect(o.list).toEqual([1, 2])
    // A copy does not delegate to the original.
    expect(Array.from(k.parents())).not.toContain(o)
  })

  it('copy includes data the receiver mutated in place earlier in the transaction', async () => {
    const p = tx.root.clone()
    p.inherited = ['p']
    const o = p.clone()
    o.items = [1, 2]
    o.items.push(3)
    o.cfg = { a: { b: 0 } }
    o.cfg.a.b = 1
    o.inherited.push('o') // o's own copy, made at the copy
    const k = o.copy()
    expect(k.items).toEqual([1, 2, 3])
    expect(k.cfg).toEqual({ a: { b: 1 } })
    expect(k.inherited).toEqual(['p', 'o'])
    expect(p.inherited).toEqual(['p'])
    // Tracking goes on after the copy: later pushes still reach o, not k.
    o.items.push(4)
    tx.root.ok = [o, k]
    await tx.commit()
    const tx2 = s.image.begin()
    const [o2, k2] = tx2.root.ok
    expect(o2.items).toEqual([1, 2, 3, 4])
    expect(k2.items).toEqual([1, 2, 3])
    tx2.abort()
  })

  it('setSlot / getSlot / removeSlot / hasSlot', () => {
    const p = tx.root.clone()
    p.greet = function (n: string) { return 'hi ' + n }
    p.x = 'inherited'
    const o = p.clone()
    expect(o.setSlot('x', 'own')).toBe(o)
    expect(o.getSlot('x')).toBe('own')
    expect(o.hasSlot('x')).toBe(true)
    const g = o.getSlot('greet') // not run: answered as a callable function
    expect(typeof g).toBe('function')
    expect(g('Ada')).toBe('hi Ada')
    expect(o.getSlot('absent')).toBeUndefined()
    expect(o.hasSlot('greet')).toBe(false)
    expect(o.removeSlot('x')).toBe(true)
    expect(o.removeSlot('x')).toBe(false)
    expect(o.hasSlot('x')).toBe(false)
    expect(o.x).toBe('inherited')
    expect(o.removeSlot('greet')).toBe(false) // only own slots are removed
    expect(p.hasSlot('greet')).toBe(true)
    // delete through the proxy is removeSlot
    o.y = 1
    delete o.y
    expect(o.hasSlot('y')).toBe(false)
  })

  it('rejects empty or non-string slot names with KERNEL_BAD_SLOT_NAME', () => {
    const o = tx.root.clone()
    expect(thrown(() => o.setSlot('', 1)).code).toBe('KERNEL_BAD_SLOT_NAME')
    expect(thrown(() => o.hasSlot(3)).code).toBe('KERNEL_BAD_SLOT_NAME')
    expect(thrown(() => o.perform(null)).code).toBe('KERNEL_BAD_SLOT_NAME')
  })

  it('slotNames in insertion order, parents in slot order, respondsTo through parents', () => {
    const a = tx.root.clone()
    const b = tx.root.clone()
    b.fromB = 1
    const o = a.clone()
    o.z = 1
    o['mixin*'] = b
    o.a = 2
    expect(Array.from(o.slotNames())).toEqual(['parent*', 'z', 'mixin*', 'a'])
    expect(Array.from(o.parents())).toEqual([a, b])
    expect(o.respondsTo('z')).toBe(true)
    expect(o.respondsTo('fromB')).toBe(true)
    expect(o.respondsTo('clone')).toBe(true)
    expect(o.respondsTo('nope')).toBe(false)
    expect('fromB' in o).toBe(true)
    expect('nope' in o).toBe(false)
  })

  it('printString: registered prototype name, else own name slot, else Object', () => {
    const plain = tx.root.clone()
    expect(plain.printString()).toBe(`<Object #${oid(plain)}>`)
    const named = tx.root.clone()
    named.name = 'Ada'
    expect(named.printString()).toBe(`<Ada #${oid(named)}>`)
    const Point = tx.root.clone()
    tx.genesis.prototypes.Point = Point
    const pt = Point.clone()
    expect(Point.printString()).toBe(`<Point #${oid(Point)}>`)
    expect(pt.printString()).toBe(`<Point #${oid(pt)}>`)
    expect(pt.clone().printString()).toMatch(/^<Point #\d+>$/)
    expect(String(plain)).toBe(`<Object #${oid(plain)}>`)
  })

  it('perform sends a selector computed at run time', () => {
    const o = tx.root.clone()
    o.greet = function (a: string, b: string) { return a + ' & ' + b }
    o.x = 5
    expect(o.perform('greet', 'Ada', 'Bob')).toBe('Ada & Bob')
    expect(o.perform('x')).toBe(5)
    expect(thrown(() => o.perform('missing')).code).toBe('KERNEL_DOES_NOT_UNDERSTAND')
  })

  it('mirror describes own and inherited slots with kinds and holders', () => {
    const p = tx.root.clone()
    p.speak = function () { return 'hi' }
    const o = p.clone()
    const other = tx.root.clone()
    o.x = 1
    o.friend = other
    const m = o.mirror()
    expect(m.oid).toBe(oid(o))
    expect(m.printString).toBe(o.printString())
    expect(Array.from(m.parents)).toEqual([oid(p)])
    const byName = new Map<string, Record<string, unknown>>(Array.from(m.slots as Record<string, unknown>[]).map((e) => [e.name as string, e]))
    expect(byName.get('x')).toMatchObject({ kind: 'data', own: true, holder: oid(o) })
    expect(byName.get('friend')).toMatchObject({ kind: 'reference', own: true, oid: oid(other) })
    expect(byName.get('parent*')).toMatchObject({ kind: 'parent', own: true, oid: oid(p) })
    expect(byName.get('speak')).toMatchObject({ kind: 'method', own: false, holder: oid(p) })
    expect(String(byName.get('speak')!.source)).toMatch(/return ["']hi["']/)
    expect(byName.get('clone')).toMatchObject({ kind: 'primitive', own: false, holder: tx.image.traits.oid })
    // Each name once, the nearest holder winning (o's parent* shadows p's).
    const names = Array.from(m.slots as Record<string, unknown>[]).map((e) => e.name)
    expect(new Set(names).size).toBe(names.length)
  })

  it('a primitive can be overridden on an object (and its clones), leaving everyone else alone', () => {
    const o = tx.root.clone()
    o.printString = function () { return 'custom' }
    o.clone = function () { return 'no clones today' }
    const other = tx.root.clone()
    expect(o.printString()).toBe('custom')
    expect(String(o)).toBe('custom') // with no toString slot, the proxy's toString sends printString
    expect(o.clone()).toBe('no clones today')
    expect(other.printString()).toBe(`<Object #${oid(other)}>`)
    const c = other.clone()
    expect(Array.from(c.slotNames())).toEqual(['parent*'])
    // Removing the override brings the primitive back.
    o.removeSlot('clone')
    const k = o.clone()
    expect(k['parent*']).toBe(o)
    expect(k.printString()).toBe('custom') // inherited override
  })
})
