import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryLevel } from 'memory-level'
import { HardenedRealm } from '../../src/act/realm.js'
import { Image } from '../../src/image/index.js'
import type { Transaction } from '../../src/image/index.js'
import { afterEach, beforeEach } from 'vitest'
import type { ImageOptions, LevelDb } from '../../src/image/index.js'

export type Backend = 'memory-level' | 'classic-level'
export const BACKENDS: Backend[] = ['memory-level', 'classic-level']

export function memoryDb(): LevelDb {
  return new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' }) as unknown as LevelDb
}

export async function tempDir(prefix = 'uvm-test-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix))
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) }
}

/**
 * An image on a real backend that can be closed and reopened (same memory-level
 * instance, or the same temp folder), for persistence round trips.
 */
export async function scratchImage(backend: Backend = 'memory-level', opts: Partial<ImageOptions> = {}) {
  let location: string | LevelDb
  let cleanup = async () => {}
  if (backend === 'memory-level') location = memoryDb()
  else {
    const dir = await tempDir()
    location = join(dir.path, 'image.db')
    cleanup = dir.cleanup
  }
  const open = () => Image.open(location, { realm: new HardenedRealm(), durable: backend === 'classic-level', ...opts })
  let image = await open()
  return {
    location,
    get image() { return image },
    async reopen() { await image.close(); image = await open(); return image },
    async dispose() { await image.close(); await cleanup() },
  }
}

export type ScratchImage = Awaited<ReturnType<typeof scratchImage>>

/**
 * A fresh scratch image and an open transaction for every test of the calling
 * suite; `bind` receives them before each test. The transaction is aborted and
 * the image disposed after each test.
 */
export function eachScratchTx(bind: (s: ScratchImage, tx: Transaction) => void, backend: Backend = 'memory-level'): void {
  let s: ScratchImage | undefined
  let tx: Transaction | undefined
  beforeEach(async () => {
    s = await scratchImage(backend)
    tx = s.image.begin()
    bind(s, tx)
  })
  afterEach(async () => {
    tx?.abort()
    await s?.dispose()
  })
}
