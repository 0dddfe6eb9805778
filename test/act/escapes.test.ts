import { describe, it, expect, afterEach } from 'vitest'
import { inspect } from 'node:util'
import { UvmError } from '../../src/errors.js'
import { HardenedRealm } from '../../src/act/realm.js'
import { rejection } from '../support/uvm.js'

/**
 * Every attempt runs as act code. An escape would hand the act a host
 * `Function`, whose `'return process'` gives node's process object; the act
 * reports each attempt as `refused: <ErrorName>`, `returned <type>`, or
 * ESCAPED, and the payload also sets a sentinel on whatever global it reaches.
 */
const PAYLOAD = "'globalThis.__escaped = true; return process'"
const ATTEMPT = `const attempt = (f) => {
  try {
    const r = f()
    return r !== null && typeof r === 'object' && typeof r.pid === 'number' ? 'ESCAPED' : 'returned ' + typeof r
  } catch (e) { return 'refused: ' + (e && e.name) }
}
`
const host = globalThis as { __escaped?: unknown }

afterEach(() => {
  expect(host.__escaped).toBeUndefined()
})

async function attempts(realm: HardenedRealm, body: string, bindings: Record<string, unknown> = {}): Promise<string[]> {
  return [...await realm.runAct(ATTEMPT + body, bindings) as string[]]
}


/** A stand-in for a kernel graph object: a host proxy over a realm target whose reads yield host functions. */
function graphObject(realm: HardenedRealm): object {
  const send = (name: string) => realm.hostFunction(name, () => realm.newObject())
  return new Proxy(realm.newObject(), {
    get: (_t, key) => (key === 'then' || typeof key === 'symbol' ? undefined : send(key)),
  })
}

describe('escapes through .constructor.constructor', () => {
  const realm = new HardenedRealm()

  it('from the act itself', async () => {
    expect(await attempts(realm, `return [
      attempt(() => this.constructor.constructor(${PAYLOAD})()),
      attempt(() => (() => 0).constructor(${PAYLOAD})()),
      attempt(() => ({}).constructor.constructor(${PAYLOAD})()),
      attempt(() => (async function () {}).constructor(${PAYLOAD})()),
      attempt(() => (function* () {}).constructor(${PAYLOAD})()),
      attempt(() => (function () { return arguments.callee.caller })()),
    ]`)).toEqual(['refused: TypeError', 'refused: EvalError', 'refused: EvalError', 'refused: EvalError', 'refused: EvalError', 'refused: TypeError'])
  })

  it('from a method whose this is a realm object', () => {
    const m = realm.compileMethod(`try { return this.constructor.constructor(${PAYLOAD})() } catch (e) { return 'refused: ' + e.name }`, 'm')
    const o = realm.newObject()
    expect(realm.invoke(m, o, [o])).toBe('refused: EvalError')
  })

  it('through a graph-object proxy passed as a binding', async () => {
    expect(await attempts(realm, `return [
      attempt(() => graph.constructor.constructor(${PAYLOAD})()),
      attempt(() => graph.anything.constructor.constructor(${PAYLOAD})()),
      attempt(() => graph.anything().constructor.constructor(${PAYLOAD})()),
      attempt(() => Object.getPrototypeOf(graph).constructor.constructor(${PAYLOAD})()),
      attempt(() => graph.__proto__.constructor(${PAYLOAD})()),
    ]`, { graph: graphObject(realm) })).toEqual(Array(5).fill('refused: EvalError'))
  })

  it('through values a host function returns (objects, arrays, bytes, promises)', async () => {
    const give = realm.hostFunction('give', (_t, [what]) => {
      if (what === 'object') return realm.newObject()
      if (what === 'array') return realm.newArray([1])
      if (what === 'bytes') return realm.copyBytes(new Uint8Array(2))
      return new Promise((r) => setTimeout(() => r(realm.newObject()), 5))
    })
    expect(await attempts(realm, `const p = give('promise'), settled = await p
    return [
      attempt(() => give('object').constructor.constructor(${PAYLOAD})()),
      attempt(() => give('array').constructor.constructor(${PAYLOAD})()),
      attempt(() => give('bytes').constructor.constructor(${PAYLOAD})()),
      attempt(() => p.constructor.constructor(${PAYLOAD})()),
      attempt(() => p.then.constructor(${PAYLOAD})()),
      attempt(() => settled.constructor.constructor(${PAYLOAD})()),
      attempt(() => give.constructor(${PAYLOAD})()),
    ]`, { give })).toEqual(Array(7).fill('refused: EvalError'))
  })

  it('through an error thrown by a host function (sync and async)', async () => {
    const boom = realm.hostFunction('boom', () => { throw new Error('host failure') })
    const later = realm.hostFunction('later', () => Promise.reject(new TypeError('async host failure')))
    expect(await attempts(realm, `let e1, e2
    try { boom() } catch (e) { e1 = e }
    try { await later() } catch (e) { e2 = e }
    return [
      attempt(() => e1.constructor.constructor(${PAYLOAD})()),
      attempt(() => Object.getPrototypeOf(e1).constructor.constructor(${PAYLOAD})()),
      attempt(() => e2.constructor.constructor(${PAYLOAD})()),
      attempt(() => e1 instanceof Error && e2 instanceof TypeError ? undefined : 'host error objects'),
    ]`, { boom, later })).toEqual(['refused: EvalError', 'refused: EvalError', 'refused: EvalError', 'returned undefined'])
  })
})

describe('stack-trace hooks', () => {
  const realm = new HardenedRealm()

  it('Error.prepareStackTrace cannot be replaced, and host frames never show', async () => {
    const boom = realm.hostFunction('boom', () => { throw new Error('host failure') })
    const [results, stacks] = await realm.runAct(ATTEMPT + `
      let hookRan = false
      const hook = (e, frames) => { hookRan = true; return frames }
      const results = [
        attempt(() => { Error.prepareStackTrace = hook }),
        attempt(() => Object.defineProperty(Error, 'prepareStackTrace', { value: hook })),
        attempt(() => { globalThis.Error = { prepareStackTrace: hook } }),
        attempt(() => Object.defineProperty(globalThis, 'Error', { value: { prepareStackTrace: hook } })),
        attempt(() => { Error.stackTraceLimit = Infinity }),
      ]
      const captured = {}
      Error.captureStackTrace(captured)
      let fromHost
      try { boom() } catch (e) { fromHost = e.stack }
      results.push(hookRan, typeof Error)
      return [results, [new Error('x').stack, captured.stack, fromHost]]`, { boom }) as [unknown[], string[]]
    // globalThis is a frozen object of the intrinsics: no global can be set at all (none survives an act).
    expect([...results]).toEqual(['refused: TypeError', 'refused: TypeError', 'refused: TypeError', 'refused: TypeError', 'refused: TypeError', false, 'function'])
    for (const stack of stacks) {
      expect(typeof stack).toBe('string')
      expect(stack).not.toMatch(/node:|file:|\/work\/|\.ts|\.js|evalmachine/)
    }
  })

  it('an error with a Symbol name thrown from the act does not crash the host', async () => {
    const e = await rejection(realm.runAct(`const e = new Error('odd')
      Object.defineProperty(e, 'name', { value: Symbol('evil') })
      throw e`, {}))
    expect([e.code, e.name, e.message]).toEqual(['ACT_FAILED', 'Error', 'odd'])
    const thrownSymbol = await rejection(realm.runAct("throw Symbol('s')", {}))
    expect(thrownSymbol.message).toBe('the act threw Symbol(s)')
  })

  it('an error with a Symbol name or a getter passed to toRealmError does not crash the host', () => {
    const odd = new Error('odd') as Error & { name: unknown }
    Object.defineProperty(odd, 'name', { value: Symbol('evil') })
    Object.defineProperty(odd, 'message', { get() { throw new Error('getter ran') } })
    const e = realm.toRealmError(odd)
    expect([e.name, e.message]).toEqual(['Error', ''])
  })
})

describe('module syntax', () => {
  const realm = new HardenedRealm()

  it("refuses import('fs') and import.meta before running anything", async () => {
    for (const code of ["const fs = await import('fs'); return fs", 'return import.meta.url', "import fs from 'fs'"]) {
      expect(() => realm.checkActSyntax(code)).toThrow(expect.objectContaining({ code: 'ACT_FORBIDDEN' }))
      expect((await rejection(realm.runAct(code, {}))).code).toBe('ACT_FORBIDDEN')
    }
  })
})

describe('prototype pollution', () => {
  it('cannot touch the host nor the next act', async () => {
    const realm = new HardenedRealm()
    expect(await attempts(realm, `return [
      attempt(() => { Object.prototype.polluted = 1 }),
      attempt(() => { Array.prototype.push = () => 0 }),
      attempt(() => { Object.prototype.toString = () => 'pwned' }),
      attempt(() => { Function.prototype.call = null }),
      attempt(() => { Promise.prototype.then = null }),
      attempt(() => Object.setPrototypeOf(Object.prototype, {})),
      attempt(() => { globalThis.Array = null }),
      attempt(() => { JSON.parse = null }),
    ]`)).toEqual([...Array(8).fill('refused: TypeError')])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(await realm.runAct('return [({}).polluted, String({}), typeof Array, [1].push(2), typeof JSON.parse]', {}))
      .toEqual([undefined, '[object Object]', 'function', 2, 'function'])
  })
})

describe('the array prototypes (sealed and read-only rather than Object.freeze: see lockdown.ts)', () => {
  it('refuse indexed, new and redefined properties like any frozen object', async () => {
    const realm = new HardenedRealm()
    expect(await attempts(realm, `return [
      attempt(() => { Array.prototype[0] = 'ghost' }),
      attempt(() => { Object.prototype[3] = 'ghost' }),
      attempt(() => { Array.prototype.extra = 1 }),
      attempt(() => { Array.prototype.map = null }),
      attempt(() => Object.defineProperty(Array.prototype, 'map', { value: null })),
      attempt(() => Object.defineProperty(Object.prototype, 'hasOwnProperty', { get() { return 1 } })),
      attempt(() => { delete Array.prototype.push }),
      attempt(() => Object.setPrototypeOf(Array.prototype, null)),
    ]`)).toEqual(Array(8).fill('refused: TypeError'))
    expect(await realm.runAct('const a = [, 1]; a[5] = 2; return [a[0], 0 in a, [].extra, typeof [].map, a.length]', {}))
      .toEqual([undefined, false, undefined, 'function', 6])
  })
})

describe('what the realm can see', () => {
  const realm = new HardenedRealm()
  const hostKeys = ['process', 'require', 'module', 'exports', 'Buffer', 'global', 'setTimeout', 'setInterval', 'setImmediate',
    'queueMicrotask', 'structuredClone', 'fetch', 'URL', 'TextEncoder', 'performance', '__filename', '__dirname',
    'FinalizationRegistry', 'Proxy', 'WebAssembly']

  it('no host keys on globalThis, by any reflection', async () => {
    const [names, keys, types] = await realm.runAct(
      'return [Object.getOwnPropertyNames(globalThis), Object.keys(globalThis), names.map((n) => typeof globalThis[n])]',
      { names: realm.newArray(hostKeys) }) as [string[], string[], string[]]
    for (const k of hostKeys) expect([...names]).not.toContain(k)
    expect([...keys]).toEqual([])
    expect([...types]).toEqual(hostKeys.map(() => 'undefined'))
    expect([...names]).toEqual(expect.arrayContaining(['Object', 'Array', 'Promise', 'JSON', 'Math', 'Reflect']))
    // console is the UVM's own, frozen, its methods print: the host's console is gone.
    expect(await realm.runAct('return [Object.isFrozen(console), Object.keys(console).every((k) => console[k] === print)]', {})).toEqual([true, true])
  })

  it('refuses eval and new Function (no code generation from strings)', async () => {
    expect(await attempts(realm, `return [
      attempt(() => eval('1')),
      attempt(() => new Function('return 1')()),
      attempt(() => Function('return 1')()),
      attempt(() => new (Object.getPrototypeOf(async () => {}).constructor)('return 1')),
    ]`)).toEqual(Array(4).fill('refused: EvalError'))
  })

  it('refuses registered nodejs.* symbols (util.inspect.custom would call sandbox code with host objects)', async () => {
    expect(await attempts(realm, `return [
      attempt(() => Symbol.for('nodejs.util.inspect.custom')),
      attempt(() => Symbol.for({ toString: () => 'nodejs.util.inspect.custom' })),
      attempt(() => Symbol.for('mine')),
    ]`)).toEqual(['refused: TypeError', 'refused: TypeError', 'returned symbol'])
    const shown = inspect(await realm.runAct('return { x: 1 }', {}))
    expect(shown).toContain('x: 1')
  })

  it('refuses handing the host a thenable result (its then would get host resolving functions)', async () => {
    const e = await rejection(realm.runAct(`let reads = 0
      return { get then() { return reads++ === 0 ? undefined : (ok) => { globalThis.__escaped = ok.constructor } } }`, {}))
    expect(e.code).toBe('ACT_FAILED')
    expect(await realm.runAct('return typeof globalThis.__escaped', {})).toBe('undefined')
  })

  it('nothing can block the thread: no SharedArrayBuffer, no Atomics.wait (a blocked thread meets no CPU checkpoint)', async () => {
    const fast = new HardenedRealm({ cpuTimeoutMs: 50 })
    const e = await rejection(fast.runAct('Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)', {}))
    expect([e.code, e.details.name]).toEqual(['ACT_FAILED', 'ReferenceError'])
    expect(await fast.runAct('return [typeof SharedArrayBuffer, typeof Atomics.wait, typeof Atomics.add]', {})).toEqual(['undefined', 'undefined', 'function'])
  })

  it('globals one act creates cannot shadow intrinsics for the next', async () => {
    await realm.runAct("globalThis.Array = null; globalThis.helper = 1; Object.defineProperty(globalThis, 'Math', { value: 1 })", {})
      .catch(() => undefined)
    expect(await realm.runAct('return [typeof Array, typeof Math.max]', {})).toEqual(['function', 'function'])
  })
})
