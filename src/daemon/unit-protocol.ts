/**
 * The messages between the daemon and its execution unit (unit.ts, unit-main.ts), over the child
 * process's IPC channel with node's 'advanced' serialization (structured clone: Uint8Arrays,
 * bigints and nested maps cross as they are). Internal: never on the wire, versioned with the code.
 */
import type { Command, Reply } from '../covenant/index.js'

export interface UnitOpenOptions {
  image: string
  cacheSize?: number | undefined
  cpuTimeoutMs?: number | undefined
  wallTimeoutMs?: number | undefined
  actMemoryMb: number
  graceMs: number
  version: string
}

export type ToUnit =
  | { t: 'open'; options: UnitOpenOptions }
  | { t: 'req'; n: number; cmd: Command; lane: string; readOnly: boolean; writeAccess?: string | undefined }
  | { t: 'close-lane'; lane: string }
  | { t: 'stop' }

export type FromUnit =
  | { t: 'ready'; lastTid: number }
  | { t: 'open-failed'; message: string; code?: string | undefined }
  /** The reply to request n (errors included: the unit turns them into error replies itself). */
  | { t: 'res'; n: number; reply: Reply }
  /** Request n's transaction is in the commit queue: its client's next write may begin. */
  | { t: 'queued'; n: number }
  | { t: 'commit'; tid: number; changed: number[] }
  | { t: 'log'; level: 'warn' | 'info'; msg: string }
