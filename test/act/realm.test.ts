import { describe, it, expect } from 'vitest'
import { DoesNotUnderstand, MethodSyntaxError, UvmError } from '../../src/errors.js'
import { HardenedRealm } from '../../src/act/realm.js'
import type { RealmFunction } from '../../src/kernel/realm.js'
import { rejection } from '../support/uvm.js'

/** Call a compiled method the way the kernel does: fn.call(receiver, receiver, ...args). */
function send(realm: HardenedRealm, fn: RealmFunction, receiver: unknown, ...args: unknown[]): unknown {
  return realm.invoke(fn, receiver, [receiver, ...args])
}

function receiver(realm: HardenedRealm, x = 10): Record<string, unknown> {
  const o = realm.newObject()
  o.x = x
  return o
}


function syntaxErrorOf(f: () => unknown): MethodSyntaxError {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(MethodSyntaxError)
    return e as MethodSyntaxError
  }
  throw new Error('expected a MethodSyntaxError')
}

describe('compileMethod forms', () => {
  const realm = new HardenedRealm()
  const o = receiver(realm)

  it('function expressions get self in front of their parameters, and this is the receiver', () => {
    expect(send(realm, realm.compileMethod('function (a, b) { return self.x + a + b + (this === self ? 100 : 0) }', 'f'), o, 1, 2)).toBe(113)
    expect(send(realm, realm.compileMethod('function named(a) { return [named.name, a] }', 'f'), o, 5)).toEqual(['named', 5])
    expect(send(realm, realm.compileMethod('/* doc */ (function () { return self.x })', 'f'), o)).toBe(10)
  })

  it('async functions and async methods return realm promises', async () => {
    const f = realm.compileMethod('async function (a) { return self.x + await a }', 'f')
    const m = realm.compileMethod('async twice(a) { return 2 * await a }', 'm')
    const arrow = realm.compileMethod('async (a,\n  b) =>\n  a + b', 'arrow')
    expect(await realm.runAct('return [await f.call(o, o, 5), await m.call(o, o, 4), await arrow.call(o, o, 1, 2)]', { f, m, o, arrow }))
      .toEqual([15, 8, 3])
  })

  it('arrows become ordinary functions: block bodies, expression bodies, object literal bodies, this', () => {
    expect(send(realm, realm.compileMethod('(a) => { return self.x * a }', 'f'), o, 3)).toBe(30)
    expect(send(realm, realm.compileMethod('a => self.x + a', 'f'), o, 1)).toBe(11)
    expect(send(realm, realm.compileMethod('() => ({ v: this.x })', 'f'), o)).toEqual({ v: 10 })
  })

  it('method shorthand, including generators', () => {
    expect(send(realm, realm.compileMethod('greet(name) { return "hi " + name + " from " + self.x }', 'greet'), o, 'bob')).toBe('hi bob from 10')
    const gen = realm.compileMethod('*items() { yield self.x; yield self.x + 1 }', 'items')
    expect(realm.invoke(realm.compileMethod('return [...args[0].call(self, self)]', 'spread'), o, [o, gen])).toEqual([10, 11])
  })

  it('bare bodies see self and args; a host function arrives through args', () => {
    const printed: unknown[] = []
    const print = realm.hostFunction('print', (_this, args) => { printed.push(...args); return undefined })
    const f = realm.compileMethod('args[0]("x is", self.x)\nreturn args.length', 'show')
    expect(send(realm, f, o, print, 'extra')).toBe(2)
    expect(printed).toEqual(['x is', 10])
  })

  it('a bare body that awaits at top level is async', async () => {
    const wait = realm.hostFunction('wait', (_t, [v]) => Promise.resolve(v))
    const f = realm.compileMethod('const v = await args[0](self.x)\nreturn v + 1', 'f')
    expect(await realm.runAct('return f.call(o, o, wait)', { f, o, wait })).toBe(11)
  })

  it('compiles each source once: same source, same function', () => {
    const a = realm.compileMethod('return self.x', 'a')
    expect(realm.compileMethod('return self.x', 'a')).toBe(a)
    // Per selector: a stack frame names the method by the file it was compiled in.
    expect(realm.compileMethod('return self.x', 'b')).not.toBe(a)
    expect(realm.compileMethod('return self.x ', 'a')).not.toBe(a)
  })

  it('compiled functions live in the realm', () => {
    const f = realm.compileMethod('return 1', 'f')
    expect(f).not.toBeInstanceOf(Function)
    expect(realm.isRealmFunction(f)).toBe(true)
  })
})

describe('compileMethod syntax errors (1-based line and column, relative to the source)', () => {
  const realm = new HardenedRealm()

  it('reports the position in a function expression', () => {
    const e = syntaxErrorOf(() => realm.compileMethod('function (a) {\n  return a +\n}', 'plus'))
    expect([e.line, e.column, e.code]).toEqual([3, 1, 'KERNEL_METHOD_SYNTAX'])
    expect(e.message).toContain("method 'plus'")
  })

  it('reports the position in a bare body and in a method shorthand', () => {
    const body = syntaxErrorOf(() => realm.compileMethod('const a = 1\nconst = 2', 'm'))
    expect([body.line, body.column]).toEqual([2, 7])
    const short = syntaxErrorOf(() => realm.compileMethod('greet(a) {\n  return a +;\n}', 'greet'))
    expect([short.line, short.column]).toEqual([2, 13])
    const end = syntaxErrorOf(() => realm.compileMethod('return self.x +', 'm'))
    expect([end.line, end.column]).toEqual([1, 16])
  })

  it('reports what only V8 refuses, at V8s position', () => {
    // acorn knows RegExp modifiers, node 20's V8 does not.
    const e = syntaxErrorOf(() => realm.compileMethod('const ok = 1\nreturn /(?i:a)/.test("A")', 'm'))
    expect([e.line, e.column]).toEqual([2, 8])
  })

  it('refuses source that tries to close the wrapper early', () => {
    syntaxErrorOf(() => realm.compileMethod('}); globalThis.pwned = 1; (function () {', 'm'))
    syntaxErrorOf(() => realm.compileMethod('function () {}, globalThis.pwned = 1, function () {}', 'm'))
    expect(realm.invoke(realm.compileMethod('return typeof globalThis.pwned', 'check'), undefined, [])).toBe('undefined')
  })

  it('refuses a parameter named self (it would shadow the receiver)', () => {
    expect(syntaxErrorOf(() => realm.compileMethod('function (self) {}', 'm')).column).toBe(11)
  })

  it('refuses import() and import.meta with ACT_FORBIDDEN', () => {
    expect(() => realm.compileMethod('return import("fs")', 'm')).toThrow(expect.objectContaining({ code: 'ACT_FORBIDDEN' }))
    expect(() => realm.compileMethod('function () { return import.meta }', 'm')).toThrow(expect.objectContaining({ code: 'ACT_FORBIDDEN' }))
  })
})

describe('invoke', () => {
  it('ends a sync infinite loop with ACT_TIMEOUT, and the realm keeps working', () => {
    const realm = new HardenedRealm({ cpuTimeoutMs: 50 })
    const loop = realm.compileMethod('while (true) {}', 'loop')
    expect(() => realm.invoke(loop, undefined, [])).toThrow(expect.objectContaining({ code: 'ACT_TIMEOUT' }))
    expect(realm.depth).toBe(0)
    expect(send(realm, realm.compileMethod('return self.x * 2', 'double'), receiver(realm, 21))).toBe(42)
  })

  it('rethrows realm errors as they are', () => {
    const realm = new HardenedRealm()
    let caught: unknown
    try { realm.invoke(realm.compileMethod('throw new RangeError("nope")', 'm'), undefined, []) } catch (e) { caught = e }
    expect(caught).not.toBeInstanceOf(Error) // a realm error, not a host one
    expect(realm.toRealmError(caught)).toBe(caught)
  })

  it('runs nested host→realm calls directly: both run, depth counts them, no new timed entry', () => {
    const realm = new HardenedRealm()
    const depths: number[] = []
    const inner = realm.compileMethod('return self.x + 1', 'inner')
    const o = receiver(realm, 1)
    const viaHost = realm.hostFunction('viaHost', () => {
      depths.push(realm.depth)
      return realm.invoke(inner, o, [o])
    })
    const outer = realm.compileMethod('return [args[0](), self.x]', 'outer')
    expect(send(realm, outer, o, viaHost)).toEqual([2, 1])
    expect(depths).toEqual([1])
    expect(realm.depth).toBe(0)

  })

  it('the CPU limit of the outermost entry covers nested calls', () => {
    const realm = new HardenedRealm({ cpuTimeoutMs: 50 })
    const spin = realm.compileMethod('while (true) {}', 'spin')
    const callsSpin = realm.hostFunction('callsSpin', () => realm.invoke(spin, undefined, []))
    expect(() => realm.invoke(realm.compileMethod('return args[0]()', 'm'), undefined, [undefined, callsSpin]))
      .toThrow(expect.objectContaining({ code: 'ACT_TIMEOUT' }))
    expect(realm.depth).toBe(0)
  })
})

describe('hostFunction', () => {
  const realm = new HardenedRealm()

  it('is a realm function forwarding this and args to the host', () => {
    let seen: unknown[] = []
    const hf = realm.hostFunction('hf', (thisArg, args) => { seen = [thisArg, ...args]; return 'ok' })
    expect(hf).not.toBeInstanceOf(Function)
    expect(realm.isRealmFunction(hf)).toBe(true)
    const o = receiver(realm)
    expect(realm.invoke(realm.compileMethod('return args[0].call(self, 1, "two")', 'm'), o, [o, hf])).toBe('ok')
    expect(seen).toEqual([o, 1, 'two'])
    expect(realm.invoke(realm.compileMethod('return [args[0].name, args[0].constructor === Function, Object.isFrozen(args[0])]', 'm'), undefined, [undefined, hf]))
      .toEqual(['hf', true, true])
  })

  it('turns host exceptions into realm errors with their fields', () => {
    const dnu = realm.hostFunction('dnu', () => { throw new DoesNotUnderstand('frob', 7) })
    const probe = realm.compileMethod(
      'try { args[0]() } catch (e) { return [e instanceof Error, e.name, e.message, e.code, e.selector, e.receiver] }', 'probe')
    expect(realm.invoke(probe, undefined, [undefined, dnu]))
      .toEqual([true, 'DoesNotUnderstand', "#7 does not understand 'frob'", 'KERNEL_DOES_NOT_UNDERSTAND', 'frob', 7])
    const typeErr = realm.hostFunction('typeErr', () => { throw new TypeError('bad type') })
    expect(realm.invoke(realm.compileMethod('try { args[0]() } catch (e) { return e instanceof TypeError && e.message }', 'm'), undefined, [undefined, typeErr]))
      .toBe('bad type')
  })

  it('hands a host promise result over as a realm promise', async () => {
    const later = realm.hostFunction('later', () => Promise.resolve(5))
    expect(await realm.runAct('const p = later(); return [p instanceof Promise, await p]', { later })).toEqual([true, 5])
    const fails = realm.hostFunction('fails', () => Promise.reject(new RangeError('async bad')))
    expect(await realm.runAct('try { await fails() } catch (e) { return [e instanceof RangeError, e.message] }', { fails }))
      .toEqual([true, 'async bad'])
  })
})

describe('realm-made values', () => {
  const realm = new HardenedRealm()

  it('newArray, newObject, copyBytes and the prototypes belong to the realm', () => {
    const a = realm.newArray([1, 'two'])
    expect(Object.getPrototypeOf(a)).toBe(realm.arrayPrototype)
    expect(Array.isArray(a) && a.length === 2 && a[1] === 'two').toBe(true)
    expect(Object.getPrototypeOf(realm.newObject())).toBe(realm.objectPrototype)
    expect(realm.arrayPrototype).not.toBe(Array.prototype)
    expect(realm.objectPrototype).not.toBe(Object.prototype)
    const bytes = realm.copyBytes(new Uint8Array([1, 2, 3]))
    expect(bytes).not.toBeInstanceOf(Uint8Array)
    expect([...bytes]).toEqual([1, 2, 3])
    expect(realm.invoke(realm.compileMethod('return [Array.isArray(args[0]), args[1] instanceof Uint8Array]', 'm'), undefined, [undefined, a, bytes]))
      .toEqual([true, true])
  })

  it('toRealmError keeps name, message and primitive own fields, and sanitizes the stack', () => {
    const host = new MethodSyntaxError('Unexpected token', 3, 4, 'greet')
    const e = realm.toRealmError(host) as Error & Record<string, unknown>
    expect(e).not.toBeInstanceOf(Error)
    expect(Object.getPrototypeOf(Object.getPrototypeOf(e))).toBe(realm.objectPrototype)
    expect([e.name, e.message, e.code, e.line, e.column, e.selector]).toEqual(
      ['MethodSyntaxError', host.message, 'KERNEL_METHOD_SYNTAX', 3, 4, 'greet'])
    expect(e.details).toBeUndefined() // an object: not copied
    expect(String(e.stack)).not.toMatch(/\/|node:|file:/)
  })

  it('toRealmError never runs getters and survives a Symbol name or message', () => {
    const odd = new Error('plain')
    Object.defineProperty(odd, 'name', { value: Symbol('sneaky') })
    let getterRan = false
    Object.defineProperty(odd, 'code', { enumerable: true, get() { getterRan = true; return 'X' } })
    const e = realm.toRealmError(odd)
    expect([e.name, e.message, getterRan]).toEqual(['Error', 'plain', false])
    expect(realm.toRealmError(Symbol('thrown')).message).toBe('Symbol(thrown)')
    expect(realm.toRealmError('just text').message).toBe('just text')
  })

  it('isRealmFunction tells realm functions from host ones', () => {
    const made = realm.invoke(realm.compileMethod('return () => 1', 'm'), undefined, [])
    expect(realm.isRealmFunction(made)).toBe(true)
    expect(realm.isRealmFunction(() => 1)).toBe(false)
    expect(realm.isRealmFunction(realm.newObject())).toBe(false)
    expect(realm.isRealmFunction(undefined)).toBe(false)
    expect(realm.isRealmValue(realm.newObject())).toBe(true)
    expect(realm.isRealmValue({})).toBe(false)
  })

  it('pins a safe Error.prepareStackTrace and freezes the intrinsics', () => {
    const probe = realm.compileMethod(`
      const d = Object.getOwnPropertyDescriptor(Error, 'prepareStackTrace')
      return [typeof d.value, d.writable, d.configurable,
        [Object.prototype, Array.prototype, Function.prototype, Error.prototype, Promise.prototype, Object, Array]
          .every(Object.isFrozen)]`, 'm')
    expect(realm.invoke(probe, undefined, [])).toEqual(['function', false, false, true])
  })

  it('still lets sandbox code override inherited names on its own objects', () => {
    const f = realm.compileMethod(`
      const e = new Error('x'); e.name = 'Custom'
      class MyError extends Error { constructor(m) { super(m); this.name = 'MyError' } }
      const o = {}; o.toString = () => 'mine'
      return [e.name, new MyError('m').name, String(o), Error.prototype.name]`, 'm')
    expect(realm.invoke(f, undefined, [])).toEqual(['Custom', 'MyError', 'mine', 'Error'])
  })
})

describe('acts', () => {
  it('checkActSyntax reports act-relative positions', () => {
    const realm = new HardenedRealm()
    expect(() => realm.checkActSyntax('return 1')).not.toThrow()
    expect(() => realm.checkActSyntax('await 1; return 2')).not.toThrow()
    let e: UvmError | undefined
    try { realm.checkActSyntax('const a = 1\nlet x = ;') } catch (x) { e = x as UvmError }
    expect([e?.code, e?.details.line, e?.details.column]).toEqual(['ACT_SYNTAX', 2, 9])
    expect(() => realm.checkActSyntax('})(); (async function () {')).toThrow(expect.objectContaining({ code: 'ACT_SYNTAX' }))
    expect(() => realm.checkActSyntax('const fs = await import("fs")')).toThrow(expect.objectContaining({ code: 'ACT_FORBIDDEN' }))
  })

  it('returns the value, with bindings as parameters', async () => {
    const realm = new HardenedRealm()
    expect(await realm.runAct('return a + b', { a: 1, b: 2 })).toBe(3)
    expect(await realm.runAct('return a * b', { a: 3, b: 4 })).toBe(12)
    expect(await realm.runAct('return { list: [1, 2], text: "t" }', {})).toEqual({ list: [1, 2], text: 't' })
    expect(await realm.runAct('return typeof a', {})).toBe('undefined') // bindings do not persist
  })

  it('rejects a syntax error with ACT_SYNTAX', async () => {
    const e = await rejection(new HardenedRealm().runAct('return (', {}))
    expect([e.code, e.details.line]).toEqual(['ACT_SYNTAX', 1])
  })

  it('awaits a host promise resolved later by a timer', async () => {
    const realm = new HardenedRealm()
    const delayed = realm.hostFunction('delayed', (_t, [v]) => new Promise((r) => setTimeout(() => r(v), 50)))
    expect(await realm.runAct('const v = await delayed(21)\nconst w = await delayed(v)\nreturn v + w', { delayed })).toBe(42)
  })

  it('runs two acts at once', async () => {
    const realm = new HardenedRealm()
    const delayed = realm.hostFunction('delayed', (_t, [v, ms]) => new Promise((r) => setTimeout(() => r(v), ms as number)))
    const [a, b] = await Promise.all([
      realm.runAct('return await delayed("a", 40)', { delayed }),
      realm.runAct('return await delayed("b", 10)', { delayed }),
    ])
    expect([a, b]).toEqual(['a', 'b'])
  })

  it('ends an act awaiting a promise that never settles at the wall deadline', async () => {
    const realm = new HardenedRealm()
    const never = realm.hostFunction('never', () => new Promise(() => {}))
    const e = await rejection(realm.runAct('await never()\nreturn 1', { never }, { wallTimeoutMs: 100 }))
    expect([e.code, e.details.limit, e.details.ms]).toEqual(['ACT_TIMEOUT', 'wall', 100])
    expect(await realm.runAct('return "still fine"', {})).toBe('still fine')
  })

  it('applies the CPU limit to the first run and to every later run after an await', async () => {
    const realm = new HardenedRealm({ cpuTimeoutMs: 50 })
    const tick = realm.hostFunction('tick', () => new Promise((r) => setTimeout(r, 10)))
    const first = await rejection(realm.runAct('for (;;) {}', {}))
    expect([first.code, first.details.limit]).toEqual(['ACT_TIMEOUT', 'cpu'])
    const later = await rejection(realm.runAct('await tick()\nawait tick()\nfor (;;) {}', { tick }))
    expect([later.code, later.details.limit]).toEqual(['ACT_TIMEOUT', 'cpu']) // not the 30 s wall deadline
    // A per-act limit overrides the realm's.
    const own = await rejection(realm.runAct('for (;;) {}', {}, { cpuTimeoutMs: 10 }))
    expect([own.code, own.details.limit, own.details.ms]).toEqual(['ACT_TIMEOUT', 'cpu', 10])
    expect(await realm.runAct('await tick()\nreturn "alive"', { tick })).toBe('alive')
  })

  it('meets the wall deadline even when spinning on settled host promises, then stops for good', async () => {
    const realm = new HardenedRealm()
    let calls = 0
    const quick = realm.hostFunction('quick', () => { calls++; return Promise.resolve(calls) })
    const e = await rejection(realm.runAct('for (;;) await quick()', { quick }, { wallTimeoutMs: 100 }))
    expect([e.code, e.details.limit]).toEqual(['ACT_TIMEOUT', 'wall'])
    const after = calls
    await new Promise((r) => setTimeout(r, 50))
    expect(calls).toBe(after) // the orphaned act is never resumed
  })

  it('a CPU timeout in one act\'s continuation fails that act only', async () => {
    const realm = new HardenedRealm({ cpuTimeoutMs: 250 })
    const tick = realm.hostFunction('tick', () => new Promise((r) => setTimeout(r, 10)))
    const slow = realm.runAct('await tick(); await tick(); await tick(); await tick(); return "slow ok"', { tick })
    const bad = await rejection(realm.runAct('await tick(); for (;;) {}', { tick }))
    expect([bad.code, bad.details.limit]).toEqual(['ACT_TIMEOUT', 'cpu'])
    expect(await slow).toBe('slow ok')
  })

  it('reports what an act threw with name, message and act-relative line/column', async () => {
    const realm = new HardenedRealm()
    const tick = realm.hostFunction('tick', () => new Promise((r) => setTimeout(r, 5)))
    const sync = await rejection(realm.runAct('const a = 1\n\nnull.x', {}))
    expect([sync.code, sync.name, sync.message, sync.details.line, sync.details.column])
      .toEqual(['ACT_FAILED', 'TypeError', "Cannot read properties of null (reading 'x')", 3, 6])
    const late = await rejection(realm.runAct('await tick()\n  throw new RangeError("bad")', { tick }))
    expect([late.name, late.message, late.details.line, late.details.column]).toEqual(['RangeError', 'bad', 2, 9])
    const prim = await rejection(realm.runAct('throw 42', {}))
    expect([prim.code, prim.message]).toEqual(['ACT_FAILED', 'the act threw 42'])
  })

  it('reports where a method called by the act failed, relative to the act', async () => {
    const realm = new HardenedRealm()
    const m = realm.compileMethod('return self.missing.x', 'broken')
    const e = await rejection(realm.runAct('const o = {}\nreturn m.call(o, o)', { m }))
    expect([e.name, e.details.line, e.details.column]).toEqual(['TypeError', 2, 10]) // V8 points at `call`
    expect(String(e.details.stack)).toMatch(/method:\d+:broken:1:/)
  })

  it('keeps a UVM error code from a host function and its fields', async () => {
    const realm = new HardenedRealm()
    const send = realm.hostFunction('send', () => { throw new DoesNotUnderstand('frob', 12) })
    const e = await rejection(realm.runAct('\nsend()', { send }))
    expect([e.code, e.name, e.details.selector, e.details.receiver, e.details.line]).toEqual(
      ['KERNEL_DOES_NOT_UNDERSTAND', 'DoesNotUnderstand', 'frob', 12, 2])
    const own = await rejection(realm.runAct('const e = new Error("mine"); e.code = "E_MINE"; throw e', {}))
    expect([own.code, own.details.thrownCode]).toEqual(['ACT_FAILED', 'E_MINE'])
  })

  it('compiles an act once per code string', async () => {
    const realm = new HardenedRealm()
    const a = await rejection(realm.runAct('throw new Error(String(n))', { n: 1 }))
    const b = await rejection(realm.runAct('throw new Error(String(n))', { n: 2 }))
    const file = (e: UvmError) => /act:\d+/.exec(String(e.details.stack))?.[0]
    expect([a.message, b.message]).toEqual(['1', '2'])
    expect(file(a)).toBeDefined()
    expect(file(b)).toBe(file(a))
  })
})
