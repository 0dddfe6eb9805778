// A folder's uvm-daemon.json that names no daemon of this folder (a copied folder, a SIGKILLed daemon
// whose pid a long-running process holds): image commands neither go to another image's daemon nor
// wait out their timeout where nothing listens (issue 17).
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTemps, ensureBuilt, freeAddresses, killChildren, runCli, startDaemon, tempDir } from './support.js'

beforeAll(() => ensureBuilt())
afterEach(() => killChildren())
afterAll(() => cleanupTemps())

/** A daemon file in `image` as a live process left it: pid 1 runs, and began before `started`. */
function staleFile(image: string, commands: string, events: string): void {
  writeFileSync(join(image, 'uvm-daemon.json'), JSON.stringify({ pid: 1, version: '0.1.0', commands, events, secure: false, started: new Date().toISOString() }))
}

describe('a stale daemon file', () => {
  it("naming another image's daemon: the command runs on this folder, not that daemon's image, and says so", async () => {
    const other = join(await tempDir(), 'other.db')
    const d = await startDaemon(other)
    const mine = join(await tempDir(), 'mine.db')
    expect((await runCli(['genesis', '--chapters', '1', '--image', mine])).code).toBe(0)
    const file = JSON.parse(readFileSync(join(other, 'uvm-daemon.json'), 'utf8')) as { commands: string; events: string }
    staleFile(mine, file.commands, file.events)
    const ours = await runCli(['history', '--json', '--image', mine])
    expect(ours.code, ours.stderr).toBe(0)
    const theirs = await runCli(['history', '--json', '--image', other])
    expect(theirs.code, theirs.stderr).toBe(0)
    expect(ours.stdout).not.toBe(theirs.stdout)
    expect(ours.stderr).toContain(`ignoring the stale ${join(mine, 'uvm-daemon.json')} (the daemon at ${d.bind} serves`)
    // undo goes to this folder too: the other daemon's image is left as it was.
    const before = theirs.stdout
    const last = (JSON.parse(ours.stdout) as { tid: number }[]).map((t) => t.tid).sort((x, y) => y - x)[0]!
    const u = await runCli(['undo', String(last), '--image', mine])
    expect(u.code, u.stderr).toBe(0)
    expect(u.stderr).toContain('ignoring the stale')
    expect(u.stdout).toMatch(new RegExp(`^undid transaction ${last} as transaction ${last + 1}`))
    expect((await runCli(['history', '--json', '--image', other])).stdout).toBe(before)
    // The daemon's own folder still goes through it, as before.
    expect((await runCli(['history', '--image', other])).stderr).toBe('')
    await d.stop()
  }, 60_000)

  it('naming an address where nothing listens: history, show and check open the image here at once', async () => {
    const image = join(await tempDir(), 'image.db')
    expect((await runCli(['genesis', '--chapters', '1', '--image', image])).code).toBe(0)
    const { bind, pub } = await freeAddresses()
    staleFile(image, bind, pub)
    for (const args of [['history'], ['show', '1'], ['check']]) {
      const t0 = Date.now()
      const r = await runCli([...args, '--image', image])
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0)
      // Before, history and show waited 10 s for a reply, check 600 s.
      expect(Date.now() - t0, args.join(' ')).toBeLessThan(8_000)
      expect(r.stderr, args.join(' ')).toContain(`ignoring the stale ${join(image, 'uvm-daemon.json')} (nothing listens at ${bind}`)
    }
  }, 60_000)
})
