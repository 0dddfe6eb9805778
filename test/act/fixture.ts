import { HardenedRealm } from '../../src/act/realm.js'
import { runAct } from '../../src/act/run.js'
import type { ActOptions, ActResult } from '../../src/act/run.js'
import type { Image, Transaction } from '../../src/image/index.js'
import type { Backend } from '../support/images.js'
import { scratchImage } from '../support/images.js'

/** Short limits so that timeout tests stay fast. */
export const LIMITS = { cpuTimeoutMs: 200, wallTimeoutMs: 500 }

/**
 * A real image (scratchImage: memory-level or classic-level, reopenable) with
 * one hardened realm kept across reopens, and helpers to run acts on it.
 */
export async function actImage(backend: Backend = 'memory-level', limits: { cpuTimeoutMs?: number; wallTimeoutMs?: number } = LIMITS) {
  const realm = new HardenedRealm(limits)
  const scratch = await scratchImage(backend, { realm })
  /** A capability: resolves after `ms` on a host timer (the realm has no timers of its own). */
  const sleep = realm.hostFunction('sleep', (_t, [ms]) => new Promise((resolve) => setTimeout(resolve, Number(ms))))
  return {
    realm,
    scratch,
    sleep,
    get image(): Image { return scratch.image },
    act(code: string, opts: ActOptions = {}): Promise<ActResult> {
      return runAct(scratch.image, realm, code, opts)
    },
    /** Read the committed state in a fresh transaction (aborted afterwards). */
    read<T>(f: (tx: Transaction) => T): T {
      const tx = scratch.image.begin()
      try { return f(tx) } finally { tx.abort() }
    },
    /** The tids of every transaction record, newest first. */
    async tids(): Promise<number[]> {
      return (await scratch.image.transactions()).map((t) => t.tid)
    },
    reopen: () => scratch.reopen(),
    dispose: () => scratch.dispose(),
  }
}

export type ActImage = Awaited<ReturnType<typeof actImage>>
