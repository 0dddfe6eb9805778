/**
 * Audit classes 1, 2 and 9: no act or method obtains a host function, object or error, whatever
 * host path it tries (host callbacks on values it controls, errors from traps, species), through
 * run_act, a stored method called by send_message, and a read-only daemon. Beside each attack, the
 * same shape of act doing legitimate work succeeds.
 */
import { describe, expect, it } from 'vitest'
import { climb, errorOf, useTarget, valueOf } from './support.js'

const t = useTarget()

/** Attacks: each hands a hostile value to a host path; `climb(f)` runs on any function the host passes in. */
const ATTACKS: [string, string][] = [
  ['a slot value with its own map (turning it into data)', `const a = [1]; Object.defineProperty(a, 'map', { value(f) { climb(f); return [] } }); genesis.x = a`],
  ['a nested map with its own keys and a getter', `const m = { a: 1 }; Object.defineProperty(m, 'b', { enumerable: true, get() { climb(arguments.callee) } }); try { genesis.y = m } catch (e) { climb(e.constructor) }`],
  ['print arguments with slice, map, toString and toJSON', `const a = [1]; const b = []
    Object.defineProperty(b, 'map', { value(f) { climb(f); return [] } })
    Object.defineProperty(a, 'slice', { value(s, e) { climb(s); return b } })
    Object.defineProperty(a, 'map', { value(f) { climb(f); return [] } })
    print(a, { toString(f) { climb(f) }, toJSON(f) { climb(f) } })`],
  ['a tracked copy mutated at commit (the write-back flush)', `const n = genesis.nested; n.push(2); Object.defineProperty(n, 'map', { value(f) { climb(f); return [] } })`],
  ['Symbol.species on a stored array (act code running inside the host\'s copy)', `class Evil extends Array { static get [Symbol.species]() { return function (n) { climb(n); return { 0: 'forged', length: 1 } } } }
    genesis.z = Evil.from([1, 2])
    if (!Array.isArray(genesis.z) || genesis.z.length !== 2 || genesis.z[0] !== 1) { genesis.pwned = 'species changed what was stored' }`],
  ['a returned value with toJSON, then, getters and its own constructor', `return { toJSON(k) { climb(k) }, get g() { climb(arguments.callee) }, constructor: function (x) { climb(x) }, list: Object.assign([1], { map(f) { climb(f) } }) }`],
  ['errors a host operation throws (storing undefined, a symbol, a bad parent)', `for (const f of [() => { genesis.u = undefined }, () => { genesis.s = Symbol() }, () => { genesis['parent*'] = 5 }, () => genesis.nosuch(), () => Object.setPrototypeOf(genesis, {})]) { try { f() } catch (e) { climb(e.constructor); climb(e.constructor.constructor) } }`],
  ['a stack overflow next to the proxy traps', `const probes = [(o) => o.x, (o) => 'x' in o, (o) => Object.keys(o), (o) => { o.y = 1 }, (o) => Object.getOwnPropertyDescriptor(o, 'nested'), (o) => delete o.q]
    for (const probe of probes) for (let k = 0; k < 30; k++) {
      const rec = (d) => { try { return rec(d + 1) } catch (e) { try { probe(genesis) } catch (e2) { climb(e2.constructor) } return d } }
      rec(k)
    }`],
  ['UvmObject, print and bound methods', `climb(UvmObject); climb(print); climb(genesis.greet); climb(Object.getPrototypeOf(UvmObject)); climb(globalThis.print)`],
]

describe('no host reach (run_act)', () => {
  it.each(ATTACKS)('%s', async (_what, attack) => {
    await t.reset()
    await t.act('if (!genesis.nested) genesis.nested = [1]; genesis.greet = function () { return "hi" }')
    await t.act(climb(t.marker) + attack)
    await t.unharmed()
  })

  it('the same shapes doing legitimate work succeed (positive control)', async () => {
    expect(valueOf(await t.act('genesis.list = [1, [2, 3], { a: "b" }]; return genesis.list'))).toEqual([1, [2, 3], { a: 'b' }])
    expect(valueOf(await t.act('const n = genesis.list; n.push(4); return genesis.list.length'))).toBe(4)
    const printed = await t.act('print([1, 2], { a: 1 }, "text", new Uint8Array(3)); return 1')
    expect(printed.event === 'result' && printed.output).toBe('[1, 2] {a: 1} text <3 bytes>\n')
    expect(valueOf(await t.act('class Good extends Array {}; genesis.g = Good.from([1, 2]); return genesis.g'))).toEqual([1, 2])
    expect(valueOf(await t.act('const o = new UvmObject(); o.v = 7; genesis.made = o; return genesis.made.v'))).toBe(7)
    expect(errorOf(await t.act('genesis.u = undefined')).message).toMatch(/cannot store undefined/)
  })
})

describe('no host reach (a stored method called by send_message)', () => {
  it.each(ATTACKS.slice(0, 6))('%s', async (_what, attack) => {
    await t.reset()
    const source = `function () {\n${climb(t.marker)}${attack}\n}`
    const made = await t.client.request({ command: 'create_method', method_name: 'attack', method_code: source })
    expect(made.event).toBe('ack')
    await t.client.request({ command: 'send_message', selector: 'attack' })
    await t.unharmed()
  })

  it('a stored method doing the same legitimate work answers (positive control)', async () => {
    await t.client.request({ command: 'create_method', method_name: 'fine', method_code: 'function () { self.fineList = [1, 2]; print(self.fineList); return self.fineList }' })
    const r = await t.client.request({ command: 'send_message', selector: 'fine' })
    expect(valueOf(r)).toEqual([1, 2])
  })
})

describe('values with __proto__ keys', () => {
  it('arrive as the same own key over MessagePack and JSON, and change no prototype', async () => {
    const { Packr } = await import('msgpackr')
    const { Dealer } = await import('zeromq')
    const dealer = new Dealer({ linger: 0, receiveTimeout: 10_000 })
    dealer.connect(t.d.bind)
    try {
      const value = JSON.parse('{"__proto__": {"polluted": 1}, "plain": 2}')
      const packr = new Packr({ useRecords: false })
      await dealer.send(packr.pack({ command: 'update_property', id: 'm', property_name: 'viaMsgpack', property_value: value }))
      expect(packr.unpack((await dealer.receive())[0]!)).toMatchObject({ event: 'ack' })
      await dealer.send(JSON.stringify({ command: 'update_property', id: 'j', property_name: 'viaJson', property_value: value }))
      expect(JSON.parse((await dealer.receive())[0]!.toString())).toMatchObject({ event: 'ack' })
    } finally {
      dealer.close()
    }
    const keys = valueOf(await t.act('return [Object.keys(genesis.viaMsgpack), Object.keys(genesis.viaJson), genesis.viaMsgpack.polluted, genesis.viaJson.polluted, ({}).polluted]'))
    // undefined inside data travels tagged (docs/REPL.md, the wire's values): none of them is polluted.
    const none = { $undefined: true }
    expect(keys).toEqual([['__proto__', 'plain'], ['__proto__', 'plain'], none, none, none])
  })
})
