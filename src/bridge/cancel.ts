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
