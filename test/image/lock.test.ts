import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { HardenedRealm } from '../../src/act/realm.js'
import { Image } from '../../src/image/index.js'
import { tempDir } from '../support/images.js'
import { rejected } from '../support/uvm.js'

const classicLevelUrl = pathToFileURL(createRequire(import.meta.url).resolve('classic-level')).href

/** A child process that opens the LevelDB folder with classic-level itself and holds it until killed. */
async function holdInChild(dir: string, location: string): Promise<ChildProcess> {
  const script = join(dir, 'hold.mjs')
  await writeFile(script, `
    const { ClassicLevel } = await import(${JSON.stringify(classicLevelUrl)})
    const db = new ClassicLevel(process.argv[2])
    await db.open()
    process.stdout.write('ready\\n')
    setInterval(() => {}, 1 << 30)
  `)
  const child = spawn(process.execPath, [script, location], { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr!.on('data', (d) => { err += d })
  await new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d) => { out += d; if (out.includes('ready\n')) resolve() })
    child.on('exit', (code) => reject(new Error(`holder exited early (${code}): ${err}`)))
  })
  return child
}

function killed(child: ChildProcess): Promise<NodeJS.Signals | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.signalCode)
    child.on('exit', (_code, signal) => resolve(signal))
    child.kill('SIGKILL')
  })
}

describe('image lock (classic-level)', () => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('opening an image another process holds fails at once with ImageInUse; after that process is SIGKILLed it opens cleanly', async () => {
    const dir = await tempDir()
    cleanups.push(dir.cleanup)
    const location = join(dir.path, 'image.db')
    const first = await Image.open(location, { realm: new HardenedRealm() })
    await first.transact((tx) => { tx.root.note = 'written before the lock' })
    await first.close()

    const child = await holdInChild(dir.path, location)
    cleanups.push(async () => { await killed(child) })
    const e = await rejected(Image.open(location, { realm: new HardenedRealm() }))
    expect(e.code).toBe('IMAGE_IN_USE')
    expect(e.name).toBe('ImageInUse')
    expect(e.message).toContain(location)
    expect(e.message).toContain('in use')
    expect(e.details.path).toBe(location)

    expect(await killed(child)).toBe('SIGKILL')
    const image = await Image.open(location, { realm: new HardenedRealm() })
    try {
      expect((await image.check()).ok).toBe(true)
      const tx = image.begin()
      expect(tx.root.note).toBe('written before the lock')
      tx.abort()
      await image.transact((tx) => { tx.root.note = 'written after' })
    } finally {
      await image.close()
    }
  })

  it('a second open in the same process while the image is open is refused too', async () => {
    const dir = await tempDir()
    cleanups.push(dir.cleanup)
    const location = join(dir.path, 'image.db')
    const image = await Image.open(location, { realm: new HardenedRealm() })
    try {
      const e = await rejected(Image.open(location, { realm: new HardenedRealm() }))
      expect(e.code).toBe('IMAGE_IN_USE')
    } finally {
      await image.close()
    }
    const again = await Image.open(location, { realm: new HardenedRealm() })
    await again.close()
  })

  it('a folder that is not an image is IMAGE_BAD_FORMAT, not a crash', async () => {
    const dir = await tempDir()
    cleanups.push(dir.cleanup)
    const file = join(dir.path, 'not-a-folder')
    await writeFile(file, 'plain file')
    const e = await rejected(Image.open(file, { realm: new HardenedRealm() }))
    expect(e.code).toBe('IMAGE_BAD_FORMAT')
  })

  it('a LevelDB database of something else is refused, and left as it was', async () => {
    const dir = await tempDir()
    cleanups.push(dir.cleanup)
    const location = join(dir.path, 'other.db')
    const { ClassicLevel } = await import('classic-level')
    const other = new ClassicLevel<string, string>(location)
    await other.put('user:1', 'ada')
    await other.close()
    const e = await rejected(Image.open(location, { realm: new HardenedRealm() }))
    expect(e.code).toBe('IMAGE_BAD_FORMAT')
    expect(e.message).toMatch(/not a UVM image/)
    const reopened = new ClassicLevel<string, string>(location)
    expect(await reopened.keys().all()).toEqual(['user:1'])
    await reopened.close()
  })
})
