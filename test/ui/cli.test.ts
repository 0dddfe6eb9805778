// `uvm ui` and `uvm boot --ui` as people run them: real child processes, real pages over `ws`.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTemps, ensureBuilt, freeAddresses, freePort, jsonLines, killChildren, lines, MAIN, ROOT, runCli, runProcess, spawnCli, startDaemon, tempDir } from '../cli/support.js'
import { openPage } from './support.js'

beforeAll(() => ensureBuilt())
afterEach(() => killChildren())
afterAll(() => cleanupTemps())

const READY = /^uvm \d+\.\d+\.\d+ ready: commands tcp:\/\/127\.0\.0\.1:\d+, events tcp:\/\/127\.0\.0\.1:\d+; image .+ \(\d+(\.\d)? (B|KiB), last tid 1\)$/

describe('uvm boot --ui', () => {
  it('keeps the ready line as it was and prints the UI URL on the next line; a page reaches the daemon', async () => {
    const dir = await tempDir('uvm-ui-cli-')
    const { bind, pub } = await freeAddresses()
    const port = await freePort()
    const d = spawnCli(['boot', '--image', join(dir, 'image.db'), '--bind', bind, '--pub', pub, '--ui', '--ui-port', String(port)])
    await d.waitFor(/\nui: .*\n/, 20_000, 'the ui line')
    const out = lines(d.stdout)
    expect(out[0]).toMatch(READY)
    expect(out[1]).toBe(`ui: http://127.0.0.1:${port}/`)
    const page = await openPage(`ws://127.0.0.1:${port}/ws`)
    expect(await page.next((m) => m.event === 'gateway')).toMatchObject({ status: 'connected', read_only: false, daemon: bind })
    expect(await page.ask({ command: 'update_property', property_name: 'from_page', property_value: 1 })).toMatchObject({ event: 'ack' })
    await page.next((m) => m.event === 'uvm_state_update' && m.id === undefined, 10_000, 'the commit event')
    // In the daemon's own process the gateway needs no pings: none fill the daemon's log.
    await new Promise((r) => setTimeout(r, 2500))
    expect(jsonLines(d.stdout).map((r) => r.command)).toEqual(['update_property'])
    const closed = page.closed
    expect((await d.stop('SIGTERM')).code).toBe(0)
    expect((await closed).code).toBe(1001)
  })

  it('UVM_UI_PORT gives the port; --read-only gives a read-only page', async () => {
    const dir = await tempDir('uvm-ui-cli-')
    const port = await freePort()
    const first = await startDaemon(join(dir, 'image.db'))
    expect((await first.stop()).code).toBe(0)
    const { bind, pub } = await freeAddresses()
    const d = spawnCli(['boot', '--image', join(dir, 'image.db'), '--bind', bind, '--pub', pub, '--ui', '--read-only'], { env: { UVM_UI_PORT: String(port) } })
    await d.waitFor(`ui: http://127.0.0.1:${port}/\n`, 20_000, 'the ui line')
    const page = await openPage(`ws://127.0.0.1:${port}/ws`)
    expect(await page.next((m) => m.event === 'gateway')).toMatchObject({ status: 'connected', read_only: true })
    expect(await page.ask({ command: 'update_property', property_name: 'x', property_value: 1 })).toMatchObject({ event: 'error', error: { code: 'unauthorized' } })
    await page.close()
    expect((await d.stop('SIGTERM')).code).toBe(0)
  })

  it('a taken port stops the boot before the image is opened, saying which and what to do', async () => {
    const dir = await tempDir('uvm-ui-cli-')
    const server = createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    const port = (server.address() as { port: number }).port
    try {
      const { bind, pub } = await freeAddresses()
      const r = await runCli(['boot', '--image', join(dir, 'image.db'), '--bind', bind, '--pub', pub, '--ui', '--ui-port', String(port)])
      expect(r.code).toBe(1)
      expect(r.stdout).toBe('')
      expect(lines(r.stderr)).toEqual([`uvm boot: port ${port} on 127.0.0.1 is taken (another \`uvm ui\` or \`npm start\`?): give --ui-port N / --port N, or UVM_UI_PORT`])
      expect(existsSync(join(dir, 'image.db'))).toBe(false)
    } finally {
      server.close()
    }
  })

  it('refuses --ui-port without --ui, and a port out of range', async () => {
    const a = await runCli(['boot', '--ui-port', '9000'])
    expect(a.code).toBe(2)
    expect(lines(a.stderr)).toEqual(["uvm boot: --ui-port goes with --ui (the UI's port)"])
    const b = await runCli(['boot', '--ui', '--ui-port', '70000'])
    expect(b.code).toBe(2)
    expect(lines(b.stderr)).toEqual(['uvm boot: --ui-port takes a port from 0 to 65535, got "70000"'])
  })

  it('with --keys (a CURVE daemon) the gateway uses the keys folder\'s client key; uvm ui --keys does too, and without keys its pages hear daemon_lost', async () => {
    const dir = await tempDir('uvm-ui-cli-')
    const keys = join(dir, 'keys')
    expect((await runCli(['keys', '--dir', keys])).code).toBe(0)
    const { bind, pub } = await freeAddresses()
    const port = await freePort()
    const d = spawnCli(['boot', '--image', join(dir, 'image.db'), '--bind', bind, '--pub', pub, '--keys', keys, '--ui', '--ui-port', String(port)])
    await d.waitFor(/\nui: .*\n/, 20_000, 'the ui line')
    expect(lines(d.stdout)[0]).toMatch(/ \(CURVE\); image /)
    const page = await openPage(`ws://127.0.0.1:${port}/ws`)
    expect(await page.next((m) => m.event === 'gateway')).toMatchObject({ status: 'connected' })
    expect(await page.ask({ command: 'update_property', property_name: 'curve', property_value: true })).toMatchObject({ event: 'ack' })
    await page.next((m) => m.event === 'uvm_state_update' && m.id === undefined, 10_000, 'the commit event over CURVE')
    await page.close()
    const uiPort = await freePort()
    const u = spawnCli(['ui', '--port', String(uiPort), '--connect', bind, '--events', pub, '--keys', keys])
    await u.waitFor(/ui: .*\n/, 20_000, 'the ui line')
    const other = await openPage(`ws://127.0.0.1:${uiPort}/ws`)
    expect(await other.next((m) => m.event === 'gateway')).toMatchObject({ status: 'connected' })
    expect(await other.ask({ command: 'get_full_state', target: 'genesis' })).toMatchObject({ state: { $slots: { curve: true } } })
    await other.close()
    expect((await u.stop('SIGTERM')).code).toBe(0)
    const plainPort = await freePort()
    const bare = spawnCli(['ui', '--port', String(plainPort), '--connect', bind, '--events', pub])
    await bare.waitFor(/ui: .*\n/, 20_000, 'the ui line')
    const refused = await openPage(`ws://127.0.0.1:${plainPort}/ws`)
    expect(await refused.next((m) => m.event === 'gateway', 10_000)).toMatchObject({ status: 'daemon_lost', message: expect.stringMatching(/CURVE/) })
    await refused.close()
    expect((await bare.stop('SIGTERM')).code).toBe(0)
    expect((await d.stop('SIGTERM')).code).toBe(0)
  }, 60_000)

  it('npm start boots with the UI on', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    expect(pkg.scripts.start).toBe('node dist/cli/main.js boot --ui')
  })
})

describe('uvm ui', () => {
  it('serves a gateway to a running daemon, prints its URL, and stops on SIGTERM', async () => {
    const dir = await tempDir('uvm-ui-cli-')
    const d = await startDaemon(join(dir, 'image.db'))
    const port = await freePort()
    const u = spawnCli(['ui', '--port', String(port), '--connect', d.bind, '--events', d.pub])
    await u.waitFor(/ui: .*\n/, 20_000, 'the ui line')
    expect(lines(u.stdout)).toEqual([`ui: http://127.0.0.1:${port}/`])
    const page = await openPage(`ws://127.0.0.1:${port}/ws`)
    expect(await page.next((m) => m.event === 'gateway')).toMatchObject({ status: 'connected', daemon: d.bind })
    expect(await page.ask({ command: 'get_full_state', target: 'genesis', depth: 0 })).toMatchObject({ event: 'uvm_state_update' })
    expect((await u.stop('SIGTERM')).code).toBe(0)
    expect((await d.stop()).code).toBe(0)
  })

  it('beyond loopback prints a URL with the token, which the WebSocket needs', async () => {
    const { bind } = await freeAddresses()
    const port = await freePort()
    const u = spawnCli(['ui', '--host', '0.0.0.0', '--port', String(port), '--connect', bind])
    await u.waitFor(/beyond loopback.*\n/, 20_000, 'the ui lines')
    const [url, note] = lines(u.stdout)
    const token = /^ui: http:\/\/0\.0\.0\.0:\d+\/\?token=([A-Za-z0-9_-]{43})$/.exec(url!)?.[1]
    expect(token, url).toBeDefined()
    expect(note).toBe(`ui: listening on 0.0.0.0:${port} beyond loopback: pages need the token in that URL`)
    await expect(openPage(`ws://127.0.0.1:${port}/ws`)).rejects.toMatchObject({ status: 401 })
    const page = await openPage(`ws://127.0.0.1:${port}/ws?token=${token}`)
    // No daemon there: the page is told so.
    expect(await page.next((m) => m.event === 'gateway', 10_000)).toMatchObject({ status: 'daemon_lost' })
    expect((await u.stop('SIGTERM')).code).toBe(0)
  })

  it('refuses a bad address and an unknown flag (exit 2)', async () => {
    const a = await runCli(['ui', '--connect', 'nonsense'])
    expect(a.code).toBe(2)
    expect(a.stderr).toMatch(/^uvm ui: /)
    const b = await runCli(['ui', '--prot', '9000'])
    expect(b.code).toBe(2)
    expect(b.stderr).toMatch(/^uvm ui: Unknown option '--prot'.*Did you mean `--port`/)
  })

  it('--help loads no native module', async () => {
    const dir = await tempDir()
    const hook = join(dir, 'natives.mjs')
    writeFileSync(hook, "process.on('exit', () => process.stderr.write('@@natives ' + JSON.stringify(process.report.getReport().sharedObjects.filter((p) => p.endsWith('.node'))) + '\\n'))\n")
    for (const args of [['ui', '--help'], ['boot', '--help']]) {
      const r = await runProcess(process.execPath, ['--import', hook, MAIN, ...args])
      expect(r.stdout).toMatch(/^usage: uvm (ui|boot) /)
      const line = r.stderr.split('\n').find((l) => l.startsWith('@@natives '))
      expect(JSON.parse(line!.slice('@@natives '.length)), args.join(' ')).toEqual([])
    }
  })
})
