// `uvm show TID` and the REPL's `.show TID` while a daemon holds the image: through the daemon, the
// same text as on the stopped image, values JSON cannot carry (bigints, bytes) intact.
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { cleanupTemps, ensureBuilt, killChildren, runCli, startDaemon, tempDir } from './support.js'

beforeAll(() => ensureBuilt())
afterEach(() => killChildren())
afterAll(() => cleanupTemps())

it('show goes through the daemon that holds the image, and says the same as on the stopped image', async () => {
  const image = join(await tempDir(), 'image.db')
  const d = await startDaemon(image)
  const made = await runCli(['act', 'genesis.big = 2n ** 70n; genesis.note = "hi"; genesis.area = function () { return 1 }', '--connect', d.bind])
  expect(made.code, made.stderr).toBe(0)
  const tid = (JSON.parse((await runCli(['history', '--image', image, '--limit', '1', '--json'])).stdout) as { tid: number }[])[0]!.tid
  expect(tid).toBeGreaterThan(1)

  const found = await runCli(['show', String(tid), '--image', image])
  const viaConnect = await runCli(['show', String(tid), '--connect', d.bind])
  const json = await runCli(['show', String(tid), '--image', image, '--json'])
  const repl = await runCli(['repl', '--connect', d.bind], { input: `.show ${tid}\n.show 9999\n.show x\n.exit\n` })
  const missing = await runCli(['show', '9999', '--image', image])
  expect(found.code, found.stderr).toBe(0)
  expect(found.stdout).toMatch(new RegExp(`^transaction ${tid} `))
  expect(found.stdout).toMatch(/^\+ big +1180591620717411303424n$/m)
  expect(found.stdout).toMatch(/^\+ note +"hi"$/m)
  expect(found.stdout).toMatch(/^\+ area +.*function \(\) \{ return 1 \}/m)
  expect(viaConnect.stdout).toBe(found.stdout)
  expect(JSON.parse(json.stdout).objects[0].after.big).toEqual({ $bigint: '1180591620717411303424' })
  expect(repl.stdout).toContain(found.stdout.trim())
  expect(repl.stdout).toContain('! no transaction 9999 (see .history)')
  expect(repl.stdout).toContain('! usage: .show TID (see .history)')
  expect(missing.code).toBe(1)
  expect(missing.stderr).toMatch(/no transaction 9999/)

  expect((await d.stop()).code).toBe(0)
  const offline = await runCli(['show', String(tid), '--image', image])
  expect(offline.stdout).toBe(found.stdout)
}, 90_000)
