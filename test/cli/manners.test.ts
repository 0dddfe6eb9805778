// Manners: --help everywhere, one clear line and a non-zero exit for bad arguments, no stack traces unless --debug.
import { execFileSync } from 'node:child_process'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { MAIN, cleanupTemps, ensureBuilt, freeAddresses, hasStack, killChildren, lines, runCli, tempDir } from './support.js'

beforeAll(() => ensureBuilt())
afterEach(() => killChildren())
afterAll(() => cleanupTemps())

/** Each command with the options its help must mention. */
const COMMANDS: Record<string, string[]> = {
  boot: ['--image', '--bind', '--pub', '--keys', 'UVM_IMAGE', 'UVM_BIND', 'UVM_PUB', 'UVM_KEYS'],
  repl: ['--connect', '--image', '--history', 'UVM_REPL_HISTORY', 'UVM_CONNECT', '--timeout'],
  ping: ['--connect', '--json', '--timeout'],
  state: ['--depth', '--target', '--connect', '--json'],
  set: ['PROP', 'JSON', '--target', '--connect', '--json'],
  'create-method': ['NAME', 'CODE', '-f', '--target', '--connect', '--json'],
  send: ['SELECTOR', 'ARG', '--target', '--connect', '--json'],
  act: ['CODE', '-f', '--connect', '--json'],
  history: ['--limit', '--image', '--json'],
  show: ['TID', '--all', '--image', '--json'],
  undo: ['TID', '--image'],
  pack: ['--before', 'TID', 'AGE', '--image'],
  check: ['--image', '--json'],
  export: ['DIR', '--force', '--image'],
  import: ['DIR', '--image'],
  keys: ['--dir', '--client'],
  covenant: ['--json-schema'],
}

describe('help', () => {
  it('uvm --help lists every command (exit 0)', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const r = await runCli([flag])
      expect(r.code, flag).toBe(0)
      expect(r.stderr).toBe('')
      expect(r.stdout).toMatch(/^uvm \d+\.\d+\.\d+: /)
      for (const name of Object.keys(COMMANDS)) expect(r.stdout, name).toMatch(new RegExp(`^ {2}${name} +\\S`, 'm'))
      expect(r.stdout).toContain('--debug')
    }
    // Nothing asked for: the help, and a failing exit, as git does.
    const none = await runCli([])
    expect(none.code).toBe(1)
    expect(none.stdout).toBe((await runCli(['--help'])).stdout)
  })

  it('uvm --version', async () => {
    const r = await runCli(['--version'])
    expect(r).toMatchObject({ code: 0, stderr: '' })
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\n$/)
  })

  it('the built bin runs by itself (execute bit and shebang), as npx and npm link run it', () => {
    // npx sets the bit only when it first links a checkout; a clone at a path it has seen got "Permission denied".
    expect(statSync(MAIN).mode & 0o111).toBe(0o111)
    expect(execFileSync(MAIN, ['--version'], { encoding: 'utf8' })).toMatch(/^\d+\.\d+\.\d+\n$/)
  })

  for (const [name, options] of Object.entries(COMMANDS)) {
    it(`uvm ${name} --help mentions its options (exit 0)`, async () => {
      const r = await runCli([name, '--help'])
      expect(r.code).toBe(0)
      expect(r.stderr).toBe('')
      expect(r.stdout).toMatch(new RegExp(`^usage: uvm ${name}\\b`))
      expect(r.stdout).toContain('--help')
      for (const o of options) expect(r.stdout, o).toContain(o)
      // -h and `uvm help NAME` say the same.
      expect((await runCli([name, '-h'])).stdout).toBe(r.stdout)
      expect((await runCli(['help', name])).stdout).toBe(r.stdout)
    })
  }

  it('--help wins over anything else on the line, and does nothing else', async () => {
    const dir = await tempDir()
    const r = await runCli(['boot', '--image', join(dir, 'image.db'), '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^usage: uvm boot/)
    const { bind } = await freeAddresses()
    const p = await runCli(['ping', '--connect', bind, '--help'], { timeoutMs: 5000 })
    expect(p.code).toBe(0)
    expect(p.stdout).toMatch(/^usage: uvm ping/)
  })
})

describe('bad arguments: one clear line, non-zero exit, no stack trace', () => {
  const cases: [string[], RegExp][] = [
    [['frobnicate'], /^uvm: unknown command "frobnicate" \(commands: boot, ui, repl, .*; see `uvm --help`\)$/],
    [['ping', '--wat'], /^uvm ping: Unknown option '--wat' \(see `uvm ping --help`\)$/],
    [['boot', 'extra'], /^uvm boot: Unexpected argument 'extra'.* \(see `uvm boot --help`\)$/],
    [['boot', '--cache', 'lots'], /^uvm boot: --cache takes a whole number ≥ 1, got "lots"$/],
    [['boot', '--image'], /^uvm boot: Option '--image <value>' argument missing \(see `uvm boot --help`\)$/],
    // A negative number after an option is its value, so the option itself can say what it takes.
    [['state', '--depth', '-1'], /^uvm state: --depth takes a whole number, got "-1"$/],
    [['history', '--limit', '-1'], /^uvm history: --limit takes a whole number ≥ 1, got "-1"$/],
    [['undo', '-3'], /^uvm undo: TID is a whole number ≥ 1 .*got "-3"$/],
    [['ping', '--connect', 'bogus'], /^uvm ping: "bogus" is not a ZeroMQ endpoint \(expected e\.g\. tcp:\/\/127\.0\.0\.1:5555\)$/],
    [['state', '--depth=-1'], /^uvm state: --depth takes a whole number, got "-1"$/],
    [['set', 'x', 'not json'], /^uvm set: the value must be JSON/],
    [['set'], /^uvm set: expected PROP and a JSON value/],
    [['send'], /^uvm send: missing SELECTOR$/],
    [['act'], /^uvm act: missing act code \(inline, or -f FILE\)$/],
    [['create-method'], /^uvm create-method: expected NAME and CODE/],
    [['history', '--limit', 'x'], /^uvm history: --limit takes a whole number ≥ 1, got "x"$/],
    [['undo'], /^uvm undo: expected one TID/],
    [['undo', 'seven'], /^uvm undo: TID is a whole number ≥ 1 .*got "seven"$/],
    [['pack', '--image'], /^uvm pack: Option '--image <value>' argument missing/],
    [['export', 'a', 'b'], /^uvm export: expected at most one DIR$/],
    [['import'], /^uvm import: expected the DIR written by `uvm export`$/],
    [['covenant'], /^uvm covenant: say --json-schema/],
    [['repl', 'extra'], /^uvm repl: unexpected argument "extra"$/],
  ]
  for (const [args, message] of cases) {
    it(`uvm ${args.join(' ')}`, async () => {
      const { bind } = await freeAddresses()
      // Client commands get a dead address: usage errors must come before any waiting.
      const r = await runCli(args, { env: { UVM_CONNECT: bind, UVM_IMAGE: '/nonexistent/image.db' }, timeoutMs: 10_000 })
      expect(r.timedOut).toBe(false)
      expect(r.code).toBe(2)
      expect(r.stdout).toBe('')
      expect(lines(r.stderr)).toEqual([expect.stringMatching(message)])
      expect(hasStack(r.stderr)).toBe(false)
    })
  }
})

describe('--debug', () => {
  it('adds the stack trace to an error, and only then', async () => {
    const dir = await tempDir()
    const image = join(dir, 'image.db')
    expect((await runCli(['repl', '--image', image, '--history', ''], { input: 'genesis.a = 1\n' })).code).toBe(0)
    const plainRun = await runCli(['undo', '99', '--image', image])
    expect(plainRun.code).toBe(1)
    expect(lines(plainRun.stderr)).toEqual([expect.stringMatching(/^uvm undo: .*99/)])
    expect(hasStack(plainRun.stderr)).toBe(false)
    const debug = await runCli(['undo', '99', '--image', image, '--debug'])
    expect(debug.code).toBe(1)
    expect(lines(debug.stderr)[0]).toBe(lines(plainRun.stderr)[0])
    expect(hasStack(debug.stderr)).toBe(true)
    const env = await runCli(['undo', '99', '--image', image], { env: { UVM_DEBUG: '1' } })
    expect(hasStack(env.stderr)).toBe(true)
    // --debug anywhere on the line, even first.
    const first = await runCli(['--debug', 'undo', '99', '--image', image])
    expect(first.code).toBe(1)
    expect(hasStack(first.stderr)).toBe(true)
  })
})
