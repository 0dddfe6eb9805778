// `uvm boot`: the ready line, request logs, signals, the image lock, env configuration.
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, cleanupTemps, ensureBuilt, freeAddresses, hasStack, jsonLines, killChildren, lines, runCli, spawnCli, startDaemon, tempDir } from './support.js'

beforeAll(() => ensureBuilt())
afterEach(() => killChildren())
afterAll(() => cleanupTemps())

describe('uvm boot', () => {
  it('creates the image, prints ONE ready line with the addresses, path, size and last tid', async () => {
    const dir = await tempDir()
    const image = join(dir, 'image.db')
    const d = await startDaemon(image)
    const ready = lines(d.stdout).filter((l) => l.includes('ready'))
    expect(ready).toHaveLength(1)
    expect(d.readyLine).toContain(d.bind)
    expect(d.readyLine).toContain(d.pub)
    expect(d.readyLine).toContain(image)
    expect(d.readyLine).toMatch(/\(\d+(\.\d+)? (B|KiB|MiB|GiB), last tid 1\)/)
    expect(existsSync(join(image, 'CURRENT'))).toBe(true)
    expect(d.stderr).toBe('')
    expect(await d.stop('SIGTERM')).toEqual({ code: 0, signal: null })
  })

  it('reopens an existing image and reports its last tid', async () => {
    const image = join(await tempDir(), 'image.db')
    let d = await startDaemon(image)
    expect((await runCli(['set', 'label', '"Ready"', '--connect', d.bind])).code).toBe(0)
    expect((await runCli(['set', 'label', '"Steady"', '--connect', d.bind])).code).toBe(0)
    expect((await d.stop()).code).toBe(0)
    d = await startDaemon(image)
    expect(d.readyLine).toContain('last tid 3')
    const r = await runCli(['act', 'return genesis.label', '--connect', d.bind])
    expect(r.stdout.trim()).toBe('"Steady"')
    expect((await d.stop()).code).toBe(0)
  })

  it('logs each request as one JSON line at level info', async () => {
    const d = await startDaemon(join(await tempDir(), 'image.db'))
    expect((await runCli(['ping', '--connect', d.bind])).code).toBe(0)
    expect((await runCli(['set', 'n', '1', '--connect', d.bind])).code).toBe(0)
    expect((await runCli(['send', 'fly', '--connect', d.bind])).code).toBe(1)
    // `uvm send` pings first (a missing daemon is reported at once), then sends with the act's wall limit.
    await d.waitFor((all) => jsonLines(all).length >= 4, 10_000, 'four log lines')
    const logs = jsonLines(d.stdout)
    expect(logs).toHaveLength(4)
    for (const l of logs) {
      expect(l.level).toBe('info')
      expect(typeof l.time).toBe('string')
      expect(typeof l.ms).toBe('number')
      expect(typeof l.client).toBe('string')
    }
    expect(logs.map((l) => l.command)).toEqual(['ping', 'update_property', 'ping', 'send_message'])
    expect(logs[0]).toMatchObject({ event: 'pong' })
    expect(logs[1]).toMatchObject({ event: 'ack', tid: 2 })
    expect(logs[3]).toMatchObject({ event: 'error', code: 'does_not_understand' })
    // Every stdout line is the ready line or a log record.
    for (const l of lines(d.stdout)) expect(l.includes(' ready: ') || l.startsWith('{')).toBe(true)
    await d.stop()
  })

  it('--quiet leaves the request log out', async () => {
    const d = await startDaemon(join(await tempDir(), 'image.db'), { args: ['--quiet'] })
    expect((await runCli(['ping', '--connect', d.bind])).code).toBe(0)
    await d.stop()
    expect(jsonLines(d.stdout)).toEqual([])
  })

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`on ${signal}: closes sockets and image, exits 0`, async () => {
      const image = join(await tempDir(), 'image.db')
      const d = await startDaemon(image)
      expect((await runCli(['set', 'x', '42', '--connect', d.bind])).code).toBe(0)
      expect(await d.stop(signal)).toEqual({ code: 0, signal: null })
      expect(d.stderr).toContain(signal)
      expect(hasStack(d.stderr)).toBe(false)
      // The image lock is released: offline commands open it.
      const h = await runCli(['history', '--image', image, '--json'])
      expect(h.code).toBe(0)
      expect(JSON.parse(h.stdout)[0]).toMatchObject({ tid: 2, description: 'update_property x' })
      // The socket is free again: a new daemon binds the same address.
      const again = spawnCli(['boot', '--image', image, '--bind', d.bind, '--pub', d.pub])
      await again.waitFor(' ready: ')
      expect((await runCli(['ping', '--connect', d.bind])).code).toBe(0)
      expect((await again.stop()).code).toBe(0)
    })
  }

  it('finishes the transaction in flight before exiting', async () => {
    const image = join(await tempDir(), 'image.db')
    const d = await startDaemon(image, { args: ['--cpu-timeout', '20000'] })
    const { BridgeClient } = await import(join(ROOT, 'dist/bridge/index.js'))
    const client = BridgeClient.connect(d.bind, { timeoutMs: 20_000 })
    try {
      // A long act: the signal arrives while it runs.
      const reply = client.request({ command: 'run_act', code: 'const t = Date.now(); while (Date.now() - t < 1500) {} genesis.slow = "yes"; return "done"' })
      await new Promise((r) => setTimeout(r, 400))
      d.child.kill('SIGTERM')
      expect(await reply).toMatchObject({ event: 'result', value: 'done', tid: 2 })
    } finally {
      await client.close()
    }
    expect((await d.exited).code).toBe(0)
    const h = await runCli(['history', '--image', image, '--json'])
    expect(JSON.parse(h.stdout)[0].tid).toBe(2)
  })

  it('a second boot on the same image fails at once with the in-use line', async () => {
    const dir = await tempDir()
    const image = join(dir, 'image.db')
    const d = await startDaemon(image)
    const { bind, pub } = await freeAddresses()
    const started = Date.now()
    const second = await runCli(['boot', '--image', image, '--bind', bind, '--pub', pub], { timeoutMs: 10_000 })
    expect(second.timedOut).toBe(false)
    expect(Date.now() - started).toBeLessThan(8000)
    expect(second.code).not.toBe(0)
    expect(lines(second.stderr)).toHaveLength(1)
    expect(second.stderr).toContain('image.db is in use by another process')
    expect(second.stdout).not.toContain('ready')
    // The first daemon is unharmed.
    expect((await runCli(['ping', '--connect', d.bind])).code).toBe(0)
    await d.stop()
  })

  it('image commands on a running daemon\'s image go through it; import says which daemon holds it', async () => {
    const dir = await tempDir()
    const image = join(dir, 'image.db')
    const d = await startDaemon(image)
    for (const args of [['history'], ['pack'], ['check'], ['export', join(dir, 'out')]]) {
      const r = await runCli([...args, '--image', image])
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0)
    }
    const r = await runCli(['repl', '--image', image], { input: 'return 1\n' })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('image.db is in use by another process')
    // Import does not go through a daemon: refused, naming it.
    const imp = await runCli(['import', join(dir, 'out'), '--image', image])
    expect(imp.code).not.toBe(0)
    expect(lines(imp.stderr)).toHaveLength(1)
    expect(imp.stderr).toContain(`image.db is in use by the daemon with pid ${d.child.pid}`)
    await d.stop()
  })

  it('takes its configuration from UVM_IMAGE, UVM_BIND and UVM_PUB', async () => {
    const image = join(await tempDir(), 'image.db')
    const d = await startDaemon(image, { viaEnv: true })
    expect(d.readyLine).toContain(d.bind)
    expect(d.readyLine).toContain(d.pub)
    expect(d.readyLine).toContain(image)
    // Clients find it through UVM_CONNECT.
    const r = await runCli(['ping'], { env: { UVM_CONNECT: d.bind } })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^pong: uvm \d+\.\d+\.\d+/)
    await d.stop()
  })

  it('flags win over the environment', async () => {
    const dir = await tempDir()
    const image = join(dir, 'image.db')
    const d = await startDaemon(image, { env: { UVM_IMAGE: join(dir, 'other.db'), UVM_BIND: 'tcp://127.0.0.1:1', UVM_PUB: 'tcp://127.0.0.1:2' } })
    expect(d.readyLine).toContain(image)
    expect(d.readyLine).toContain(d.bind)
    expect(existsSync(join(dir, 'other.db'))).toBe(false)
    await d.stop()
  })

  it('serves CURVE with --keys / UVM_KEYS: clients with the keys get answers, others none', async () => {
    const dir = await tempDir()
    const keys = join(dir, 'keys')
    const k = await runCli(['keys', '--dir', keys])
    expect(k.code).toBe(0)
    expect(existsSync(join(keys, 'server.key'))).toBe(true)
    expect(existsSync(join(keys, 'clients', 'client.key_secret'))).toBe(true)
    for (const how of ['flag', 'env'] as const) {
      const image = join(dir, `${how}.db`)
      const d = how === 'flag' ? await startDaemon(image, { args: ['--keys', keys] }) : await startDaemon(image, { env: { UVM_KEYS: keys } })
      expect(d.readyLine).toContain('(CURVE)')
      const ok = how === 'flag' ? await runCli(['ping', '--connect', d.bind, '--keys', keys]) : await runCli(['ping', '--connect', d.bind], { env: { UVM_KEYS: keys } })
      expect(ok.code).toBe(0)
      const no = await runCli(['ping', '--connect', d.bind, '--timeout', '60000'], { timeoutMs: 15_000 })
      expect(no.code).toBe(1)
      expect(lines(no.stderr)).toEqual([`uvm ping: ${d.bind} requires CURVE: give --keys DIR (the keys folder from \`uvm keys\`; env UVM_KEYS)`])
      await d.stop()
    }
  })

  it('refuses a public address without keys, and bad ports, in one line', async () => {
    const dir = await tempDir()
    const { bind, pub } = await freeAddresses()
    const open = await runCli(['boot', '--image', join(dir, 'a.db'), '--bind', bind.replace('127.0.0.1', '0.0.0.0'), '--pub', pub])
    expect(open.code).toBe(1)
    expect(lines(open.stderr)).toEqual([expect.stringMatching(/requires CURVE/)])
    const bad = await runCli(['boot', '--image', join(dir, 'b.db'), '--bind', 'nonsense', '--pub', pub])
    expect(bad.code).toBe(1)
    expect(lines(bad.stderr)).toEqual([expect.stringMatching(/"nonsense" is not a ZeroMQ endpoint/)])
    // ZeroMQ itself would bind tcp://…:99999 to some free port, and take a missing port as "Invalid argument".
    for (const [address, said] of [['tcp://127.0.0.1:99999', /99999 is not a TCP port/], ['tcp://127.0.0.1', /names no port/], ['tcp://[::1]', /names no port/]] as const) {
      const r = await runCli(['boot', '--image', join(dir, 'b.db'), '--bind', address, '--pub', pub])
      expect(r.code).toBe(1)
      expect(lines(r.stderr)).toEqual([expect.stringMatching(said)])
    }
    // A plain file where the image folder would go.
    await writeFile(join(dir, 'plain'), 'not an image')
    const file = await runCli(['boot', '--image', join(dir, 'plain'), '--bind', bind, '--pub', pub])
    expect(file.code).toBe(1)
    expect(lines(file.stderr)).toEqual([expect.stringMatching(/plain: it is a file, and an image is a folder/)])
    const connect = await runCli(['ping', '--connect', 'tcp://127.0.0.1:70000'])
    expect(connect.code).toBe(2)
    expect(lines(connect.stderr)).toEqual([expect.stringMatching(/70000 is not a TCP port/)])
    // A port already taken by the first daemon.
    const d = await startDaemon(join(dir, 'c.db'))
    const clash = await runCli(['boot', '--image', join(dir, 'd.db'), '--bind', d.bind, '--pub', pub])
    expect(clash.code).toBe(1)
    expect(lines(clash.stderr)).toEqual([expect.stringMatching(/cannot bind the bridge.*in use/i)])
    expect(hasStack(clash.stderr + open.stderr + bad.stderr)).toBe(false)
    await d.stop()
  })
})
