// `uvm repl`: piped stdin (acts, multi-line, errors, dot commands) and a pseudo-terminal (completion, history file).
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Daemon, Proc } from './support.js'
import { cleanupTemps, ensureBuilt, freeAddresses, hasStack, killChildren, lines, plain, ptyCommand, runCli, spawnCli, spawnPty, startDaemon, tempDir } from './support.js'

let d: Daemon
let dir: string

beforeAll(async () => {
  ensureBuilt()
  ptyCommand() // fails early (or installs util-linux's script) when there is no way to make a terminal
  dir = await tempDir()
  d = await startDaemon(join(dir, 'image.db'))
})
afterEach(async () => {
  // Whatever a test did, the shared daemon must still answer.
  const { code } = await runCli(['ping', '--connect', d.bind, '--timeout', '2000'])
  expect(code).toBe(0)
})
afterAll(async () => {
  if (d?.running) expect((await d.stop()).code).toBe(0)
  await killChildren()
  await cleanupTemps()
})

/** The REPL's answers, one per prompt: the text between one `uvm> ` and the next. */
function answers(stdout: string): string[] {
  const parts = stdout.split('uvm> ')
  return parts.slice(1).map((p) => p.replace(/\n$/, ''))
}

const session = (input: string, ...args: string[]) => runCli(['repl', '--connect', d.bind, '--history', '', ...args], { input })

describe('uvm repl, piped', () => {
  it('each input is an act; the trailing expression\'s value is printed; await works', async () => {
    const r = await session([
      'genesis.n = 1',
      'genesis.n + 1',
      'await Promise.resolve(genesis.n * 10)',
      'print("hello"); 7',
      'return "explicit"',
      'genesis.n = 2; undefined',
      '',
    ].join('\n'))
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe('')
    expect(lines(r.stdout)[0]).toBe(`uvm repl on ${d.bind}. Each input is an act (await works; keep what must outlive it in slots); .help for commands.`)
    expect(answers(r.stdout)).toEqual(['1', '2', '10', 'hello\n7', '"explicit"', '', ''])
  })

  it('objects print as <Name #oid> with their slots', async () => {
    const r = await session('genesis\ngenesis.prototypes\n[genesis.prototypes, { a: 1 }]\n')
    const [g, p, list] = answers(r.stdout)
    expect(g).toMatch(/^<Genesis #2> \{\n {2}name +"Genesis"\n {2}parent\* +<Traits #1>\n {2}prototypes +<Prototypes #3>\n(.*\n)*\}$/)
    expect(p).toMatch(/^<Prototypes #3> \{\n(.*\n)*\}$/)
    expect(list).toBe('[<Prototypes #3>, {a: 1}]')
  })

  it('multi-line input: an unfinished act waits for more lines', async () => {
    const r = await session([
      'genesis.total = [1, 2,',
      '  3].reduce((a, b) =>',
      '    a + b, 36)',
      'if (genesis.total > 1) {',
      '  print("big")',
      '}',
      '{',
      '  const f = () => `multi',
      'line`',
      '  print(f())',
      '}',
      '/* a comment',
      '   on two lines */ genesis.total +',
      '  1',
      '',
    ].join('\n'))
    expect(r.code).toBe(0)
    // Continuation lines show `... ` instead of a prompt, and answer nothing of their own.
    expect(r.stdout).toContain('... ')
    const a = answers(r.stdout).map((x) => x.replace(/^(\.\.\. )+/, ''))
    expect(a).toEqual(['42', 'big', 'multi\nline', '43', ''])
    // Each multi-line input was ONE act: one transaction for the three lines of the first.
    const h = await session('.history 1\n')
    expect(answers(h.stdout)[0]).toMatch(/return \(genesis\.total = \[1, 2,$/)
  })

  it('an error is one line starting with "!", and the session goes on', async () => {
    const r = await session('throw new Error("boom")\nnope.nope\nreturn (\n\n)\ngenesis.missingMethod()\n1 + 1\n')
    expect(r.code).toBe(0)
    const a = answers(r.stdout)
    expect(a[0]).toMatch(/^! act_failed: boom \(line 1, column \d+\)$/)
    expect(a[1]).toMatch(/^! act_failed: nope is not defined/)
    expect(a.some((x) => /^! does_not_understand: .*missingMethod/.test(x.replace(/^(\.\.\. )+/, '')))).toBe(true)
    expect(a[a.length - 2]).toBe('2')
    // One line each; below a syntax error, the line with a caret (indented).
    for (const x of a.filter((y) => y.includes('!'))) expect(lines(x.replace(/^(\.\.\. )+/, '')).filter((l) => !l.startsWith('  '))).toHaveLength(1)
    expect(r.stdout).toMatch(/! syntax_error: .*\n {2}\)\n {2}\^$/m)
    expect(hasStack(r.stdout + r.stderr)).toBe(false)
  })

  it('.history, .undo, .inspect, .state, .help', async () => {
    const set = await session('genesis.color = "red"\n')
    expect(answers(set.stdout)[0]).toBe('"red"')
    const r = await session('.history 3\n')
    const hist = lines(answers(r.stdout)[0]!)
    expect(hist).toHaveLength(3)
    const last = hist[0]!.match(/^\s*(\d+) {2}(\S+) {2}(\S+) {2}(.*)$/)
    expect(last).not.toBeNull()
    expect(last![4]).toBe('return (genesis.color = "red")')
    const tid = Number(last![1])
    const u = await session(`.undo ${tid}\ngenesis.hasSlot("color")\n.history 1\n`)
    const [undo, has, h1] = answers(u.stdout)
    expect(undo).toBe(`undid transaction ${tid} as transaction ${tid + 1}`)
    expect(has).toBe('false')
    expect(h1).toMatch(new RegExp(`^\\s*${tid + 1} .* undo ${tid}`))
    const i = await session('.inspect genesis.prototypes\n.inspect #3\n.inspect genesis.nowhere\n.inspect\n.state\n.undo abc\n.undo 99999\n.help\n')
    const [byPath, byOid, nowhere, noArg, state, badUndo, unknownUndo, help] = answers(i.stdout)
    expect(byPath).toMatch(/^<Prototypes #3> \{\n {2}name +"Prototypes"\n(.*\n)*\}$/)
    expect(byOid).toBe(byPath)
    expect(nowhere).toMatch(/^! unknown_target: genesis has no slot 'nowhere'/)
    expect(noArg).toMatch(/^! usage: \.inspect PATH/)
    expect(state).toMatch(/^<Genesis #2> \{/)
    expect(badUndo).toMatch(/^! usage: \.undo TID/)
    expect(unknownUndo).toMatch(/^! .*99999/)
    for (const cmd of ['.state', '.inspect', '.history', '.undo', '.help']) expect(help).toContain(cmd)
    expect(i.code).toBe(0)
  })

  it('.exit ends the session even while the input stays open', async () => {
    const p = spawnCli(['repl', '--connect', d.bind, '--history', ''])
    p.write('genesis.beforeExit = 1\n.exit\ngenesis.afterExit = 1\n') // stdin is never closed
    const started = Date.now()
    const exit = await Promise.race([p.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 8000))])
    expect(exit).toEqual({ code: 0, signal: null })
    expect(Date.now() - started).toBeLessThan(8000)
    expect(answers(p.stdout)[0]).toBe('1')
    const r = await session('[genesis.hasSlot("beforeExit"), genesis.hasSlot("afterExit")]\n')
    expect(answers(r.stdout)[0]).toBe('[true, false]')
  })

  it('UVM_CONNECT is the default; no daemon is one clear line', async () => {
    const r = await runCli(['repl', '--history', ''], { input: 'return 6 * 7\n', env: { UVM_CONNECT: d.bind } })
    expect(answers(r.stdout)[0]).toBe('42')
    const { bind } = await freeAddresses()
    const none = await runCli(['repl', '--connect', bind, '--timeout', '500'], { input: 'return 1\n' })
    expect(none.code).toBe(2)
    expect(none.stdout).toBe('')
    expect(lines(none.stderr)).toEqual([expect.stringMatching(/^uvm repl: no reply from .* within 500 ms .*`uvm repl --image PATH`$/)])
    const both = await runCli(['repl', '--connect', bind, '--image', join(dir, 'x.db')])
    expect(both.code).toBe(2)
    expect(lines(both.stderr)).toHaveLength(1)
  })
})

describe('uvm repl --image (in-process, no daemon)', () => {
  it('opens or creates the image and runs the same session', async () => {
    const image = join(dir, 'local.db')
    const r = await runCli(['repl', '--image', image, '--history', ''], {
      input: 'genesis.k = 5\nreturn genesis.k *\n  2\nthrow new Error("bad")\n.history 1\n.undo 2\ngenesis.hasSlot("k")\n.inspect genesis.prototypes\n',
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe(`uvm repl: no image at ${image} yet: a new one is born\n`)
    expect(lines(r.stdout)[0]).toBe(`uvm repl on ${image}. Each input is an act (await works; keep what must outlive it in slots); .help for commands.`)
    const a = answers(r.stdout).map((x) => x.replace(/^(\.\.\. )+/, '')).filter((x) => x !== '')
    expect(a[0]).toBe('5')
    expect(a[1]).toBe('10')
    expect(a[2]).toMatch(/^! ACT_FAILED: bad/)
    expect(a[3]).toMatch(/^\s+2 {2}.* {2}repl {2}return \(genesis\.k = 5\)$/)
    expect(a[4]).toBe('undid transaction 2 as transaction 3')
    expect(a[5]).toBe('false')
    expect(a[6]).toMatch(/^<Prototypes #3> \{/)
    // The image was closed: a daemon can open it now, and sees the session's transactions.
    const h = await runCli(['history', '--json', '--image', image])
    expect(JSON.parse(h.stdout).map((t: { tid: number }) => t.tid)).toEqual([3, 2, 1])
  })
})

/** Type into a REPL on a pseudo-terminal: wait for the prompt before each input. */
async function typeLine(p: Proc, text: string, expectAfter: RegExp | string): Promise<string> {
  const before = plain(p.stdout).length
  p.write(text + '\r')
  await p.waitFor((all) => {
    const fresh = plain(all).slice(before)
    return typeof expectAfter === 'string' ? fresh.includes(expectAfter) : expectAfter.test(fresh)
  }, 15_000, `${JSON.stringify(expectAfter)} after ${JSON.stringify(text)}`)
  return plain(p.stdout).slice(before)
}

describe('uvm repl on a terminal', () => {
  it('TAB completes slot names from the live image', async () => {
    // A slot made by another client after the REPL started: completion asks the daemon each time.
    const p = spawnPty(['repl', '--connect', d.bind, '--history', ''])
    await p.waitFor('uvm> ')
    expect((await runCli(['set', 'zebraCount', '3', '--connect', d.bind])).code).toBe(0)
    let mark = plain(p.stdout).length
    p.write('genesis.proto')
    await p.waitFor((all) => plain(all).slice(mark).includes('genesis.proto'))
    mark = plain(p.stdout).length
    p.write('\t')
    await p.waitFor((all) => plain(all).slice(mark).includes('types'), 10_000, 'the completion of genesis.proto')
    const shown = await typeLine(p, '', /<Prototypes #3> \{[^]*\}/)
    expect(shown).toMatch(/<Prototypes #3> \{/)
    expect(plain(p.stdout)).toContain('genesis.prototypes')
    // A slot set a moment ago.
    mark = plain(p.stdout).length
    p.write('genesis.zeb\t')
    await p.waitFor((all) => plain(all).slice(mark).includes('raCount'), 10_000, 'the completion of genesis.zeb')
    await typeLine(p, '', /\n3\n/)
    // Two TABs list the choices.
    mark = plain(p.stdout).length
    p.write('genesis.pro')
    await p.waitFor((all) => plain(all).slice(mark).includes('genesis.pro'))
    p.write('\t')
    await p.waitFor((all) => plain(all).slice(mark).includes('genesis.prototypes'), 10_000, 'the completion of genesis.pro')
    p.write('\x15') // Ctrl-U: clear the line
    await typeLine(p, '.exit', '')
    expect((await p.exited).code).toBe(0)
  })

  it('TAB completes on an in-process image too; a history file keeps the inputs', async () => {
    const image = join(dir, 'tty.db')
    const historyFile = join(dir, 'repl-history')
    const p = spawnPty(['repl', '--image', image, '--history', historyFile])
    await p.waitFor('uvm> ')
    await typeLine(p, 'genesis.prototypes.Widget = genesis.prototypes.clone()', /<Object #4>|<Widget #4>/)
    const mark = plain(p.stdout).length
    p.write('genesis.prototypes.Wid\t')
    await p.waitFor((all) => plain(all).slice(mark).includes('get'), 10_000, 'the completion of Wid')
    await typeLine(p, '', /<Widget #4> \{/)
    await typeLine(p, 'genesis.mark = 99', /\n99\n/)
    p.write('\x04') // Ctrl-D
    expect((await p.exited).code).toBe(0)
    expect(existsSync(historyFile)).toBe(true)
    const saved = await readFile(historyFile, 'utf8')
    expect(saved).toContain('genesis.mark = 99')
    expect(saved).toContain('genesis.prototypes.Widget')

    // A new session (history from UVM_REPL_HISTORY): the up arrow brings the last input back.
    const q = spawnPty(['repl', '--image', image], { env: { UVM_REPL_HISTORY: historyFile } })
    await q.waitFor('uvm> ')
    const before = plain(q.stdout).length
    q.write('\x1b[A')
    await q.waitFor((all) => plain(all).slice(before).includes('genesis.mark = 99'), 10_000, 'the recalled input')
    q.write('\x15')
    await typeLine(q, '.exit', '')
    expect((await q.exited).code).toBe(0)
  })

  it('an error is one "!" line on a terminal too', async () => {
    const p = spawnPty(['repl', '--connect', d.bind, '--history', ''])
    await p.waitFor('uvm> ')
    const out = await typeLine(p, 'genesis.fly_to_the_moon()', /\nuvm> /)
    const errLines = lines(out).filter((l) => l.startsWith('!'))
    expect(errLines).toEqual([expect.stringMatching(/^! does_not_understand: .*fly_to_the_moon/)])
    await typeLine(p, '.exit', '')
    expect((await p.exited).code).toBe(0)
  })
})

describe('history file option', () => {
  it('a piped session (no terminal) writes no history file', async () => {
    const file = join(dir, 'never')
    const r = await runCli(['repl', '--connect', d.bind, '--history', file], { input: 'return 1\n' })
    expect(r.code).toBe(0)
    expect(existsSync(file)).toBe(false)
  })
})
