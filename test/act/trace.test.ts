/**
 * Errors that point at their place: the send trace of a failed act (each method left, with its
 * receiver and its own line and column, then the act's frame), thrown values that are not Errors,
 * syntax errors with the line and a caret, console.log and sleep. Over the bridge and the CLI:
 * test/cli/errors.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { traceText } from '../../src/cli/format.js'
import type { ActError } from '../../src/act/index.js'
import type { UvmError } from '../../src/errors.js'
import { rejected } from '../support/uvm.js'
import type { ActImage } from './fixture.js'
import { actImage } from './fixture.js'

let u: ActImage
beforeEach(async () => { u = await actImage() })
afterEach(async () => { await u.dispose() })

/** Shape (with area reading a slot of a missing object) and a Rect cloned from it, stored at root.r. */
async function shapes(): Promise<{ shape: number; rect: number }> {
  const { value } = await u.act(`prototypes.Shape = new UvmObject()
prototypes.Shape.area = function () {
  const k = 2
  return this.size.x * k
}
prototypes.Shape.twice = function () {
  return [1, 2].map((n) => n * this.area())
}
root.r = prototypes.Shape.clone()
return [prototypes.Shape.mirror().oid, root.r.mirror().oid]`)
  const [shape, rect] = value as number[]
  return { shape: shape!, rect: rect! }
}

describe('the send trace', () => {
  it('names each method the error left, its receiver and its own line and column, then the act', async () => {
    const { rect } = await shapes()
    const e = await rejected(u.act('const r = root.r\n\nreturn r.area()'))
    expect(e.message).toBe("Cannot read properties of undefined (reading 'x')")
    // The act's own position stays where the act is (line 3), as before.
    expect([e.details.line, e.details.column]).toEqual([3, 10])
    expect(e.details.trace).toEqual([
      { selector: 'area', line: 3, column: 20, receiver: rect, receiver_print: `<Shape #${rect}>` },
      { selector: 'act', line: 3, column: 10, receiver: 2, receiver_print: '<Genesis #2>', act: true },
    ])
    expect(traceText(e.details.trace as never)).toBe(`<Shape #${rect}> area (line 3, column 20) ← <Genesis #2> act (line 3, column 10)`)
  })

  it('blocks (callbacks inside a method) show as "[] in" the method, and the receiver is the real one', async () => {
    const { rect } = await shapes()
    const e = await rejected(u.act('return root.r.twice()'))
    expect(traceText(e.details.trace as never)).toBe(
      `<Shape #${rect}> area (line 3, column 20) ← [] in <Shape #${rect}> twice (line 2, column 37) ← <Shape #${rect}> twice (line 2, column 17) ← <Genesis #2> act (line 1, column 15)`)
  })

  it('a kernel error (doesNotUnderstand:) raised in a method shows the method too', async () => {
    await u.act('root.w = new UvmObject()\nroot.w.go = function () {\n  return self.nothingHere()\n}')
    const e = await rejected(u.act('return root.w.go()'))
    expect(e.code).toBe('KERNEL_DOES_NOT_UNDERSTAND')
    expect(traceText(e.details.trace as never)).toMatch(/^<Object #\d+> go \(line 2, column 15\) ← <Genesis #2> act \(line 1, column 15\)$/)
    // The host stack where the kernel raised it, for --debug.
    expect((e as ActError).hostStack).toMatch(/notUnderstood/)
    expect((e as ActError).sandboxStack).toMatch(/method:\d+:go:2:/)
    expect(JSON.stringify(e)).not.toMatch(/notUnderstood|method:/)
  })

  it('async methods, bare-body methods and sends from host code', async () => {
    await u.act(`root.a = new UvmObject()
root.a.later = async function () {
  await null
  throw new RangeError('late')
}
root.a.outer = 'const v = await self.later()\\nreturn v'
`)
    await u.act('root.a.outer = new UvmObject()')
    await u.act(`root.a.outer = function () { return 0 }`)
    const e = await rejected(u.act('await root.a.later()'))
    expect([e.message, traceText(e.details.trace as never)]).toEqual(['late', expect.stringMatching(/^<Object #\d+> later \(line 3, column 9\) ← <Genesis #2> act \(line 1, column 1\)$/)])
  })

  it('methods keep their source text and their behaviour: the guard is invisible', async () => {
    await u.act('root.m = new UvmObject()\nroot.m.f = function (a) { if (a) { throw new Error("x") } return a }\nroot.m.g = () => 7\nroot.m.e = function () {}')
    const r = await u.act('const m = root.m; return [m.f(0), m.g(), m.e(), (() => { try { m.f(1) } catch (e) { return e.message } })()]')
    expect(r.value).toEqual([0, 7, undefined, 'x'])
    const src = await u.act('return root.m.mirror().slots')
    expect(JSON.stringify(src.value)).not.toMatch(/__uvm/)
  })

  it('a runaway recursion: the innermost frames, a repeated one shown once with how often', async () => {
    await u.act('root.l = new UvmObject()\nroot.l.deep = function (n) { return self.deep(n + 1) }')
    const e = await rejected(u.act('return root.l.deep(0)'))
    expect(e.message).toBe('Maximum call stack size exceeded')
    // V8 stopped recording at the limit: the trace says so, and the act's frame is still last.
    expect(traceText(e.details.trace as never)).toMatch(/^<Object #(\d+)> deep \(line 1, column 46\) ← <Object #\1> deep \(line 1, column 34\) ×199 ← … more frames not recorded ← <Genesis #2> act$/)
    expect((e.details.trace as unknown[]).at(-2)).toEqual({ selector: '…', cut: true })
  })

  it('a deep recursion within the limit: the true count, and the act frame last (issue 17 fix2)', async () => {
    await u.act('root.r = new UvmObject()\nroot.r.deep = function (n) { if (n <= 0) throw new Error("bottom"); return self.deep(n - 1) }')
    const e = await rejected(u.act('return root.r.deep(30)'))
    expect(e.message).toBe('bottom')
    expect(traceText(e.details.trace as never)).toMatch(/^<Object #(\d+)> deep \(line 1, column 40\) ← <Object #\1> deep \(line 1, column 73\) ×30 ← <Genesis #2> act \(line 1, column 15\)$/)
  })

  it('a method that runs past the CPU limit: the trace says where the checkpoint stopped it', async () => {
    await u.act('root.l = new UvmObject()\nroot.l.spin = function () {\n  let i = 0\n  for (;;) { i++ }\n}')
    // A limit well above the clock's tick: the checkpoint, not node's backstop watchdog, is what stops it.
    const e = await rejected(u.act('const l = root.l\nl.spin()', { cpuTimeoutMs: 500 }))
    expect(e.code).toBe('ACT_TIMEOUT')
    expect(traceText(e.details.trace as never)).toMatch(/^<Object #\d+> spin \(line 3, column \d+\) ← <Genesis #2> act \(line 2, column 3\)$/)
    // Caught and looping on in the act: still the first place the limit was met.
    const caught = await rejected(u.act('try { root.l.spin() } catch (e) {}\nfor (;;) {}', { cpuTimeoutMs: 500 }))
    expect(traceText(caught.details.trace as never)).toMatch(/^<Object #\d+> spin \(line 3, column \d+\) ← <Genesis #2> act \(line 1, column 14\)$/)
  })

  it('an error thrown and caught inside leaves no stale receivers for a later one', async () => {
    const { rect } = await shapes()
    const e = await rejected(u.act('try { root.r.area() } catch (e) {}\nthrow new Error("mine")'))
    expect(traceText(e.details.trace as never)).toBe('<Genesis #2> act (line 2, column 7)')
    expect(rect).toBeGreaterThan(0)
  })
})

describe('a thrown value that is not an Error', () => {
  it('shows the value, bounded', async () => {
    expect((await rejected(u.act('throw "a string"'))).message).toBe('the act threw "a string"')
    expect((await rejected(u.act('throw 42'))).message).toBe('the act threw 42')
    expect((await rejected(u.act('throw {code: 1}'))).message).toBe('the act threw {code: 1}')
    expect((await rejected(u.act('throw [1, "two", null]'))).message).toBe('the act threw [1, "two", null]')
    expect((await rejected(u.act('throw root'))).message).toMatch(/^the act threw <\w+ #0>$/)
    const long = (await rejected(u.act('throw "x".repeat(10000)'))).message
    expect(long.length).toBeLessThan(230)
    expect(long.endsWith('…')).toBe(true)
  })

  it('thrown through methods: the trace names them, without positions', async () => {
    await u.act('root.t = new UvmObject()\nroot.t.boom = function () { throw "no" }')
    const e = await rejected(u.act('root.t.boom()'))
    expect(e.message).toBe('the act threw "no"')
    expect(traceText(e.details.trace as never)).toMatch(/^<Object #\d+> boom ← <Genesis #2> act$/)
  })
})

describe('syntax errors show the line with a caret', () => {
  it('acts', async () => {
    const e = await rejected(u.act('print("before")\n\tlet x = ;\nreturn x'))
    expect([e.code, e.details.line, e.details.column]).toEqual(['ACT_SYNTAX', 2, 10])
    expect(e.details.excerpt).toBe('\tlet x = ;\n\t        ^')
  })

  it('methods', () => {
    let e: UvmError | undefined
    try { u.realm.compileMethod('const a = 1\nreturn (a +', 'f') } catch (x) { e = x as UvmError }
    expect([e?.code, e?.details.line]).toEqual(['KERNEL_METHOD_SYNTAX', 2])
    expect(e?.details.excerpt).toBe('return (a +\n           ^')
  })
})

describe('Node habits', () => {
  it('console.log, info, warn, error and debug print as print does, in acts and methods', async () => {
    await u.act('root.c = new UvmObject()\nroot.c.say = function () { console.warn("from", "a method", 3) }')
    const r = await u.act('console.log("a", {b: 1}); console.info(2); console.error(null); console.debug([1]); root.c.say(); return globalThis.console === console')
    expect(r.output).toBe('a {b: 1}\n2\nnull\n[1]\nfrom a method 3\n')
    expect(r.value).toBe(true)
    // Frozen: no state between acts through it.
    expect((await rejected(u.act('console.hoard = 1'))).message).toMatch(/not extensible|read only|Cannot add/)
  })

  it('await sleep(ms) waits within the wall limit; past it, ACT_TIMEOUT at once, saying so', async () => {
    const r = await u.act('const t = Date.now(); await sleep(30); return Date.now() - t')
    expect(r.value).toBeGreaterThanOrEqual(25)
    const e = await rejected(u.act('await sleep(60000)', { wallTimeoutMs: 400 }))
    expect(e.code).toBe('ACT_TIMEOUT')
    expect(e.message).toMatch(/^sleep\(60000\) would end past the act's wall-clock limit of 400 ms \(\d+ ms left\)$/)
    expect((await rejected(u.act('await sleep("soon")'))).message).toMatch(/sleep\(ms\) takes a number of milliseconds/)
    // A declaration of its own shadows it (it is a global, not a binding).
    expect((await u.act('const sleep = 5; return sleep')).value).toBe(5)
  })
})
