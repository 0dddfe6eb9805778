import { describe, expect, it } from 'vitest'
import type { Transaction } from '../../src/image/index.js'
import { eachScratchTx } from '../support/images.js'
import type { ScratchImage } from '../support/images.js'
import type { P } from '../support/uvm.js'
import { oidOf, thrown } from '../support/uvm.js'

describe('doesNotUnderstand:', () => {
  let s: ScratchImage
  let tx: Transaction

  eachScratchTx((image, transaction) => { s = image; tx = transaction })

  it('without a handler, a miss raises DoesNotUnderstand with code, selector and receiver oid', () => {
    const o = tx.root.clone()
    const e = thrown(() => o.frobnicate(1))
    expect(e.code).toBe('KERNEL_DOES_NOT_UNDERSTAND')
    expect(e.name).toBe('DoesNotUnderstand')
    expect(e.selector).toBe('frobnicate')
    expect(e.receiver).toBe(oidOf(tx, o))
    expect(e.message).toContain(`#${oidOf(tx, o)}`)
    expect(e.message).toContain("'frobnicate'")
    const e2 = thrown(() => tx.send(o, 'frobnicate'))
    expect(e2.code).toBe('KERNEL_DOES_NOT_UNDERSTAND')
    expect(e2.selector).toBe('frobnicate')
  })

  it('an override on a parent receives the reified message and its answer is the result of the send', () => {
    const p = tx.root.clone()
    p['doesNotUnderstand:'] = function (this: P, msg: { selector: string; args: unknown[]; receiver: P }) {
      return { selector: msg.selector, args: msg.args, receiver: msg.receiver, self: this }
    }
    const c = p.clone()
    const other = tx.root.clone()
    const r = c.fly(1, 'two', other)
    expect(r.selector).toBe('fly')
    expect(Array.from(r.args)).toEqual([1, 'two', other])
    expect(r.args[2]).toBe(other)
    expect(r.receiver).toBe(c)
    expect(r.self).toBe(c)
    const viaSend = tx.send(c, 'swim') as { selector: string; args: unknown[] }
    expect(viaSend.selector).toBe('swim')
    expect(Array.from(viaSend.args)).toEqual([])
  })

  it('the handler answers any value, including data computed from the message', () => {
    const p = tx.root.clone()
    p.store = {}
    p['doesNotUnderstand:'] = function (this: P, msg: { selector: string; args: unknown[] }) {
      return msg.selector.toUpperCase() + ':' + msg.args.length
    }
    const c = p.clone()
    expect(c.hello()).toBe('HELLO:0')
    expect(c.hello(1, 2)).toBe('HELLO:2')
    // Slots that exist are not routed to the handler.
    expect(c.store).toEqual({})
  })

  it('a handler that sends the same unknown selector to the same receiver raises DoesNotUnderstand instead of looping', () => {
    const p = tx.root.clone()
    p.calls = 0
    p['doesNotUnderstand:'] = function (this: P, msg: { selector: string; receiver: P; args: unknown[] }) {
      return msg.receiver[msg.selector](...msg.args)
    }
    const c = p.clone()
    const e = thrown(() => c.loop(1))
    expect(e.code).toBe('KERNEL_DOES_NOT_UNDERSTAND')
    expect(e.selector).toBe('loop')
    expect(e.receiver).toBe(oidOf(tx, c))
    expect(e.message).toMatch(/recursed/)
    // The guard is released afterwards: the same send fails the same way again (not with a stale guard or a stack overflow).
    const again = thrown(() => c.loop())
    expect(again.code).toBe('KERNEL_DOES_NOT_UNDERSTAND')
    expect(again.selector).toBe('loop')
  })

  it('the guard is per selector and receiver: a handler may send another unknown selector, or the same one to another object', () => {
    const p = tx.root.clone()
    p['doesNotUnderstand:'] = function (this: P, msg: { selector: string; receiver: P }) {
      if (msg.selector === 'outer') return 'outer→' + this.inner()
      if (msg.selector === 'inner') return 'inner@' + this.label
      if (this.hasSlot('next')) return this.label + '→' + this.next[msg.selector]()
      return msg.selector + '@' + this.label
    }
    const a = p.clone()
    a.label = 'a'
    const b = p.clone()
    b.label = 'b'
    a.next = b
    expect(a.outer()).toBe('outer→inner@a')
    expect(a.ping()).toBe('a→ping@b')
  })

  it('a handler may itself fail with DoesNotUnderstand for selectors it does not handle', () => {
    const p = tx.root.clone()
    p['doesNotUnderstand:'] = function (this: P, msg: { selector: string }) {
      if (msg.selector.startsWith('get_')) return msg.selector.slice(4)
      return this.nothingHere()
    }
    const c = p.clone()
    expect(c.get_name()).toBe('name')
    const e = thrown(() => c.other())
    expect(e.code).toBe('KERNEL_DOES_NOT_UNDERSTAND')
    expect(e.selector).toBe('nothingHere')
  })

  it('a handler on a bare object (no primitives) works too, and sending doesNotUnderstand: itself when absent is a DoesNotUnderstand', () => {
    const o = tx.proxy(tx.create()) as P
    expect(thrown(() => tx.send(o, 'doesNotUnderstand:', { selector: 'x' })).code).toBe('KERNEL_DOES_NOT_UNDERSTAND')
    o['doesNotUnderstand:'] = function (msg: { selector: string }) { return 'caught ' + msg.selector }
    expect(o.anything()).toBe('caught anything')
  })
})
