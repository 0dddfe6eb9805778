/**
 * The JIT's prompt parts (src/jit/prompt/): each a pure function of plain
 * data, then the whole prompt under a token budget. The built-in examples are
 * also run against a real image, since a wrong example teaches the model to
 * be wrong.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Attempt, ChatMessage, Example, MessageView, ReceiverView } from '../../src/jit/prompt/index.js'
import {
  ACT_API, BUILTIN_EXAMPLES, DEFAULT_BUDGET_TOKENS, JIT_RULES, MESSAGE_OVERHEAD_TOKENS, REPLY_PRIMING_TOKENS, UVM_JIT_PERSONA,
  attemptsPart, buildPrompt, estimateChatTokens, estimateTokens, examplesPart, fitBudget, largestFitting, messagePart,
  receiverPart, systemPart, truncateText, userText,
} from '../../src/jit/prompt/index.js'
import type { ActImage } from '../act/fixture.js'
import { actImage } from '../act/fixture.js'

const RECT: ReceiverView = {
  print: '<Rect #12>',
  slots: [
    { name: 'parent*', kind: 'parent', value: '<Rect #7>' },
    { name: 'width', kind: 'data', value: '3' },
    { name: 'owner', kind: 'reference', value: '<Ada #20>' },
    { name: 'describe', kind: 'method' },
    { name: 'perimeter', kind: 'intent', value: 'twice the sum of the sides' },
  ],
  parents: [{ print: '<Rect #7>', slots: ['parent*', 'height', 'area'] }, { print: '<Traits #1>', slots: ['clone', 'setSlot'] }],
  methods: [
    { holder: '<Rect #12>', name: 'describe', source: "function () { return 'a rect' }" },
    { holder: '<Rect #7>', name: 'area', source: 'function () {\n  return this.width * this.height\n}' },
    { holder: '<Rect #7>', name: 'long', source: Array.from({ length: 40 }, (_, i) => `  // line ${i + 1}`).join('\n') },
  ],
}

describe('systemPart', () => {
  const s = systemPart()

  it('speaks as the seeds\' UVM-JIT: JIT compiler for intent, operational closure, prototypal imperative, doesNotUnderstand:', () => {
    for (const phrase of ['UVM-JIT', 'Just-in-Time compiler for intent', 'BAT OS', 'live image', 'doesNotUnderstand:', 'autopoietic act', 'Operational closure', 'never write files', 'prototypal imperative', 'no classes', 'clone']) {
      expect(s).toContain(phrase)
    }
  })

  it('gives the act API: what is in scope and every primitive', () => {
    for (const name of ['`self`', '`message`', 'selector, args, receiver', '`root`', '`genesis`', '`prototypes`', 'genesis.prototypes', '`print(...)`', '`new UvmObject()`', 'await',
      'clone()', 'copy()', 'setSlot(name, value)', 'getSlot(name)', 'removeSlot(name)', 'hasSlot(name)', 'slotNames()', 'parents()', 'respondsTo(name)', 'perform(selector, ...args)', 'printString()', 'mirror()',
      '`self.width`', '`self.width = 3`', '`*`', "self.setSlot('area', function () { return this.width * this.height })", '`this` is the receiver', 'No require, import, process, timers or network']) {
      expect(s).toContain(name)
    }
  })

  it('states the rules: a METHOD where it belongs, no answer instead of it, minimal changes, WHY in explanation', () => {
    expect(s).toContain('METHOD')
    expect(s).toContain('nearest parent registered in `prototypes`')
    expect(s).toContain('Do not return the answer instead of installing it')
    expect(s).toContain('sends the message again')
    expect(s).toContain('Keep changes minimal')
    expect(s).toMatch(/`explanation` says WHY/)
  })

  it('stays under ~600 tokens', () => {
    expect(estimateTokens(s)).toBeLessThan(600)
  })

  it('opts.persona replaces the persona paragraph only', () => {
    const p = systemPart({ persona: 'You are BRICK.' })
    expect(p.startsWith('You are BRICK.\n\n')).toBe(true)
    expect(p).not.toContain(UVM_JIT_PERSONA)
    expect(p).toContain(ACT_API)
    expect(p).toContain(JIT_RULES)
  })
})

describe('receiverPart', () => {
  it('level 0: print string, own slots with kinds and short values, parents in order, method sources', () => {
    const t = receiverPart(RECT)
    expect(t.split('\n')[0]).toBe('The receiver: <Rect #12>')
    expect(t).toContain('  parent* (parent) → <Rect #7>')
    expect(t).toContain('  width (data) = 3')
    expect(t).toContain('  owner (reference) → <Ada #20>')
    expect(t).toContain('  describe (method)\n')
    expect(t).toContain('  perimeter (intent) = twice the sum of the sides')
    expect(t.indexOf('<Rect #7>: parent*, height, area')).toBeLessThan(t.indexOf('<Traits #1>: clone, setSlot'))
    expect(t).toContain("  describe on <Rect #12>:\n    function () { return 'a rect' }")
    expect(t).toContain('  area on <Rect #7>:\n    function () {\n      return this.width * this.height\n    }')
    expect(t).toContain('// line 40')
  })

  it('says (none) for an empty view', () => {
    expect(receiverPart({ print: '<Object #3>', slots: [], parents: [], methods: [] })).toBe('The receiver: <Object #3>\nIts own slots: (none)\nIts parents: (none)')
  })

  it('level 1: sources of the first two methods only, long ones cut to 20 lines', () => {
    const long = { ...RECT, methods: [RECT.methods[2]!, ...RECT.methods.slice(0, 2)] }
    const t = receiverPart(long, 1)
    expect(t).toContain('// line 20\n')
    expect(t).not.toContain('// line 21')
    expect(t).toContain('… (20 more lines)')
    expect(t).toContain('describe on <Rect #12>:')
    expect(t).not.toContain("return this.width * this.height")
    expect(t).toContain('More methods (sources left out): area on <Rect #7>')
  })

  it('level 1 also cuts a long one-line source', () => {
    const t = receiverPart({ ...RECT, methods: [{ holder: '<Rect #7>', name: 'min', source: 'x'.repeat(10_000) }] }, 1)
    expect(t.length).toBeLessThan(3000)
    expect(t).toMatch(/more chars cut/)
  })

  it('level 2: no sources, at most 30 slot names per parent', () => {
    const names = Array.from({ length: 45 }, (_, i) => `s${i}`)
    const t = receiverPart({ ...RECT, parents: [{ print: '<Big #3>', slots: names }] }, 2)
    expect(t).not.toContain('function ()')
    expect(t).toContain('Methods nearby (sources left out): describe on <Rect #12>, area on <Rect #7>, long on <Rect #7>')
    expect(t).toContain('s29, … and 15 more')
    expect(t).not.toContain('s30')
    expect(t).toContain('  width (data) = 3')
  })

  it('level 3: only the print string and the own slot names', () => {
    expect(receiverPart(RECT, 3)).toBe('The receiver: <Rect #12>\nIts own slots: parent*, width, owner, describe, perimeter')
  })

  it('each level is shorter than the one before', () => {
    const lengths = [0, 1, 2, 3].map((l) => receiverPart(RECT, l).length)
    for (let i = 1; i < lengths.length; i++) expect(lengths[i]).toBeLessThan(lengths[i - 1]!)
  })
})

describe('messagePart', () => {
  it('gives the selector, the printed args and the Architect\'s intent, and asks for a method', () => {
    const t = messagePart({ selector: 'greet', args: ['"Grace"', '3'], intent: 'say hello' })
    expect(t).toContain('The message it does not understand: greet')
    expect(t).toContain('Arguments (2):\n  1. "Grace"\n  2. 3')
    expect(t).toContain('The Architect\'s intent: "say hello"')
    expect(t).toContain("installs a method named 'greet' (taking 2 arguments)")
    expect(t).toContain("the UVM sends 'greet' again")
  })

  it('says when there are no args and no intent', () => {
    const t = messagePart({ selector: 'area', args: [] })
    expect(t).toContain('Arguments: (none)')
    expect(t).not.toContain('intent')
    expect(t).toContain('(taking 0 arguments)')
  })

  it('turns a slot intent into a clear instruction on that holder', () => {
    const t = messagePart({ selector: 'x', args: [], slotIntent: { holder: '<Holder #4>', text: 'the answer, doubled' } })
    expect(t).toContain('The message sent: x\n')
    expect(t).toContain(`Slot 'x' of <Holder #4> holds an intent instead of code: "the answer, doubled"`)
    expect(t).toContain("installs a method named 'x' (taking 0 arguments) on that object, in place of the intent")
    expect(t).toContain("`prototypes.Holder.setSlot('x', function (…) { … })`")
  })

  it('for a holder whose print names no prototype, says how else to reach it', () => {
    const t = messagePart({ selector: 'x', args: [], slotIntent: { holder: 'an odd object', text: 't' } })
    expect(t).toContain('reach it through `self` or `self.parents()`')
    expect(t).not.toContain('prototypes.')
  })

  it('bounds itself: long args and intents are cut and marked, at most 20 args listed', () => {
    const t = messagePart({ selector: 'm', args: Array.from({ length: 25 }, () => 'a'.repeat(2000)), intent: 'i'.repeat(10_000) })
    expect(t).toContain('… and 5 more')
    expect(t).toContain('more chars cut')
    expect(t.length).toBeLessThan(20 * 520 + 4200 + 500)
  })
})

describe('examples', () => {
  it('has 3–4 built-in examples, each an architect text and a JIT answer', () => {
    expect(BUILTIN_EXAMPLES.length).toBeGreaterThanOrEqual(3)
    expect(BUILTIN_EXAMPLES.length).toBeLessThanOrEqual(4)
    for (const e of BUILTIN_EXAMPLES) {
      expect(e.architect).toMatch(/^The receiver: <\w+ #\d+>/)
      expect(e.architect).toMatch(/\nThe message (it does not understand|sent): \w+\n/)
      expect(e.explanation.length).toBeGreaterThan(100)
      expect(e.code).toContain('setSlot(')
    }
  })

  it('examplesPart: each example as a user/assistant pair, the answer the seeds\' JSON {explanation, code}', () => {
    const ex: Example[] = [{ architect: 'a1', explanation: 'e1', code: 'c1' }, { architect: 'a2', explanation: 'e2', code: 'c2' }]
    expect(examplesPart(ex)).toEqual([
      { role: 'user', content: 'a1' },
      { role: 'assistant', content: '{"explanation":"e1","code":"c1"}' },
      { role: 'user', content: 'a2' },
      { role: 'assistant', content: '{"explanation":"e2","code":"c2"}' },
    ])
    const parts = examplesPart(BUILTIN_EXAMPLES)
    expect(parts).toHaveLength(2 * BUILTIN_EXAMPLES.length)
    parts.filter((m) => m.role === 'assistant').forEach((m, i) => {
      expect(JSON.parse(m.content)).toEqual({ explanation: BUILTIN_EXAMPLES[i]!.explanation, code: BUILTIN_EXAMPLES[i]!.code })
    })
  })

  describe('the built-in examples work in this dialect', () => {
    let u: ActImage
    beforeEach(async () => { u = await actImage() })
    afterEach(async () => { await u.dispose() })

    /** Set the scene, run the example's code with `self` and `message` bound as the JIT binds them, then resend. */
    async function check(selector: string, setup: string, receiver: string, args: string, resend: string): Promise<unknown> {
      const example = BUILTIN_EXAMPLES.find((e) => e.architect.includes(`: ${selector}\nArguments`))!
      expect(example).toBeDefined()
      await u.act(setup)
      await u.act(`const self = ${receiver}; const message = { selector: '${selector}', args: [${args}], receiver: self };\n${example.code}`)
      return (await u.act(resend)).value
    }

    it('area, on the Rect prototype', async () => {
      const v = await check('area',
        'const R = new UvmObject(); R.width = 1; R.height = 1; prototypes.Rect = R; const r = R.clone(); r.width = 3; r.height = 4; genesis.r = r',
        'genesis.r', '', 'return [genesis.r.area(), prototypes.Rect.hasSlot("area"), genesis.r.hasSlot("area"), prototypes.Rect.clone().area()]')
      expect(v).toEqual([12, true, false, 1])
    })

    it('greet, on the receiver itself', async () => {
      const v = await check('greet', "const a = new UvmObject(); a.name = 'Ada'; genesis.ada = a", 'genesis.ada', "'Grace'",
        "return [genesis.ada.greet('Grace'), genesis.ada.hasSlot('greet'), genesis.respondsTo('greet')]")
      expect(v).toEqual(['Hello, Grace. I am Ada.', true, false])
    })

    it('describe, with slotNames, on the Counter prototype', async () => {
      const v = await check('describe',
        "const C = new UvmObject(); C.count = 0; C.label = 'clicks'; C.increment = function () { this.count = this.count + 1; return this.count }; prototypes.Counter = C; const c = C.clone(); c.count = 3; c.label = 'clicks'; genesis.c = c",
        'genesis.c', '', 'return [genesis.c.describe(), prototypes.Counter.hasSlot("describe")]')
      expect(v).toEqual([expect.stringMatching(/^<Counter #\d+> \{ count: 3, label: clicks \}$/), true])
    })

    it('perimeter, compiled from an intent in place', async () => {
      const v = await check('perimeter',
        "const R = new UvmObject(); R.width = 1; R.height = 1; R.perimeter = 'twice the sum of its width and height'; prototypes.Rect = R; const r = R.clone(); r.width = 3; r.height = 4; genesis.r = r",
        'genesis.r', '', 'return [genesis.r.perimeter(), typeof prototypes.Rect.getSlot("perimeter")]')
      expect(v).toEqual([14, 'function'])
    })
  })
})

describe('attemptsPart', () => {
  it('each failed attempt: the earlier answer, then its error and a request to fix it', () => {
    const a: Attempt[] = [
      { code: 'self.x = (', explanation: 'first try', error: 'SyntaxError: Unexpected token (1:10)' },
      { error: 'the reply held no JSON object' },
    ]
    expect(attemptsPart(a, 3)).toEqual([
      { role: 'assistant', content: '{"explanation":"first try","code":"self.x = ("}' },
      { role: 'user', content: 'Attempt 1 of 3 failed: SyntaxError: Unexpected token (1:10)\nFix it and answer again with one JSON object: {"explanation": …, "code": …}.' },
      { role: 'user', content: 'Attempt 2 of 3 failed: the reply held no JSON object\nFix it and answer again with one JSON object: {"explanation": …, "code": …}.' },
    ])
  })

  it('numbers from `first` when older attempts were left out', () => {
    const [m] = attemptsPart([{ error: 'TypeError: x is not a function' }], 3, 2)
    expect(m!.content.startsWith('Attempt 2 of 3 failed: TypeError: x is not a function')).toBe(true)
  })

  it('an answer with code only shows just the code', () => {
    expect(attemptsPart([{ code: 'return 1', error: 'e' }], 1)[0]).toEqual({ role: 'assistant', content: '{"code":"return 1"}' })
  })
})

describe('budget', () => {
  it('estimateTokens: characters / 4, rounded up', () => {
    expect([estimateTokens(''), estimateTokens('abcd'), estimateTokens('abcde'), estimateTokens('x'.repeat(4000))]).toEqual([0, 1, 2, 1000])
  })

  it('estimateChatTokens adds a few per message and for the reply', () => {
    const msgs: ChatMessage[] = [{ role: 'system', content: 'abcd' }, { role: 'user', content: 'abcdefgh' }]
    expect(estimateChatTokens(msgs)).toBe(1 + 2 + 2 * MESSAGE_OVERHEAD_TOKENS + REPLY_PRIMING_TOKENS)
    expect(estimateChatTokens([])).toBe(REPLY_PRIMING_TOKENS)
  })

  it('truncateText keeps the head, marks the cut, never exceeds the limit', () => {
    expect(truncateText('short', 10)).toBe('short')
    for (const max of [30, 100, 999]) {
      const t = truncateText('y'.repeat(5000), max)
      expect(t.length).toBeLessThanOrEqual(max)
      expect(t).toMatch(/^y+\n… \[\d+ more chars cut\]$/)
      expect(Number(/\[(\d+) more/.exec(t)![1]) + t.indexOf('\n')).toBe(5000)
    }
    expect(truncateText('abcdef', 3)).toBe('abc')
  })

  it('fitBudget: the first candidate that fits, else the last', () => {
    const c = (n: number, cut: string[]) => ({ messages: [{ role: 'user' as const, content: 'x'.repeat(n) }], cut })
    const r = fitBudget([c(400, []), c(40, ['a']), c(4, ['a', 'b'])], 30)
    expect(r).toMatchObject({ cut: ['a'], estimatedTokens: 10 + MESSAGE_OVERHEAD_TOKENS + REPLY_PRIMING_TOKENS, fits: true })
    expect(fitBudget([c(400, []), c(200, ['a'])], 5)).toMatchObject({ cut: ['a'], fits: false })
    expect(() => fitBudget([], 5)).toThrow(RangeError)
  })

  it('largestFitting finds the largest n that fits', () => {
    expect(largestFitting(0, 1000, (n) => n <= 337)).toBe(337)
    expect(largestFitting(10, 1000, () => true)).toBe(1000)
    expect(largestFitting(10, 1000, () => false)).toBe(10)
  })
})

describe('buildPrompt', () => {
  const INSTRUCTIONS = 'Answer with one JSON object: {"explanation": string, "code": string}.'
  const MESSAGE: MessageView = { selector: 'area', args: ['2'], intent: 'how big is it?' }
  const small = { receiver: RECT, message: MESSAGE, examples: BUILTIN_EXAMPLES, attempts: [] as Attempt[], maxAttempts: 3, answerInstructions: INSTRUCTIONS }

  const HUGE: ReceiverView = {
    print: '<Huge #99>',
    slots: Array.from({ length: 2000 }, (_, i) => ({ name: `slot${i}`, kind: 'data' as const, value: `"value number ${i} of a rather long printed value"` })),
    parents: Array.from({ length: 5 }, (_, p) => ({ print: `<P${p} #${p + 50}>`, slots: Array.from({ length: 200 }, (_, i) => `p${p}s${i}`) })),
    methods: Array.from({ length: 50 }, (_, i) => ({ holder: '<Huge #99>', name: `m${i}`, source: `function () {\n${Array.from({ length: 60 }, (_, l) => `  const v${l} = this.slot${l} + ${i} // a comment to make the line long`).join('\n')}\n}` })),
  }
  const ATTEMPTS: Attempt[] = Array.from({ length: 20 }, (_, i) => ({
    code: `// attempt ${i + 1}\n` + 'self.setSlot("area", function () { return this.width * this.height })\n'.repeat(60),
    explanation: `try ${i + 1}: ` + 'because '.repeat(300),
    error: `TypeError: attempt ${i + 1} failed at line 3` + '\n    at <act>:3:7'.repeat(300),
  }))
  const huge = { receiver: HUGE, message: MESSAGE, examples: BUILTIN_EXAMPLES, attempts: ATTEMPTS, maxAttempts: 20, answerInstructions: INSTRUCTIONS }

  it('an ample budget cuts nothing: system, example pairs, user message, attempts, in that order', () => {
    const attempts: Attempt[] = [{ code: 'self.x = (', error: 'SyntaxError: Unexpected end of input' }]
    const p = buildPrompt({ ...small, attempts })
    expect(p.cut).toEqual([])
    expect(p.messages[0]).toEqual({ role: 'system', content: `${systemPart()}\n\n${INSTRUCTIONS}` })
    expect(p.messages.slice(1, 1 + 2 * BUILTIN_EXAMPLES.length)).toEqual(examplesPart(BUILTIN_EXAMPLES))
    expect(p.messages[1 + 2 * BUILTIN_EXAMPLES.length]).toEqual({ role: 'user', content: userText(receiverPart(RECT), messagePart(MESSAGE)) })
    expect(p.messages.slice(2 + 2 * BUILTIN_EXAMPLES.length)).toEqual(attemptsPart(attempts, 3))
    expect(p.estimatedTokens).toBe(estimateChatTokens(p.messages))
    expect(p.estimatedTokens).toBeLessThanOrEqual(DEFAULT_BUDGET_TOKENS)
  })

  it('passes the persona on', () => {
    expect(buildPrompt({ ...small, persona: 'You are ALFRED.' }).messages[0]!.content.startsWith('You are ALFRED.\n\n')).toBe(true)
  })

  for (const budget of [8000, 2000]) {
    it(`a huge receiver (2,000 slots, 50 long methods) and 20 long attempts fit ${budget} tokens, rules and message whole`, () => {
      const p = buildPrompt({ ...huge, budgetTokens: budget })
      expect(p.estimatedTokens).toBe(estimateChatTokens(p.messages))
      expect(p.estimatedTokens).toBeLessThanOrEqual(budget)
      expect(p.messages[0]!.content).toBe(`${systemPart()}\n\n${INSTRUCTIONS}`)
      const user = p.messages.find((m) => m.role === 'user')!
      expect(user.content.startsWith('The receiver: <Huge #99>')).toBe(true)
      expect(user.content.endsWith(`\n\n${messagePart(MESSAGE)}`)).toBe(true)
      // The last attempt is the one kept: what the next answer must fix.
      const last = p.messages[p.messages.length - 1]!
      expect(last.content.startsWith('Attempt 20 of 20 failed: TypeError: attempt 20 failed at line 3')).toBe(true)
      expect(p.messages.some((m) => m.content.includes('attempt 19'))).toBe(false)
      expect(p.cut.slice(0, 3)).toEqual(['examples 1-4', 'receiver level 3', 'attempts 1-19'])
      expect(p.messages.filter((m) => m.role === 'assistant').every((m) => typeof JSON.parse(m.content).code === 'string')).toBe(true)
    })
  }

  it('cuts in order: examples from the last, receiver levels 1-3, older attempts, then the user message', () => {
    const input = { ...small, receiver: { ...HUGE, slots: HUGE.slots.slice(0, 300), methods: HUGE.methods.slice(0, 4) }, attempts: ATTEMPTS.slice(0, 4), maxAttempts: 4 }
    const rank = (c: string) => /^examples? /.test(c) ? 0 : c.startsWith('receiver level') ? 1 : /^attempts? \d+(-\d+)?$/.test(c) ? 2 : /error truncated$/.test(c) ? 3 : c === 'user message truncated' ? 4 : c.endsWith('explanation dropped') ? 5 : c.endsWith('code truncated') ? 6 : 7
    const progress = (cut: string[]) => {
      const n = (re: RegExp) => Number(cut.map((c) => re.exec(c)?.[1]).find((x) => x !== undefined) ?? 0)
      const examples = cut.find((c) => /^examples? /.test(c))
      return [examples === undefined ? 0 : 5 - Number(/(\d+)(-\d+)?$/.exec(examples)![1]), n(/^receiver level (\d)/), n(/^attempts? (?:1-)?(\d+)$/), ...[/error truncated$/, /^user message/, /explanation dropped$/, /code truncated$/, /error truncated to/].map((re) => cut.some((c) => re.test(c)) ? 1 : 0)]
    }
    const lexLE = (a: number[], b: number[]) => { for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!; return true }
    const full = buildPrompt({ ...input, budgetTokens: 1e9 })
    expect(full.cut).toEqual([])
    const seen = new Set<string>()
    let before = progress([])
    for (let budget = full.estimatedTokens; budget >= 900; budget -= 25) {
      const p = buildPrompt({ ...input, budgetTokens: budget })
      const ranks = p.cut.map(rank)
      expect(ranks).toEqual([...ranks].sort((a, b) => a - b))
      const now = progress(p.cut)
      expect(lexLE(before, now)).toBe(true)
      before = now
      seen.add(p.cut.join(' | '))
      expect(p.estimatedTokens).toBeLessThanOrEqual(budget)
      if (budget < full.estimatedTokens) expect(p.cut.length).toBeGreaterThan(0)
    }
    // Every stage was passed through, one step at a time.
    for (const c of ['example 4', 'examples 3-4', 'examples 2-4', 'examples 1-4', 'examples 1-4 | receiver level 1', 'examples 1-4 | receiver level 2', 'examples 1-4 | receiver level 3',
      'examples 1-4 | receiver level 3 | attempt 1', 'examples 1-4 | receiver level 3 | attempts 1-2', 'examples 1-4 | receiver level 3 | attempts 1-3 | attempt 4 error truncated']) {
      expect(seen.has(c)).toBe(true)
    }
    expect([...seen].some((c) => c.endsWith('attempt 4 error truncated | user message truncated'))).toBe(true)
    expect([...seen].some((c) => c.endsWith('user message truncated | attempt 4 explanation dropped'))).toBe(true)
    expect([...seen].some((c) => c.endsWith('attempt 4 explanation dropped | attempt 4 code truncated'))).toBe(true)
  })

  it('a budget just under the whole prompt cuts only the last example', () => {
    const full = buildPrompt({ ...small, budgetTokens: 1e9 })
    const p = buildPrompt({ ...small, budgetTokens: full.estimatedTokens - 1 })
    expect(p.cut).toEqual(['example 4'])
    expect(p.messages.filter((m) => m.role === 'assistant')).toHaveLength(3)
  })

  it('never cuts the system part or the message part, even when they alone exceed the budget', () => {
    const p = buildPrompt({ ...huge, budgetTokens: 300 })
    expect(p.estimatedTokens).toBeGreaterThan(300)
    expect(p.messages[0]!.content).toBe(`${systemPart()}\n\n${INSTRUCTIONS}`)
    expect(p.messages.find((m) => m.role === 'user')!.content).toBe(`The receiver: <Huge #99>\n\n${messagePart(MESSAGE)}`)
    expect(p.cut.slice(-4)).toEqual(['user message truncated', 'attempt 20 explanation dropped', 'attempt 20 code truncated', 'attempt 20 error truncated to 200 chars'])
  })

  it('a single long attempt has its error cut to 1,000 chars before the user message is touched', () => {
    const p = buildPrompt({ ...small, receiver: HUGE, attempts: [ATTEMPTS[0]!], maxAttempts: 3, budgetTokens: 8000 })
    expect(p.cut).toContain('attempt 1 error truncated')
    expect(p.estimatedTokens).toBeLessThanOrEqual(8000)
    const err = p.messages[p.messages.length - 1]!.content
    expect(err.length).toBeLessThan(1000 + 200)
  })
})
