/**
 * runAct on a real image: scope, one transaction per act, syntax before
 * anything runs, runtime errors as data, methods in slots, print routing,
 * results, reachability of new objects, and a classic-level round trip.
 * (Limits: limits.test.ts; concurrency: concurrency.test.ts; capabilities:
 * capabilities.test.ts. Realm-level behaviour: realm.test.ts, escapes.test.ts.)
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ActError } from '../../src/act/act-error.js'
import { Shown } from '../../src/act/shown.js'
import { UvmError } from '../../src/errors.js'
import { Method, writeSlot } from '../../src/kernel/index.js'
import type { Transaction } from '../../src/image/index.js'
import type { P } from '../support/uvm.js'
import { rejected } from '../support/uvm.js'
import type { ActImage } from './fixture.js'
import { actImage } from './fixture.js'

/** An act that tries to reach the host's `process` in several ways; each entry says what happened. */
const ESCAPES = `const attempt = (f) => {
    try {
      const r = f()
      return r !== null && typeof r === 'object' && typeof r.pid === 'number' ? 'ESCAPED' : 'returned ' + typeof r
    } catch (e) { return 'refused: ' + (e && e.name) }
  }
  return [
    attempt(() => this.constructor.constructor('return process')()),
    attempt(() => self.constructor.constructor('return process')()),
    attempt(() => (function () {}).constructor('return process')()),
    attempt(() => self.clone.constructor('return process')()),
    attempt(() => print.constructor('return process')()),
    attempt(() => process),
    attempt(() => require('fs')),
  ]`
const REFUSED = ['refused: TypeError', 'refused: TypeError', 'refused: EvalError', 'refused: EvalError', 'refused: EvalError', 'refused: ReferenceError', 'refused: ReferenceError']

let u: ActImage
beforeEach(async () => { u = await actImage() })
afterEach(async () => { await u.dispose() })

describe('an act is the body of an async function', () => {
  it('return gives the value; await works; a read-only act commits nothing', async () => {
    expect(await u.act('return 1 + 1')).toEqual({ value: 2, output: '', tid: undefined, changed: [] })
    expect((await u.act('const v = await Promise.resolve(20)\nreturn v + await 1')).value).toBe(21)
    expect((await u.act('const x = 1')).value).toBeUndefined()
    expect((await u.act('return await (async () => { await null; return "later" })()')).value).toBe('later')
    expect(await u.tids()).toEqual([1]) // only genesis
  })

  it('a writing act commits and reports its tid and the objects it wrote', async () => {
    const r = await u.act('root.answer = 42\nreturn root.answer')
    expect(r.value).toBe(42)
    expect(r.tid).toBe(2)
    expect(r.changed).toEqual([u.image.root.oid])
    expect(u.read((tx) => tx.root.answer)).toBe(42)
  })

  it('sees root, genesis, prototypes, print and UvmObject: the image objects themselves', async () => {
    const r = await u.act(`return [typeof root, typeof genesis, typeof prototypes, typeof print, typeof UvmObject,
      root.genesis === genesis, genesis.prototypes === prototypes, root.traits.lobby === root,
      root.printString(), genesis.printString(), prototypes.printString()]`)
    expect(r.value).toEqual(['object', 'object', 'object', 'function', 'function', true, true, true,
      '<Lobby #0>', '<Genesis #2>', '<Prototypes #3>'])
    const [root, genesis] = (await u.act('return [root, genesis]')).value as P[]
    expect(u.image.kernel.objectOf(root)).toBe(u.image.root)
    expect(u.image.kernel.objectOf(genesis)?.oid).toBe(2)
  })

  it('new UvmObject() makes a fresh object delegating to the root traits', async () => {
    const r = await u.act(`const a = new UvmObject(), b = new UvmObject()
      a.x = 1
      const frozen = (() => { try { UvmObject.prototype.x = 1; return 'mutable' } catch (e) { return e.name } })()
      return [a === b, a.x, b.hasSlot('x'), a.respondsTo('clone'), a.parents()[0] === root.traits, a.slotNames(), a.printString() !== b.printString(),
        UvmObject().respondsTo('clone'), frozen]`)
    expect(r.value).toEqual([false, 1, false, true, true, ['parent*', 'x'], true, true, 'TypeError'])
    // Other host functions stay non-constructible.
    expect((await rejected(u.act('new print()'))).details.name).toBe('TypeError')
  })

  it('print is captured and returned as output, one line per call', async () => {
    const r = await u.act('print("text", 42, null, undefined, 10n, [1, "a"], { k: true }, root)\nprint()\nprint("last")')
    expect(r.output).toBe('text 42 null undefined 10n [1, "a"] {k: true} <Lobby #0>\n\nlast\n')
    expect((await u.act('return 1')).output).toBe('') // each act has its own output
  })

  it('sees nothing else of the host: no require, process, import(), timers, console, host globals', async () => {
    const names = ['require', 'process', 'module', 'exports', '__filename', '__dirname', 'Buffer', 'global', 'setTimeout',
      'setInterval', 'setImmediate', 'queueMicrotask', 'fetch', 'performance', 'self', 'args']
    const r = await u.act(`return [${names.map((n) => `typeof ${n}`).join(', ')}, this, Object.getPrototypeOf(root), root.constructor, (new UvmObject()).constructor]`)
    expect(r.value).toEqual([...names.map(() => 'undefined'), undefined, null, undefined, undefined])
    // console is the UVM's own (its methods are print), not the host's.
    expect((await u.act('return [Object.isFrozen(console), console.log === print, console.error === print]')).value).toEqual([true, true, true])
    for (const code of ['const fs = await import("fs")\nreturn fs', 'return import.meta']) {
      const e = await rejected(u.act(code))
      expect(e).toBeInstanceOf(ActError)
      expect(e.code).toBe('ACT_FORBIDDEN')
    }
    expect(await u.tids()).toEqual([1])
  })

  it('cannot reach the host through the act-level bindings (print, UvmObject, graph proxies, slot functions)', async () => {
    const r = await u.act(`const self = root\n${ESCAPES}`)
    expect(r.value).toEqual(REFUSED)
    const more = await u.act(`const attempt = (f) => { try { f(); return 'returned' } catch (e) { return 'refused: ' + e.name } }
      return [
        attempt(() => UvmObject.constructor('return process')()),
        attempt(() => UvmObject.prototype.constructor.constructor('return process')()),
        attempt(() => root.clone().printString.constructor('return process')()),
        attempt(() => Object.getPrototypeOf(print).constructor('return process')()),
      ]`)
    expect(more.value).toEqual(Array(4).fill('refused: EvalError'))
  })
})

describe('one transaction per act', () => {
  it('a committed act records its source, intent, explanation and user', async () => {
    const code = 'root.flag = true\nreturn "set"'
    const r = await u.act(code, { intent: 'set the flag', explanation: 'the architect asked for a flag', user: 'ada' })
    const [rec] = await u.image.transactions({ limit: 1 })
    expect(rec).toMatchObject({ tid: r.tid, user: 'ada', description: 'set the flag', oids: [0] })
    expect(rec!.ext).toEqual({ act: code, intent: 'set the flag', explanation: 'the architect asked for a flag' })
    // Without an intent the description is the act's first line; the record still has the source.
    const r2 = await u.act('root.flag = false // clear it\nreturn 1')
    const rec2 = await u.image.transaction(r2.tid!)
    expect(rec2).toMatchObject({ description: 'root.flag = false // clear it', user: 'uvm', ext: { act: 'root.flag = false // clear it\nreturn 1' } })
    expect(rec2!.ext).not.toHaveProperty('intent')
  })

  it('an act that throws aborts: nothing of it persists, in memory or in the store', async () => {
    await u.act(`root.box = new UvmObject()
      root.box.n = 1
      root.box.list = [1, 2]
      root.box.old = 'old'
      root.box.keep = function () { return 'kept' }`)
    const before = await u.tids()
    const lastTid = u.image.lastTid
    const e = await rejected(u.act(`root.box.n = 2
      root.box.list.push(3)
      root.box.extra = new UvmObject()
      root.box.fresh = function () { return 'fresh' }
      root.box.keep = function () { return 'replaced' }
      root.box.removeSlot('old')
      root['parent*'] = genesis
      root.added = 1
      print('wrote everything')
      throw new Error('changed my mind')`, { intent: 'doomed' }))
    expect(e).toBeInstanceOf(ActError)
    expect([e.code, e.message, e.output, e.details.line]).toEqual(['ACT_FAILED', 'changed my mind', 'wrote everything\n', 10])
    expect(await u.tids()).toEqual(before)
    expect(u.image.lastTid).toBe(lastTid)
    const seen = 'return [root.box.n, [...root.box.list], root.box.respondsTo("extra"), root.box.respondsTo("fresh"), root.box.keep(), root.box.old, root.parents()[0] === root.traits, root.hasSlot("added")]'
    const old = [1, [1, 2], false, false, 'kept', 'old', true, false]
    // A new transaction (host side, and a later act) sees the old state...
    expect(u.read((tx) => [tx.root.box.n, [...tx.root.box.list], tx.root.box.respondsTo('extra'), tx.root.box.respondsTo('fresh'),
      tx.root.box.keep(), tx.root.box.old, tx.root.parents()[0] === tx.root.traits, tx.root.hasSlot('added')])).toEqual(old)
    expect((await u.act(seen)).value).toEqual(old)
    // ...sends of what the failed act added are not understood...
    expect((await rejected(u.act('root.box.fresh()'))).code).toBe('KERNEL_DOES_NOT_UNDERSTAND')
    // ...and so does the image after a reopen.
    await u.reopen()
    expect((await u.act(seen)).value).toEqual(old)
  })

  it('the act works in its own transaction: its writes are invisible to others until it commits', async () => {
    await u.act('root.box = new UvmObject(); root.box.n = 1')
    const running = u.act('root.box.n = 5\nawait sleep(60)\nreturn root.box.n', { capabilities: { sleep: u.sleep } })
    await new Promise((r) => setTimeout(r, 20))
    expect(u.read((tx) => tx.root.box.n)).toBe(1)
    expect((await u.act('return root.box.n')).value).toBe(1)
    expect((await running).value).toBe(5)
    expect(u.read((tx) => tx.root.box.n)).toBe(5)
  })
})

describe('syntax is checked before anything runs', () => {
  it('reports ACT_SYNTAX with act-relative line and column, and nothing ran', async () => {
    const before = await u.tids()
    const e = await rejected(u.act('print("before")\nroot.ran = true\n  let x = ;\nreturn x'))
    expect(e).toBeInstanceOf(ActError)
    expect(e).toBeInstanceOf(UvmError)
    expect([e.code, e.details.line, e.details.column, e.output]).toEqual(['ACT_SYNTAX', 3, 11, ''])
    expect(e.toJSON()).toMatchObject({ code: 'ACT_SYNTAX', line: 3, column: 11, message: expect.any(String) })
    expect(await u.tids()).toEqual(before)
    expect(u.read((tx) => tx.root.hasSlot('ran'))).toBe(false)
  })

  it('positions errors on the first line and past the last one', async () => {
    const first = await rejected(u.act('return )'))
    expect([first.code, first.details.line, first.details.column]).toEqual(['ACT_SYNTAX', 1, 8])
    const open = await rejected(u.act('root.x = 1\nif (true) {\n  print(1)'))
    expect([open.code, open.details.line]).toEqual(['ACT_SYNTAX', 3])
  })

  it('redeclaring a binding is a syntax error too, and nothing ran', async () => {
    const e = await rejected(u.act('print("before")\nroot.ran = true\nlet prototypes = 1'))
    expect([e.code, e.details.line, e.output]).toEqual(['ACT_SYNTAX', 3, ''])
    expect(u.read((tx) => tx.root.hasSlot('ran'))).toBe(false)
    // The same text is checked again each time (a cached check must not let it through).
    expect((await rejected(u.act('print("before")\nroot.ran = true\nlet prototypes = 1'))).code).toBe('ACT_SYNTAX')
    expect(await u.tids()).toEqual([1])
  })

  it('refuses code that is not a string', async () => {
    expect((await rejected(u.act(42 as unknown as string))).code).toBe('ACT_SYNTAX')
  })
})

describe('runtime errors come back as data', () => {
  it('doesNotUnderstand: the kernel code, selector, receiver and the act-relative line', async () => {
    const e = await rejected(u.act('print("about to")\nconst x = 1\n  root.frobnicate(x)'))
    expect(e).toBeInstanceOf(ActError)
    expect(e.retryable).toBe(false)
    expect(e.toJSON()).toEqual({
      code: 'KERNEL_DOES_NOT_UNDERSTAND', message: expect.stringMatching(/#0>? does not understand 'frobnicate'/),
      name: 'DoesNotUnderstand', selector: 'frobnicate', receiver: 0, line: 3, column: 8,
      trace: [{ selector: 'act', act: true, line: 3, column: 8, receiver: 2, receiver_print: '<Genesis #2>' }],
    })
    expect(e.output).toBe('about to\n')
  })

  it('a failure inside a method the act called names the method receiver; the line is where the act called it', async () => {
    const { value: oid } = await u.act('root.w = new UvmObject()\nroot.w.go = function () { return self.nothingHere() }\nreturn root.w.mirror().oid')
    const e = await rejected(u.act('const w = root.w\n\nreturn w.go()'))
    expect([e.code, e.details.selector, e.details.receiver, e.details.line]).toEqual(['KERNEL_DOES_NOT_UNDERSTAND', 'nothingHere', oid, 3])
  })

  it('JS errors: ACT_FAILED with name, message, line and column; thrown values too', async () => {
    const e = await rejected(u.act('const a = null\n\na.b = 1'))
    expect(e.toJSON()).toEqual({ code: 'ACT_FAILED', name: 'TypeError', message: "Cannot set properties of null (setting 'b')", line: 3, column: 5,
      trace: [{ selector: 'act', act: true, line: 3, column: 5, receiver: 2, receiver_print: '<Genesis #2>' }] })
    const thrown = await rejected(u.act('throw "plain string"'))
    expect([thrown.code, thrown.message]).toEqual(['ACT_FAILED', 'the act threw "plain string"'])
    const own = await rejected(u.act('const e = new RangeError("mine"); e.code = "E_MINE"; throw e'))
    expect([own.code, own.name, own.details.name, own.details.thrownCode]).toEqual(['ACT_FAILED', 'ActError', 'RangeError', 'E_MINE'])
  })

  it('kernel refusals keep their code and fields (KERNEL_NOT_STORABLE with the slot path)', async () => {
    const e = await rejected(u.act('root.box = new UvmObject()\nroot.box.when = Symbol("x")'))
    expect([e.code, e.details.path, e.details.line]).toEqual(['KERNEL_NOT_STORABLE', expect.stringMatching(/^'when' of #\d+$/), 2])
    expect(await u.tids()).toEqual([1])
  })
})

describe('methods stored in slots', () => {
  it('compile in the same hardened realm: a method an act installs cannot reach the host', async () => {
    const r = await u.act(`root.probe = new UvmObject()
      root.probe.escape = function () {
        ${ESCAPES}
      }
      return root.probe.escape()`)
    expect(r.value).toEqual(REFUSED)
    // Called again by a later act, and by the host through the kernel.
    expect((await u.act('return root.probe.escape()')).value).toEqual(REFUSED)
    u.read((tx) => {
      expect([...tx.send(tx.root.probe, 'escape') as string[]]).toEqual(REFUSED)
      const method = tx.read(tx.objectOf(tx.root.probe)).slots.get('escape')
      expect(method).toBeInstanceOf(Method)
      expect(u.realm.isRealmFunction(u.image.kernel.compile(method as Method, 'escape'))).toBe(true)
    })
  })

  it('a stored method using import() is refused when it is compiled', async () => {
    await u.act('root.probe = new UvmObject()')
    const tx = u.image.begin()
    writeSlot(tx, tx.objectOf(tx.root.probe), 'sneaky', new Method('async function () { return import("fs") }'))
    await tx.commit()
    const e = await rejected(u.act('return await root.probe.sneaky()'))
    expect([e.code, e.details.selector]).toEqual(['ACT_FORBIDDEN', 'sneaky'])
  })
})

describe('print inside methods', () => {
  it('a method called by the act prints into that act\'s output, before and after awaits', async () => {
    // A stored method closes over nothing of the act: the capability is passed in as an argument.
    await u.act(`root.talker = new UvmObject()
      root.talker.say = function (what) { print('talker says', what); return what.length }
      root.talker.later = async function (wait, ms) { await wait(ms); print('later', ms); return ms }`)
    const r = await u.act('print("act starts")\nconst n = root.talker.say("hello")\nawait root.talker.later(sleep, 10)\nroot.talker.say("bye")\nreturn n',
      { capabilities: { sleep: u.sleep } })
    expect(r.value).toBe(5)
    expect(r.output).toBe('act starts\ntalker says hello\nlater 10\ntalker says bye\n')
  })

  it('a method the host calls directly prints to realm.onPrint, never into an act', async () => {
    await u.act('root.talker = new UvmObject()\nroot.talker.say = function (what) { print("said", what) }')
    const printed: unknown[][] = []
    u.realm.onPrint = (args) => printed.push(args)
    try {
      u.read((tx) => tx.send(tx.root.talker, 'say', 'directly'))
      expect(printed).toEqual([['said', 'directly']])
      expect((await u.act('root.talker.say("in act")')).output).toBe('said in act\n')
      expect(printed).toHaveLength(1)
    } finally {
      u.realm.onPrint = undefined
    }
    u.read((tx) => tx.send(tx.root.talker, 'say', 'to nowhere')) // no sink: dropped, no error
  })
})

describe('what an act returns', () => {
  it('a graph object comes back as a proxy whose printString works and reads the committed state', async () => {
    const r = await u.act('const w = new UvmObject()\nw.n = 7\nprototypes.Widget = w\nreturn w')
    const w = r.value as P
    const oid = u.image.kernel.objectOf(w)!.oid
    expect(r.changed).toContain(oid)
    expect(w.printString()).toBe(`<Widget #${oid}>`)
    expect(String(w)).toBe(`<Widget #${oid}>`)
    expect(w.n).toBe(7)
    await u.act('prototypes.Widget.n = 8')
    expect(w.n).toBe(8) // the latest committed state
    expect(((await u.act('return genesis.prototypes')).value as P).printString()).toBe('<Prototypes #3>')
  })

  it('data comes back as a host copy', async () => {
    const r = await u.act('return { list: [1, "two", { three: 3 }], bytes: new Uint8Array([1, 2]), big: 10n, fn: () => 1, map: new Map(), obj: root }')
    const v = r.value as Record<string, unknown>
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype)
    expect(v.list).toBeInstanceOf(Array)
    expect(v.list).toEqual([1, 'two', { three: 3 }])
    expect(v.bytes).toBeInstanceOf(Uint8Array)
    expect([...v.bytes as Uint8Array]).toEqual([1, 2])
    expect([v.big, v.fn, v.map]).toEqual([10n, new Shown('function', '() => 1'), new Map()])
    expect(u.image.kernel.objectOf(v.obj)).toBe(u.image.root)
  })

  it('present shows the value inside the act\'s transaction: objects stored nowhere, arrays mutated in place', async () => {
    // What each object held, read through the act's own transaction (after the commit, an object the act
    // made and stored nowhere was never written: nothing could read it).
    const present = (tx: Transaction, v: unknown) => (v as P[]).map((p) => {
      const obj = tx.kernel.objectOf(p)!
      return { oid: obj.oid, slots: Object.fromEntries([...tx.read(obj).slots].filter(([k]) => k !== 'parent*')) }
    })
    await u.act('genesis.items = [1]')
    const r = await u.act('const scratch = new UvmObject(); scratch.x = 1; genesis.items.push(2); return [scratch, genesis]', { present })
    const [scratch, genesis] = r.value as { oid: number; slots: Record<string, unknown> }[]
    expect(scratch!.slots).toEqual({ x: 1 })
    expect(genesis!.slots.items).toEqual([1, 2])
    expect(r.changed).toEqual([genesis!.oid])
    expect(u.image.exists(u.image.handle(scratch!.oid))).toBe(false)
    u.read((tx) => expect([...tx.genesis.items]).toEqual([1, 2]))
  })
})

describe('new UvmObject() objects persist only when reachable', () => {
  it('writes the reachable ones (directly or through other new objects), drops the rest', async () => {
    const r = await u.act(`const kept = new UvmObject(), next = new UvmObject(), lost = new UvmObject(), lost2 = new UvmObject()
      kept.v = 1; kept.next = next; next.v = 2
      lost.v = 3; lost.friend = kept; lost2.v = 4; lost2.other = lost
      root.kept = kept
      return [kept, next, lost, lost2]`)
    const [kept, next, lost, lost2] = (r.value as P[]).map((p) => u.image.kernel.objectOf(p)!)
    expect(r.changed.sort()).toEqual([u.image.root.oid, kept!.oid, next!.oid].sort())
    expect([u.image.exists(kept!), u.image.exists(next!), u.image.exists(lost!), u.image.exists(lost2!)]).toEqual([true, true, false, false])
    await u.reopen()
    u.read((tx) => {
      expect(tx.byOid(kept!.oid)?.v).toBe(1)
      expect(tx.byOid(next!.oid)?.v).toBe(2)
      expect(tx.byOid(lost!.oid)).toBeUndefined()
      expect(tx.byOid(lost2!.oid)).toBeUndefined()
      expect(tx.root.kept.next.v).toBe(2)
    })
  })

  it('an act that only makes unreachable objects writes nothing and leaves no record', async () => {
    const r = await u.act('const a = new UvmObject(); a.x = 1; const b = a.clone(); b.y = 2; return b.x + b.y')
    expect([r.value, r.tid, r.changed]).toEqual([3, undefined, []])
    expect(await u.tids()).toEqual([1])
  })
})

describe('classic-level round trip', () => {
  it('persists a committed act (objects, methods, record) and nothing of failed or timed-out acts', async () => {
    const c = await actImage('classic-level')
    try {
      const ok = await c.act(`const shelf = new UvmObject()
        shelf.books = ['SICP']
        shelf.count = function () { return self.books.length }
        prototypes.Shelf = shelf
        root.shelf = shelf
        return shelf.count()`, { intent: 'make a shelf', explanation: 'a place for books' })
      expect(ok.value).toBe(1)
      const failed = await rejected(c.act('root.shelf.books.push("TAOCP")\nroot.shelf.extra = new UvmObject()\nthrow new Error("no")'))
      expect(failed.code).toBe('ACT_FAILED')
      const timedOut = await rejected(c.act('root.shelf.books = []\nroot.spoiled = true\nfor (;;) {}'))
      expect(timedOut.code).toBe('ACT_TIMEOUT')
      const stalled = await rejected(c.act('root.shelf.books = []\nawait new Promise(() => {})', { wallTimeoutMs: 100 }))
      expect(stalled.code).toBe('ACT_TIMEOUT')

      await c.reopen()
      const r = await c.act('return [root.shelf.count(), [...root.shelf.books], root.shelf.hasSlot("extra"), root.hasSlot("spoiled"), root.shelf.printString() === "<Shelf #" + root.shelf.mirror().oid + ">"]')
      expect(r.value).toEqual([1, ['SICP'], false, false, true])
      const recs = await c.image.transactions()
      expect(recs.map((t) => t.tid)).toEqual([ok.tid, 1])
      expect(recs[0]).toMatchObject({ description: 'make a shelf', ext: { intent: 'make a shelf', explanation: 'a place for books' } })
      expect(String(recs[0]!.ext.act)).toContain('prototypes.Shelf = shelf')
      // The reopened image keeps serving writes.
      expect((await c.act('root.shelf.books.push("TAOCP")\nreturn root.shelf.count()')).value).toBe(2)
      await c.reopen()
      expect(c.read((tx) => [...tx.root.shelf.books])).toEqual(['SICP', 'TAOCP'])
    } finally {
      await c.dispose()
    }
  })
})
