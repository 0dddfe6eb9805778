// Reaching the daemon: nothing listening, CURVE refusing the key, one side without CURVE: each said at
// once and told apart; and --key NAME picks a keypair of the keys folder (a reader needs no folder of its own).
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTemps, ensureBuilt, freeAddresses, killChildren, lines, runCli, startDaemon, tempDir } from './support.js'
import type { Daemon } from './support.js'

beforeAll(() => ensureBuilt())
// Not after each test: the CURVE daemon lives for the whole suite.
afterAll(async () => { await killChildren(); await cleanupTemps() })

/** A long deadline: an answer well before it can only come from knowing, not from waiting. */
const LONG = ['--timeout', '60000']
const quick = { timeoutMs: 15_000 }

describe('nothing listening', () => {
  it('an ipc:// endpoint without its socket file', async () => {
    const dir = await tempDir()
    const endpoint = `ipc://${join(dir, 'no.sock')}`
    const r = await runCli(['ping', '--connect', endpoint, ...LONG], quick)
    expect(r.timedOut).toBe(false)
    expect(r.code).toBe(1)
    expect(lines(r.stderr)).toEqual([`uvm ping: nothing listening at ${endpoint} (no such socket file): start the daemon with \`uvm boot\`, or give --connect ADDR (env UVM_CONNECT)`])
  })

  it('usage mistakes are still said first (exit 2), before any probe', async () => {
    const { bind } = await freeAddresses()
    const r = await runCli(['set', 'only-one', '--connect', bind])
    expect(r.code).toBe(2)
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^uvm set: expected PROP and a JSON value/)])
  })
})

describe('CURVE: refused, required, or not spoken', () => {
  let dir: string
  let keys: string
  let d: Daemon
  let reader: { bind: string; pub: string }
  beforeAll(async () => {
    dir = await tempDir()
    keys = join(dir, 'keys')
    expect((await runCli(['keys', '--dir', keys, '--client', 'alice', '--reader', 'bob'])).code).toBe(0)
    reader = await freeAddresses()
    d = await startDaemon(join(dir, 'image.db'), { args: ['--keys', keys, '--reader-bind', reader.bind, '--reader-pub', reader.pub] })
  })
  afterAll(async () => {
    if (d?.running) expect((await d.stop()).code).toBe(0)
  })

  it('a key the daemon does not list: "refused your CURVE key", at once', async () => {
    const r = await runCli(['ping', '--connect', d.bind, '--keys', keys, '--key', 'bob', ...LONG], quick)
    expect(r.timedOut).toBe(false)
    expect(r.code).toBe(1)
    expect(lines(r.stderr)).toEqual([`uvm ping: ${d.bind} refused your CURVE key: the daemon's keys folder does not list it (a readers/ key is admitted only on the daemon's --reader-bind endpoint)`])
  })

  it('no keys at a CURVE daemon: "requires CURVE", at once', async () => {
    const r = await runCli(['state', '--connect', d.bind, ...LONG], quick)
    expect(r.timedOut).toBe(false)
    expect(lines(r.stderr)).toEqual([`uvm state: ${d.bind} requires CURVE: give --keys DIR (the keys folder from \`uvm keys\`; env UVM_KEYS)`])
  })

  it('keys at a daemon without CURVE: "does not speak CURVE", at once', async () => {
    const plain = await startDaemon(join(dir, 'plain.db'))
    try {
      const r = await runCli(['ping', '--connect', plain.bind, '--keys', keys, ...LONG], quick)
      expect(r.timedOut).toBe(false)
      expect(lines(r.stderr)).toEqual([`uvm ping: ${plain.bind} does not speak CURVE: connect without keys (no --keys, no UVM_KEYS)`])
    } finally {
      expect((await plain.stop()).code).toBe(0)
    }
  })

  it('--key NAME picks the reader keypair of the keys folder: no hand-built folder', async () => {
    const r = await runCli(['ping', '--connect', reader.bind, '--keys', keys, '--key', 'bob'])
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(/^pong: uvm \S+ \(read-only\)\n$/)
    // UVM_KEY, and ./keys when only the name is given (the folder `uvm keys` makes by default).
    expect((await runCli(['ping', '--connect', reader.bind], { env: { UVM_KEYS: keys, UVM_KEY: 'bob' } })).stdout).toMatch(/\(read-only\)\n$/)
    expect((await runCli(['ping', '--connect', reader.bind, '--key', 'bob'], { cwd: dir })).stdout).toMatch(/\(read-only\)\n$/)
    // The writer's keypair, by name, on the main endpoint.
    expect((await runCli(['ping', '--connect', d.bind, '--keys', keys, '--key', 'alice'])).stdout).toMatch(/^pong: uvm \S+\n$/)
    // The REPL takes it too.
    const repl = await runCli(['repl', '--connect', reader.bind, '--keys', keys, '--key', 'bob', '--history', ''], { input: 'return 6 * 7\n' })
    expect(repl.code, repl.stderr).toBe(0)
    expect(repl.stdout).toContain('42')
  })

  it('--key with a name the folder lacks lists the ones it has', async () => {
    const r = await runCli(['ping', '--connect', d.bind, '--keys', keys, '--key', 'carol'])
    expect(r.code).toBe(1)
    expect(lines(r.stderr)).toEqual([`uvm ping: no keypair "carol" in ${keys} (clients/: alice; readers/: bob); \`uvm keys --dir ${keys} --client carol\` or \`--reader carol\` makes one`])
  })
})
