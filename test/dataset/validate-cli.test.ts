/**
 * `uvm dataset validate` as people run it: a child process of dist/cli/main.js, real image folders,
 * a real daemon holding one, python3 for `--syntax python`.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTemps, ensureBuilt, killChildren, ROOT, runCli, startDaemon, tempDir } from '../cli/support.js'
import { architect, CORPUS, jit, line, writeCorpus } from './corpus.js'
import { ensureDebianPackage } from '../support/system-package.js'

let dir: string
const golden = readdirSync(join(ROOT, 'genesis')).filter((f) => f.endsWith('.jsonl')).sort()
const goldenText = golden.map((f) => readFileSync(join(ROOT, 'genesis', f), 'utf8')).join('')
const goldenLines = goldenText.split('\n').filter((l) => l.trim() !== '')

beforeAll(async () => {
  ensureBuilt()
  dir = await tempDir('uvm-validate-cli-')
})
afterAll(async () => {
  await killChildren()
  await cleanupTemps()
})

const validate = (...args: string[]) => runCli(['dataset', 'validate', ...args], { cwd: dir, timeoutMs: 120_000 })

it('passes the whole golden set with --execute, and says so', async () => {
  await writeFile(join(dir, 'golden.jsonl'), goldenText)
  const r = await validate('golden.jsonl', '--execute')
  expect(r.code, r.stdout + r.stderr).toBe(0)
  expect(r.stdout).toMatch(/^execute +\d+ +0$/m)
  expect(r.stdout).toContain(`${goldenLines.length} lines read: ${goldenLines.length} passed, 0 failed`)
  expect(r.stdout).toContain('on a fresh genesis image (in memory)')
}, 120_000)

describe('the broken corpus through the CLI', () => {
  let r: Awaited<ReturnType<typeof validate>>
  beforeAll(async () => {
    await writeCorpus(join(dir, 'broken.jsonl'))
    r = await validate('broken.jsonl', '--execute', '--out', 'clean.jsonl', '--report', 'report.json', '--jobs', '2')
  }, 120_000)

  it('exits 1 and prints each failure with its line, stage and reason', () => {
    expect(r.code, r.stderr).toBe(1)
    CORPUS.forEach((c, i) => {
      if (c.stage === undefined) expect(r.stdout).not.toMatch(new RegExp(`^line ${i + 1}:`, 'm'))
      else expect(r.stdout).toMatch(new RegExp(`^line ${i + 1}: ${c.stage}: .+`, 'm'))
    })
  })

  it('writes only the passing lines to --out, byte for byte', async () => {
    const kept = CORPUS.filter((c) => c.stage === undefined).map((c) => c.text)
    expect(await readFile(join(dir, 'clean.jsonl'), 'utf8')).toBe(kept.join('\n') + '\n')
  })

  it('writes the whole result to --report as JSON', async () => {
    const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8'))
    expect(report.options).toMatchObject({ execute: true, syntax: 'js', jobs: 2 })
    expect(report.lines).toHaveLength(CORPUS.length)
    expect(report.lines.map((l: { stage?: string }) => l.stage)).toEqual(CORPUS.map((c) => c.stage))
    expect(report.summary).toMatchObject({ read: CORPUS.length, failed: CORPUS.filter((c) => c.stage).length })
  })

  it('prints the summary as one JSON object with --json', async () => {
    const j = await validate('broken.jsonl', '--json', '--jobs', '1')
    expect(j.code).toBe(1)
    const summary = JSON.parse(j.stdout)
    expect(summary).toMatchObject({ read: CORPUS.length, stages: { json: { failed: 1 } } })
    expect(summary.stages.execute).toBeUndefined()
  })
})

describe('--base', () => {
  let image: string
  beforeAll(async () => {
    image = join(dir, 'chapter1.db')
    const g = await runCli(['genesis', '--image', image, '--chapters', '1'], { cwd: dir, timeoutMs: 60_000 })
    expect(g.code, g.stderr).toBe(0)
    await writeFile(join(dir, 'base.jsonl'), [
      line(architect('Grow.'), jit('prototypes.Morph.grow = function () { return 1 }')),
      line(architect('Ask the Boolean.'), jit('prototypes.Boolean.flag = 1')),
    ].join('\n'))
  }, 60_000)

  it('checks names against the image given, and replays onto a copy: the image keeps its history', async () => {
    const history = await runCli(['history', '--image', image], { cwd: dir })
    const r = await validate('base.jsonl', '--base', image, '--execute', '--report', 'base-report.json')
    expect(r.code).toBe(1)
    // Chapter 1 made the Morph; the Boolean is chapter 2's.
    expect(r.stdout).toMatch(/^line 2: logic: turn 1 .*prototypes\.Boolean does not exist/m)
    expect(r.stdout).not.toMatch(/^line 1:/m)
    expect(r.stdout).toContain(`on ${image}`)
    // LevelDB rewrites its log on any open, so the files may change; the transactions must not.
    expect((await runCli(['history', '--image', image], { cwd: dir })).stdout).toBe(history.stdout)
  }, 60_000)

  it('refuses a missing folder, a folder that is not an image, and writes nothing into it', async () => {
    const notes = join(dir, 'notes')
    await mkdir(notes)
    await writeFile(join(notes, 'notes.txt'), 'mine\n')
    const missing = await validate('base.jsonl', '--base', join(dir, 'nothere'))
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('no such image folder')
    for (const flags of [[], ['--execute']]) {
      const r = await validate('base.jsonl', '--base', notes, ...flags)
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('not an image folder')
    }
    expect(await readdir(notes)).toEqual(['notes.txt'])
    const file = await validate('base.jsonl', '--base', join(notes, 'notes.txt'))
    expect(file.stderr).toContain('a file, not an image folder')
  })

  it('refuses an image a daemon holds, naming the way out', async () => {
    const held = join(dir, 'held.db')
    const d = await startDaemon(held)
    try {
      const r = await validate('base.jsonl', '--base', held, '--execute')
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('in use (a daemon holds it)')
    } finally {
      expect((await d.stop()).code).toBe(0)
    }
  }, 60_000)
})

describe('usage errors exit 2 and write nothing', () => {
  it.each([
    ['no file', []],
    ['two files', ['a.jsonl', 'b.jsonl']],
    ['--jobs 0', ['x.jsonl', '--jobs', '0']],
    ['--jobs 65', ['x.jsonl', '--jobs', '65']],
    ['--jobs abc', ['x.jsonl', '--jobs', 'abc']],
    ['--syntax ruby', ['x.jsonl', '--syntax', 'ruby']],
    ['--out is the input', ['x.jsonl', '--out', 'x.jsonl']],
    ['--report is the input', ['x.jsonl', '--report', './x.jsonl']],
    ['--out and --report the same', ['x.jsonl', '--out', 'o.json', '--report', 'o.json']],
    ['an unknown flag', ['x.jsonl', '--fast']],
  ])('%s', async (_name, args) => {
    await writeFile(join(dir, 'x.jsonl'), line(architect('x'), jit('1')) + '\n')
    const r = await validate(...args)
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/^uvm dataset: .+/)
    expect(await readFile(join(dir, 'x.jsonl'), 'utf8')).toBe(line(architect('x'), jit('1')) + '\n')
    expect((await readdir(dir)).includes('o.json')).toBe(false)
  })

  it('names a missing input file (exit 1: the command was right, the file is not there)', async () => {
    const r = await validate('nope.jsonl')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('no such file')
  })
})

// Debian's python3, installed by this set-up when missing; when that fails the test fails, saying why.
const python = ensureDebianPackage('python3', () => spawnSync('python3', ['--version']).status === 0)
describe('--syntax python', () => {
  it('checks the seeds\' Python with ast.parse, and says --execute does not apply', async () => {
    if (!python.ok) throw new Error(python.why)
    await writeFile(join(dir, 'py.jsonl'), [
      line(architect('Make a button.'), jit("commit_button = genesis_object.prototypes.clone()\ncommit_button.setSlot('label', 'Commit')")),
      line(architect('Break.'), jit('def f(:\n  pass')),
      line(architect('Use.'), jit('undefined_thing.setSlot("a", 1)')),
    ].join('\n'))
    const r = await validate('py.jsonl', '--syntax', 'python', '--execute')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('--execute does not apply to --syntax python')
    expect(r.stdout).not.toMatch(/^line 1:/m)
    expect(r.stdout).toMatch(/^line 2: syntax: turn 1 \(line 1, column \d+\)/m)
    expect(r.stdout).toMatch(/^line 3: logic: .*undefined_thing/m)
    expect(r.stdout).not.toMatch(/^execute/m)
  }, 60_000)
})
