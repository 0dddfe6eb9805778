// `uvm boot --read-only` (and UVM_READ_ONLY=1) as people run it: real daemons, real images, the client commands.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTemps, ensureBuilt, freeAddresses, hasStack, jsonLines, killChildren, lines, runCli, startDaemon, tempDir } from './support.js'

beforeAll(() => ensureBuilt())
afterEach(() => killChildren())
afterAll(() => cleanupTemps())

/** An image with one committed change (last tid 2), made by an ordinary daemon. */
async function seededImage(): Promise<string> {
  const image = join(await tempDir(), 'image.db')
  const d = await startDaemon(image)
  expect((await runCli(['set', 'label', '"Ready"', '--connect', d.bind])).code).toBe(0)
  expect((await runCli(['create-method', 'bump', 'self.n = (self.n ?? 0) + 1', '--connect', d.bind])).code).toBe(0)
  expect((await d.stop()).code).toBe(0)
  return image
}

describe('uvm boot --read-only', () => {
  it('--help documents the flag and its environment variable', async () => {
    const r = await runCli(['boot', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/--read-only\s+.*unauthorized.*UVM_READ_ONLY=1/)
    expect(r.stdout).toMatch(/usage: .*\[--read-only\]/i)
  })

  it('serves reads; every write command prints one error line and exits 1; nothing is written', async () => {
    const image = await seededImage()
    const d = await startDaemon(image, { args: ['--read-only'] })
    expect(d.readyLine).toMatch(/last tid 3\); read-only: commands that would change the image are refused$/)
    const uvm = (...args: string[]) => runCli([...args, '--connect', d.bind])

    expect((await uvm('ping')).stdout).toMatch(/^pong: uvm \d+\.\d+\.\d+ \(read-only\)\n$/)
    const state = await uvm('state')
    expect(state.code).toBe(0)
    expect(state.stdout).toContain('"Ready"')
    expect(await uvm('act', 'return genesis.label')).toMatchObject({ code: 0, stdout: '"Ready"\n' })
    expect((await uvm('send', 'printString')).code).toBe(0)

    for (const [args, refusal] of [
      [['set', 'label', '"Changed"'], /^uvm set: unauthorized: update_property refused: it sets slot 'label'/],
      [['create-method', 'm', 'return 1'], /^uvm create-method: unauthorized: create_method refused: it installs method 'm'/],
      [['send', 'bump'], /^uvm send: unauthorized: send_message refused: 'bump' changed #\d+/],
      [['act', 'genesis.label = "Changed"'], /^uvm act: unauthorized: run_act refused: the act changed #\d+/],
    ] as const) {
      const r = await uvm(...args)
      expect(r.code, args[0]).toBe(1)
      expect(r.stdout, args[0]).toBe('')
      expect(lines(r.stderr), args[0]).toEqual([expect.stringMatching(refusal)])
      expect(r.stderr).toMatch(/nothing was written\. For write access, restart the daemon without --read-only/)
      expect(hasStack(r.stderr)).toBe(false)
    }
    const j = await uvm('set', 'label', '"Changed"', '--json')
    expect(j.code).toBe(1)
    expect(JSON.parse(j.stdout)).toMatchObject({ event: 'error', error: { code: 'unauthorized', uvm_code: 'BRIDGE_READ_ONLY', command: 'update_property' } })

    // The daemon kept serving, logged the refusals, and stops cleanly.
    expect((await uvm('ping')).code).toBe(0)
    await d.waitFor((all) => jsonLines(all).filter((l) => l.code === 'unauthorized').length >= 5, 10_000, 'five refusals logged')
    expect((await d.stop()).code).toBe(0)

    const history = await runCli(['history', '--image', image, '--json'])
    expect(history.code).toBe(0)
    expect(JSON.parse(history.stdout)[0]).toMatchObject({ tid: 3 })
    const again = await startDaemon(image)
    expect(again.readyLine).toContain('last tid 3)')
    expect(again.readyLine).not.toContain('read-only')
    expect(await runCli(['act', 'return [genesis.label, genesis.hasSlot("n")]', '--connect', again.bind])).toMatchObject({ stdout: '["Ready", false]\n' })
    expect((await again.stop()).code).toBe(0)
  })

  it('UVM_READ_ONLY=1 does the same; a value that is not yes or no is refused', async () => {
    const image = await seededImage()
    const d = await startDaemon(image, { viaEnv: true, env: { UVM_READ_ONLY: '1' } })
    expect(d.readyLine).toContain('read-only')
    const r = await runCli(['set', 'x', '1', '--connect', d.bind])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^uvm set: unauthorized: /)
    expect((await d.stop()).code).toBe(0)

    const off = await startDaemon(image, { viaEnv: true, env: { UVM_READ_ONLY: '0' } })
    expect(off.readyLine).not.toContain('read-only')
    expect((await runCli(['set', 'x', '1', '--connect', off.bind])).code).toBe(0)
    expect((await off.stop()).code).toBe(0)

    const bad = await runCli(['boot', '--image', image], { env: { UVM_READ_ONLY: 'maybe' } })
    expect(bad.code).toBe(2)
    expect(lines(bad.stderr)).toEqual(['uvm boot: UVM_READ_ONLY takes 1 or 0 (also true/false, yes/no, on/off), got "maybe"'])
  })

  it('refuses to create a missing image: exit 1, one line, no folder made', async () => {
    const image = join(await tempDir(), 'nothing-here.db')
    const r = await runCli(['boot', '--read-only', '--image', image, '--bind', 'tcp://127.0.0.1:0', '--pub', 'tcp://127.0.0.1:0'])
    expect(r.code).toBe(1)
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^uvm boot: no image at .*nothing-here\.db: a read-only daemon serves an existing image and never creates one/)])
    expect(existsSync(image)).toBe(false)
  })
})

describe('read-only client keys: uvm keys --reader, uvm boot --reader-bind', () => {
  it('--help documents both', async () => {
    expect((await runCli(['keys', '--help'])).stdout).toMatch(/--reader NAME\s+.*readers\/.*--reader-bind/)
    expect((await runCli(['boot', '--help'])).stdout).toMatch(/--reader-bind ADDR\s+.*readers\/.*UVM_READER_BIND/)
  })

  it('a reader key reads on the reader endpoint, gets unauthorized for writes, and no answer on the main one', async () => {
    const dir = await tempDir()
    const keys = join(dir, 'keys')
    const k = await runCli(['keys', '--dir', keys, '--client', 'client', '--reader', 'bob'])
    expect(k.code).toBe(0)
    expect(k.stdout).toContain('readers/bob.key_secret')
    expect(k.stdout).toContain('--reader-bind')
    // What bob is handed: his keypair (as the client CLI looks for it) and the server's public key.
    const bob = join(dir, 'bob-keys')
    mkdirSync(join(bob, 'clients'), { recursive: true })
    copyFileSync(join(keys, 'readers', 'bob.key'), join(bob, 'clients', 'client.key'))
    copyFileSync(join(keys, 'readers', 'bob.key_secret'), join(bob, 'clients', 'client.key_secret'))
    copyFileSync(join(keys, 'server.key'), join(bob, 'server.key'))

    const reader = await freeAddresses()
    const d = await startDaemon(join(dir, 'image.db'), { args: ['--keys', keys, '--reader-bind', reader.bind, '--reader-pub', reader.pub] })
    expect(d.readyLine).toContain(`; readers (read-only): commands ${reader.bind}, events ${reader.pub}`)
    expect((await runCli(['set', 'label', '"by the writer"', '--connect', d.bind, '--keys', keys])).code).toBe(0)

    expect((await runCli(['ping', '--connect', reader.bind, '--keys', bob])).stdout).toMatch(/\(read-only\)\n$/)
    expect((await runCli(['act', 'return genesis.label', '--connect', reader.bind, '--keys', bob])).stdout).toBe('"by the writer"\n')
    const refused = await runCli(['set', 'label', '"by bob"', '--connect', reader.bind, '--keys', bob])
    expect(refused.code).toBe(1)
    expect(lines(refused.stderr)).toEqual([expect.stringMatching(/^uvm set: unauthorized: update_property refused/)])
    const main = await runCli(['set', 'label', '"by bob"', '--connect', d.bind, '--keys', bob, '--timeout', '60000'], { timeoutMs: 15_000 })
    expect(main.code).toBe(1)
    expect(lines(main.stderr)).toEqual([`uvm set: ${d.bind} refused your CURVE key: the daemon's keys folder does not list it (a readers/ key is admitted only on the daemon's --reader-bind endpoint)`])

    expect((await runCli(['act', 'return genesis.label', '--connect', d.bind, '--keys', keys])).stdout).toBe('"by the writer"\n')
    await d.waitFor((all) => jsonLines(all).some((l) => l.via === 'reader' && l.code === 'unauthorized'), 10_000, 'the refusal logged via the reader endpoint')
    expect((await d.stop()).code).toBe(0)
  })
})
