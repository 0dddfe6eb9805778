import { describe, expect, it } from 'vitest'
import { Method, writeSlot } from '../../src/kernel/index.js'
import type { Transaction } from '../../src/image/index.js'
import { eachScratchTx } from '../support/images.js'
import type { ScratchImage } from '../support/images.js'
import type { P } from '../support/uvm.js'
import { oidOf, runInRealm, stateOf } from '../support/uvm.js'

describe('message send', () => {
  let s: ScratchImage
  let tx: Transaction

  eachScratchTx((image, transaction) => { s = image; tx = transaction })

  it('answers a data slot with its value', () => {
    const o = tx.root.clone()
    o.x = 42
    o.name = 'Ada'
    expect(tx.send(o, 'x')).toBe(42)
    expect(o.x).toBe(42)
    expect(o.perform('name')).toBe('Ada')
    const c = o.clone()
    expect(tx.send(c, 'x')).toBe(42)
  })

  it('runs a method with this = the original receiver, not the holder', () => {
    const p = tx.root.clone()
    p.label = 'p'
    p.who = function (this: P) { return this }
    p.describe = function (this: P) { return 'I am ' + this.label }
    const c = p.clone()
    c.label = 'c'
    expect(c.who()).toBe(c)
    expect(p.who()).toBe(p)
    expect(c.describe()).toBe('I am c')
    expect(tx.send(c, 'describe')).toBe('I am c')
  })

  it('gives a bare-body method self (the receiver) and args', () => {
    const p = tx.root.clone()
    writeSlot(tx, tx.objectOf(p), 'me', new Method('return self'))
    writeSlot(tx, tx.objectOf(p), 'sameThis', new Method('return this === self'))
    writeSlot(tx, tx.objectOf(p), 'argList', new Method('return args.join("+")'))
    const c = p.clone()
    expect(c.me()).toBe(c)
    expect(c.sameThis()).toBe(true)
    expect(c.argList(1, 'two', 3)).toBe('1+two+3')
  })

  it('passes positional arguments in order, objects as their proxies', () => {
    const o = tx.root.clone()
    o.join3 = function (a: unknown, b: unknown, c: unknown) { return [a, b, c].join('|') }
    o.second = function (_a: unknown, b: unknown) { return b }
    o.count = function (...xs: unknown[]) { return xs.length }
    const other = tx.root.clone()
    expect(o.join3('a', 2, true)).toBe('a|2|true')
    expect(o.second(1, other)).toBe(other)
    expect(o.count()).toBe(0)
    expect(o.count(1, 2, 3, 4)).toBe(4)
    expect(tx.send(o, 'join3', 'x', 'y', 'z')).toBe('x|y|z')
  })

  it('supports async methods: sandbox code awaits the result; writes after an await land in the transaction', async () => {
    const p = tx.root.clone()
    p.count = 0
    p.later = async function (this: P, suffix: string) {
      await null
      await new Promise((r) => r(undefined))
      return this.label + suffix
    }
    p.bump = async function (this: P) {
      await null
      this.count = this.count + 1
      return this.count
    }
    const c = p.clone()
    c.label = 'c'
    tx.root.kept = c
    const pending = c.later('!') // from the host: a promise the host can await
    expect(typeof pending.then).toBe('function')
    expect(await pending).toBe('c!')
    expect(await runInRealm(s.image, 'return await c.later("?")', { c })).toBe('c?')
    expect(await runInRealm(s.image, 'await c.bump(); return await c.bump()', { c })).toBe(2)
    expect(p.count).toBe(0)
    expect(c.count).toBe(2)
    const info = await tx.commit()
    expect(info.tid).toBeTypeOf('number')
    const tx2 = s.image.begin()
    expect(tx2.byOid(oidOf(tx, c))!.count).toBe(2)
    tx2.abort()
  })

  it('host code can await an async method: the send hands the host a promise that settles', async () => {
    const p = tx.root.clone()
    p.later = async function (this: P, suffix: string) {
      await null
      await Promise.resolve()
      return this.label + suffix
    }
    p.fails = async function () {
      await null
      throw new RangeError('no')
    }
    const c = p.clone()
    c.label = 'c'
    expect(await c.later('!')).toBe('c!')
    expect(await tx.send(c, 'later', '?')).toBe('c?')
    await expect(tx.send(c, 'fails') as Promise<unknown>).rejects.toMatchObject({ message: 'no' })
  })

  it('writes a slot through a child on the child, never on the parent that held it', () => {
    const p = tx.root.clone()
    p.color = 'red'
    p.paint = function (this: P, c: string) { this.color = c }
    const c = p.clone()
    expect(c.hasSlot('color')).toBe(false)
    c.color = 'blue'
    expect(c.color).toBe('blue')
    expect(p.color).toBe('red')
    expect(c.hasSlot('color')).toBe(true)
    const d = p.clone()
    d.paint('green')
    expect(d.color).toBe('green')
    expect(p.color).toBe('red')
    expect(stateOf(tx, d).slots.get('color')).toBe('green')
    expect(stateOf(tx, p).slots.get('color')).toBe('red')
  })

  it('lets methods send to other objects and to self', () => {
    const acc = tx.root.clone()
    acc.total = 0
    acc.add = function (this: P, n: number) { this.total = this.total + n; return this }
    acc.addAll = function (this: P, ...ns: number[]) { for (const n of ns) this.add(n); return this.total }
    expect(acc.addAll(1, 2, 3)).toBe(6)
    expect(acc.add(4).add(5).total).toBe(15)
  })
})
