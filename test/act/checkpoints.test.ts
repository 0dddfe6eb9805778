/**
 * CPU-limit checkpoints woven into sandbox code (src/act/instrument.ts), and
 * the fast send paths they made possible: what the author wrote is what is
 * stored and reported; the woven name is unreachable; a method closure cached
 * for one transaction never serves another.
 */
import { parse } from 'acorn'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { instrument, uninstrument } from '../../src/act/instrument.js'
import { methodBody } from '../../src/act/parse.js'
import type { Method } from '../../src/kernel/index.js'
import { rejected } from '../support/uvm.js'
import type { ActImage } from './fixture.js'
import { actImage } from './fixture.js'

let u: ActImage
beforeEach(async () => { u = await actImage() })
afterEach(async () => { await u.dispose() })

const parseScript = (text: string) => parse(text, { ecmaVersion: 'latest', locations: true, allowReturnOutsideFunction: true, preserveParens: true })

describe('weaving', () => {
  const sources = [
    'function (n) { let s = 0; for (let i = 0; i < n; i++) s += i; while (n--) s++; do s--; while (s > 100); return s }',
    'function () { for (const k in self) if (k) continue; for (const x of [1, 2]) x; return [1].map((x) => x + 1) }',
    '(a) => ({ a })',
    'async function () { for await (const x of []) x; label: for (;;) { break label } return () => () => 1 }',
    'function () { class A { f = () => 1; static { for (;;) break } get g() { return 1 } } return new A().f() }',
    'function () {\n  "use strict"\n  for (;;) for (;;) f = () => x\n}',
  ]

  it('puts a checkpoint in every function and loop, and takes out exactly what it put in', () => {
    for (const src of sources) {
      const text = `(${src})`
      const out = instrument(text, parseScript(text) as never)
      expect(out.text).not.toBe(text)
      expect(() => parseScript(out.text)).not.toThrow()
      expect(uninstrument(out.text)).toBe(text)
    }
    // what methodBody compiles is checkpointed too, bare bodies included
    expect(methodBody('return args.length').text).toContain('__uvm_tick();')
  })

  it("takes the checkpoints out of a method's own text too (a method is no expression: toString() {…})", () => {
    const object = '({ toString() { while (false) {} return "x" }, get y() { return 1 }, async *g() { for (;;) yield 1 } })'
    const out = instrument(object, parseScript(object) as never)
    for (const [name, text] of [['toString', 'toString() { while (false) {} return "x" }'], ['g', 'async *g() { for (;;) yield 1 }']] as const) {
      const start = out.text.indexOf(name === 'g' ? 'async *g()' : 'toString()')
      // The method's text as Function.prototype.toString gives it: from its name to its closing brace.
      let depth = 0, end = start
      for (let i = out.text.indexOf('{', start); i < out.text.length; i++) {
        if (out.text[i] === '{') depth++
        else if (out.text[i] === '}' && --depth === 0) { end = i + 1; break }
      }
      const compiled = out.text.slice(start, end)
      expect(compiled).toContain('__uvm_tick')
      expect(uninstrument(compiled)).toBe(text)
    }
  })

  it('keeps every line, and maps columns back', () => {
    const text = '"use strict"; return (\nfunction () { for (;;) x = 1; return () => y }\n)'
    const out = instrument(text, parseScript(text) as never)
    expect(out.text.split('\n').length).toBe(3)
    const woven = out.text.split('\n')[1]!, mine = text.split('\n')[1]!
    expect(woven).not.toBe(mine)
    expect(out.column(2, woven.indexOf('return') + 1)).toBe(mine.indexOf('return') + 1)
    expect(out.column(2, woven.indexOf('x = 1') + 1)).toBe(mine.indexOf('x = 1') + 1)
    expect(out.column(2, woven.indexOf('y)') + 1)).toBe(mine.indexOf('y }') + 1)
  })
})

describe('through acts and methods', () => {
  it('a function an act stores as a method keeps the source its author wrote', async () => {
    const src = 'function (n) { let s = 0; for (let i = 0; i < n; i++) s += i; return [s, [1, 2].map((x) => x * 2)] }'
    await u.act(`root.o = new UvmObject()\nroot.o.f = ${src}`)
    expect(u.read((tx) => (tx.read(tx.objectOf(tx.root.o)!).slots.get('f') as Method).source)).toBe(src)
    expect((await u.act('return root.o.f(4)')).value).toEqual([6, [2, 4]])
  })

  it('the checkpoint name is reserved: an act or a method naming it is refused before anything runs', async () => {
    const e = await rejected(() => u.act('__uvm_tick = () => {}\nfor (;;) {}'))
    expect(e.code).toBe('ACT_FORBIDDEN')
    const nested = await rejected(() => u.act('const f = () => { const __uvm_tickle = 1 }'))
    expect(nested.code).toBe('ACT_FORBIDDEN')
    expect(() => u.realm.compileMethod('function () { let __uvm_tick = 0; for (;;) {} }', 'm')).toThrow(expect.objectContaining({ code: 'ACT_FORBIDDEN' }))
  })

  it('runtime errors keep act-relative columns on lines that received checkpoints', async () => {
    const e = await rejected(() => u.act('let n = 0\nfor (;;) { n++; if (n > 2) null.x }'))
    expect([e.code, e.details.line, e.details.column]).toEqual(['ACT_FAILED', 2, 'for (;;) { n++; if (n > 2) null.x }'.indexOf('null.x') + 6])
  })
})

describe('cached method closures', () => {
  it('a method read by sandbox code in one transaction is never bound to another transaction', async () => {
    await u.act(`root.p = new UvmObject()
      root.p.bump = function () { self.hits = (self.hasSlot('hits') ? self.hits : 0) + 1; return self.hits }
      root.p.callBump = function (o) { return o.bump() }
      root.r = root.p.clone()`)
    const t1 = u.image.begin()
    const t2 = u.image.begin()
    try {
      // t1 reads r.bump inside the realm (the closure is cached for t1), then t2 does the same.
      expect(t1.send(t1.root.p, 'callBump', t1.root.r)).toBe(1)
      expect(t2.send(t2.root.p, 'callBump', t2.root.r)).toBe(1)
      expect(t2.send(t2.root.p, 'callBump', t2.root.r)).toBe(2)
      expect([t1.root.r.hits, t2.root.r.hits]).toEqual([1, 2])
      await t1.commit()
    } finally {
      t2.abort()
    }
    expect(u.read((tx) => tx.root.r.hits)).toBe(1)
  })

  it('an ended transaction leaves no proxy on the shared object handles', async () => {
    await u.act('root.q = new UvmObject()\nroot.q.m = function () { return 1 }')
    const tx = u.image.begin()
    const q = tx.objectOf(tx.root.q)!
    expect(tx.send(tx.root.q, 'm')).toBe(1)
    expect(q.proxyBy).toBeDefined()
    tx.abort()
    expect([q.proxy, q.proxyBy]).toEqual([undefined, undefined])
  })
})
