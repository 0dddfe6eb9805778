// Client commands against a real daemon: ping, state, set, create-method, send, act; human text and --json; error paths.
import { writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { freeAddresses, hasStack, lines, runCli, useDaemon } from './support.js'

const daemon = useDaemon()
const { uvm } = daemon
let intentTid: number | undefined
const json = async (...args: string[]) => {
  const r = await uvm(...args, '--json')
  expect(lines(r.stdout), r.stderr).toHaveLength(1)
  return { ...r, reply: JSON.parse(r.stdout) as Record<string, any> } // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('uvm ping', () => {
  it('human and --json', async () => {
    const r = await uvm('ping')
    expect(r).toMatchObject({ code: 0, stderr: '' })
    expect(r.stdout).toMatch(/^pong: uvm \d+\.\d+\.\d+\n$/)
    const j = await json('ping')
    expect(j.code).toBe(0)
    expect(j.reply).toMatchObject({ event: 'pong', version: expect.stringMatching(/^\d+\.\d+\.\d+/) })
  })

  it('no daemon: said at once, in one line, exit 1', async () => {
    const { bind } = await freeAddresses()
    // The deadline is long: only the probe can make this quick.
    const r = await runCli(['ping', '--connect', bind, '--timeout', '60000'], { timeoutMs: 15_000 })
    expect(r.timedOut).toBe(false)
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(lines(r.stderr)).toEqual([`uvm ping: nothing listening at ${bind} (connection refused): start the daemon with \`uvm boot\`, or give --connect ADDR (env UVM_CONNECT)`])
    // The same for every client command.
    for (const args of [['state'], ['set', 'a', '1'], ['create-method', 'm', 'function () {}'], ['send', 'm'], ['act', 'return 1'], ['why', 'x'], ['cem']]) {
      const x = await runCli([...args, '--connect', bind, '--timeout', '60000', '--json'], { timeoutMs: 15_000 })
      expect(x.code, args[0]).toBe(1)
      expect(lines(x.stderr), args[0]).toEqual([`uvm ${args[0]}: nothing listening at ${bind} (connection refused): start the daemon with \`uvm boot\`, or give --connect ADDR (env UVM_CONNECT)`])
    }
  })

  it('something listening that never answers: the timeout line', async () => {
    // A plain TCP listener: it accepts, and never speaks ZMTP.
    const silent = createServer((s) => { s.on('error', () => {}) })
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const bind = `tcp://127.0.0.1:${(silent.address() as AddressInfo).port}`
    try {
      const r = await runCli(['ping', '--connect', bind, '--timeout', '500'])
      expect(r.code).toBe(1)
      expect(lines(r.stderr)).toEqual([`uvm ping: no reply from ${bind} within 500 ms (is \`uvm boot\` running?)`])
    } finally {
      silent.close()
    }
  })

  it('UVM_CONNECT is the default address', async () => {
    const r = await runCli(['ping'], { env: { UVM_CONNECT: daemon.d.bind } })
    expect(r.code).toBe(0)
  })
})

describe('uvm state', () => {
  it('shows the Genesis Object with its slots', async () => {
    const r = await uvm('state')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^<Genesis #\d+> \{\n/)
    expect(r.stdout).toMatch(/^ {2}prototypes +<Prototypes #\d+>$/m)
    expect(r.stdout).toMatch(/^ {2}name +"Genesis"$/m)
  })

  it('--json with --depth and --target', async () => {
    const j = await json('state', '--depth', '2')
    expect(j.reply.event).toBe('uvm_state_update')
    expect(typeof j.reply.tid).toBe('number')
    expect(j.reply.state.$print).toMatch(/^<Genesis #\d+>$/)
    // Depth 2 expands the prototypes object's slots too.
    expect(j.reply.state.$slots.prototypes.$slots.name).toBe('Prototypes')
    const shallow = await json('state', '--depth', '1')
    expect(shallow.reply.state.$slots.prototypes.$slots).toBeUndefined()
    const t = await json('state', '--target', 'genesis.prototypes')
    expect(t.reply.state.$print).toMatch(/^<Prototypes #\d+>$/)
    const byOid = await json('state', '--target', `#${t.reply.state.$ref}`)
    expect(byOid.reply.state.$ref).toBe(t.reply.state.$ref)
    const human = await uvm('state', '--target', 'genesis.prototypes')
    expect(human.stdout).toMatch(/^<Prototypes #\d+> \{/)
  })

  it('bad --depth and unknown targets', async () => {
    const bad = await uvm('state', '--depth', 'deep')
    expect(bad.code).toBe(2)
    expect(lines(bad.stderr)).toEqual(['uvm state: --depth takes a whole number, got "deep"'])
    const big = await uvm('state', '--depth', '99')
    expect(big.code).toBe(2)
    expect(lines(big.stderr)).toHaveLength(1)
    const unknown = await uvm('state', '--target', 'genesis.nowhere')
    expect(unknown.code).toBe(1)
    expect(lines(unknown.stderr)).toEqual([expect.stringMatching(/^uvm state: unknown_target: .*nowhere/)])
    const j = await runCli(['state', '--target', 'genesis.nowhere', '--json', '--connect', daemon.d.bind])
    expect(j.code).toBe(1)
    expect(JSON.parse(j.stdout)).toMatchObject({ event: 'error', error: { code: 'unknown_target' } })
  })
})

describe('uvm set', () => {
  it('sets a data slot from JSON, human and --json', async () => {
    const r = await uvm('set', 'label', '"Ready"')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^committed as transaction \d+\n$/)
    const j = await json('set', 'sizes', '[1, 2, {"a": true}]')
    expect(j.reply).toMatchObject({ event: 'ack', tid: expect.any(Number) })
    const back = await json('act', 'return [genesis.label, genesis.sizes]')
    expect(back.reply.value).toEqual(['Ready', [1, 2, { a: true }]])
  })

  it('--target sets a slot on another object', async () => {
    expect((await uvm('set', 'tag', '7', '--target', 'genesis.prototypes')).code).toBe(0)
    const j = await json('state', '--target', 'genesis.prototypes')
    expect(j.reply.state.$slots.tag).toBe(7)
  })

  it('bad JSON is a usage error: exit 2, one line', async () => {
    const r = await uvm('set', 'label', 'Ready')
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^uvm set: the value must be JSON .*got Ready$/)])
    const missing = await uvm('set', 'label')
    expect(missing.code).toBe(2)
    expect(lines(missing.stderr)).toEqual([expect.stringMatching(/^uvm set: expected PROP and a JSON value/)])
    expect(hasStack(r.stderr + missing.stderr)).toBe(false)
  })
})

describe('uvm create-method and uvm send', () => {
  it('installs a method inline and calls it with arguments', async () => {
    const r = await uvm('create-method', 'greet', 'function (name, times) { print("greeting " + name); return "hi " + name.repeat(times) }')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^committed as transaction \d+\n$/)
    const s = await uvm('send', 'greet', 'bob', '2')
    expect(s.code).toBe(0)
    expect(s.stdout).toBe('greeting bob\n"hi bobbob"\n')
    const j = await json('send', 'greet', 'ann', '1')
    expect(j.reply).toMatchObject({ event: 'result', value: 'hi ann', output: 'greeting ann\n' })
  })

  it('reads the method from -f FILE, with --target', async () => {
    const file = join(daemon.dir, 'area.js')
    await writeFile(file, 'function () {\n  return this.w * this.h\n}\n')
    expect((await uvm('set', 'w', '3', '--target', 'genesis.prototypes')).code).toBe(0)
    expect((await uvm('set', 'h', '4', '--target', 'genesis.prototypes')).code).toBe(0)
    const r = await uvm('create-method', 'area', '-f', file, '--target', 'genesis.prototypes')
    expect(r.code).toBe(0)
    const s = await uvm('send', 'area', '--target', 'genesis.prototypes')
    expect(s.stdout).toBe('12\n')
  })

  it('-f - reads stdin', async () => {
    const r = await runCli(['create-method', 'twice', '-f', '-', '--connect', daemon.d.bind], { input: 'function (x) { return 2 * x }' })
    expect(r.code).toBe(0)
    const s = await uvm('send', 'twice', '21')
    expect(s.stdout).toBe('42\n')
  })

  it('a method that does not parse: exit 1, one line with the position, then the line with a caret', async () => {
    const r = await uvm('create-method', 'broken', 'function ( {')
    expect(r.code).toBe(1)
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^uvm create-method: syntax_error: .*line 1, column \d+/), '  function ( {', expect.stringMatching(/^ {3,}\^$/)])
    const missing = await uvm('create-method', 'nothing')
    expect(missing.code).toBe(2)
    const both = await uvm('create-method', 'm', 'function () {}', '-f', 'x.js')
    expect(both.code).toBe(2)
    expect(lines(both.stderr)).toEqual(['uvm create-method: give the method code inline or with -f FILE, not both'])
    const nofile = await uvm('create-method', 'm', '-f', join(daemon.dir, 'missing.js'))
    expect(nofile.code).toBe(2)
    expect(lines(nofile.stderr)).toEqual([expect.stringMatching(/^uvm create-method: cannot read .*missing\.js/)])
  })

  it('send fly_to_the_moon to an object without it: exit 1, one line mentioning does_not_understand', async () => {
    const r = await uvm('send', 'fly_to_the_moon')
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(lines(r.stderr)).toHaveLength(1)
    expect(r.stderr).toContain('does_not_understand')
    expect(r.stderr).toContain('fly_to_the_moon')
    expect(hasStack(r.stderr)).toBe(false)
    const j = await runCli(['send', 'fly_to_the_moon', '--json', '--connect', daemon.d.bind])
    expect(j.code).toBe(1)
    expect(JSON.parse(j.stdout)).toMatchObject({ event: 'error', error: { code: 'does_not_understand', selector: 'fly_to_the_moon' } })
    const none = await uvm('send')
    expect(none.code).toBe(2)
    expect(lines(none.stderr)).toEqual(['uvm send: missing SELECTOR'])
  })
})

describe('uvm act', () => {
  it('runs an act: output, then the value; --json for machines', async () => {
    const r = await uvm('act', 'print("working"); genesis.count = 5; return genesis.count * 2')
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('working\n10\n')
    const j = await json('act', 'return { n: genesis.count, list: [1, "two"] }')
    expect(j.reply).toMatchObject({ event: 'result', value: { n: 5, list: [1, 'two'] }, output: '' })
    const obj = await uvm('act', 'return genesis.prototypes')
    expect(obj.stdout).toMatch(/^<Prototypes #\d+> \{\n(.*\n)*\}\n$/)
    const nothing = await uvm('act', 'genesis.count = 6')
    expect(nothing).toMatchObject({ code: 0, stdout: '', stderr: '' })
  })

  it('reads the act from -f FILE; --intent and --explanation go into the record', async () => {
    const file = join(daemon.dir, 'act.js')
    await writeFile(file, 'const a = 20\nconst b = 22\ngenesis.sum = a + b\nreturn genesis.sum\n')
    const r = await uvm('act', '-f', file, '--intent', 'add things', '--explanation', 'because')
    expect(r.stdout).toBe('42\n')
    intentTid = (await json('act', 'genesis.sum2 = 1', '--intent', 'second')).reply.tid
    expect(intentTid).toEqual(expect.any(Number))
  })

  it('errors: exit 1 and one line (plus a syntax error\'s line with a caret, and the act\'s output)', async () => {
    const thrown = await uvm('act', 'throw new Error("boom")')
    expect(thrown.code).toBe(1)
    expect(lines(thrown.stderr)).toEqual([expect.stringMatching(/^uvm act: act_failed: boom/)])
    const syntax = await uvm('act', 'return (')
    expect(syntax.code).toBe(1)
    expect(lines(syntax.stderr)).toEqual([expect.stringMatching(/^uvm act: syntax_error: .*\(line 1, column \d+\)/), '  return (', expect.stringMatching(/^ {3,}\^$/)])
    const printed = await uvm('act', 'print("before"); throw new Error("after")')
    expect(printed.code).toBe(1)
    expect(lines(printed.stderr)).toEqual([expect.stringMatching(/^uvm act: act_failed: after/), 'before'])
    const j = await runCli(['act', 'throw new Error("boom")', '--json', '--connect', daemon.d.bind])
    expect(j.code).toBe(1)
    expect(JSON.parse(j.stdout)).toMatchObject({ event: 'error', error: { code: 'act_failed', message: expect.stringContaining('boom') } })
    const two = await uvm('act', 'return 1', 'return 2')
    expect(two.code).toBe(2)
    expect(lines(two.stderr)).toEqual(['uvm act: give the act as ONE argument (quote it), or -f FILE'])
    expect(hasStack(thrown.stderr + syntax.stderr + printed.stderr + two.stderr)).toBe(false)
  })
})

describe('the daemon after all that', () => {
  it('is still up, logged every request, and its image keeps the acts\' records', async () => {
    expect((await uvm('ping')).code).toBe(0)
    expect(daemon.d.stdout.split('\n').filter((l) => l.startsWith('{"level":"info"')).length).toBeGreaterThan(20)
    expect(hasStack(daemon.d.stdout + daemon.d.stderr)).toBe(false)
    expect((await daemon.d.stop()).code).toBe(0)
    const h = await runCli(['history', '--json', '--limit', '1000', '--image', daemon.d.image])
    expect(h.code).toBe(0)
    const records = JSON.parse(h.stdout) as { tid: number; description: string; ext: Record<string, unknown> }[]
    expect(records.find((t) => t.description === 'add things')?.ext).toMatchObject({ intent: 'add things', explanation: 'because', act: expect.stringContaining('genesis.sum = a + b') })
    expect(records.find((t) => t.tid === intentTid)?.description).toBe('second')
  })
})
