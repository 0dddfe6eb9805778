// The replay engine, the curriculum JIT and example retrieval, on small curricula written per test.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openImage } from '../../src/index.js'
import { Curriculum, CurriculumCompiler, ExampleIndex, installedSelectors, replayConversation, replayCurriculum, replayedConversations } from '../../src/genesis/index.js'
import { setUpJit } from '../../src/jit/index.js'
import { memoryDb } from '../support/images.js'
import { rejected, thrown } from '../support/uvm.js'

type Turn = [string, string, string]
const line = (...turns: Turn[]) => JSON.stringify({ messages: turns.flatMap(([a, e, c]) => [{ role: 'architect', content: a }, { role: 'uvm_jit', content: { explanation: e, code: c } }]) })

let dirs: string[] = []
let closers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of closers) await c()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
  dirs = []; closers = []
})

async function curriculum(files: Record<string, string[]>): Promise<Curriculum> {
  const dir = await mkdtemp(join(tmpdir(), 'uvm-cur-'))
  dirs.push(dir)
  for (const [name, lines] of Object.entries(files)) await writeFile(join(dir, name), lines.join('\n') + '\n')
  return Curriculum.load(dir)
}

async function fresh() {
  const opened = await openImage(memoryDb())
  closers.push(() => opened.image.close())
  return opened
}

const HELLO = line(['Greet me.', 'BRICK: a greeting method on the Genesis Object.', "genesis.setSlot('hello', function () { return 'hello from ' + this.printString() })"])
const PROTO = line(
  ['Make a Counter prototype.', 'A prototype registered by name.', 'prototypes.Counter = new UvmObject(); prototypes.Counter.n = 0'],
  ['Let it count.', 'ROBIN: counting is a method, shared by every clone.', "prototypes.Counter.increment = function () { this.n = this.n + 1; return this.n }"],
)
const USES = line(['Count twice.', 'Uses the Counter of the conversation before.', 'genesis.c = prototypes.Counter.clone(); genesis.c.increment(); genesis.setSlot("twice", function () { return this.c.n })'])

describe('the curriculum format', () => {
  it('loads NN-name.jsonl files in order, with what each conversation teaches', async () => {
    const c = await curriculum({ '02-second.jsonl': [USES], '01-first.jsonl': [HELLO, '', PROTO], 'notes.txt': ['ignored'] })
    expect(c.conversations.map((x) => [x.id, x.chapter, x.chapterName, x.turns.length, x.teaches])).toEqual([
      ['01-first.jsonl:1', 1, 'first', 1, ['hello']],
      ['01-first.jsonl:3', 1, 'first', 2, ['increment']],
      ['02-second.jsonl:1', 2, 'second', 1, ['twice']],
    ])
    expect(c.teaching('increment')!.id).toBe('01-first.jsonl:3')
    expect(installedSelectors("a.setSlot('x', () => 1); a.y = async function () {}; a['z'] = function () {}; a.setSlot('data', 3)")).toEqual(['x', 'y', 'z'])
  })

  it('accepts autopoietic_act in place of code', async () => {
    const l = JSON.stringify({ messages: [{ role: 'architect', content: 'a' }, { role: 'uvm_jit', content: { explanation: 'e', autopoietic_act: 'genesis.z = 1' } }] })
    expect((await curriculum({ '01-a.jsonl': [l] })).conversations[0]!.turns[0]!.code).toBe('genesis.z = 1')
  })

  it.each([
    ['not JSON', '{"messages": [', /01-bad\.jsonl:1: not JSON/],
    ['roles out of order', JSON.stringify({ messages: [{ role: 'uvm_jit', content: { explanation: 'e', code: 'x' } }, { role: 'architect', content: 'a' }] }), /01-bad\.jsonl:1: messages\.0\.role: turn 1 must be architect/],
    ['an unknown key', JSON.stringify({ messages: [{ role: 'architect', content: 'a' }, { role: 'uvm_jit', content: { explanation: 'e', code: 'x' } }], extra: 1 }), /01-bad\.jsonl:1: .*extra/],
    ['no code', JSON.stringify({ messages: [{ role: 'architect', content: 'a' }, { role: 'uvm_jit', content: { explanation: 'e' } }] }), /needs 'code'/],
    ['an unknown role', JSON.stringify({ messages: [{ role: 'user', content: 'a' }, { role: 'uvm_jit', content: { explanation: 'e', code: 'x' } }] }), /01-bad\.jsonl:1: messages\.0/],
  ])('refuses %s with the file and line', async (_n, text, msg) => {
    const e = await rejected(curriculum({ '01-bad.jsonl': [text] }))
    expect(e.code).toBe('GENESIS_BAD_LINE')
    expect(e.message).toMatch(msg)
  })
})

describe('replay', () => {
  it('one turn, one act: each recorded with the utterance, the explanation and the curriculum turn; slots point to it', async () => {
    const c = await curriculum({ '01-first.jsonl': [HELLO, PROTO] })
    const { image, realm } = await fresh()
    const r = await replayCurriculum(image, realm, c)
    expect(r).toEqual({ replayed: 2, skipped: 0, turns: 3 })
    const recs = (await image.transactions({ limit: 3 })).reverse()
    expect(recs.map((t) => [t.description, t.user, t.ext.explanation, t.ext.curriculum])).toEqual([
      ['Greet me.', 'genesis', 'BRICK: a greeting method on the Genesis Object.', { conversation: '01-first.jsonl:1', file: '01-first.jsonl', line: 1, chapter: 1, turn: 1, turns: 1 }],
      ['Make a Counter prototype.', 'genesis', 'A prototype registered by name.', { conversation: '01-first.jsonl:2', file: '01-first.jsonl', line: 2, chapter: 1, turn: 1, turns: 2 }],
      ['Let it count.', 'genesis', 'ROBIN: counting is a method, shared by every clone.', { conversation: '01-first.jsonl:2', file: '01-first.jsonl', line: 2, chapter: 1, turn: 2, turns: 2 }],
    ])
    const tx = image.begin()
    expect(tx.read(tx.objectOf(tx.genesis.prototypes.Counter)).origins?.get('increment')).toBe(recs[2]!.tid)
    tx.abort()
    // Replayed again: everything is already there.
    expect(await replayCurriculum(image, realm, c)).toEqual({ replayed: 0, skipped: 2, turns: 0 })
    expect([...await replayedConversations(image)].sort()).toEqual(['01-first.jsonl:1', '01-first.jsonl:2'])
  })

  it('a failing turn stops the replay with the file, line, turn and error; nothing of that conversation stays', async () => {
    const bad = line(['Make a thing.', 'x', 'genesis.thing = 1'], ['Break it.', 'y', 'genesis.thing = 2\nthrow new Error("no such luck")'])
    const c = await curriculum({ '01-first.jsonl': [HELLO, bad, USES] })
    const { image, realm } = await fresh()
    const e = await rejected(replayCurriculum(image, realm, c))
    expect(e.code).toBe('GENESIS_TURN_FAILED')
    expect(e.message).toMatch(/^01-first\.jsonl:2, turn 2 of 2 \("Break it\."\): no such luck \(act line 2, column 7\); nothing of this conversation was kept$/)
    const tx = image.begin()
    expect(tx.read(tx.objectOf(tx.genesis)).slots.has('thing')).toBe(false)
    expect(tx.read(tx.objectOf(tx.genesis)).slots.has('hello')).toBe(true)
    tx.abort()
    expect([...await replayedConversations(image)]).toEqual(['01-first.jsonl:1'])
  })
})

describe('the curriculum JIT (no LLM)', () => {
  it('answers a taught selector by replaying its conversation and the earlier ones the image lacks; provenance "curriculum"', async () => {
    const c = await curriculum({ '01-first.jsonl': [HELLO, PROTO], '02-second.jsonl': [USES] })
    const { image, realm } = await fresh()
    const events: string[] = []
    const jit = setUpJit(image, realm, { fallback: new CurriculumCompiler(image, realm, c) })
    jit.onEvent((e) => events.push(e.phase))
    const r = await jit.run('return genesis.twice()', {}, { utterance: 'how many?' })
    expect(r.value).toBe(1)
    expect(r.cycles).toHaveLength(1)
    expect(r.cycles[0]!.explanation).toBe('Uses the Counter of the conversation before.')
    expect(events).toEqual(['started', 'compiled'])
    expect([...await replayedConversations(image)].sort()).toEqual(['01-first.jsonl:1', '01-first.jsonl:2', '02-second.jsonl:1'])
    const rec = await image.transaction(r.cycles[0]!.tid)
    expect(rec!.ext.curriculum).toMatchObject({ conversation: '02-second.jsonl:1' })
    expect(rec!.ext.jit).toMatchObject({ selector: 'twice', mode: 'curriculum', server: 'curriculum 02-second.jsonl:1', utterance: 'how many?' })
    // The prerequisites are plain curriculum turns, not cycles.
    const first = (await image.transactions()).find((t) => t.description === 'Greet me.')!
    expect(first.ext.jit).toBeUndefined()
    // Taught now: no replay the second time.
    expect((await jit.run('return genesis.hello()', {}, {})).cycles).toHaveLength(0)
  })

  it('any other selector gets a clear does_not_understand naming what the curriculum teaches', async () => {
    const c = await curriculum({ '01-first.jsonl': [HELLO] })
    const { image, realm } = await fresh()
    const jit = setUpJit(image, realm, { fallback: new CurriculumCompiler(image, realm, c) })
    const e = await rejected(jit.run('return genesis.fly()', {}, {}))
    expect(e.code).toBe('KERNEL_DOES_NOT_UNDERSTAND')
    expect(e.message).toMatch(/does not understand 'fly' \(no curriculum conversation teaches it, and no LLM is configured.*The curriculum teaches hello\)$/)
  })

  it('a taught selector sent to an object that does not inherit it still fails, clearly', async () => {
    const c = await curriculum({ '01-first.jsonl': [HELLO] })
    const { image, realm } = await fresh()
    const jit = setUpJit(image, realm, { fallback: new CurriculumCompiler(image, realm, c) })
    const e = await rejected(jit.run('return prototypes.hello()', {}, {}))
    expect(e.message).toMatch(/the curriculum conversation 01-first\.jsonl:1 teaches it, but replaying it did not/)
  })

  it('two sends at once replay once', async () => {
    const c = await curriculum({ '01-first.jsonl': [HELLO] })
    const { image, realm } = await fresh()
    const jit = setUpJit(image, realm, { fallback: new CurriculumCompiler(image, realm, c) })
    const [a, b] = await Promise.all([jit.run('return genesis.hello()', {}, {}), jit.run('return genesis.hello()', {}, {})])
    expect([a.value, b.value]).toEqual(['hello from <Genesis #2>', 'hello from <Genesis #2>'])
    expect((await image.transactions()).filter((t) => t.ext.curriculum !== undefined)).toHaveLength(1)
  })
})

describe('example retrieval (BM25)', () => {
  it('ranks the turns nearest to the message: its selector and the words of the Architect', async () => {
    const c = await curriculum({ '01-first.jsonl': [HELLO, PROTO, USES] })
    const index = new ExampleIndex(c)
    expect(index.search('increment the counter', 1)[0]!.architect).toBe('Let it count.')
    expect(index.search('hello', 1)[0]!.architect).toBe('Greet me.')
    expect(index.search('zebra quantum', 3)).toEqual([])
    const { image } = await fresh()
    const tx = image.begin()
    const need = { kind: 'selector' as const, receiver: tx.objectOf(tx.genesis), selector: 'incrementTwice', args: [] }
    tx.abort()
    expect(index.forNeed(need, undefined, 2).map((e) => e.architect)).toContain('Let it count.')
    void thrown
  })
})

describe('images born before capability(name) existed', () => {
  it('answer it as if their traits had the primitive', async () => {
    const { image, realm } = await fresh()
    await image.transact((tx) => { tx.kernel.send(tx, tx.image.traits, 'removeSlot', ['capability']) })
    const { runAct } = await import('../../src/act/index.js')
    const r = await runAct(image, realm, "genesis.m = function () { return this.capability('clock')() }; return genesis.m()", { capabilities: { clock: realm.hostFunction('clock', () => 7) } })
    expect(r.value).toBe(7)
  })
})

describe('the bridge capability', () => {
  it('send_message and run_act from inside an act run as acts of their own', async () => {
    const { bareWorld } = await import('./support.js')
    const w = await bareWorld()
    try {
      expect(await w.run("return await bridge.send({ command: 'send_message', target: 'genesis', selector: 'printString' })")).toMatchObject({ event: 'result', value: '<Genesis #2>' })
      expect(await w.run("return await bridge.send({ command: 'run_act', code: 'genesis.viaBridge = 1; return 2' })")).toMatchObject({ event: 'result', value: 2 })
      expect(await w.run('return genesis.viaBridge')).toBe(1)
      expect((await rejected(w.run("return await bridge.send({ command: 'nonsense' })"))).message).toMatch(/bridge\.send: not a covenant command/)
    } finally {
      await w.dispose()
    }
  })
})

describe('a turn that only reads', () => {
  it('is still recorded, so its conversation counts as replayed', async () => {
    const c = await curriculum({ '01-first.jsonl': [line(['How many prototypes?', 'BABS counts.', 'return prototypes.slotNames().length'])] })
    const { image, realm } = await fresh()
    expect(await replayCurriculum(image, realm, c)).toEqual({ replayed: 1, skipped: 0, turns: 1 })
    expect(await replayCurriculum(image, realm, c)).toEqual({ replayed: 0, skipped: 1, turns: 0 })
    const rec = (await image.transactions({ limit: 1 }))[0]!
    expect([rec.description, rec.oids]).toEqual(['How many prototypes?', []])
  })
})
