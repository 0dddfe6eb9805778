// Chapter 2, "The Computational Bootstrap": True, False, Nil and Block, and the control structures
// they make by message passing (ifTrue:ifFalse:, and:/or:, whileTrue:, Interval, CaseTable).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CurriculumWorld } from './support.js'
import { curriculumWorld } from './support.js'

let w: CurriculumWorld
beforeAll(async () => { w = await curriculumWorld({ to: 2 }) })
afterAll(async () => { await w?.dispose() })

/** An act's value, with the usual short names in scope. */
const run = (body: string) => w.run(`const T = prototypes.True, F = prototypes.False, N = prototypes.Nil, B = prototypes.Block\n${body}`)

describe('chapter 2: the objects of truth', () => {
  it('registers Boolean, True, False, Nil, Block and the loop prototypes', async () => {
    expect(await run(`return ['Boolean', 'True', 'False', 'Nil', 'Block', 'WhileLoop', 'Interval', 'Tally', 'CaseTable'].map((n) => prototypes[n].printString().replace(/ #\\d+/, ''))`))
      .toEqual(['<Boolean>', '<True>', '<False>', '<Nil>', '<Block>', '<WhileLoop>', '<Interval>', '<Tally>', '<CaseTable>'])
    expect(await run(`return [T.parents()[0] === prototypes.Boolean, F.parents()[0] === prototypes.Boolean, prototypes.WhileLoop.parents()[0] === B]`)).toEqual([true, true, true])
  })

  it('asBoolean is the one border: host truthiness in, True or False out', async () => {
    expect(await run(`return [true, false, 1, 0, 'yes', '', null, undefined, 3 > 2].map((v) => genesis.asBoolean(v) === T)`))
      .toEqual([true, false, true, false, true, false, false, false, true])
    expect(await run(`return [genesis.asBoolean(true) === T, genesis.asBoolean(false) === F]`)).toEqual([true, true])
  })

  it('compare answers True or False and refuses an unknown operator', async () => {
    expect(await run(`return [['<', 1, 2], ['<=', 2, 2], ['=', 2, 3], ['~=', 2, 3], ['>', 1, 2], ['>=', 3, 3]].map(([op, a, b]) => genesis.compare(a, op, b).asJsBoolean())`))
      .toEqual([true, true, false, true, false, true])
    await expect(run(`return genesis.compare(1, '<>', 2)`)).rejects.toThrow(/unknown operator '<>'/)
  })

  it('not, &, |, xor:, eqv: and the border outward', async () => {
    expect(await run(`return [T.not() === F, F.not() === T, T['&'](F) === F, F['&'](T) === F, T['|'](F) === T, F['|'](T) === T]`)).toEqual([true, true, true, true, true, true])
    expect(await run(`return [T['xor:'](T), T['xor:'](F), F['xor:'](T), F['xor:'](F), T['eqv:'](T), F['eqv:'](T), F['eqv:'](F)].map((b) => b.asJsBoolean())`))
      .toEqual([false, true, true, false, true, false, true])
    expect(await run(`return [T.displayString(), F.displayString(), N.displayString(), T.asJsBoolean(), F.asJsBoolean()]`)).toEqual(['true', 'false', 'nil', true, false])
  })
})

describe('chapter 2: conditionals by polymorphism', () => {
  it('ifTrue: and ifFalse: live on True and False (the correction), not on Boolean', async () => {
    expect(await run(`return [prototypes.Boolean.hasSlot('ifTrue:'), prototypes.Boolean.hasSlot('ifFalse:'), T.hasSlot('ifTrue:'), F.hasSlot('ifTrue:'), T.hasSlot('ifFalse:'), F.hasSlot('ifFalse:')]`))
      .toEqual([false, false, true, true, true, true])
    expect(await run(`const k = B.constant('ran')
      return [T['ifTrue:'](k), T['ifFalse:'](k) === N, F['ifTrue:'](k) === N, F['ifFalse:'](k)]`)).toEqual(['ran', true, true, 'ran'])
  })

  it('the branch not taken is never evaluated', async () => {
    expect(await run(`const bomb = B.with(genesis, 'refuseOperator:', 'boom')
      return [T['ifTrue:ifFalse:'](B.constant('t'), bomb), F['ifTrue:ifFalse:'](bomb, B.constant('f')), F['ifFalse:ifTrue:'](B.constant('f2'), bomb), T['ifFalse:'](bomb) === N]`))
      .toEqual(['t', 'f', 'f2', true])
  })

  it('nested conditionals pick the right branch', async () => {
    expect(await run(`return [-3, 0, 8].map((n) => genesis['classify:'](n))`)).toEqual(['negative', 'zero', 'positive'])
    // ifTrue:ifFalse: inside both arms of an ifTrue:ifFalse:, every combination of the two tests.
    expect(await run(`const inner = (t, yes, no) => B.with(t, 'ifTrue:ifFalse:', B.constant(yes), B.constant(no))
      const choose = (a, b) => a['ifTrue:ifFalse:'](inner(b, 'TT', 'TF'), inner(b, 'FT', 'FF'))
      return [choose(T, T), choose(T, F), choose(F, T), choose(F, F)]`)).toEqual(['TT', 'TF', 'FT', 'FF'])
  })

  it('and: and or: short-circuit: a block that would throw is never evaluated', async () => {
    expect(await run(`const bomb = B.with(genesis, 'refuseOperator:', 'must not run')
      return [F['and:'](bomb) === F, T['or:'](bomb) === T, T['and:'](B.constant(F)) === F, F['or:'](B.constant(T)) === T, T['and:'](B.constant(T)) === T]`))
      .toEqual([true, true, true, true, true])
    // ...and it is evaluated when the answer depends on it.
    await expect(run(`return T['and:'](B.with(genesis, 'refuseOperator:', 'needed'))`)).rejects.toThrow(/unknown operator 'needed'/)
    await expect(run(`return F['or:'](B.with(genesis, 'refuseOperator:', 'needed'))`)).rejects.toThrow(/unknown operator 'needed'/)
    expect(await run(`return [genesis['between:and:'](5, 1, 10), genesis['between:and:'](0, 1, 10), genesis['between:and:'](11, 1, 10)].map((b) => b.asJsBoolean())`)).toEqual([true, false, false])
    expect(await run(`return [genesis['max:with:'](3, 9), genesis['min:with:'](3, 9), genesis['max:with:'](-1, -7)]`)).toEqual([9, 3, -1])
  })

  it("Nil's messages, and every other object's answers to them", async () => {
    expect(await run(`const k = B.constant('was nil')
      const echo = B.with(genesis, 'plus:with:', 100)
      return [N.isNil() === T, N.notNil() === F, N['ifNil:'](k), N['ifNotNil:'](k) === N, N['ifNil:ifNotNil:'](k, echo), N['ifNotNil:ifNil:'](echo, k)]`))
      .toEqual([true, true, 'was nil', true, 'was nil', 'was nil'])
    expect(await run(`const tally = prototypes.Tally.clone(); tally.count = 5
      const got = tally['ifNotNil:'](B.with(tally, 'yourself'))
      return [genesis.isNil() === F, genesis.notNil() === T, genesis['ifNil:'](B.constant('no')) === genesis, got === tally, T.isBoolean() === T, genesis.isBoolean() === F, B['ifNil:ifNotNil:'](B.constant('nil'), B.with(prototypes.Tally, 'isBoolean')) === F]`))
      .toEqual([true, true, true, true, true, true, true])
    expect(await run(`return [genesis['slotNamed:']('world') === genesis.world, genesis['slotNamed:']('no_such_slot') === N, genesis['slotNamed:']('no_such_slot')['ifNil:'](B.constant('absent'))]`))
      .toEqual([true, true, 'absent'])
  })

  it('a CaseTable replaces switch with dispatch', async () => {
    expect(await run(`const table = prototypes.CaseTable.new()['at:put:']('one', B.constant(1))['at:put:']('two', B.constant(2))
      const before = table['dispatch:']('three') === N
      table['otherwise:'](B.constant('other'))['at:put:']('three', B.constant(3))
      return [table['dispatch:']('one'), table['dispatch:']('two'), table['dispatch:']('three'), table['dispatch:']('four'), before]`))
      .toEqual([1, 2, 3, 'other', true])
  })

  it('the status label chooses its text by message passing', async () => {
    expect(await run(`const label = genesis.world.status_label
      label['showBackendReady:'](genesis.compare(2, '>', 1)); const a = label.text
      label['showBackendReady:'](F); return [a, label.text]`)).toEqual(['Backend State: ready', 'Backend State: waiting'])
  })
})

describe('chapter 2: blocks and loops', () => {
  it('blocks send messages held in slots: value, value:, value:value:, constant, bind:', async () => {
    expect(await run(`const below = B.with(genesis, 'compare', 3, '<')
      return [B.value() === N, B.constant(7).value(), below['value:'](4) === T, below['bind:'](1).value() === F, below.args.length,
        B.with(genesis, 'plus:with:')['value:value:'](2, 3), B.with(genesis, 'plus:with:', 10)['valueWithArguments:']([5])]`))
      .toEqual([true, 7, true, true, 2, 5, 15])
  })

  it('whileTrue: sums 1..100 to 5050 with the state in an object', async () => {
    expect(await run(`const acc = new UvmObject()
      acc.i = 1; acc.sum = 0
      acc.setSlot('more', function () { return this.lobby.genesis.compare(this.i, '<=', 100) })
      acc.setSlot('step', function () { this.sum = this.sum + this.i; this.i = this.i + 1 })
      const answer = B.with(acc, 'more')['whileTrue:'](B.with(acc, 'step'))
      return [acc.sum, acc.i, answer === N]`)).toEqual([5050, 101, true])
    expect(await run(`return genesis.tally['sumUpTo:'](100)`)).toBe(5050)
  })

  it('whileTrue: stays within the stack for 1,000 passes', async () => {
    expect(await run(`const t = prototypes.Tally.clone(); return t['sumUpTo:'](1000)`)).toBe(500500)
  })

  it('whileFalse:, the unary forms and timesRepeat:', async () => {
    expect(await run(`return genesis.tally['countDownFrom:'](12)`)).toBe(12)
    expect(await run(`const c = new UvmObject(); c.n = 0
      c.setSlot('bumpAndAsk', function () { this.n = this.n + 1; return this.lobby.genesis.compare(this.n, '<', 9) })
      c.setSlot('bumpAndStop', function () { this.n = this.n + 1; return this.lobby.genesis.compare(this.n, '>=', 20) })
      B.with(c, 'bumpAndAsk').whileTrue(); const a = c.n
      B.with(c, 'bumpAndStop').whileFalse(); const b = c.n
      c.setSlot('tick', function () { this.n = this.n + 1 })
      B.with(c, 'tick')['timesRepeat:'](5)
      return [a, b, c.n]`)).toEqual([9, 20, 25])
  })

  it('Interval: do:, inject:into:, select:, detect:ifNone:', async () => {
    expect(await run(`const I = prototypes.Interval
      const plus = B.with(genesis, 'plus:with:')
      return [I['from:to:'](1, 100)['inject:into:'](0, plus), I['from:to:by:'](10, 0, -5)['inject:into:'](0, plus), I['from:to:'](5, 1)['inject:into:'](0, plus),
        I['from:to:'](1, 12)['select:'](B.with(genesis, 'isEven:')), I['from:to:'](1, 10)['detect:ifNone:'](B.with(genesis, 'isOver40:'), B.constant('none')),
        I['from:to:'](1, 6)['detect:ifNone:'](B.with(genesis, 'isOver40:'), B.constant('none'))]`))
      .toEqual([5050, 15, 0, [2, 4, 6, 8, 10, 12], 7, 'none'])
    expect(await run(`return [genesis['countdownFrom:'](4), genesis['countdownFrom:'](0)]`)).toEqual([['4', '3', '2', '1', 'liftoff'], ['nothing to count']])
  })
})

describe('chapter 2: no host control structure is left in the bootstrap', () => {
  const FORMS: Array<[string, RegExp]> = [['if (', /\bif\s*\(/], ['? ', /\?\s/], ['while', /\bwhile\s*\(/], ['for (', /\bfor\s*\(/], ['do {', /\bdo\s*\{/], ['switch', /\bswitch\b/], ['&&', /&&/], ['||', /\|\|/]]
  const OBJECT_PROTOCOL = ['isNil', 'notNil', 'isBoolean', 'ifNil:', 'ifNotNil:', 'ifNil:ifNotNil:', 'ifNotNil:ifNil:', 'slotNamed:', 'yourself']

  it('reads every method of True, False, Nil, Block (and their kin) from the image: none branches in the host', async () => {
    const methods = await w.run(`const out = []
      for (const name of ['Boolean', 'True', 'False', 'Nil', 'Block', 'WhileLoop', 'Interval', 'CaseTable']) {
        const m = prototypes[name].mirror()
        for (const s of m.slots) if (s.kind === 'method' && s.holder === m.oid) out.push({ where: name + '>>' + s.name, source: s.source })
      }
      const t = root.traits.mirror()
      for (const s of t.slots) if (s.kind === 'method' && ${JSON.stringify(OBJECT_PROTOCOL)}.includes(s.name)) out.push({ where: 'traits>>' + s.name, source: s.source })
      out.push({ where: 'genesis>>asBoolean', source: genesis.mirror().slots.find((s) => s.name === 'asBoolean').source })
      return out`) as Array<{ where: string; source: string }>
    const where = methods.map((m) => m.where)
    for (const sel of ['True>>ifTrue:', 'False>>ifTrue:', 'True>>ifTrue:ifFalse:', 'False>>and:', 'True>>or:', 'True>>not', 'Nil>>isNil', 'Nil>>ifNil:ifNotNil:', 'Block>>value', 'Block>>whileTrue:', 'Block>>whileFalse:', 'WhileLoop>>run', 'traits>>ifNotNil:']) expect(where).toContain(sel)
    expect(methods.length).toBeGreaterThan(60)
    const offenders = methods.flatMap((m) => FORMS.filter(([, re]) => re.test(m.source)).map(([form]) => `${m.where} uses ${form}`))
    expect(offenders).toEqual([])
    // The one primitive is a lookup: not even it has an if.
    expect(methods.find((m) => m.where === 'genesis>>asBoolean')!.source).toMatch(/\{ true: p\.True, false: p\.False \}\[String\(Boolean\(b\)\)\]/)
  })

  it("ALFRED's audit agrees", async () => {
    expect(await w.run(`return genesis.auditBootstrap()`)).toEqual([])
    // ...and it would catch an offender.
    expect(await w.run(`prototypes.Nil.setSlot('sneaky', function (x) { if (x) return x > 0 ? 1 : 2; return x || 3 })
      const found = genesis.auditBootstrap()
      prototypes.Nil.removeSlot('sneaky')
      return [found, genesis.auditBootstrap()]`)).toEqual([[
      { holder: 'Nil', selector: 'sneaky', form: 'if' }, { holder: 'Nil', selector: 'sneaky', form: '?:' }, { holder: 'Nil', selector: 'sneaky', form: '||' },
    ], []])
  })
})
