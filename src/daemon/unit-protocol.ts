/**
 * The messages between the daemon and its execution unit (unit.ts, unit-main.ts), over the child
 * process's IPC channel with node's 'advanced' serialization (structured clone: Uint8Arrays,
 * bigints and nested maps cross as they are). Internal: never on the wire, versioned with the code.
 */
import type { Command } from '../covenant/index.js'
import type { WireFormat } from '../bridge/index.js'
import type { JitEvent } from '../covenant/index.js'
import type { ServiceOptions } from './services.js'
import type { CapabilityConfig } from './capabilities.js'

export interface UnitOpenOptions {
  image: string
  cacheSize?: number | undefined
  cpuTimeoutMs?: number | undefined
  wallTimeoutMs?: number | undefined
  actMemoryMb: number
  graceMs: number
  /** Resident memory past which the unit's watchdog ends it (MiB). */
  rssLimitMb: number
  version: string
  /** Largest reply (bigger: too_large), and reply bytes the unit may have waiting for the daemon to send. */
  maxReplyBytes: number
  maxQueuedBytes: number
  /** The daemon serves the image read-only: nothing is written at open (the CEM weights). */
  readOnly?: boolean | undefined
  /** The JIT (no url: the curriculum JIT). */
  jit?: ServiceOptions['jit']
  curriculumDir?: string | null | undefined
  capabilities?: CapabilityConfig | undefined
  /** Replay the curriculum's missing conversations before serving (uvm boot --genesis). */
  genesis?: { from?: number; to?: number } | undefined
}

export type ToUnit =
  | { t: 'open'; options: UnitOpenOptions }
  | { t: 'req'; n: number; cmd: Command; lane: string; readOnly: boolean; writeAccess?: string | undefined; format: WireFormat }
  /** ZeroMQ took a reply of `size` bytes: it no longer counts against the unit's budget. */
  | { t: 'sent'; size: number }
  | { t: 'close-lane'; lane: string }
  | { t: 'stop' }

export type FromUnit =
  | { t: 'ready'; lastTid: number }
  | { t: 'open-failed'; message: string; code?: string | undefined }
  /**
   * The reply to request n, encoded in its format and within the limits (errors included: the unit
   * turns them into error replies itself), with what the request log needs.
   */
  | { t: 'res'; n: number; bytes: Uint8Array; event: string; code?: string | undefined; tid?: number | undefined }
  /** Request n's transaction is in the commit queue: its client's next write may begin. */
  | { t: 'queued'; n: number }
  | { t: 'commit'; tid: number; changed: number[] }
  | { t: 'log'; level: 'warn' | 'info'; msg: string }
  /** A JIT cycle's progress, for the PUB socket. */
  | { t: 'jit'; event: JitEvent }
