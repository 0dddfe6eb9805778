// The daemon and the image folder: a folder that is no image is refused before LevelDB writes into
// it, a boot that cannot serve creates nothing, an idle daemon costs no CPU, image commands go through
// the daemon that holds the image, and the daemon's terminal manners.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTemps, ensureBuilt, freeAddresses, jsonLines, killChildren, lines, plain, runCli, spawnPty, startDaemon, tempDir } from './support.js'

beforeAll(() => ensureBuilt())
afterEach(() => killChildren())
afterAll(() => cleanupTemps())

interface TxRecord { tid: number; description: string; oids: number[] }

/** A folder holding one file of the user's, as `./notes` in the issue. */
async function notesFolder(): Promise<string> {
  const notes = join(await tempDir(), 'notes')
  mkdirSync(notes)
  writeFileSync(join(notes, 'notes.txt'), 'my notes\n')
  return notes
}

/** CPU time (user + system) of a process so far, in seconds, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100 // utime, stime in clock ticks (USER_HZ is 100 on Linux)
}

function childrenOf(pid: number): number[] {
  const out: number[] = []
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(p))
    } catch { /* gone */ }
  }
  return out
}

describe('a folder that is not an image', () => {
  it('boot refuses it, and LevelDB never writes into it', async () => {
    const notes = await notesFolder()
    const { bind, pub } = await freeAddresses()
    const r = await runCli(['boot', '--image', notes, '--bind', bind, '--pub', pub])
    expect(r.code).toBe(1)
    expect(lines(r.stderr)).toHaveLength(1)
    expect(r.stderr).toMatch(/uvm boot: .*notes is a folder that holds other files \(notes\.txt\) and no image/)
    expect(readdirSync(notes)).toEqual(['notes.txt'])
  })

  it('every command that opens or creates an image refuses it the same way', async () => {
    const notes = await notesFolder()
    const exp = join(await tempDir(), 'export')
    // An export to import, from a real image.
    const img = join(await tempDir(), 'image.db')
    expect((await runCli(['genesis', '--image', img, '--chapters', '1'])).code).toBe(0)
    expect((await runCli(['export', exp, '--image', img])).code).toBe(0)
    for (const args of [['history'], ['undo', '1'], ['check'], ['pack'], ['export', join(exp, '..', 'out')], ['import', exp], ['genesis', '--chapters', '1']]) {
      const r = await runCli([...args, '--image', notes])
      expect(r.code, args.join(' ')).not.toBe(0)
      expect(r.stderr, args.join(' ')).toContain('is a folder that holds other files (notes.txt) and no image')
      expect(readdirSync(notes), args.join(' ')).toEqual(['notes.txt'])
    }
  })
})

describe('a boot that cannot serve', () => {
  it('creates nothing, and leaves an existing image as it was', async () => {
    const dir = await tempDir()
    const holder = await startDaemon(join(dir, 'other.db'))
    const taken = ['--bind', holder.bind, '--pub', holder.pub]
    // A missing folder stays missing, an empty one empty.
    const missing = join(dir, 'new.db')
    const r = await runCli(['boot', '--image', missing, ...taken])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('Address already in use')
    expect(existsSync(missing)).toBe(false)
    const empty = join(dir, 'empty.db')
    mkdirSync(empty)
    expect((await runCli(['boot', '--image', empty, ...taken])).code).toBe(1)
    expect(readdirSync(empty)).toEqual([])
    // An existing image: its history is what it was, and no daemon file is left in it.
    const existing = join(dir, 'image.db')
    const d = await startDaemon(existing)
    expect((await runCli(['set', 'x', '1', '--connect', d.bind])).code).toBe(0)
    expect((await d.stop()).code).toBe(0)
    const before = (await runCli(['history', '--json', '--image', existing])).stdout
    expect((await runCli(['boot', '--image', existing, ...taken])).code).toBe(1)
    expect((await runCli(['history', '--json', '--image', existing])).stdout).toBe(before)
    expect(readdirSync(existing)).not.toContain('uvm-daemon.json')
    await holder.stop()
  })
})

describe('an idle daemon', () => {
  it('uses (almost) no CPU: nothing ticks while no act runs', async () => {
    const d = await startDaemon(join(await tempDir(), 'image.db'))
    // One act first, so the realm, its clock and the watchdog have all run once.
    expect((await runCli(['act', 'let s = 0; for (let i = 0; i < 1e5; i++) s += i; return s', '--connect', d.bind])).stdout).toContain('4999950000')
    await new Promise((r) => setTimeout(r, 1500)) // the clock sleeps a second after its last use
    const pids = [d.child.pid!, ...childrenOf(d.child.pid!)]
    expect(pids.length).toBe(2) // the daemon and its execution unit
    const before = pids.map(cpuSeconds)
    await new Promise((r) => setTimeout(r, 5000))
    const used = pids.map((p, i) => cpuSeconds(p) - before[i]!)
    // Before: 0.11 s per 5 s (a clock thread ticking every 2 ms, a watchdog every 25 ms, a 200 ms receive poll).
    expect(used[0]! + used[1]!, `daemon ${used[0]} s, unit ${used[1]} s`).toBeLessThan(0.05)
    // And the CPU limit still holds after the clock slept.
    const loop = await runCli(['act', 'while (true) {}', '--connect', d.bind])
    expect(loop.stderr).toContain('CPU limit')
    await d.stop()
  }, 30_000)
})

describe('image commands while a daemon holds the image', () => {
  it('history, undo, check, export and pack go through the daemon found in the image folder', async () => {
    const dir = await tempDir()
    const image = join(dir, 'image.db')
    const d = await startDaemon(image)
    const file = JSON.parse(readFileSync(join(image, 'uvm-daemon.json'), 'utf8'))
    expect(file).toMatchObject({ pid: d.child.pid, commands: d.bind, events: d.pub, secure: false })
    expect((await runCli(['set', 'label', '"A"', '--connect', d.bind])).code).toBe(0)
    expect((await runCli(['set', 'label', '"B"', '--connect', d.bind])).code).toBe(0)
    const h = await runCli(['history', '--json', '--image', image])
    expect(h.code, h.stderr).toBe(0)
    const txs = JSON.parse(h.stdout) as TxRecord[]
    const lastSet = txs.find((t) => t.description === 'update_property label')!
    const u = await runCli(['undo', String(lastSet.tid), '--image', image])
    expect(u.stderr).toBe('')
    expect(u.stdout).toMatch(new RegExp(`^undid transaction ${lastSet.tid} as transaction \\d+ \\(1 object restored\\)\\n$`))
    expect((await runCli(['state', '--connect', d.bind])).stdout).toContain('"A"')
    const c = await runCli(['check', '--image', image])
    expect(c.code, c.stderr).toBe(0)
    expect(c.stdout).toMatch(/^ok: \d+ objects \(\d+ reachable, 0 unreachable\), [1-9]\d* old revisions/)
    const out = join(dir, 'export')
    const e = await runCli(['export', out, '--image', image])
    expect(e.code, e.stderr).toBe(0)
    expect(e.stdout).toMatch(/^exported \d+ objects to /)
    expect(readdirSync(out).sort()).toEqual(['image.json', 'objects'])
    expect(readFileSync(join(out, 'objects', '000002.uvm'), 'utf8')).toContain('slot "label" "A"')
    const p = await runCli(['pack', '--image', image])
    expect(p.code, p.stderr).toBe(0)
    expect(p.stdout).toMatch(/^packed before tid \d+: removed [1-9]\d* old revisions and 0 unreachable objects/)
    expect((await runCli(['check', '--image', image, '--json'])).stdout).toContain('"revisions": 0')
    // The same with --connect; --image and --connect together are a usage error.
    expect((await runCli(['history', '--limit', '1', '--connect', d.bind])).stdout).toMatch(/^\s+\d+ .* undo \d+/)
    const both = await runCli(['history', '--image', image, '--connect', d.bind])
    expect(both.code).toBe(2)
    expect(both.stderr).toContain('not both')
    expect((await d.stop()).code).toBe(0)
    // Stopped: the file is gone and the commands open the image themselves.
    expect(existsSync(join(image, 'uvm-daemon.json'))).toBe(false)
    expect((await runCli(['check', '--image', image])).code).toBe(0)
  }, 60_000)

  it('pack runs live beside a stream of commits; every acknowledged commit is there afterwards', async () => {
    const image = join(await tempDir(), 'image.db')
    const d = await startDaemon(image)
    // Garbage for pack to sweep, and old revisions.
    for (let i = 0; i < 3; i++) expect((await runCli(['act', `genesis.junk = []; for (let i = 0; i < 200; i++) genesis.junk.push(new UvmObject()); genesis.n = ${i}`, '--connect', d.bind])).code).toBe(0)
    let stop = false
    const acked: number[] = []
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        const r = await runCli(['act', `genesis['k${i}'] = new UvmObject(); genesis['k${i}'].v = ${i}; return ${i}`, '--connect', d.bind])
        if (r.code === 0) acked.push(i)
      }
    })()
    const packs: string[] = []
    for (let i = 0; i < 3; i++) {
      const p = await runCli(['pack', '--image', image])
      expect(p.code, p.stderr).toBe(0)
      packs.push(p.stdout)
    }
    stop = true
    await writer
    expect(packs.join('')).toMatch(/removed [1-9]\d* old revisions and [1-9]\d* unreachable objects/)
    expect(acked.length).toBeGreaterThan(0)
    const check = await runCli(['check', '--image', image])
    expect(check.stdout).toMatch(/^ok: .*\ndangling references: 0; undecodable records: 0/)
    const last = acked.at(-1)!
    const v = await runCli(['act', `return [${acked.map((i) => `genesis.k${i}.v`).join(', ')}].length`, '--connect', d.bind])
    expect(v.stdout.trim()).toBe(String(acked.length))
    expect(last).toBeGreaterThanOrEqual(0)
    await d.stop()
  }, 90_000)

  it('a read-only daemon serves history and check, and refuses undo and pack', async () => {
    const image = join(await tempDir(), 'image.db')
    const w = await startDaemon(image)
    expect((await runCli(['set', 'x', '1', '--connect', w.bind])).code).toBe(0)
    await w.stop()
    const d = await startDaemon(image, { args: ['--read-only'] })
    expect((await runCli(['history', '--image', image])).stdout).toContain('update_property x')
    expect((await runCli(['check', '--image', image])).code).toBe(0)
    for (const args of [['undo', '2'], ['pack']]) {
      const r = await runCli([...args, '--image', image])
      expect(r.code, args.join(' ')).toBe(1)
      expect(r.stderr, args.join(' ')).toMatch(new RegExp(`^uvm ${args[0]}: ${args[0]} refused: .*serves the image read-only, so nothing was written`))
    }
    await d.stop()
  }, 60_000)

  it('a daemon file left by a SIGKILLed daemon does not stop the commands', async () => {
    const image = join(await tempDir(), 'image.db')
    const d = await startDaemon(image)
    const unit = childrenOf(d.child.pid!)[0]!
    await d.stop('SIGKILL')
    // The unit sees its parent go and closes the image.
    for (let i = 0; i < 100 && existsSync(`/proc/${unit}`); i++) await new Promise((r) => setTimeout(r, 50))
    expect(existsSync(join(image, 'uvm-daemon.json'))).toBe(true)
    const h = await runCli(['history', '--image', image])
    expect(h.code, h.stderr).toBe(0)
    expect(h.stdout).toContain('genesis')
  }, 30_000)

  it('a CURVE daemon is reached with --keys, and without them the command says so', async () => {
    const dir = await tempDir()
    const keys = join(dir, 'keys')
    expect((await runCli(['keys', '--dir', keys])).code).toBe(0)
    const image = join(dir, 'image.db')
    const d = await startDaemon(image, { args: ['--keys', keys] })
    const no = await runCli(['history', '--image', image])
    expect(no.code).toBe(2)
    expect(lines(no.stderr)).toEqual([`uvm history: ${image} is served by the daemon with pid ${d.child.pid} at ${d.bind}, which requires CURVE: give --keys DIR (or UVM_KEYS) with a client key`])
    const ok = await runCli(['history', '--image', image, '--keys', keys])
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stdout).toContain('genesis')
    await d.stop()
  }, 30_000)

  it('a daemon file whose pid now belongs to a later process is stale too', async () => {
    const image = join(await tempDir(), 'image.db')
    expect((await runCli(['genesis', '--chapters', '1', '--image', image])).code).toBe(0)
    const other = spawn('sleep', ['30'])
    try {
      writeFileSync(join(image, 'uvm-daemon.json'), JSON.stringify({ pid: other.pid, version: '0.1.0', commands: 'tcp://127.0.0.1:1', events: 'tcp://127.0.0.1:2', secure: false, started: new Date(Date.now() - 3600_000).toISOString() }))
      const h = await runCli(['history', '--limit', '1', '--image', image])
      expect(h.code, h.stderr).toBe(0)
      // And a boot is not refused for it.
      const d = await startDaemon(image)
      expect(JSON.parse(readFileSync(join(image, 'uvm-daemon.json'), 'utf8')).pid).toBe(d.child.pid)
      // A second boot while it runs is refused, naming it.
      const { bind, pub } = await freeAddresses()
      const second = await runCli(['boot', '--image', image, '--bind', bind, '--pub', pub])
      expect(second.code).toBe(1)
      expect(lines(second.stderr)).toEqual([`uvm boot: ${image} is in use by another process: the daemon with pid ${d.child.pid} (commands ${d.bind}) serves it: stop it first, or boot on another --image`])
      await d.stop()
    } finally {
      other.kill('SIGKILL')
    }
  }, 30_000)

  it('genesis and import, which do not go through a daemon, say which daemon holds the image', async () => {
    const image = join(await tempDir(), 'image.db')
    const d = await startDaemon(image)
    const r = await runCli(['genesis', '--chapters', '1', '--image', image])
    expect(r.code).toBe(1)
    expect(lines(r.stderr)).toEqual([`uvm genesis: ${image} is in use by the daemon with pid ${d.child.pid} (commands ${d.bind}): stop it first (uvm genesis works on an image no daemon holds)`])
    await d.stop()
  }, 30_000)
})

describe('the daemon in a terminal and in a pipe', () => {
  it('logs JSON when piped, human lines with --log-format human, and refuses a bad format', async () => {
    const json = await startDaemon(join(await tempDir(), 'image.db'))
    await runCli(['ping', '--connect', json.bind])
    await json.waitFor('"command":"ping"')
    expect(jsonLines(json.stdout).find((l) => l.command === 'ping')).toMatchObject({ level: 'info', msg: 'request', event: 'pong' })
    await json.stop()
    const human = await startDaemon(join(await tempDir(), 'image.db'), { args: ['--log-format', 'human'] })
    await runCli(['ping', '--connect', human.bind])
    await human.waitFor(/ping\s+→ pong/)
    expect(human.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3}  ping\s+→ pong\s+[\d.]+ ms, client [0-9a-f]+$/m)
    expect(jsonLines(human.stdout)).toEqual([])
    await human.stop()
    const bad = await runCli(['boot', '--log-format', 'xml'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toBe('uvm boot: --log-format takes human, json or auto, got "xml"\n')
  }, 60_000)

  it('on a terminal, the log is human by default', async () => {
    const { bind, pub } = await freeAddresses()
    const t = spawnPty(['boot', '--image', join(await tempDir(), 'image.db'), '--bind', bind, '--pub', pub])
    await t.waitFor(/ready: /, 20_000)
    await runCli(['ping', '--connect', bind])
    await t.waitFor(/ping\s+→ pong/)
    expect(plain(t.stdout)).not.toContain('"msg":"request"')
    await t.stop('SIGKILL')
  }, 30_000)

  it('a shutdown that waits says what for; a second Ctrl-C aborts', async () => {
    const d = await startDaemon(join(await tempDir(), 'image.db'), { args: ['--cpu-timeout', '60000'] })
    const act = runCli(['act', 'while (true) {}', '--connect', d.bind], { timeoutMs: 40_000 })
    await d.waitFor('"command":"ping"') // the act's client pings first; the act is in flight right after
    await new Promise((r) => setTimeout(r, 500))
    d.child.kill('SIGINT')
    await d.waitFor('Ctrl-C again to abort')
    expect(d.stderr).toMatch(/uvm: waiting for 1 act, \d+ s left; Ctrl-C again to abort/)
    d.child.kill('SIGINT')
    const { code } = await d.exited
    expect(code).toBe(130)
    expect(d.stderr).toContain('uvm: aborted: 1 act cut short')
    const r = await act
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('the daemon was stopped without waiting for this request')
  }, 60_000)
})
