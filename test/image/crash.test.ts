import { spawn, spawnSync } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HardenedRealm } from '../../src/act/realm.js'
import { Image } from '../../src/image/index.js'
import { tempDir } from '../support/images.js'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
/**
 * The project built with its own tsconfig, as `npm run build` builds dist/, but
 * into a folder of this test's own: rewriting dist/ while another test file runs
 * code from it could hand that code half-written files. It sits under
 * node_modules/ so the built files resolve the project's dependencies.
 */
const dist = join(repo, 'node_modules/.cache/uvm-crash-test/dist')

/**
 * The writer: opens the image through the BUILT code, then commits in
 * a loop, two objects per transaction, printing "tid counter" once each commit
 * is acknowledged (durable). The test kills it with SIGKILL at a random moment.
 */
const writerSource = `
const [,, location, imageUrl, realmUrl] = process.argv
const { Image } = await import(imageUrl)
const { HardenedRealm } = await import(realmUrl)
const image = await Image.open(location, { realm: new HardenedRealm() })
let n
{
  const tx = image.begin()
  n = tx.root.counter
  tx.abort()
}
for (;;) {
  n++
  const { info } = await image.transact((tx) => {
    tx.root.counter = n
    tx.root.twin.counter = n
    tx.root.twin.payload = 'p'.repeat(1 + (n % 997))
  }, { retries: 0, meta: { description: 'tick ' + n, ext: { counter: n } } })
  process.stdout.write(info.tid + ' ' + n + '\\n')
}
`

interface Ack { tid: number; counter: number }

/** Run the writer until it has acknowledged at least `minAcks` commits plus a random few, then SIGKILL it at a random moment. */
function runAndKill(script: string, location: string, minAcks: number): Promise<Ack[]> {
  const imageUrl = pathToFileURL(join(dist, 'image/index.js')).href
  const realmUrl = pathToFileURL(join(dist, 'act/realm.js')).href
  const child = spawn(process.execPath, [script, location, imageUrl, realmUrl], { stdio: ['ignore', 'pipe', 'pipe'] })
  const target = minAcks + Math.floor(Math.random() * 30)
  const acks: Ack[] = []
  let buffered = ''
  let stderr = ''
  let killTimer: NodeJS.Timeout | undefined
  return new Promise((resolvePromise, reject) => {
    child.stderr!.on('data', (d) => { stderr += d })
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop()! // a partial line is not an acknowledgement yet
      for (const line of lines) {
        const [tid, counter] = line.split(' ').map(Number)
        acks.push({ tid: tid!, counter: counter! })
      }
      if (acks.length >= target && killTimer === undefined) {
        killTimer = setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 15))
      }
    })
    // 'close', not 'exit': every acknowledgement the writer printed has been read by then.
    child.on('close', (code, signal) => {
      clearTimeout(killTimer)
      if (signal !== 'SIGKILL') reject(new Error(`writer exited by itself (code ${code}, signal ${signal}): ${stderr}`))
      else resolvePromise(acks)
    })
  })
}

describe('crash safety: SIGKILL during commits (the built code in a child process)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>

  beforeAll(() => {
    // Type errors elsewhere in the project still emit, so only the outputs this test runs are checked.
    rmSync(dist, { recursive: true, force: true })
    const tsc = join(repo, 'node_modules/typescript/bin/tsc')
    const r = spawnSync(process.execPath, [tsc, '-p', repo, '--outDir', dist], { cwd: repo, encoding: 'utf8' })
    if (!existsSync(join(dist, 'image/index.js')) || !existsSync(join(dist, 'act/realm.js'))) {
      throw new Error(`build did not produce dist/: ${r.stdout}${r.stderr}`)
    }
  })
  beforeAll(async () => { dir = await tempDir('uvm-crash-') })
  afterAll(async () => { await dir?.cleanup() })

  it('every acknowledged commit survives, and no transaction is half-written', async () => {
    const location = join(dir.path, 'image.db')
    const script = join(dir.path, 'writer.mjs')
    await writeFile(script, writerSource)
    const setup = await Image.open(location, { realm: new HardenedRealm() })
    await setup.transact((tx) => {
      tx.root.counter = 0
      const twin = tx.root.clone()
      twin.counter = 0
      tx.root.twin = twin
    })
    await setup.close()

    const acked: Ack[] = []
    for (let round = 0; round < 3; round++) {
      const acks = await runAndKill(script, location, 20)
      expect(acks.length).toBeGreaterThanOrEqual(20)
      acked.push(...acks)

      const image = await Image.open(location, { realm: new HardenedRealm() })
      try {
        const report = await image.check()
        expect(report.ok).toBe(true)
        expect(report.unreachable).toBe(0)

        const records = await image.transactions()
        const byTid = new Map(records.map((r) => [r.tid, r]))
        for (const a of acked) {
          expect(byTid.get(a.tid)?.ext).toEqual({ counter: a.counter })
        }
        // The newest record is the last transaction that landed (acknowledged or not), and it landed whole.
        const newest = records[0]!
        expect(image.lastTid).toBe(newest.tid)
        const tx = image.begin()
        const counter = tx.root.counter as number
        expect(counter).toBe((newest.ext as { counter: number }).counter)
        expect(counter).toBeGreaterThanOrEqual(acked[acked.length - 1]!.counter)
        expect(counter).toBeLessThanOrEqual(acked[acked.length - 1]!.counter + 1) // at most the one in flight
        expect(tx.root.twin.counter).toBe(counter)
        expect(tx.root.twin.payload).toBe('p'.repeat(1 + (counter % 997)))
        tx.abort()
        // tids are dense: one record per tick since the setup transaction.
        const ticks = records.filter((r) => r.description.startsWith('tick '))
        expect(ticks).toHaveLength(counter)
      } finally {
        await image.close()
      }
    }
  })
})
