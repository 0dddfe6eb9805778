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
    expect(lines(r.stdout)[0]).toBe(`uvm repl on ${d.bind}. Each input is an act (await works; what you declare lasts for the session, slots for good); .help for commands.`)
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
    expect(answers(h.stdout)[0]).toMatch(/ {2}genesis\.total = \[1, 2,$/)
  })

  it('an error is one line starting with "!", and the session goes on', async () => {
    const r = await session('throw new Error("boom")\nnope.nope\nreturn (\n\n)\ngenesis.missingMethod()\n1 + 1\n')
    expect(r.code).toBe(0)
    const a = answers(r.stdout)
    // One "!" line, then (when the error has a place) the input's line with a caret under the column.
    expect(a[0]).toBe('! act_failed: boom (line 1, column 7)\n  throw new Error("boom")\n        ^')
    expect(a[1]).toMatch(/^! act_failed: nope is not defined \(line 1, column 1\)\n {2}nope\.nope\n {2}\^$/)
    expect(a.some((x) => /^! does_not_understand: .*missingMethod/.test(x.replace(/^(\.\.\. )+/, '')))).toBe(true)
    expect(a[a.length - 2]).toBe('2')
    for (const x of a.filter((y) => y.includes('!'))) {
      const [first, ...rest] = lines(x.replace(/^(\.\.\. )+/, ''))
      expect(first).toMatch(/^! /)
      expect(rest.length === 0 || (rest.length === 2 && /^ {2}\s*\^$/.test(rest[1]!))).toBe(true)
    }
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
    expect(last![4]).toBe('genesis.color = "red"')
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
    expect(lines(none.stderr)).toEqual([expect.stringMatching(/^uvm repl: nothing listening at .* \(connection refused\): start the daemon with `uvm boot`, or give --connect ADDR \(env UVM_CONNECT\), or use `uvm repl --image PATH`$/)])
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
    expect(lines(r.stdout)[0]).toBe(`uvm repl on ${image}. Each input is an act (await works; what you declare lasts for the session, slots for good); .help for commands.`)
    const a = answers(r.stdout).map((x) => x.replace(/^(\.\.\. )+/, '')).filter((x) => x !== '')
    expect(a[0]).toBe('5')
    expect(a[1]).toBe('10')
    expect(a[2]).toMatch(/^! ACT_FAILED: bad/)
    expect(a[3]).toMatch(/^\s+2 {2}.* {2}repl {2}genesis\.k = 5$/)
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

describe('uvm repl: issue 17', () => {
  it('values print as JavaScript shows them: Map, Set, Date, BigInt, null and undefined, functions, methods, errors', async () => {
    const r = await session([
      'new Map([[1, 2], ["k", genesis]])',
      'new Set([1, "a"])',
      'new Date(0)',
      '10n ** 30n',
      'null',
      'undefined',
      '[1, undefined, null, NaN, -Infinity]',
      '(function f(a) { return a })',
      'genesis.greet17 = function () {\n  return "hi"\n}; genesis.greet17',
      'genesis.clone',
      'new Error("boom")',
      '',
    ].join('\n'))
    expect(r.code, r.stderr).toBe(0)
    expect(answers(r.stdout).map((x) => x.replace(/^(\.\.\. )+/, ''))).toEqual([
      'Map {1 => 2, "k" => <Genesis #2>}',
      'Set {1, "a"}',
      'Date 1970-01-01T00:00:00.000Z',
      '1000000000000000000000000000000n',
      'null',
      '',
      '[1, undefined, null, NaN, -Infinity]',
      '<function: function f(a) { return a }>',
      'method function () {\n  return "hi"\n}',
      '<primitive clone>',
      '<Error: boom>',
      '',
    ])
  })

  it('uvm act and uvm send print the same way; --json says undefined apart from null', async () => {
    const act = (code: string, ...more: string[]) => runCli(['act', code, '--connect', d.bind, ...more])
    expect((await act('return new Map([[1, 2]])')).stdout).toBe('Map {1 => 2}\n')
    expect((await act('return null')).stdout).toBe('null\n')
    expect((await act('return undefined')).stdout).toBe('')
    expect((await act('return () => 1')).stdout).toBe('<function: () => 1>\n')
    const j = JSON.parse((await act('return undefined', '--json')).stdout)
    expect([j.value, j.undefined]).toEqual([null, true])
    const n = JSON.parse((await act('return [null, 2n ** 70n, new Set([1])]', '--json')).stdout)
    expect([n.value, n.undefined]).toEqual([[null, { $bigint: '1180591620717411303424' }, { $set: [1] }], undefined])
    expect((await act('genesis.big17 = 2n ** 70n')).code).toBe(0)
    const s = await runCli(['send', 'greet17', '--connect', d.bind])
    expect(s.stdout).toBe('"hi"\n')
  })

  it('uvm state shows the first 100 elements and slots, and how many more; --all shows them all', async () => {
    expect((await runCli(['act', 'genesis.long17 = Array.from({ length: 250 }, (_, i) => i); const o = new UvmObject(); for (let i = 0; i < 120; i++) o["s" + i] = i; genesis.many17 = o', '--connect', d.bind])).code).toBe(0)
    const s = await runCli(['state', '--connect', d.bind])
    const long = lines(s.stdout).find((l) => l.trimStart().startsWith('long17'))!
    expect(long).toMatch(/\[0, 1, 2, .*, 99, … 150 more \(--all\)\]$/)
    const all = await runCli(['state', '--all', '--connect', d.bind])
    expect(lines(all.stdout).find((l) => l.trimStart().startsWith('long17'))).toMatch(/, 248, 249\]$/)
    const many = await runCli(['state', '--target', 'genesis.many17', '--connect', d.bind])
    expect(lines(many.stdout)).toHaveLength(1 + 100 + 1 + 1)
    expect(lines(many.stdout).at(-2)).toBe('  … 21 more (--all)')
    expect(lines((await runCli(['state', '--target', 'genesis.many17', '--all', '--connect', d.bind])).stdout)).toHaveLength(1 + 121 + 1)
  })

  it('a syntax error is shown at once, with a caret; an unfinished input waits', async () => {
    const r = await session('x =\n1 }\n1 + 1\n[1,\n  2]\n')
    expect(r.code).toBe(0)
    const a = answers(r.stdout)
    // `x =` asks for more (`... `); `1 }` cannot finish it: the error, where it is, at once.
    expect(a[0]).toBe('... ! syntax_error: Unexpected token (line 2, column 3)\n  1 }\n    ^')
    expect(a[1]).toBe('2')
    expect(a[2]!.replace(/^(\.\.\. )+/, '')).toBe('[1, 2]')
  })

  it('the session keeps its names: data as copies, objects as references, function declarations by source; the image never sees them', async () => {
    const r = await session([
      'let q = 1',
      'q',
      'q += 1; q * 10',
      'function sq(x) { return x * x }',
      'sq(q + 1)',
      'const p = prototypes, { a, b: [c] } = { a: "A", b: [3] }',
      '[p, a, c]',
      'let arr = [1]',
      'arr.push(2)',
      'arr',
      'let m = new Map()',
      'm',
      'var big = 2n ** 70n, nothing',
      '[big, nothing]',
      'return q',
      '.names',
      '[genesis.hasSlot("q"), root.hasSlot("q")]',
      '',
    ].join('\n'))
    expect(r.code, r.stderr).toBe(0)
    const a = answers(r.stdout)
    expect(a.slice(0, 11)).toEqual(['', '1', '20', '', '9', '', '[<Prototypes #3>, "A", 3]', '', '2', '[1, 2]',
      '(m is a Map, which the session cannot keep: it keeps data, objects of the image and function declarations; m is gone after this input)'])
    expect(a[11]).toMatch(/^! act_failed: m is not defined/)
    expect(a.slice(12)).toEqual(['', '[1180591620717411303424n, undefined]', '2', 'q, p, a, c, arr, big, nothing, sq', '[false, false]', ''])
    // Each input is still its own act: the history shows them as typed.
    const h = await runCli(['history', '--json', '--connect', d.bind])
    if (h.code === 0) expect(JSON.stringify(JSON.parse(h.stdout))).not.toContain('$repl')
  })

  it('--json is refused: the REPL is a session for people', async () => {
    const r = await runCli(['repl', '--json', '--connect', d.bind], { input: '1\n' })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^uvm repl: --json is not for the REPL .*uvm act --json/)
  })
})

describe('uvm repl on a terminal: issue 17', () => {
  it('TAB completes inherited slots (parent*), session names and dot-commands', async () => {
    expect((await runCli(['act', 'prototypes.Animal17 = new UvmObject(); prototypes.Animal17.speak = function () { return "..." }; prototypes.Dog17 = prototypes.Animal17.clone(); prototypes.Dog17.legs = 4; genesis.rex17 = prototypes.Dog17.clone()', '--connect', d.bind])).code).toBe(0)
    const p = spawnPty(['repl', '--connect', d.bind, '--history', ''])
    await p.waitFor('uvm> ')
    const tab = async (text: string, expected: string, what: string) => {
      const mark = plain(p.stdout).length
      p.write(text)
      await p.waitFor((all) => plain(all).slice(mark).includes(expected), 10_000, what)
    }
    // Two levels up: speak is Animal17's, and Dog17 only delegates to it.
    await tab('prototypes.Dog17.spe\t', 'ak', 'the completion of prototypes.Dog17.spe')
    await typeLine(p, '', /method function \(\) \{ return "\.\.\." \}/)
    // Every name a send finds: own, inherited, and the primitives of the root traits.
    // One key per write: readline completes only at the end of what arrives at once (a paste inserts its tabs).
    await tab('genesis.rex17.', 'genesis.rex17.', 'the echo')
    p.write('\t')
    // Nothing shows after the first TAB (no common prefix to add): a pause keeps the second its own write.
    await new Promise((r) => setTimeout(r, 500))
    await tab('\t', 'respondsTo', 'the choices after genesis.rex17.')
    const choices = plain(p.stdout).slice(plain(p.stdout).lastIndexOf('genesis.rex17.'))
    expect(plain(p.stdout)).toMatch(/genesis\.rex17\.legs/)
    expect(plain(p.stdout)).toMatch(/genesis\.rex17\.speak/)
    expect(plain(p.stdout)).toMatch(/genesis\.rex17\.clone/)
    expect(choices).toBeDefined()
    p.write('\x15')
    await tab('.ins\t', 'pect', 'the completion of .ins')
    p.write('\x15')
    await typeLine(p, 'let zanzibar17 = genesis.rex17', /\nuvm> /)
    await tab('zanz\t', 'ibar17', 'the completion of a session name')
    await tab('.le\t', 'gs', 'the completion of a slot of a session object')
    await typeLine(p, '', /\n4\n/)
    await typeLine(p, '.exit', '')
    expect((await p.exited).code).toBe(0)
  })

  it('the session keeps its bindings on a terminal too', async () => {
    const p = spawnPty(['repl', '--connect', d.bind, '--history', ''])
    await p.waitFor('uvm> ')
    await typeLine(p, 'let q = 41', /\nuvm> /)
    await typeLine(p, 'q + 1', /\n42\n/)
    await typeLine(p, '.exit', '')
    expect((await p.exited).code).toBe(0)
  })

  it('Ctrl-C cancels a running act and says so; the REPL goes on', async () => {
    // A daemon of its own, with limits far past the wait below: only a real cancel answers in time.
    const own = await startDaemon(join(dir, 'cancel.db'), { args: ['--cpu-timeout', '60000', '--wall-timeout', '60000'] })
    const p = spawnPty(['repl', '--connect', own.bind, '--history', ''])
    await p.waitFor('uvm> ')
    for (const input of ['genesis.loopMark = 1; while (true) {}', 'genesis.awaitMark = 1; await new Promise(() => {})']) {
      const mark = plain(p.stdout).length
      p.write(input + '\r')
      await p.waitFor((all) => plain(all).slice(mark).includes('\n'), 10_000, 'the input sent')
      // Let the act start running: the cancel is to stop a loop that runs, not one that never began.
      await new Promise((r) => setTimeout(r, 500))
      p.write('\x03')
      await p.waitFor((all) => plain(all).slice(mark).includes('! cancelled: the act was stopped; nothing it did was committed'), 10_000, `cancelled after ${input}`)
      await typeLine(p, '6 * 7', /\n42\n/)
    }
    // Nothing of either act was committed.
    await typeLine(p, '[genesis.loopMark, genesis.awaitMark]', /\n\[undefined, undefined\]\n/)
    // Ctrl-C at an empty prompt keeps Node's manners.
    const mark = plain(p.stdout).length
    p.write('\x03')
    await p.waitFor((all) => plain(all).slice(mark).includes('(To exit, press Ctrl+C again'), 10_000, 'the exit hint')
    await typeLine(p, '.exit', '')
    expect((await p.exited).code).toBe(0)
    // Nothing left running: the daemon stops at once.
    expect((await own.stop()).code).toBe(0)
  })

  it('colour on a terminal, none with NO_COLOR', async () => {
    for (const [env, coloured] of [[{ NO_COLOR: undefined }, true], [{ NO_COLOR: '1' }, false]] as const) {
      const p = spawnPty(['repl', '--connect', d.bind, '--history', ''], { env })
      await p.waitFor('uvm> ')
      const before = p.stdout.length
      p.write('[7, "s"]\r')
      await p.waitFor((all) => plain(all).includes('[7, "s"]\n[7, "s"]\n'), 10_000, 'the answer')
      expect(p.stdout.slice(before).includes('\x1b[33m7\x1b[39m, \x1b[32m"s"\x1b[39m')).toBe(coloured)
      await typeLine(p, '.exit', '')
      expect((await p.exited).code).toBe(0)
    }
  })

  it('an unfinished input waits; a syntax error shows at once, with a caret under the column', async () => {
    const p = spawnPty(['repl', '--connect', d.bind, '--history', ''])
    await p.waitFor('uvm> ')
    await typeLine(p, 'x =', '... ')
    const out = await typeLine(p, '1 }', /\^\n.*uvm> /)
    expect(out).toContain('! syntax_error: Unexpected token (line 2, column 3)\n  1 }\n    ^\n')
    await typeLine(p, '1 + 1', /\n2\n/)
    await typeLine(p, '.exit', '')
    expect((await p.exited).code).toBe(0)
  })
})
