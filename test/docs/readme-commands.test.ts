// Every `npx uvm …` line of the README's shell blocks names a real command with flags that command
// takes, and the offline ones run on a genesis image with output of the shape the README shows.
// (The tour's daemon commands run end to end in test/cli/tour.test.ts.)
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTemps, ensureBuilt, ROOT, runCli, tempDir } from '../cli/support.js'

beforeAll(() => ensureBuilt())
afterAll(() => cleanupTemps())

interface Invocation { line: number; text: string; words: string[] }

/** `npx uvm …` invocations of the README's sh blocks: continuation lines joined, `&&` chains split. */
function readmeInvocations(): Invocation[] {
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n')
  const out: Invocation[] = []
  let inSh = false
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!
    if (/^```/.test(l)) { inSh = l.trim() === '```sh'; continue }
    if (!inSh || !l.startsWith('npx uvm ')) continue
    let text = withoutComment(l)
    // A quoted act may run over several lines; a trailing backslash continues the command.
    while ((quotes(text) % 2 === 1 || text.trimEnd().endsWith('\\')) && i + 1 < lines.length) text = text.trimEnd().replace(/\\$/, '') + '\n' + withoutComment(lines[++i]!)
    for (const part of text.split(/ && /)) out.push({ line: i + 1, text: part.trim(), words: shellWords(part.trim().replace(/^npx uvm /, '')) })
  }
  return out
}

/** The line up to a shell comment: a # after whitespace, outside quotes. */
function withoutComment(line: string): string {
  let quote: string | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (quote !== undefined) { if (c === quote) quote = undefined; continue }
    if (c === "'" || c === '"') quote = c
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i).trimEnd()
  }
  return line
}

const quotes = (s: string) => (s.match(/'/g) ?? []).length

function shellWords(s: string): string[] {
  const words: string[] = []
  for (const m of s.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) words.push(m[1] ?? m[2] ?? m[3]!)
  // A redirection is the shell's, not the command's.
  const redirect = words.findIndex((w) => w === '>' || w === '<' || w === '|')
  return redirect === -1 ? words : words.slice(0, redirect)
}

const invocations = readmeInvocations()

it('finds the README\'s commands', () => {
  expect(invocations.length).toBeGreaterThan(30)
  expect(invocations.map((i) => i.words[0])).toEqual(expect.arrayContaining(['ping', 'state', 'send', 'act', 'history', 'show', 'undo', 'dataset']))
})

describe('each README command is real', () => {
  const helps = new Map<string, Promise<string>>()
  const helpOf = (command: string) => {
    if (!helps.has(command)) helps.set(command, runCli([command, '--help']).then((r) => { expect(r.code, `uvm ${command} --help: ${r.stderr}`).toBe(0); return r.stdout }))
    return helps.get(command)!
  }
  it.each(invocations.map((i) => [i.text.split('\n')[0]!.slice(0, 70), i] as const))('%s', async (_name, inv) => {
    const [command, ...rest] = inv.words
    const top = (await runCli(['--help'])).stdout
    expect(top, `README line ${inv.line}: uvm ${command} is not a command`).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'))
    const help = await helpOf(command!)
    for (const flag of rest.filter((w) => /^--[a-z]/.test(w))) {
      expect(help, `README line ${inv.line}: uvm ${command} does not take ${flag}`).toContain(flag.replace(/=.*/, ''))
    }
    if (command === 'dataset') expect(help, `README line ${inv.line}`).toContain(`uvm dataset ${rest[0]}`)
  })
})

describe('the offline commands on a genesis image', () => {
  let dir: string
  const uvm = (...args: string[]) => runCli(args, { cwd: dir, timeoutMs: 120_000 })
  beforeAll(async () => {
    dir = await tempDir('uvm-readme-')
    const g = await uvm('genesis', '--chapters', '1-2')
    expect(g.code, g.stderr).toBe(0)
    expect(g.stdout + g.stderr).toMatch(/genesis: replayed \d+ conversations \(\d+ turns\) of chapters 1-2 in [\d.]+ s; image .*image\.db, last tid \d+/)
  }, 180_000)

  it.each<[string, string[], RegExp]>([
    ['history', ['history'], /^ +\d+ {2}\d{4}-\d\d-\d\dT[\d:.]+Z {2}genesis +.+/m],
    ['show', ['show', '2'], /^transaction 2 {2}\d{4}-.*\n\n<[A-Za-z]+ #\d+>: (created|changed)/],
    ['check', ['check'], /^ok: \d+ objects \(\d+ reachable, \d+ unreachable\), \d+ old revisions, \d+ transactions\ndangling references: 0; undecodable records: 0$/m],
    ['export', ['export', './export'], /^exported \d+ objects to .*export/],
    ['import', ['import', './export'], /^imported \d+ objects from .*export: the image holds them as they are already, nothing written$/m],
    ['undo', ['undo', '116'], /^undid transaction 116 as transaction 117 \(\d+ objects? restored\)$/m],
    ['pack', ['pack'], /^packed before tid \d+: removed \d+ old revisions? and \d+ unreachable objects?; \d+ objects? kept$/m],
    ['dataset validate', ['dataset', 'validate', join(ROOT, 'genesis/01-first-conversation.jsonl'), '--execute'], /^\d+ lines read: \d+ passed, 0 failed in [\d.]+ s/m],
    ['dataset export --format openai', ['dataset', 'export', '--image', './image.db', '--format', 'openai', '--out', 'train.jsonl'], /^$/],
  ])('%s', async (_name, args, shape) => {
    const r = await uvm(...args)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(shape)
  }, 120_000)
})
