import { describe, expect, it } from 'vitest'
import { Method, writeSlot } from '../../src/kernel/index.js'
import type { Transaction } from '../../src/image/index.js'
import { eachScratchTx } from '../support/images.js'
import type { ScratchImage } from '../support/images.js'
import type { P } from '../support/uvm.js'
import { oidOf, runInRealm, stateOf, thrown } from '../support/uvm.js'

/**
 * Methods are stored as source text and compiled in the sandbox realm. A JS
 * function assigned to a slot is never kept as a closure: a variable it closed
 * over is simply not defined where the method runs. Documented behaviour:
 * reading such a variable throws a ReferenceError ("x is not defined");
 * `typeof x` answers 'undefined'.
 */
describe('methods', () => {
  let s: ScratchImage
  let tx: Transaction

  eachScratchTx((image, transaction) => { s = image; tx = transaction })

  it('assigning a JS function stores its source text, not the function', () => {
    const o = tx.root.clone()
    const fn = function (this: P, n: number) { return n * 2 }
    o.double = fn
    const stored = stateOf(tx, o).slots.get('double')
    expect(stored).toBeInstanceOf(Method)
    expect((stored as Method).source).toBe(Function.prototype.toString.call(fn))
    expect(o.double(21)).toBe(42)
    // What comes back is a function standing for the slot, not the assigned one.
    expect(o.double).not.toBe(fn)
  })

  it('accepts arrow functions and async functions', async () => {
    const o = tx.root.clone()
    o.inc = (x: number) => x + 1
    o.later = async (x: number) => { await null; return x * 10 }
    expect(o.inc(1)).toBe(2)
    expect(await runInRealm(s.image, 'return await o.later(2)', { o })).toBe(20)
  })

  it('accepts object-literal method shorthand (as Function.prototype.toString prints it)', () => {
    const o = tx.root.clone()
    const lib = { greet(this: P, n: string) { return 'hi ' + n + ' from ' + this.label } }
    o.label = 'o'
    o.greet = lib.greet
    expect((stateOf(tx, o).slots.get('greet') as Method).source).toMatch(/^greet\(/)
    expect(o.greet('Ada')).toBe('hi Ada from o')
  })

  it('source that does not parse fails at the send with KERNEL_METHOD_SYNTAX, naming the selector', () => {
    const o = tx.root.clone()
    writeSlot(tx, tx.objectOf(o), 'broken', new Method('return (1 +'))
    const e = thrown(() => o.broken())
    expect(e.code).toBe('KERNEL_METHOD_SYNTAX')
    expect(e.message).toContain("'broken'")
    expect(e.line).toBe(1)
    expect(thrown(() => tx.send(o, 'broken')).code).toBe('KERNEL_METHOD_SYNTAX')
  })

  it('never captures the variables of the code that assigned it (ReferenceError; typeof → undefined)', () => {
    const secret = 'captured?'
    let counter = 0
    const o = tx.root.clone()
    o.peek = function () { return secret }
    o.peekType = function () { return typeof secret }
    o.bump = function () { counter++; return counter }
    // The assigning code still sees its local.
    expect(secret).toBe('captured?')
    const e = thrown(() => o.peek())
    expect(e.name).toBe('ReferenceError')
    expect(String(e.message)).toMatch(/secret is not defined/)
    expect(o.peekType()).toBe('undefined')
    expect(thrown(() => o.bump()).name).toBe('ReferenceError')
    expect(counter).toBe(0)
  })

  it('does not see the host: no process, no require', () => {
    const o = tx.root.clone()
    o.probe = function () { return [typeof process, typeof require].join(',') }
    expect(o.probe()).toBe('undefined,undefined')
  })

  it('a slot function moved to another object carries the method, not a caller bound to the first', () => {
    const a = tx.root.clone()
    a.name = 'a'
    a.who = function (this: P) { return this.name }
    const b = tx.root.clone()
    b.name = 'b'
    b.who = a.who
    expect(b.who()).toBe('b')
    expect((stateOf(tx, b).slots.get('who') as Method).source).toBe((stateOf(tx, a).slots.get('who') as Method).source)
  })

  it('replacing a method takes effect at the next send', () => {
    const o = tx.root.clone()
    o.v = function () { return 1 }
    expect(o.v()).toBe(1)
    o.v = function () { return 2 }
    expect(o.v()).toBe(2)
  })

  it('a method called again and again in one view runs the slot the view holds: redefined, removed, or asked for by the host', async () => {
    const o = tx.root.clone()
    tx.root.probe = o
    o.m = function (i: number) { return i + 1 }
    o.loop = function (this: P, n: number) {
      let s = 0
      for (let i = 0; i < n; i++) s += this.m(i)
      const first = s
      this.m = function (i: number) { return i * 10 } // a write: the next call must not run the old one
      s = 0
      for (let i = 0; i < n; i++) s += this.m(i)
      return [first, s]
    }
    o.calls = function (this: P) { let s = 0; for (let i = 0; i < 50; i++) s += this.m(1); return s }
    o.guard = function (this: P) { try { return this.m(1) } catch (e) { return (e as { code?: string }).code } }
    await tx.commit()
    // A view that wrote nothing yet: reads are answered from the shared lookup caches.
    const view = s.image.begin()
    const p = view.root.probe as P
    expect(p.calls()).toBe(100)
    // The host gets its own caller for the slot, never the closure sandbox code was given.
    const hostCaller = p.m
    expect(s.image.kernel.hostCallers.has(hostCaller)).toBe(false)
    expect(hostCaller(3)).toBe(4)
    expect(p.loop(100)).toEqual([5050, 49500])
    expect(p.m(2)).toBe(20)
    delete p.m
    expect(p.guard()).toBe('KERNEL_DOES_NOT_UNDERSTAND')
    view.abort()
  })

  it('are callable after close and reopen, with the same source, and still capture nothing', async () => {
    const local = 'not persisted'
    const p = tx.root.clone()
    p.greet = function (this: P, n: string) { return 'hi ' + n + ' from ' + this.label }
    p.asyncGreet = async function (this: P) { await null; return 'async ' + this.label }
    p.leak = function () { return typeof local }
    const c = p.clone()
    c.label = 'c'
    tx.root.kept = c
    const source = (stateOf(tx, p).slots.get('greet') as Method).source
    const pOid = oidOf(tx, p)
    await tx.commit()

    const image = await s.reopen()
    tx = image.begin()
    const c2 = tx.root.kept
    expect(c2.greet('Ada')).toBe('hi Ada from c')
    expect(await runInRealm(image, 'return await c2.asyncGreet()', { c2 })).toBe('async c')
    expect(c2.leak()).toBe('undefined')
    expect((stateOf(tx, tx.byOid(pOid)).slots.get('greet') as Method).source).toBe(source)
  })
})
