/**
 * `uvm dataset generate` and `uvm dataset judge` (issue 16), run as the CLI child process against a
 * scripted chat-completions server on loopback (test/support/fake-llm.ts).
 */
import { readFileSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SCENARIOS } from '../../src/dataset/scenarios.js'
import { UVM_JIT_PERSONA } from '../../src/jit/prompt/system.js'
import { cleanupTemps, ensureBuilt, hasStack, killChildren, lines, ROOT, runCli, tempDir } from '../cli/support.js'
import { startFakeLlm } from '../support/fake-llm.js'
import type { FakeLlm, Script, Step } from '../support/fake-llm.js'

const TIMEOUT = 90_000
let llm: FakeLlm | undefined
let dir: string

beforeAll(async () => {
  ensureBuilt()
  dir = await tempDir('uvm-dataset-teacher-')
}, 180_000)
afterEach(async () => {
  await killChildren()
  await llm?.close()
  llm = undefined
})
afterAll(cleanupTemps)

async function fake(script: Script): Promise<FakeLlm> {
  llm = await startFakeLlm(script)
  return llm
}

/** One conversation in the seeds' schema: architect, then uvm_jit with an explanation and code. */
function conversation(said: string, code: string, explanation = `BRICK: "${said}" names no slot; doesNotUnderstand: becomes creation.`) {
  return { messages: [{ role: 'architect', content: said }, { role: 'uvm_jit', content: { explanation, code } }] }
}
/** A new chapter-1 conversation that runs on the genesis image through chapter 1 (Morph exists there). */
const good = (said = 'Give me a status lamp.') =>
  conversation(said, "const Lamp = prototypes.Morph.clone()\nLamp.kind = 'LampMorph'\nLamp.label = 'lamp'\nprototypes.LampMorph = Lamp\nreturn Lamp.printString()")
const throwing = conversation('Make it blink.', "const m = prototypes.Morph\nthrow new Error('no lamp')")

/** The teacher's answers, one kind of candidate each: stages 1 to 5 in turn reject all but the first. */
const MIX: Step[] = [
  { answer: good() },
  { content: '{"messages": [{"role": "architect", "content": "Glow."' },
  { answer: { messages: [{ role: 'architect', content: 'Glow.' }, { role: 'uvm_jit', content: { code: 'return 1' } }] } },
  { answer: conversation('Glow.', 'const = 1') },
  { answer: conversation('Glow.', 'return Glow.printString()') },
  { answer: throwing },
]
const inOrder = (steps: Step[]): Script => (_req, n) => steps[n] ?? { status: 500, body: 'script exhausted' }

const jsonl = async (path: string) => lines(await readFile(path, 'utf8')).map((l) => JSON.parse(l) as Record<string, any>)
const generate = (url: string, ...args: string[]) =>
  runCli(['dataset', 'generate', '--teacher', url, '--model', 'scripted-teacher', ...args], { timeoutMs: 60_000 })

const chapter1 = readFileSync(join(ROOT, 'genesis/01-first-conversation.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { messages: { role: string; content: any }[] })
/** The golden conversations a teacher request shows, one JSON line each in the user turn. */
const shownExamples = (user: string) => user.split('\n').filter((l) => l.startsWith('{"messages"')).map((l) => JSON.parse(l) as { messages: { role: string; content: any }[] })
const taskOf = (user: string) => /^Task: write ONE new conversation for chapter 1, different from the golden ones: (.*)$/m.exec(user)?.[1]

describe('uvm dataset generate', () => {
  it('asks the teacher with the persona, the uvm_conversation schema, --examples golden chapter conversations and a chapter scenario', async () => {
    const t = await fake([{ answer: good() }])
    const report = join(dir, 'prompt-report.json')
    const r = await generate(t.url, '--count', '2', '--chapter', '1', '--examples', '7', '--no-execute', '--out', join(dir, 'prompt.jsonl'), '--report', report)
    expect(r.stderr).toContain('generated 2 candidates with scripted-teacher: 2 accepted (100%)')
    expect(r.code).toBe(0)
    expect(t.chatRequests).toHaveLength(2)
    const tasks = new Set<string | undefined>()
    for (const req of t.chatRequests) {
      expect(req.body.model).toBe('scripted-teacher')
      const format = req.body.response_format
      expect(format).toMatchObject({ type: 'json_schema', json_schema: { name: 'uvm_conversation', strict: false } })
      expect(format.json_schema.schema.properties).toHaveProperty('messages')
      const [system, user] = req.body.messages as { role: string; content: string }[]
      expect(system!.role).toBe('system')
      expect(system!.content).toContain(UVM_JIT_PERSONA)
      expect(system!.content).toContain('doesNotUnderstand:')
      expect(system!.content).toContain(`The JSON Schema of a line:\n${JSON.stringify(format.json_schema.schema)}`)
      expect(user!.role).toBe('user')
      expect(user!.content).toContain('Golden conversations from chapter 1 of the curriculum')
      const shown = shownExamples(user!.content)
      expect(shown).toHaveLength(7)
      for (const c of shown) {
        // Each example is one of chapter 1's conversations, turn for turn.
        const golden = chapter1.find((g) => g.messages[0]!.content === c.messages[0]!.content)
        expect(golden, c.messages[0]!.content).toBeDefined()
        expect(c.messages.map((m) => m.role)).toEqual(golden!.messages.map((m) => m.role))
        expect(c.messages[1]!.content.explanation).toBe(golden!.messages[1]!.content.explanation)
      }
      tasks.add(taskOf(user!.content))
    }
    // Candidate 1 gets the chapter's first scenario, candidate 2 its second.
    expect([...tasks].sort()).toEqual([SCENARIOS[1]![0], SCENARIOS[1]![1]].sort())
    const { summary, candidates } = JSON.parse(await readFile(report, 'utf8'))
    expect(summary).toMatchObject({ candidates: 2, accepted: 2, acceptanceRate: 1, model: 'scripted-teacher' })
    expect(candidates.map((c: any) => [c.line, c.ok, c.chapter, c.examples.length])).toEqual([[1, true, 1, 7], [2, true, 1, 7]])
    expect(candidates.map((c: any) => c.task)).toEqual([SCENARIOS[1]![0], SCENARIOS[1]![1]])
  }, TIMEOUT)

  it('keeps only candidates that pass stages 1-5, with meta.teacher, and reports each stage\'s rejections and the rate', async () => {
    const t = await fake(inOrder(MIX))
    const out = join(dir, 'mix.jsonl'), report = join(dir, 'mix-report.json')
    const r = await generate(t.url, '--count', '6', '--chapter', '1', '--out', out, '--report', report)
    expect(t.chatRequests).toHaveLength(6)
    const kept = await jsonl(out)
    expect(kept).toHaveLength(1)
    expect(kept[0]!.messages).toEqual(good().messages)
    expect(kept[0]!.meta).toEqual({ chapter: 1, teacher: 'scripted-teacher', source: 'uvm dataset generate' })
    expect(r.stderr).toMatch(/candidate \d \(chapter 1\): json: the reply holds no JSON object/)
    expect(r.stderr).toMatch(/candidate \d \(chapter 1\): schema: messages\.1\.content\.explanation: uvm_jit content lacks 'explanation'/)
    expect(r.stderr).toMatch(/candidate \d \(chapter 1\): syntax: turn 1 \(line 1, column 7\): Unexpected token/)
    expect(r.stderr).toMatch(/candidate \d \(chapter 1\): logic: turn 1 \(line 1, column 8\): 'Glow' is not defined/)
    expect(r.stderr).toMatch(/candidate \d \(chapter 1\): execute: turn 1 of 1 \("Make it blink\."\): no lamp/)
    const summaryLine = lines(r.stderr).find((l) => l.startsWith('generated '))!
    expect(summaryLine).toMatch(/^generated 6 candidates with scripted-teacher: 1 accepted \(17%\); rejected: .*; kept in .*mix\.jsonl$/)
    for (const stage of ['json', 'schema', 'syntax', 'logic', 'execute']) expect(summaryLine).toContain(`1 at ${stage}`)
    expect(r.code).toBe(0)
    const { summary, candidates } = JSON.parse(await readFile(report, 'utf8'))
    expect(summary).toMatchObject({ candidates: 6, accepted: 1, acceptanceRate: 1 / 6, failed: { json: 1, schema: 1, syntax: 1, logic: 1, execute: 1 } })
    expect(candidates.map((c: any) => c.line)).toEqual([1, 2, 3, 4, 5, 6])
    expect(candidates.filter((c: any) => !c.ok).map((c: any) => c.stage).sort()).toEqual(['execute', 'json', 'logic', 'schema', 'syntax'])
  }, TIMEOUT)

  it('with --no-execute skips stage 5: the act that throws is kept too', async () => {
    const t = await fake(inOrder(MIX))
    const out = join(dir, 'noexec.jsonl'), report = join(dir, 'noexec-report.json')
    const r = await generate(t.url, '--count', '6', '--chapter', '1', '--no-execute', '--out', out, '--report', report)
    const kept = await jsonl(out)
    expect(kept.map((k) => k.messages[0].content).sort()).toEqual(['Give me a status lamp.', 'Make it blink.'])
    expect(kept.find((k) => k.messages[0].content === 'Make it blink.')!.messages).toEqual(throwing.messages)
    for (const k of kept) expect(k.meta.teacher).toBe('scripted-teacher')
    expect(r.stderr).toContain('generated 6 candidates with scripted-teacher: 2 accepted (33%)')
    expect(r.stderr).not.toContain('at execute')
    expect(r.code).toBe(0)
    expect(JSON.parse(await readFile(report, 'utf8')).summary).toMatchObject({ accepted: 2, failed: { json: 1, schema: 1, syntax: 1, logic: 1 } })
    expect(JSON.parse(await readFile(report, 'utf8')).summary.failed).not.toHaveProperty('execute')
  }, TIMEOUT)

  it('counts a teacher that answers 500 or hangs up as a teacher failure and finishes the run', async () => {
    const t = await fake(inOrder([{ status: 500, body: 'model overloaded' }, { hangUp: true }, { answer: good() }, { answer: good('Give me a second lamp.') }]))
    const out = join(dir, 'flaky.jsonl'), report = join(dir, 'flaky-report.json')
    const r = await generate(t.url, '--count', '4', '--chapter', '1', '--no-execute', '--out', out, '--report', report)
    expect(t.chatRequests).toHaveLength(4)
    // No --examples: six golden conversations.
    expect(shownExamples(t.chatRequests[0]!.body.messages[1].content)).toHaveLength(6)
    expect(r.stderr).toMatch(new RegExp(`candidate \\d \\(chapter 1\\): teacher: the LLM server at ${t.url} answered POST /v1/chat/completions with HTTP 500[^\\n]*: model overloaded`))
    expect(r.stderr).toMatch(new RegExp(`candidate \\d \\(chapter 1\\): teacher: the LLM server at ${t.url} could not be reached`))
    expect(r.stderr).toContain('generated 4 candidates with scripted-teacher: 2 accepted (50%); rejected: 2 at teacher')
    expect(hasStack(r.stderr)).toBe(false)
    expect(r.code).toBe(0)
    expect((await jsonl(out)).map((k) => k.messages[0].content).sort()).toEqual(['Give me a second lamp.', 'Give me a status lamp.'])
    expect(JSON.parse(await readFile(report, 'utf8')).summary).toMatchObject({ accepted: 2, failed: { teacher: 2 } })
  }, TIMEOUT)

  it('exits 1 when the teacher never answers', async () => {
    const t = await fake([{ status: 500, body: 'down' }])
    const r = await generate(t.url, '--count', '2', '--chapter', '2', '--no-execute', '--out', join(dir, 'none.jsonl'))
    expect(r.stderr).toContain('generated 2 candidates with scripted-teacher: 0 accepted (0%); rejected: 2 at teacher')
    expect(await readFile(join(dir, 'none.jsonl'), 'utf8')).toBe('')
    expect(r.code).toBe(1)
  }, TIMEOUT)

  const URL = 'http://127.0.0.1:9'
  it.each([
    ['no --teacher', ['--model', 'm', '--count', '1'], '--teacher URL is required'],
    ['no --model', ['--teacher', URL, '--count', '1'], '--model NAME is required'],
    ['no --count', ['--teacher', URL, '--model', 'm'], '--count N is required'],
    ['--count 0', ['--teacher', URL, '--model', 'm', '--count', '0'], '--count takes a whole number ≥ 1, got "0"'],
    ['--count abc', ['--teacher', URL, '--model', 'm', '--count', 'abc'], '--count takes a whole number ≥ 1, got "abc"'],
    ['--chapter 99', ['--teacher', URL, '--model', 'm', '--count', '1', '--chapter', '99'], '--chapter 99: the chapters with scenarios are 1, 2, 3, 4, 5, 6, 7, 8, 9'],
    ['--examples 11', ['--teacher', URL, '--model', 'm', '--count', '1', '--examples', '11'], '--examples takes 5 to 10 golden conversations'],
    ['--examples 4', ['--teacher', URL, '--model', 'm', '--count', '1', '--examples', '4'], '--examples takes a whole number ≥ 5, got "4"'],
    ['a positional', ['--teacher', URL, '--model', 'm', '--count', '1', 'extra'], 'unexpected argument "extra"'],
  ])('usage error: %s exits 2', async (_name, args, message) => {
    const r = await runCli(['dataset', 'generate', ...args])
    expect(r.stderr).toContain(`uvm dataset: ${message}`)
    expect(hasStack(r.stderr)).toBe(false)
    expect(r.code).toBe(2)
  }, TIMEOUT)
})

describe('uvm dataset judge', () => {
  const RUBRIC_SCORES: Record<string, { persona_adherence: number; coherence: number; code_match: number; rationale: string }> = {
    'Lamp A.': { persona_adherence: 5, coherence: 5, code_match: 4, rationale: 'A is in voice.' },
    'Lamp B.': { persona_adherence: 3, coherence: 5, code_match: 5, rationale: 'B is flat.' },
    'Lamp C.': { persona_adherence: 4, coherence: 4, code_match: 4, rationale: 'C is fine.' },
  }
  /** Scripted by what is judged: the Architect's first words pick the answer. */
  const byLine = (answers: Record<string, Step>): Script => (req) => {
    const judged = JSON.parse(req.body.messages[1].content) as { messages: { content: string }[] }
    return answers[judged.messages[0]!.content] ?? { status: 500, body: 'unscripted' }
  }
  const judge = (url: string, file: string, ...args: string[]) =>
    runCli(['dataset', 'judge', file, '--judge', url, '--model', 'scripted-judge', ...args], { timeoutMs: 60_000 })

  it('keeps the lines whose every score meets --min-score, reports each line\'s scores, and sends the rubric and the conversation', async () => {
    const input = join(dir, 'judge-in.jsonl'), out = join(dir, 'judge-out.jsonl'), report = join(dir, 'judge-report.json')
    const inputLines = ['Lamp A.', 'Lamp B.', 'Lamp C.'].map((said) => ({ ...good(said), meta: { chapter: 1, teacher: 'scripted-teacher' } }))
    await writeFile(input, inputLines.map((l) => JSON.stringify(l)).join('\n') + '\n')
    const j = await fake(byLine(Object.fromEntries(Object.entries(RUBRIC_SCORES).map(([k, v]) => [k, { answer: v }]))))
    const r = await judge(j.url, input, '--min-score', '4', '--out', out, '--report', report)
    expect(r.stderr).toContain('judged 3 conversations with scripted-judge: mean persona_adherence 4, coherence 4.67, code_match 4.33; 2 at or above 4')
    expect(r.code).toBe(0)
    expect(j.chatRequests).toHaveLength(3)
    j.chatRequests.forEach((req, i) => {
      expect(req.body.model).toBe('scripted-judge')
      expect(req.body.response_format).toMatchObject({ type: 'json_schema', json_schema: { name: 'uvm_judgement' } })
      const [system, user] = req.body.messages as { role: string; content: string }[]
      expect(system!.role).toBe('system')
      for (const rubric of [UVM_JIT_PERSONA, 'persona_adherence:', 'coherence:', 'code_match:', 'each a whole number from 1 (poor) to 5 (excellent)']) expect(system!.content).toContain(rubric)
      expect(user!.role).toBe('user')
      expect(JSON.parse(user!.content)).toEqual({ messages: inputLines[i]!.messages })
    })
    // B averages 4.33 but its persona_adherence is 3: the rule is every score, not the mean.
    const kept = await jsonl(out)
    expect(kept.map((k) => k.messages)).toEqual([inputLines[0]!.messages, inputLines[2]!.messages])
    expect(kept[0]!.meta).toEqual({ chapter: 1, teacher: 'scripted-teacher', judge: { model: 'scripted-judge', ...RUBRIC_SCORES['Lamp A.'] } })
    expect(kept[1]!.meta.judge).toEqual({ model: 'scripted-judge', ...RUBRIC_SCORES['Lamp C.'] })
    const rep = JSON.parse(await readFile(report, 'utf8'))
    expect(rep.judge).toEqual({ url: j.url, model: 'scripted-judge', minScore: 4 })
    expect(rep.lines).toEqual([
      { line: 1, ok: true, scores: { persona_adherence: 5, coherence: 5, code_match: 4 }, rationale: RUBRIC_SCORES['Lamp A.']!.rationale },
      { line: 2, ok: false, scores: { persona_adherence: 3, coherence: 5, code_match: 5 }, rationale: RUBRIC_SCORES['Lamp B.']!.rationale, reason: 'below --min-score 4' },
      { line: 3, ok: true, scores: { persona_adherence: 4, coherence: 4, code_match: 4 }, rationale: RUBRIC_SCORES['Lamp C.']!.rationale },
    ])
    expect(rep.summary).toEqual({ judged: 3, kept: 2, errors: 0, means: { persona_adherence: 4, coherence: 4.67, code_match: 4.33 } })
  }, TIMEOUT)

  it('turns a reply that is not valid scores into a per-line failure and keeps going', async () => {
    const input = join(dir, 'judge-bad.jsonl'), out = join(dir, 'judge-bad-out.jsonl'), report = join(dir, 'judge-bad-report.json')
    const said = ['Bad JSON.', 'Seven.', 'Missing.', 'Lamp A.']
    // Line 6 is JSON but no conversation: refused at the schema, never sent to the judge.
    await writeFile(input, [...said.map((s) => JSON.stringify(good(s))), '{"messages": [oops', '{"meta": {}}'].join('\n') + '\n')
    const j = await fake(byLine({
      'Bad JSON.': { content: 'persona_adherence: 5, coherence: 5' },
      'Seven.': { answer: { persona_adherence: 5, coherence: 7, code_match: 5, rationale: 'too kind' } },
      'Missing.': { answer: { persona_adherence: 5, coherence: 5, rationale: 'forgot one' } },
      'Lamp A.': { answer: RUBRIC_SCORES['Lamp A.']! },
    }))
    const r = await judge(j.url, input, '--min-score', '1', '--out', out, '--report', report)
    expect(j.chatRequests).toHaveLength(4)
    expect(r.stderr).toContain("line 1: the judge's reply holds no JSON object")
    expect(r.stderr).toMatch(/line 2: the judge's answer: coherence: .*5/)
    expect(r.stderr).toMatch(/line 3: the judge's answer: code_match: /)
    expect(r.stderr).toMatch(/line 5: not JSON: .*\(validate the file first: uvm dataset validate\)/)
    expect(r.stderr).toMatch(/line 6: messages: the line has no 'messages'.*\(validate the file first/)
    expect(r.stderr).not.toMatch(/line 4:/)
    expect(hasStack(r.stderr)).toBe(false)
    expect(r.stderr).toContain('judged 1 conversation with scripted-judge: mean persona_adherence 5, coherence 5, code_match 4; 1 at or above 1; 5 could not be judged')
    expect(r.code).toBe(1)
    expect((await jsonl(out)).map((k) => k.messages)).toEqual([good('Lamp A.').messages])
    const rep = JSON.parse(await readFile(report, 'utf8'))
    expect(rep.lines.map((l: any) => [l.line, l.ok, l.scores !== undefined])).toEqual([[1, false, false], [2, false, false], [3, false, false], [4, true, true], [5, false, false], [6, false, false]])
    expect(rep.summary).toMatchObject({ judged: 1, kept: 1, errors: 5 })
  }, TIMEOUT)

  it.each([
    ['no FILE', ['--judge', 'http://127.0.0.1:9', '--model', 'm'], 'missing the file: uvm dataset judge FILE.jsonl --judge URL --model NAME'],
    ['no --judge', ['x.jsonl', '--model', 'm'], '--judge URL is required'],
    ['--min-score 9', ['x.jsonl', '--judge', 'http://127.0.0.1:9', '--model', 'm', '--min-score', '9'], '--min-score takes a score from 1 to 5, got "9"'],
    ['--min-score abc', ['x.jsonl', '--judge', 'http://127.0.0.1:9', '--model', 'm', '--min-score', 'abc'], '--min-score takes a score from 1 to 5, got "abc"'],
  ])('usage error: %s exits 2', async (_name, args, message) => {
    const r = await runCli(['dataset', 'judge', ...args])
    expect(r.stderr).toContain(`uvm dataset: ${message}`)
    expect(hasStack(r.stderr)).toBe(false)
    expect(r.code).toBe(2)
  }, TIMEOUT)
})
