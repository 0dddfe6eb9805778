/**
 * Which running act a `cancel` may stop, and its reply. An act is named by its request's id: the REPL
 * cancels after Ctrl-C from a new connection (its first is busy with the act), so the connection alone
 * cannot name it. A client's ids are its own choice and may be guessable ("1", "c3"): from another
 * connection only a string id of CROSS_CONNECTION_MIN characters or more is matched, so that knowing an
 * unguessable id (the REPL's random UUID) is the authority to cancel its act, and nothing else is.
 */
import type { CancelCommand, CancelReply, Command, RequestId } from '../covenant/index.js'

/** The commands whose work is an act, which a cancel can stop. */
const CANCELLABLE = new Set<Command['command']>(['run_act', 'send_message'])

/** The shortest id a cancel from another connection may name. */
export const CROSS_CONNECTION_MIN = 16

/** How a cancelled request ended: its reply's error code (covenant code), or the tid of a result that committed. */
export interface Ended {
  code?: string | undefined
  tid?: number | undefined
}

/** Whether `cancel`, sent on `lane`, names `running` (a command in flight, sent on `runningLane`). */
export function cancels(cancel: CancelCommand, lane: string, running: Command, runningLane: string): boolean {
  if (!CANCELLABLE.has(running.command) || running.id === undefined || running.id !== cancel.request) return false
  return runningLane === lane || (typeof cancel.request === 'string' && cancel.request.length >= CROSS_CONNECTION_MIN)
}

/** The reply to `cancel`: the named request ended as `ended` (undefined: none was running). */
export function cancelReply(cancel: CancelCommand, ended: Ended | undefined): CancelReply {
  const base = { event: 'cancel' as const, ...(cancel.id !== undefined && { id: cancel.id }), request: cancel.request as RequestId }
  if (ended === undefined) return { ...base, cancelled: false, outcome: 'not_running' }
  if (ended.code === 'cancelled') return { ...base, cancelled: true, outcome: 'cancelled' }
  if (ended.code !== undefined) return { ...base, cancelled: false, outcome: 'failed', code: ended.code as CancelReply['code'] & string }
  return { ...base, cancelled: false, outcome: 'finished', ...(ended.tid !== undefined && { tid: ended.tid }) }
}
