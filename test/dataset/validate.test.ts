/**
 * `validateFile` in-process: every way a line can be wrong is rejected at its stage with a reason a
 * person can fix it from; results come back in input order whatever the worker count; a code string
 * seen before is not parsed again; hostile lines fail alone and the run goes on.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { actGlobals, genesisKnowledge, ScratchImages, validateFile } from '../../src/dataset/index.js'
import type { Knowledge, LineResult, Summary, ValidateOptions } from '../../src/dataset/index.js'
import { Curriculum } from '../../src/genesis/index.js'
import { tempDir } from '../support/images.js'
import { rejection } from '../support/uvm.js'
import { architect, CORPUS, jit, line, writeCorpus } from './corpus.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
let dir: { path: string; cleanup: () => Promise<void> }
let knowledge: Knowledge
let scratch: ScratchImages
const globals = actGlobals()
const curriculum = Curriculum.load()

beforeAll(async () => {
  dir = await tempDir('uvm-validate-')
  knowledge = await genesisKnowledge(curriculum)
  scratch = await ScratchImages.open({ curriculum, cpuTimeoutMs: 300 })
}, 60_000)
afterAll(async () => { await dir.cleanup() })

async function run(name: string, text: string, opts: Partial<ValidateOptions> = {}): Promise<{ summary: Summary; results: LineResult[]; texts: string[] }> {
  const file = join(dir.path, name)
  await writeFile(file, text)
  const results: LineResult[] = []
  const texts: string[] = []
  const summary = await validateFile(file, { jobs: 2, knowledge, globals, ...opts, onLine: (r, t) => { results.push(r); texts.push(t) } })
  return { summary, results, texts }
}

describe('the broken corpus', () => {
  let results: LineResult[]
  let summary: Summary
  beforeAll(async () => {
    const file = join(dir.path, 'broken.jsonl')
    await writeCorpus(file)
    results = []
    summary = await validateFile(file, { jobs: 2, knowledge, globals, execute: scratch, onLine: (r) => { results.push(r) } })
  }, 60_000)

  it.each(CORPUS.map((c, i) => [c.name, i] as const))('%s', (_name, i) => {
    const c = CORPUS[i]!
    const r = results.find((x) => x.line === i + 1)!
    expect(r, `line ${i + 1} has a result`).toBeDefined()
    if (c.stage === undefined) {
      expect(r, JSON.stringify(r)).toMatchObject({ ok: true })
      return
    }
    expect(r.ok).toBe(false)
    expect(r.stage, r.reason).toBe(c.stage)
    for (const f of c.reason ?? []) expect(r.reason).toMatch(typeof f === 'string' ? new RegExp(f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : f)
    if (c.turn !== undefined) expect(r.turn).toBe(c.turn)
  })

  it('counts each stage: every line passed the stages before its failure', () => {
    const failedAt = (s: string) => CORPUS.filter((c) => c.stage === s).length
    const good = CORPUS.filter((c) => c.stage === undefined).length
    expect(summary).toMatchObject({ read: CORPUS.length, passed: good, failed: CORPUS.length - good })
    expect(summary.stages.json).toEqual({ passed: CORPUS.length - failedAt('json'), failed: failedAt('json') })
    expect(summary.stages.execute).toEqual({ passed: good, failed: failedAt('execute') })
    expect(summary.execute?.conversations).toBe(good + failedAt('execute'))
  })
})

describe('stage 5 and its base', () => {
  it('replays a line marked with a chapter onto the image through that chapter only', async () => {
    // Chapter 2 makes prototypes.Boolean; the logic stage knows the whole curriculum, execution the chapter's image.
    const act = line(architect('Ask the Boolean.'), jit('print(typeof prototypes.Boolean.isBoolean)'))
    const inChapter = (k: number) => JSON.stringify({ ...JSON.parse(act), meta: { chapter: k } })
    const { results } = await run('chapter.jsonl', [act, inChapter(2), inChapter(1)].join('\n'), { execute: scratch })
    expect(results.map((r) => r.ok)).toEqual([true, true, false])
    expect(results[2]).toMatchObject({ stage: 'execute', turn: 1, reason: expect.stringContaining('isBoolean') })
  })

  it('gives each conversation its own copy: one line\'s changes are not seen by the next', async () => {
    const make = line(architect('Make a Yak.'), jit('prototypes.Yak = new UvmObject()'))
    const use = line(architect('Feed it.'), jit("if (prototypes.Yak !== undefined) throw new Error('saw the other line')"))
    const { results } = await run('isolated.jsonl', [make, use].join('\n'), { execute: scratch })
    // The logic stage lets `use` through (it only reads prototypes.Yak); execution shows the copies are apart.
    expect(results.map((r) => r.ok)).toEqual([true, true])
  })
})

describe('order, cache and line endings', () => {
  it('returns results in input order with 4 jobs over many chunks', async () => {
    const texts = Array.from({ length: 1200 }, (_, i) => (i % 7 === 3 ? '{bad' : line(architect(`Make ${i}.`), jit(`prototypes.Made${i} = new UvmObject()`))))
    const { results, summary, texts: seen } = await run('order.jsonl', texts.join('\n') + '\n', { jobs: 4 })
    expect(results.map((r) => r.line)).toEqual(texts.map((_, i) => i + 1))
    expect(seen).toEqual(texts)
    expect(results.filter((r) => !r.ok).map((r) => r.line)).toEqual(texts.flatMap((t, i) => (t === '{bad' ? [i + 1] : [])))
    expect(summary).toMatchObject({ read: 1200, failed: texts.filter((t) => t === '{bad').length })
  })

  it('parses a code string once, however many lines repeat it', async () => {
    const same = line(architect('Again.'), jit('prototypes.Twice = new UvmObject()'))
    const { summary } = await run('cache.jsonl', Array(50).fill(same).join('\n'), { jobs: 1 })
    expect(summary.codes).toEqual({ parsed: 1, cached: 49 })
  })

  it('skips blank lines, keeps their numbers, and reads CRLF and a byte order mark', async () => {
    const good = line(architect('x'), jit('1'))
    const { results, texts } = await run('crlf.jsonl', '\ufeff' + [good, '', '   ', good, '{bad'].join('\r\n') + '\r\n\r\n')
    expect(results.map((r) => [r.line, r.ok])).toEqual([[1, true], [4, true], [5, false]])
    expect(texts[0]).toBe(good)
  })

  it('reads a last line without a newline, and a file of blank lines as zero lines', async () => {
    expect((await run('last.jsonl', line(architect('x'), jit('1')))).summary).toMatchObject({ read: 1, passed: 1 })
    expect((await run('blank.jsonl', '\n\n  \n')).summary).toMatchObject({ read: 0, passed: 0, failed: 0 })
  })

  it('refuses a missing file and a folder with DATASET_BAD_FILE', async () => {
    expect(await rejection(validateFile(join(dir.path, 'nope.jsonl'), { jobs: 1, knowledge, globals }))).toMatchObject({ code: 'DATASET_BAD_FILE', message: expect.stringContaining('no such file') })
    expect(await rejection(validateFile(dir.path, { jobs: 1, knowledge, globals }))).toMatchObject({ code: 'DATASET_BAD_FILE', message: expect.stringContaining('is a folder') })
  })
})

describe('hostile lines fail alone', () => {
  const hostile: [string, string, string | RegExp][] = [
    ['nesting 200,000 deep', '['.repeat(200_000) + ']'.repeat(200_000), 'schema'],
    ['an act nested past the parser\'s stack', line(architect('x'), jit('('.repeat(50_000) + '1' + ')'.repeat(50_000))), 'syntax'],
    ['__proto__ as a key', '{"__proto__": {"polluted": 1}, "messages": [{"role":"architect","content":"x"},{"role":"uvm_jit","content":{"explanation":"e","code":"1"}}]}', 'schema'],
    ['constructor inside a turn', JSON.stringify({ messages: [{ ...architect('x'), constructor: 1 }, jit('1')] }), 'schema'],
    ['a path through constructor', line(architect('x'), jit('prototypes.constructor.x = 1')), 'logic'],
    ['a NUL in the code', line(architect('x'), jit('1\u0000')), 'syntax'],
    ['null', 'null', 'schema'],
  ]

  it('rejects each at its stage, passes the good lines around them, and pollutes nothing', async () => {
    const good = line(architect('x'), jit('1'))
    const texts = hostile.flatMap(([, t]) => [t, good])
    const { results } = await run('hostile.jsonl', texts.join('\n'), { jobs: 2 })
    expect(results).toHaveLength(texts.length)
    hostile.forEach(([name, , stage], i) => {
      expect(results[2 * i], name).toMatchObject({ ok: false, stage })
      expect(results[2 * i + 1]!.ok, `the good line after ${name}`).toBe(true)
    })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    // The reason is one printable line: a NUL is shown escaped, not written to the terminal.
    const nul = results[2 * hostile.findIndex(([n]) => n === 'a NUL in the code')]!
    expect(nul.reason).toContain('\\u0000')
    expect(nul.reason).not.toMatch(/[\u0000-\u001f]/)
  })

  it('takes a 5 MB architect turn in its stride', async () => {
    const big = line(architect('x'.repeat(5_000_000)), jit('1'))
    const { results, texts } = await run('big.jsonl', big + '\n' + line(architect('y'), jit('2')))
    expect(results.map((r) => r.ok)).toEqual([true, true])
    expect(texts[0]!.length).toBe(big.length)
  })
})

it('the golden set passes whole, and each line comes back byte for byte', async () => {
  const folder = join(ROOT, 'genesis')
  const names = (await readdir(folder)).filter((f) => f.endsWith('.jsonl')).sort()
  const text = (await Promise.all(names.map((f) => readFile(join(folder, f), 'utf8')))).join('')
  const { summary, texts, results } = await run('golden.jsonl', text, { jobs: 2 })
  expect(summary.failed, JSON.stringify(results.filter((r) => !r.ok).slice(0, 3))).toBe(0)
  expect(summary.read).toBe(curriculum.conversations.length)
  expect(texts).toEqual(text.split('\n').filter((l) => l.trim() !== ''))
})
