// `uvm undo` as the black-box tester met it (issue 17): the hint names the shortest way, and
// transaction 1 (which made the image) is refused, offline and through a daemon, not "undone as
// transaction undefined".
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTemps, ensureBuilt, killChildren, runCli, startDaemon, tempDir } from './support.js'

beforeAll(() => ensureBuilt())
afterEach(() => killChildren())
afterAll(() => cleanupTemps())

const REFUSED_1 = 'uvm undo: cannot undo transaction 1: transaction 1 made the image (its root objects): there is nothing before it to put back\n'

describe('uvm undo', () => {
  it('refuses transaction 1 offline, writing nothing', async () => {
    const image = join(await tempDir(), 'image.db')
    expect((await runCli(['genesis', '--chapters', '1', '--image', image])).code).toBe(0)
    const before = (await runCli(['history', '--json', '--image', image])).stdout
    const r = await runCli(['undo', '1', '--image', image])
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: REFUSED_1 })
    expect((await runCli(['history', '--json', '--image', image])).stdout).toBe(before)
  }, 30_000)

  it('through a daemon: refuses transaction 1, and the hint after an undo names the one transaction to undo', async () => {
    const image = join(await tempDir(), 'image.db')
    const d = await startDaemon(image)
    const r = await runCli(['undo', '1', '--connect', d.bind])
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: REFUSED_1 })
    const lastTid = async () => Math.max(...(JSON.parse((await runCli(['history', '--json', '--connect', d.bind])).stdout) as { tid: number }[]).map((t) => t.tid))
    const tids: number[] = []
    for (const slot of ['P', 'Q', 'R']) {
      expect((await runCli(['act', `root.${slot} = 1`, '--connect', d.bind])).code).toBe(0)
      tids.push(await lastTid())
    }
    const [p, q, rr] = tids as [number, number, number]
    expect((await runCli(['undo', String(rr), '--connect', d.bind])).code).toBe(0)
    const refused = await runCli(['undo', String(p), '--connect', d.bind])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(new RegExp(`; undo transaction ${q} first\\n$`))
    expect((await runCli(['undo', String(q), '--connect', d.bind])).code).toBe(0)
    expect((await runCli(['undo', String(p), '--connect', d.bind])).code).toBe(0)
    await d.stop()
  }, 60_000)
})
