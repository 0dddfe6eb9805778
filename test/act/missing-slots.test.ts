/**
 * A slot no lookup finds, as acts and methods see it: reading it gives `undefined` (JS's own
 * answer, so `self.count = (self.count ?? 0) + 1` works); calling it (`obj.m()`, `obj[k]()`)
 * sends doesNotUnderstand:. Acts and methods are compiled with a call mark before each method
 * call's receiver, which is how a graph proxy tells the read of a callee from a plain read.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Method } from '../../src/kernel/index.js'
import type { P } from '../support/uvm.js'
import { rejected } from '../support/uvm.js'
import type { ActImage } from './fixture.js'
import { actImage } from './fixture.js'

let u: ActImage
beforeEach(async () => { u = await actImage() })
afterEach(async () => { await u.dispose() })

describe('reading a missing slot gives undefined', () => {
  it('in an act: the value, typeof, ?? and || defaults', async () => {
    expect((await u.act('return [genesis.zzz === undefined, typeof genesis.zzz, genesis.zzz ?? "default", genesis.zzz || 0]')).value)
      .toEqual([true, 'undefined', 'default', 0])
    await u.act('genesis.count = (genesis.count ?? 0) + 1')
    await u.act('genesis.count = (genesis.count || 0) + 1')
    u.read((tx) => expect(tx.genesis.count).toBe(2))
  })

  it('in a method: the counter idiom stores numbers, never a function turned to text', async () => {
    await u.act('genesis.bump = function () { self.counter = (self.counter || 0) + 1; return self.counter }')
    expect((await u.act('genesis.bump(); return genesis.bump()')).value).toBe(2)
    u.read((tx) => expect(tx.genesis.counter).toBe(2))
  })

  it('a call of a slot that exists leaves no mark that turns a later read into a call', async () => {
    await u.act('genesis.take = function (v) { return v }')
    expect((await u.act('return [genesis.take(genesis.zzz), genesis.take(genesis["zz" + "z"])]')).value).toEqual([undefined, undefined])
  })

  it('a mark left on something that is not a graph object does not turn a later read into a call', async () => {
    expect((await u.act('const a = [1]; a.push(2); "x".toUpperCase(); return [a.length, genesis.zzz, root.nope]')).value).toEqual([2, undefined, undefined])
  })
})

describe('calling a missing slot sends doesNotUnderstand:', () => {
  it('obj.m() and obj[k]() are does-not-understand errors with the selector', async () => {
    for (const code of ['return genesis.zzz()', 'const k = "zz" + "z"; return genesis[k]()', 'return root.genesis.zzz(1, 2)']) {
      expect((await rejected(u.act(code))).toJSON()).toMatchObject({ code: 'KERNEL_DOES_NOT_UNDERSTAND', selector: 'zzz' })
    }
  })

  it('an object that overrides doesNotUnderstand: answers calls, while reads still give undefined', async () => {
    await u.act('genesis["doesNotUnderstand:"] = function (message) { return "made " + message.selector }')
    expect((await u.act('return [genesis.anything(), genesis.anything]')).value).toEqual(['made anything', undefined])
  })

  it('an optional call (obj.m?.()) asks for undefined when there is no m: nothing is sent', async () => {
    await u.act('genesis["doesNotUnderstand:"] = function (message) { throw new Error("sent " + message.selector) }')
    expect((await u.act('return genesis.maybe?.()')).value).toBeUndefined()
  })

  it('host code cannot tell a read from a call: it gets the function that sends doesNotUnderstand:', async () => {
    const tx = u.image.begin()
    try {
      const g = tx.genesis as P
      expect(typeof g.zzz).toBe('function')
      expect(() => g.zzz()).toThrow(/does not understand 'zzz'/)
    } finally {
      tx.abort()
    }
  })
})

it('a function an act stores keeps its source as written: no call marks or checkpoints', async () => {
  const source = 'function () { for (const o of self.items) o.visit(); return self.x.y() }'
  await u.act(`genesis.walk = ${source}`)
  u.read((tx) => {
    const stored = tx.read(tx.objectOf(tx.genesis)!).slots.get('walk')
    expect(stored).toBeInstanceOf(Method)
    expect((stored as Method).source).toBe(source)
  })
})
