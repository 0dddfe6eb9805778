/**
 * The limits of acts on a real image: CPU time on every entry into sandbox
 * code (the act itself, methods the host calls later, result detaching), the
 * wall deadline of async acts, and the output cap. After every timeout the
 * act's transaction is aborted and the image keeps serving.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ActError } from '../../src/act/act-error.js'
import { HardenedRealm } from '../../src/act/realm.js'
import { UvmError } from '../../src/errors.js'
import { rejected, thrown } from '../support/uvm.js'
import type { ActImage } from './fixture.js'
import { actImage, LIMITS } from './fixture.js'

let u: ActImage
beforeEach(async () => { u = await actImage() })
afterEach(async () => { await u.dispose() })

/** A timed-out act: ACT_TIMEOUT with the limit that ended it, and no transaction record. */
async function timesOut(start: () => Promise<unknown>, limit: 'cpu' | 'wall', ms: number): Promise<ActError> {
  const before = await u.tids()
  const e = await rejected(start)
  expect(e).toBeInstanceOf(ActError)
  expect(e.toJSON()).toMatchObject({ code: 'ACT_TIMEOUT', limit, ms })
  expect(await u.tids()).toEqual(before)
  return e
}

/** A host call that ran past the CPU limit: ACT_TIMEOUT, and the host is out of the realm again. */
function cpuTimedOut(e: any): void {
  expect(e).toBeInstanceOf(UvmError)
  expect([e.code, e.details.limit]).toEqual(['ACT_TIMEOUT', 'cpu'])
  expect(u.realm.depth).toBe(0)
}

/** The image still serves: a writing act commits. */
async function stillServes(): Promise<void> {
  const r = await u.act('root.served = (root.hasSlot("served") ? root.served : 0) + 1\nreturn root.served')
  expect(r.tid).toBeGreaterThan(0)
  expect(u.read((tx) => tx.root.served)).toBe(r.value)
}

describe('defaults', () => {
  it('1 s of CPU per entry, 30 s of wall clock per act, 1 MiB of output', async () => {
    const realm = new HardenedRealm()
    expect([realm.cpuTimeoutMs, realm.wallTimeoutMs]).toEqual([1000, 30000])
    const big = await u.act('print("x".repeat(200000))\nprint("y".repeat(1 << 20))')
    expect(big.output.startsWith('x'.repeat(200000) + '\ny')).toBe(true)
    // What was cut is said, and how much: 200,002 characters of the second line did not fit.
    expect(big.output.endsWith("\n… 200,002 characters cut: an act's output is capped at 1,048,576 characters\n")).toBe(true)
  })
})

describe('CPU time', () => {
  it('ends an act that loops, aborts its transaction, and the image keeps serving', async () => {
    await u.act('root.box = new UvmObject()\nroot.box.n = 1')
    await timesOut(() => u.act('root.box.n = 2\nroot.extra = new UvmObject()\nfor (;;) {}'), 'cpu', LIMITS.cpuTimeoutMs)
    expect(u.read((tx) => [tx.root.box.n, tx.root.hasSlot('extra')])).toEqual([1, false])
    await stillServes()
    // Per act, and after an await (a later run of the act's code is a new entry with the same limit).
    await timesOut(() => u.act('root.box.n = 3\nfor (;;) {}', { cpuTimeoutMs: 50 }), 'cpu', 50)
    await timesOut(() => u.act('root.box.n = 4\nawait sleep(5)\nfor (;;) {}', { capabilities: { sleep: u.sleep } }), 'cpu', LIMITS.cpuTimeoutMs)
    expect(u.read((tx) => tx.root.box.n)).toBe(1)
    await stillServes()
  })

  describe('on every entry: a looping method an act installed, called later', () => {
    beforeEach(async () => {
      const r = await u.act(`root.spinner = new UvmObject()
        root.spinner.n = 0
        root.spinner.spin = function () { while (true) {} }
        root.spinner.spinLater = async function () { await null; for (;;) {} }
        root.spinner.ok = function () { return 'fine' }`)
      expect(r.tid).toBeDefined() // installing it ran nothing of it
    })

    it('a method an act hands back (read inside the sandbox) is still CPU-limited when the host calls it', async () => {
      const r = await u.act('return [root.spinner.spin, root.spinner.ok]')
      const [spin, ok] = r.value as [(...a: unknown[]) => unknown, (...a: unknown[]) => unknown]
      expect(typeof spin).toBe('function')
      // The error crosses back through the realm's function wrapper: it carries the code, not the host class.
      expect(thrown(() => spin()).code).toBe('ACT_TIMEOUT')
      expect(u.realm.depth).toBe(0)
      expect(ok()).toBe('fine')
    })

    it('by the host through tx.send and image.kernel.send: ACT_TIMEOUT, and the host goes on', async () => {
      for (const call of [
        (tx: any) => tx.send(tx.root.spinner, 'spin'),
        (tx: any) => u.image.kernel.send(tx, tx.objectOf(tx.root.spinner), 'spin', []),
      ]) {
        const tx = u.image.begin()
        cpuTimedOut(thrown(() => call(tx)))
        expect(tx.send(tx.root.spinner, 'ok')).toBe('fine')
        tx.abort()
      }
      // An async method: the host gets a promise, and the loop in its continuation rejects it.
      const tx = u.image.begin()
      cpuTimedOut(await rejected(() => tx.send(tx.root.spinner, 'spinLater') as Promise<unknown>))
      expect(tx.send(tx.root.spinner, 'ok')).toBe('fine')
      tx.abort()
    })

    it('a method that catches the timeout meets it again at its next checkpoint, and the host still gets ACT_TIMEOUT', async () => {
      await u.act(`root.stubborn = new UvmObject()
        root.stubborn.spin = function () { let caught = 0; for (;;) { try { for (;;) {} } catch (e) { caught++ } } }
        root.stubborn.recurse = function (n) { try { return self.recurse(n + 1) + self.recurse(n + 1) } catch (e) { return 0 } }`)
      const tx = u.image.begin()
      for (const sel of ['spin', 'recurse']) cpuTimedOut(thrown(() => tx.send(tx.root.stubborn, sel, 0)))
      expect(tx.send(tx.root.spinner, 'ok')).toBe('fine')
      tx.abort()
    })

    it('time, not a count of checkpoints: a loop of long native calls ends after a few of them', async () => {
      await u.act(`root.sorter = new UvmObject()
        root.sorter.run = function () { const a = Array.from({ length: 200000 }, (_, i) => -i); for (;;) { a.sort(); print('sorted') } }`)
      let sorts = 0
      u.realm.onPrint = () => { sorts++ }
      const tx = u.image.begin()
      try {
        cpuTimedOut(thrown(() => tx.send(tx.root.sorter, 'run')))
      } finally {
        tx.abort()
        u.realm.onPrint = undefined
      }
      // One sort of 200k numbers (as strings) takes tens of ms; the limit is LIMITS.cpuTimeoutMs.
      expect(sorts).toBeGreaterThan(0)
      expect(sorts).toBeLessThan(64)
    })

    it('without a running clock every entry falls back to node\'s watchdog', async () => {
      const stopped = new HardenedRealm({ cpuTimeoutMs: 100, clock: { now: new Float64Array(1), running: false } })
      const spin = stopped.compileMethod('function () { for (;;) {} }', 'spin')
      const e = thrown(() => stopped.callMethod(spin, stopped.newObject(), []))
      expect([e.code, e.details.limit]).toEqual(['ACT_TIMEOUT', 'cpu'])
      expect(stopped.depth).toBe(0)
      expect(stopped.callMethod(stopped.compileMethod('return self === this', 'ok'), stopped.newObject(), [])).toBe(true)
    })

    it('a regular expression that backtracks catastrophically ends (V8 falls back to its linear engine)', async () => {
      await u.act(`root.redos = new UvmObject()
        root.redos.test = function () { return /^(a+)+$/.test('a'.repeat(40) + 'b') }`)
      const tx = u.image.begin()
      expect(tx.send(tx.root.redos, 'test')).toBe(false)
      tx.abort()
    })

    it('by the host in image.transact: the transaction is aborted', async () => {
      const e = await rejected(u.image.transact((tx) => { tx.root.spinner.n = 99; tx.send(tx.root.spinner, 'spin') }))
      expect(e.code).toBe('ACT_TIMEOUT')
      expect(u.read((tx) => tx.root.spinner.n)).toBe(0)
      await stillServes()
    })

    it('by a later act (sync and async methods): ACT_TIMEOUT, aborted, and the next act works', async () => {
      await timesOut(() => u.act('root.spinner.n = 1\nroot.spinner.spin()'), 'cpu', LIMITS.cpuTimeoutMs)
      await stillServes()
      await timesOut(() => u.act('root.spinner.n = 2\nawait root.spinner.spinLater()'), 'cpu', LIMITS.cpuTimeoutMs)
      await stillServes()
      expect(u.read((tx) => tx.root.spinner.n)).toBe(0)
    })

    it('through doesNotUnderstand: too', async () => {
      await u.act("root.spinner['doesNotUnderstand:'] = function (message) { for (;;) {} }")
      const tx = u.image.begin()
      expect(thrown(() => tx.send(tx.root.spinner, 'anything')).code).toBe('ACT_TIMEOUT')
      tx.abort()
      await timesOut(() => u.act('root.spinner.n = 3\nroot.spinner.whatever()'), 'cpu', LIMITS.cpuTimeoutMs)
      await stillServes()
    })
  })

  it('covers the result: a getter in returned data never runs on the host (it shows as [getter])', async () => {
    const r = await u.act('root.wrote = true\nreturn [{ get x() { for (;;) {} } }, [1, [{ ok: 1, get x() { for (;;) {} } }]]]')
    expect(r.value).toEqual([{ x: '[getter]' }, [1, [{ ok: 1, x: '[getter]' }]]])
    expect(u.read((tx) => tx.root.wrote)).toBe(true)
    await stillServes()
  })

  it('the result reaching the host is a host copy even when the act\'s array overrides slice and map', async () => {
    const r = await u.act(`const a = [1, { get two() { return 2 } }]
      const hostile = () => ({ get x() { for (;;) {} } })
      Object.defineProperty(a, 'slice', { value: () => { const b = []; Object.defineProperty(b, 'map', { value: hostile }); return b } })
      Object.defineProperty(a, 'map', { value: hostile })
      return a`)
    expect(Array.isArray(r.value)).toBe(true)
    expect(Object.getPrototypeOf(r.value)).toBe(Array.prototype)
    expect(r.value).toEqual([1, { two: '[getter]' }]) // reading it on the host runs nothing of the act
  })

  it('a host send to an async method that loops: ACT_TIMEOUT, and the method\'s promise is not left unhandled', async () => {
    const unhandled: unknown[] = []
    const listener = (_reason: unknown, promise: Promise<unknown>) => { if (u.realm.isRealmValue(promise)) unhandled.push(promise) }
    process.on('unhandledRejection', listener)
    try {
      const tx = u.image.begin()
      tx.root.spin = async function () { while (true) { /* spin */ } }
      cpuTimedOut(thrown(() => tx.send(tx.root, 'spin')))
      cpuTimedOut(thrown(() => u.image.kernel.send(tx, tx.objectOf(tx.root), 'spin', [])))
      tx.abort()
      await new Promise((r) => setTimeout(r, 20))
    } finally {
      process.off('unhandledRejection', listener)
    }
    expect(unhandled).toEqual([])
    await stillServes()
  })

  it('a looping act ended by its checkpoint never leaves its promise rejected and unhandled (the watchdog fires later)', async () => {
    // Both limits at once once let node's watchdog terminate the entry between the act's async function
    // returning its rejected promise and the handler being attached: an unhandled rejection (seen once
    // in 3,500 such acts, and once in a full CI run). The watchdog is now a backstop past the limit.
    const unhandled: unknown[] = []
    const listener = (_reason: unknown, promise: Promise<unknown>) => { if (u.realm.isRealmValue(promise)) unhandled.push(promise) }
    process.on('unhandledRejection', listener)
    try {
      for (let i = 0; i < 500; i++) {
        const e = await rejected(() => u.realm.runAct('while (true) {}', {}, { cpuTimeoutMs: 2 + (i % 5) }))
        expect((e as UvmError).code).toBe('ACT_TIMEOUT')
      }
      await new Promise((r) => setTimeout(r, 20))
    } finally {
      process.off('unhandledRejection', listener)
    }
    expect(unhandled).toEqual([])
  })

  it('a CPU timeout in one act does not disturb an act in flight', async () => {
    await u.act('root.a = new UvmObject()\nroot.a.n = 0')
    const slow = u.act('await sleep(50)\nroot.a.n = 1\nawait sleep(50)\nreturn "slow done"', { capabilities: { sleep: u.sleep } })
    await timesOut(() => u.act('await sleep(10)\nfor (;;) {}', { capabilities: { sleep: u.sleep } }), 'cpu', LIMITS.cpuTimeoutMs)
    const r = await slow
    expect(r.value).toBe('slow done')
    expect(u.read((tx) => tx.root.a.n)).toBe(1)
  })
})

describe('wall clock', () => {
  it('ends an act awaiting a promise that never settles, aborts it, and the next act works', async () => {
    await timesOut(() => u.act('root.stalled = true\nawait new Promise(() => {})'), 'wall', LIMITS.wallTimeoutMs)
    await timesOut(() => u.act('root.stalled = true\nawait new Promise(() => {})', { wallTimeoutMs: 100 }), 'wall', 100)
    expect(u.read((tx) => tx.root.hasSlot('stalled'))).toBe(false)
    await stillServes()
  })

  it('an act timed out while awaiting a host service is never resumed', async () => {
    let after = 0
    const mark = u.realm.hostFunction('mark', () => { after++ })
    await timesOut(() => u.act('await sleep(250)\nmark()\nroot.late = true', { wallTimeoutMs: 100, capabilities: { sleep: u.sleep, mark } }), 'wall', 100)
    await new Promise((r) => setTimeout(r, 300))
    expect(after).toBe(0)
    expect(u.read((tx) => tx.root.hasSlot('late'))).toBe(false)
    await stillServes()
  })
})

describe('output cap', () => {
  it('cuts with a note saying how much, and the act still succeeds; prints from methods count too', async () => {
    await u.act('root.talker = new UvmObject()\nroot.talker.say = function (i) { print("method line", i) }')
    const r = await u.act('for (let i = 0; i < 50; i++) { print("line", i); root.talker.say(i) }\nroot.printed = true\nreturn "done"', { outputLimit: 64 })
    expect(r.value).toBe('done')
    expect(r.tid).toBeDefined()
    expect(r.output.startsWith('line 0\nmethod line 0\nline 1\n')).toBe(true)
    expect(r.output).toMatch(/\n… [\d,]+ characters cut: an act's output is capped at 64 characters\n$/)
    expect(r.output.length).toBeLessThanOrEqual(64 + "\n… 9,999 characters cut: an act's output is capped at 64 characters\n".length)
    expect(u.read((tx) => tx.root.printed)).toBe(true)
  })

  it('a failed act keeps its capped output', async () => {
    const e = await rejected(u.act('for (let i = 0; i < 50; i++) print("line", i)\nthrow new Error("after printing")', { outputLimit: 20 }))
    expect(e.code).toBe('ACT_FAILED')
    expect(e.output).toBe("line 0\nline 1\nline 2\n… 370 characters cut: an act's output is capped at 20 characters\n")
  })
})
