// Errors that point at their place, through a real daemon: the send trace in `uvm send`, `uvm act`, the
// REPL and the covenant's error reply; thrown values shown; syntax errors with a caret; --debug stacks;
// console.log and sleep; the output cap's note.
import { describe, expect, it } from 'vitest'
import { ErrorReply } from '../../src/covenant/index.js'
import { lines, runCli, useDaemon } from './support.js'

const daemon = useDaemon()
const { uvm } = daemon

const SHAPES = `prototypes.Shape = new UvmObject()
prototypes.Shape.area = function () {
  return this.size.x * 2
}
prototypes.Shape.bad2 = function () { return self.area() }
root.s = prototypes.Shape.clone()
return root.s.mirror().oid`

describe('the send trace', () => {
  let s = 0
  it('uvm send: each method the error left, with its receiver and its own line and column', async () => {
    const made = await uvm('act', SHAPES, '--json')
    s = (JSON.parse(made.stdout) as { value: number }).value
    const r = await uvm('send', 'bad2', '--target', 's')
    expect(r.code).toBe(1)
    // The send's own one-line act is the daemon's, not the client's: no frame of it.
    expect(lines(r.stderr)).toEqual([
      "uvm send: act_failed: Cannot read properties of undefined (reading 'x')",
      `  <Shape #${s}> area (line 2, column 20) ← <Shape #${s}> bad2 (line 1, column 31)`,
    ])
  })

  it('uvm act: then the act, at its own line', async () => {
    const r = await uvm('act', 'const s = root.s\n\nreturn s.bad2()')
    expect(lines(r.stderr)).toEqual([
      "uvm act: act_failed: Cannot read properties of undefined (reading 'x') (line 3, column 10)",
      `  <Shape #${s}> area (line 2, column 20) ← <Shape #${s}> bad2 (line 1, column 31) ← <Genesis #2> act (line 3, column 10)`,
    ])
  })

  it('the covenant error reply carries it as `trace`, as its schema says', async () => {
    const r = await uvm('send', 'bad2', '--target', 's', '--json')
    const reply = ErrorReply.parse(JSON.parse(r.stdout))
    expect(reply.error.trace).toEqual([
      { selector: 'area', line: 2, column: 20, receiver: s, receiver_print: `<Shape #${s}>` },
      { selector: 'bad2', line: 1, column: 31, receiver: s, receiver_print: `<Shape #${s}>` },
    ])
    expect(reply.error.stack).toBeUndefined()
  })

  it('--debug adds the sandbox stack and, for an error the host raised, the host stack', async () => {
    const r = await uvm('send', 'bad2', '--target', 's', '--debug')
    expect(r.stderr).toMatch(/^ {4}at method:\d+:area:2:\d+$/m)
    const dnu = await uvm('act', 'root.s.nothingHere()', '--debug')
    expect(dnu.code).toBe(1)
    expect(dnu.stderr).toMatch(/does not understand 'nothingHere'/)
    expect(dnu.stderr).toMatch(/^ {4}at act:\d+:1:\d+$/m)
    // Where the daemon raised it (here the curriculum's JIT, which had nothing to teach): its own source.
    expect(dnu.stderr).toMatch(/^ {4}at .*\/dist\/\w+\/[\w-]+\.js:\d+:\d+\)?$/m)
    // UVM_DEBUG=1 does the same.
    const env = await runCli(['send', 'bad2', '--target', 's', '--connect', daemon.d.bind], { env: { UVM_DEBUG: '1' } })
    expect(env.stderr).toMatch(/at method:\d+:area:2:/)
  })

  it('a message a method sends that nothing understands: the trace says which method sent it (through the JIT)', async () => {
    await uvm('act', 'prototypes.Shape.fly = function () {\n  return self.wings()\n}')
    const r = await uvm('send', 'fly', '--target', 's')
    expect(r.code).toBe(1)
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(/^uvm send: does_not_understand: <Shape #\d+> does not understand 'wings' \(no curriculum conversation teaches it/),
      `  <Shape #${s}> fly (line 2, column 15)`,
    ])
  })

  it('a method that runs past the CPU limit: where it was stopped', async () => {
    await uvm('act', 'prototypes.Shape.spin = function () {\n  let i = 0\n  for (;;) { i++ }\n}')
    const r = await uvm('send', 'spin', '--target', 's')
    expect(lines(r.stderr)).toEqual(['uvm send: timeout: sandbox code ran past its CPU limit of 1000 ms', `  <Shape #${s}> spin (line 3, column 13)`])
  })

  it('the REPL shows it too, positions of the act mapped to what was typed', async () => {
    const r = await runCli(['repl', '--connect', daemon.d.bind], { input: 'root.s.bad2()\nlet y = ;\n.exit\n' })
    expect(r.stdout).toContain(`! act_failed: Cannot read properties of undefined (reading 'x') (line 1, column 8)\n  root.s.bad2()\n         ^\n  <Shape #${s}> area (line 2, column 20) ← <Shape #${s}> bad2 (line 1, column 31) ← <Genesis #2> act (line 1, column 8)\n`)
    expect(r.stdout).toContain('! syntax_error: Unexpected token (line 1, column 9)\n  let y = ;\n          ^\n')

    // With --debug, the stacks as well.
    const debug = await runCli(['repl', '--connect', daemon.d.bind, '--debug'], { input: 'root.s.bad2()\n.exit\n' })
    expect(debug.stdout).toMatch(/^ {4}at method:\d+:area:2:\d+$/m)
    expect(r.stdout).not.toMatch(/at method:/)
  })
})

describe('a thrown value that is not an Error', () => {
  it('is shown as a value', async () => {
    expect(lines((await uvm('act', 'throw "a string"')).stderr)).toEqual(['uvm act: act_failed: the act threw "a string"'])
    expect(lines((await uvm('act', 'throw 42')).stderr)).toEqual(['uvm act: act_failed: the act threw 42'])
    expect(lines((await uvm('act', 'throw {code: 1}')).stderr)).toEqual(['uvm act: act_failed: the act threw {code: 1}'])
  })
})

describe("an Error's own message", () => {
  it('an empty or unreadable one says which error; a huge one is cut with a note', async () => {
    expect(lines((await uvm('act', 'throw new TypeError()')).stderr)).toEqual(['uvm act: act_failed: TypeError with no message (line 1, column 7)'])
    const hostile = await uvm('act', 'const e = new Error("m"); Object.defineProperty(e, "message", { get() { throw 1 } }); throw e')
    expect(lines(hostile.stderr)).toEqual(['uvm act: act_failed: Error with no message (line 1, column 11)'])
    const huge = await uvm('act', 'throw new Error("x".repeat(1000000))')
    expect(huge.stderr.length).toBeLessThan(11_000)
    expect(huge.stderr).toContain('x… (990,000 more characters)')
  })
})

describe('syntax errors show the line with a caret', () => {
  it('uvm act and uvm create-method; the reply has it as `excerpt`', async () => {
    const r = await uvm('act', 'print("before")\n  let x = ;')
    expect(r.code).toBe(1)
    expect(lines(r.stderr)).toEqual(['uvm act: syntax_error: Unexpected token (line 2, column 11)', '    let x = ;', '            ^'])
    const m = await uvm('create-method', 'm', 'const a = 1\nreturn (a +')
    expect(lines(m.stderr)).toEqual(["uvm create-method: syntax_error: method 'm': Unexpected token (line 2, column 12)", '  return (a +', '             ^'])
    const j = ErrorReply.parse(JSON.parse((await uvm('act', 'let x = ;', '--json')).stdout))
    expect(j.error.excerpt).toBe('let x = ;\n        ^')
  })
})

describe('Node habits', () => {
  it('console.log prints; await sleep(ms) waits; a sleep past the wall limit is ACT_TIMEOUT at once', async () => {
    const r = await uvm('act', 'console.log("hello", [1]); await sleep(20); console.error("done")')
    expect([r.code, r.stdout]).toEqual([0, 'hello [1]\ndone\n'])
    const started = Date.now()
    const late = await uvm('act', 'await sleep(3600000)')
    expect(late.code).toBe(1)
    expect(lines(late.stderr)).toEqual([expect.stringMatching(/^uvm act: timeout: sleep\(3600000\) would end past the act's wall-clock limit of 30000 ms \(\d+ ms left\)/)])
    // At once, not at the wall limit (30 s).
    expect(Date.now() - started).toBeLessThan(20_000)
  })
})

describe('the output cap', () => {
  it('a 2 MB print is cut with a note saying how much, and the act commits', async () => {
    const r = await uvm('act', 'print("x".repeat(2e6)); root.printedBig = true', '--json')
    const reply = JSON.parse(r.stdout) as { event: string; output: string; tid?: number }
    expect(reply.event).toBe('result')
    expect(reply.tid).toBeGreaterThan(0)
    expect(reply.output.endsWith("\n… 951,425 characters cut: an act's output is capped at 1,048,576 characters\n")).toBe(true)
  })
})
