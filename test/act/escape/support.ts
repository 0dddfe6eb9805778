/**
 * The containment tests attack a real daemon: `uvm boot` as a child process (with its execution
 * unit), driven over the bridge. Each attack, if it worked, would leave a mark the test then looks
 * for: the daemon's pid in a slot, a file in a temp folder, a hang, a crash.
 */
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect } from 'vitest'
import { BridgeClient } from '../../../src/bridge/index.js'
import type { Reply } from '../../../src/covenant/index.js'
import { cleanupTemps, ensureBuilt, killChildren, startDaemon, tempDir } from '../../cli/support.js'
import type { Daemon } from '../../cli/support.js'

export interface Target {
  readonly d: Daemon
  readonly dir: string
  readonly client: BridgeClient
  /** Where an attack that reached the host's file system would write (the test checks it stays absent). */
  readonly marker: string
  act(code: string): Promise<Reply>
  /** A read of a genesis slot (undefined when absent). */
  slot(name: string): Promise<unknown>
  /** The daemon still answers, and its pid is not in the image. */
  unharmed(): Promise<void>
  /** Remove the marks a previous attack may have left (so that each test stands alone). */
  reset(): Promise<void>
}

export const CPU_MS = 300
export const GRACE_MS = 1000

export function useTarget(args: string[] = [], cpuMs = CPU_MS): Target {
  let d: Daemon | undefined
  let dir: string | undefined
  let client: BridgeClient | undefined
  beforeAll(async () => {
    ensureBuilt()
    dir = await tempDir('uvm-escape-')
    d = await startDaemon(join(dir, 'image.db'), { args: ['--cpu-timeout', String(cpuMs), '--quiet', ...args] })
    client = BridgeClient.connect(d.bind, { timeoutMs: 30_000 })
  }, 30_000)
  afterAll(async () => {
    await client?.close()
    if (d?.running) expect((await d.stop()).code).toBe(0)
    await killChildren()
    await cleanupTemps()
  })
  const t: Target = {
    get d() { return d! },
    get dir() { return dir! },
    get client() { return client! },
    get marker() { return join(dir!, 'pwned') },
    act: (code) => client!.request({ command: 'run_act', code }),
    async slot(name) {
      const r = await client!.request({ command: 'get_full_state', depth: 1 })
      if (r.event !== 'uvm_state_update') throw new Error(JSON.stringify(r))
      return ((r.state as { $slots: Record<string, unknown> }).$slots)[name]
    },
    async reset() {
      rmSync(t.marker, { force: true })
      await client!.request({ command: 'run_act', code: 'if (genesis.hasSlot("pwned")) genesis.removeSlot("pwned")' })
    },
    async unharmed() {
      const pong = await client!.request({ command: 'ping' })
      expect(pong.event).toBe('pong')
      expect(await t.slot('pwned')).toBeUndefined()
      expect(existsSync(t.marker)).toBe(false)
    },
  }
  return t
}

/**
 * Act source that, given any function `f` the host handed over, tries to climb to the host:
 * `f.constructor` is the host's Function if `f` is a host function. Success writes the daemon's pid
 * into genesis.pwned and a file at `marker`.
 */
export function climb(marker: string): string {
  return `const climb = (f) => {
    try {
      const F = f && f.constructor
      const p = F('return process')()
      genesis.pwned = p.pid
      p.getBuiltinModule('fs').writeFileSync(${JSON.stringify(marker)}, 'pwned')
    } catch (e) {}
  }
`
}

export function errorOf(r: Reply): { code: string; uvm_code?: string; message: string } {
  if (r.event !== 'error') throw new Error(`expected an error reply, got ${JSON.stringify(r).slice(0, 300)}`)
  return r.error as { code: string; uvm_code?: string; message: string }
}

export function valueOf(r: Reply): unknown {
  if (r.event !== 'result') throw new Error(`expected a result, got ${JSON.stringify(r).slice(0, 300)}`)
  return r.value
}
