import { describe, expect, it } from 'vitest'
import { ancestry } from '../../src/kernel/index.js'
import type { Transaction } from '../../src/image/index.js'
import { eachScratchTx } from '../support/images.js'
import type { ScratchImage } from '../support/images.js'
import type { P } from '../support/uvm.js'
import { oidOf, thrown } from '../support/uvm.js'

describe('lookup order', () => {
  let s: ScratchImage
  let tx: Transaction
  /** An object with no slots at all: no parent, so not even the primitives. */
  const bare = (): P => tx.proxy(tx.create()) as P
  const order = (o: P): number[] => ancestry(tx, tx.objectOf(o)).map((x) => x.oid)

  eachScratchTx((image, transaction) => { s = image; tx = transaction })

  it('finds own slots before any parent', () => {
    const p = bare()
    p.x = 'parent'
    const a = bare()
    a['parent*'] = p
    expect(a.x).toBe('parent')
    a.x = 'own'
    expect(a.x).toBe('own')
    expect(p.x).toBe('parent')
  })

  it('searches parents in slot order, depth-first: a deep hit in the first parent beats a shallow one in the second (Io)', () => {
    const gp = bare()
    gp.x = 'grandparent via first'
    const p1 = bare()
    p1['parent*'] = gp
    const p2 = bare()
    p2.x = 'second parent'
    p2.y = 'only in second'
    const a = bare()
    a['first*'] = p1
    a['second*'] = p2
    expect(a.x).toBe('grandparent via first')
    expect(a.y).toBe('only in second')
    expect(order(a)).toEqual([a, p1, gp, p2].map((o) => oidOf(tx, o)))

    // The same parents in the other slot order: the other answer.
    const b = bare()
    b['second*'] = p2
    b['first*'] = p1
    expect(b.x).toBe('second parent')
    expect(order(b)).toEqual([b, p2, p1, gp].map((o) => oidOf(tx, o)))
  })

  it('re-assigning an existing parent slot keeps its position in the order', () => {
    const p1 = bare(); p1.x = 1
    const p2 = bare(); p2.x = 2
    const p3 = bare(); p3.x = 3
    const a = bare()
    a['first*'] = p1
    a['second*'] = p2
    expect(a.x).toBe(1)
    a['first*'] = p3
    expect(a.x).toBe(3)
    expect(order(a)).toEqual([a, p3, p2].map((o) => oidOf(tx, o)))
  })

  it('visits a parent reachable twice (a diamond) once, at its first position', () => {
    const top = bare()
    top.x = 'top'
    const left = bare()
    left['parent*'] = top
    const right = bare()
    right['parent*'] = top
    right.x = 'right'
    const a = bare()
    a['left*'] = left
    a['right*'] = right
    expect(a.x).toBe('top') // depth-first through left reaches top before right
    const seen = order(a)
    expect(seen).toEqual([a, left, top, right].map((o) => oidOf(tx, o)))
    expect(new Set(seen).size).toBe(seen.length)
  })

  it('visits each object once when one parent is also a parent of another parent', () => {
    const shared = bare()
    const p = bare()
    p['parent*'] = shared
    const a = bare()
    a['p*'] = p
    a['shared*'] = shared
    expect(order(a)).toEqual([a, p, shared].map((o) => oidOf(tx, o)))
  })

  it('allows cycles: slots are found through them and a miss terminates with DoesNotUnderstand', () => {
    const a = bare()
    const b = bare()
    a['parent*'] = b
    b['parent*'] = a
    a.fromA = 'a'
    b.fromB = 'b'
    expect(a.fromB).toBe('b')
    expect(b.fromA).toBe('a')
    expect(order(a)).toEqual([oidOf(tx, a), oidOf(tx, b)])

    const e = thrown(() => a.nowhere(1, 2))
    expect(e.code).toBe('KERNEL_DOES_NOT_UNDERSTAND')
    expect(e.selector).toBe('nowhere')
    expect(e.receiver).toBe(oidOf(tx, a))
    expect(e.message).toContain('nowhere')

    const e2 = thrown(() => tx.send(b, 'nowhere'))
    expect(e2.code).toBe('KERNEL_DOES_NOT_UNDERSTAND')
    expect(e2.receiver).toBe(oidOf(tx, b))
  })

  it('allows an object to be its own parent', () => {
    const a = bare()
    a['parent*'] = a
    a.x = 1
    expect(a.x).toBe(1)
    expect(thrown(() => a.missing()).code).toBe('KERNEL_DOES_NOT_UNDERSTAND')
  })

  it('treats only slots whose name ends in * as parents, and only when they hold an object', () => {
    const p = bare()
    p.x = 'p'
    const a = bare()
    a.notAParent = p
    a['data*'] = 'just data'
    expect(thrown(() => tx.send(a, 'x')).code).toBe('KERNEL_DOES_NOT_UNDERSTAND')
    expect(order(a)).toEqual([oidOf(tx, a)])
  })

  it('reaches the primitives of the root traits through ordinary delegation', () => {
    const c = tx.root.clone()
    expect(typeof c.slotNames).toBe('function')
    expect(Array.from(c.slotNames())).toEqual(['parent*'])
    const b = bare()
    // A bare object has no parents, hence no primitives.
    expect(thrown(() => b.slotNames()).code).toBe('KERNEL_DOES_NOT_UNDERSTAND')
  })
})
