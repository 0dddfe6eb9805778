// Details of the commands that a black-box audit found off: negative numbers as values, `--depth`
// in human text, REPL error positions, a named client keypair, and acts that run up to the wall limit.
import { join } from 'node:path'
import { NO_LLM_HINT } from '../../src/jit/index.js'
import { describe, expect, it } from 'vitest'
import { hasStack, lines, runCli, startDaemon, useDaemon } from './support.js'

const daemon = useDaemon()
const { uvm } = daemon

describe('negative numbers are values, not flags', () => {
  it('uvm set PROP -5, and negative send arguments', async () => {
    const set = await uvm('set', 'offset', '-5')
    expect(set).toMatchObject({ code: 0, stderr: '' })
    expect((await uvm('act', 'return genesis.offset')).stdout).toBe('-5\n')
    expect((await uvm('create-method', 'minus', 'function (a, b) { return a - b }')).code).toBe(0)
    expect((await uvm('send', 'minus', '-1', '-2')).stdout).toBe('1\n')
  })
})

describe('uvm state --depth N in human text', () => {
  it('shows the slots of objects expanded below the top level', async () => {
    const shallow = await uvm('state', '--depth', '1')
    expect(shallow.stdout).toMatch(/^ {2}prototypes +<Prototypes #3>$/m)
    const deep = await uvm('state', '--depth', '2')
    expect(deep.code).toBe(0)
    expect(deep.stdout).toMatch(/^ {2}prototypes +<Prototypes #3> \{\n {4}name +"Prototypes"\n {4}parent\* +<Traits #1>\n {2}\}$/m)
  })
})

describe('uvm repl error positions', () => {
  it('are where the error is in what was typed, not in the `return (…)` the REPL adds', async () => {
    const r = await runCli(['repl', '--connect', daemon.d.bind, '--history', ''], { input: 'genesis.nope()\n  1 +  genesis.nope()\nconst q = 1; q.zz.yy\n' })
    expect(r.code).toBe(0)
    const errors = lines(r.stdout).map((l) => l.replace(/^(uvm> )+/, '')).filter((l) => l.startsWith('!'))
    const why = `no curriculum conversation teaches it, and ${NO_LLM_HINT}. The curriculum teaches `
    expect(errors.map((l) => l.replace(/The curriculum teaches .*, and \d+ more\)/, 'The curriculum teaches …)'))).toEqual([
      `! does_not_understand: <Genesis #2> does not understand 'nope' (${why}…) (line 1, column 9)`,
      `! does_not_understand: <Genesis #2> does not understand 'nope' (${why}…) (line 1, column 16)`,
      "! act_failed: Cannot read properties of undefined (reading 'yy') (line 1, column 19)",
    ])
  })
})

describe('CURVE keys made with `uvm keys --client NAME`', () => {
  it('--keys DIR uses the one client keypair there', async () => {
    const keys = join(daemon.dir, 'keys')
    expect((await runCli(['keys', '--dir', keys, '--client', 'alice'])).code).toBe(0)
    const secure = await startDaemon(join(daemon.dir, 'curve.db'), { args: ['--keys', keys] })
    try {
      const r = await runCli(['ping', '--connect', secure.bind, '--keys', keys, '--timeout', '5000'])
      expect(r).toMatchObject({ code: 0, stdout: 'pong: uvm 0.1.0\n', stderr: '' })
    } finally {
      expect((await secure.stop()).code).toBe(0)
    }
  })
})

describe('uvm act waits for the daemon\'s wall limit', () => {
  it('an act still running after 10 s gets the daemon\'s answer, not "no reply"', async () => {
    const slow = await startDaemon(join(daemon.dir, 'wall.db'), { args: ['--wall-timeout', '11000'] })
    try {
      const r = await runCli(['act', 'await new Promise(() => {})', '--connect', slow.bind], { env: { UVM_WALL_TIMEOUT: '11000' }, timeoutMs: 30_000 })
      expect(r.code).toBe(1)
      expect(lines(r.stderr)).toEqual(['uvm act: timeout: the act did not finish within 11000 ms (wall clock)'])
      expect(hasStack(r.stderr)).toBe(false)
    } finally {
      expect((await slow.stop()).code).toBe(0)
    }
  }, 40_000)
})
