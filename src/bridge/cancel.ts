/**
 * Which running act a `cancel` may stop, and its reply. A request id is no authority: it is the
 * client's choice (often guessable: "1", "c3"), echoed in replies and published with the JIT's events.
 * So an id names an act only on the connection that sent it; from any other connection (the REPL
 * cancels after Ctrl-C from a new one, its first being busy with the act) a cancel must present the
 * act's `cancel_key`, a secret the client chose and the daemon never shows anyone.
 */
import { timingSafeEqual } from 'node:crypto'
import type { CancelCommand, CancelReply, Command } from '../covenant/index.js'
import { UvmError } from '../errors.js'

/** How a cancelled request ended: its reply's error code (covenant code), or the tid of a result that committed. */
export interface Ended {
  code?: string | undefined
  tid?: number | undefined
}

/** Throws (invalid_command) for a cancel that names no act. */
export function checkCancel(cancel: CancelCommand): void {
  if (cancel.request === undefined && cancel.key === undefined) throw new UvmError('ACT_FAILED', 'a cancel names the act by request (its id, on the connection that sent it) or key (its cancel_key, from any connection)', { invalidCommand: true })
}

/** Whether `cancel`, sent on `lane`, names `running` (a command in flight, sent on `runningLane`): only a run_act or send_message. */
export function cancels(cancel: CancelCommand, lane: string, running: Command, runningLane: string): boolean {
  if (running.command !== 'run_act' && running.command !== 'send_message') return false
  if (cancel.request !== undefined && running.id !== cancel.request) return false
  if (cancel.key !== undefined) return running.cancel_key !== undefined && sameSecret(running.cancel_key, cancel.key)
  return runningLane === lane
}

/** Compared in constant time: how long a wrong key takes to refuse says nothing of the right one. */
function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** The reply to `cancel`: the named request ended as `ended` (undefined: none was running). */
export function cancelReply(cancel: CancelCommand, ended: Ended | undefined): CancelReply {
  const base = { event: 'cancel' as const, ...(cancel.id !== undefined && { id: cancel.id }), ...(cancel.request !== undefined && { request: cancel.request }) }
  if (ended === undefined) return { ...base, cancelled: false, outcome: 'not_running' }
  if (ended.code === 'cancelled') return { ...base, cancelled: true, outcome: 'cancelled' }
  if (ended.code !== undefined) return { ...base, cancelled: false, outcome: 'failed', code: ended.code as NonNullable<CancelReply['code']> }
  return { ...base, cancelled: false, outcome: 'finished', ...(ended.tid !== undefined && { tid: ended.tid }) }
}

/** How long a cancel by key that finds no act waits for it to arrive. */
export const LATE_ACT_MS = 1000

/**
 * Cancels by key waiting for their act. A client that cancels from a new connection (the REPL after
 * Ctrl-C) may have its cancel overtake the act it sent just before on the old one: the cancel waits a
 * moment for an act with that key rather than answer not_running while the act is on its way.
 */
export class LateActs {
  private readonly waiting = new Map<string, Set<() => void>>()

  /** Resolves true once an act with `key` arrives (arrived), false after `ms`. */
  wait(key: string, ms = LATE_ACT_MS): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let set = this.waiting.get(key)
      if (set === undefined) this.waiting.set(key, set = new Set())
      const done = (found: boolean) => {
        clearTimeout(timer)
        set.delete(wake)
        if (set.size === 0 && this.waiting.get(key) === set) this.waiting.delete(key)
        resolve(found)
      }
      const wake = () => done(true)
      const timer = setTimeout(() => done(false), ms)
      set.add(wake)
    })
  }

  /** An act with `key` is now among those a cancel can find. */
  arrived(key: string | undefined): void {
    if (key === undefined || this.waiting.size === 0) return
    for (const wake of [...this.waiting.get(key) ?? []]) wake()
  }
}

/** An act in flight as a backend tracks it: its command, the connection it came on, and who waits for its end. */
export interface Running {
  cmd: Command
  lane: string
  ended: ((e: Ended) => void)[]
}

/**
 * Answer `cancel` (sent on `lane`) once the act it names has ended: `stop` is the backend's way of
 * stopping the act it tracks under `tag`. A cancel by key that finds none waits a moment for it (late).
 */
export async function cancelRunning(cancel: CancelCommand, lane: string, running: () => Iterable<[number, Running]>, stop: (tag: number) => void, late: LateActs): Promise<CancelReply> {
  checkCancel(cancel)
  for (let again = cancel.key !== undefined; ; again = false) {
    for (const [tag, r] of running()) {
      if (!cancels(cancel, lane, r.cmd, r.lane)) continue
      const ended = new Promise<Ended>((resolve) => r.ended.push(resolve))
      stop(tag)
      return cancelReply(cancel, await ended)
    }
    // Sent just before on another connection, it may still be on its way.
    if (!again || !await late.wait(cancel.key!)) return cancelReply(cancel, undefined)
  }
}
