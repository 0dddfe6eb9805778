import type { Reply, RequestId } from '../covenant/index.js'
import { simpleError } from './errors.js'
import type { WireCodec, WireFormat } from './wire.js'

/** A reply already encoded where it was made (the execution unit), with what the request log needs. */
export interface EncodedReply {
  encoded: Uint8Array
  event: string
  code?: string | undefined
  tid?: number | undefined
  /** Called once ZeroMQ has taken the bytes: the maker counts them until then. */
  sent(): void
}

export function isEncoded(r: Reply | EncodedReply): r is EncodedReply {
  return (r as EncodedReply).encoded instanceof Uint8Array
}

export interface ReplyLimits {
  /** Largest reply sent. */
  maxReply: number
  /** Reply bytes already waiting, and how many may wait. */
  queued: number
  maxQueued: number
}

/**
 * A reply as the bytes that go out, within the limits: over the cap it becomes `too_large`
 * (BRIDGE_REPLY_TOO_LARGE, the work itself done), and a large one that would take the queued
 * replies past their budget becomes `overloaded`. Returns the reply actually encoded too.
 */
export function replyBytes(codec: WireCodec, reply: Reply, format: WireFormat, limits: ReplyLimits): { bytes: Buffer; reply: Reply } {
  const id = (reply as { id?: RequestId }).id
  let bytes: Buffer
  try {
    bytes = codec.encode(reply, format)
  } catch (e) {
    reply = simpleError('act_failed', `the reply could not be encoded: ${(e as Error).message}`, id)
    bytes = codec.encode(reply, format)
  }
  if (bytes.length > limits.maxReply) {
    const tid = (reply as { tid?: number }).tid
    const done = reply.event === 'error' ? 'the request failed' : tid !== undefined ? `the work was done (transaction ${tid} committed)` : 'the work was done'
    reply = { event: 'error', ...(id !== undefined && { id }), error: { code: 'too_large', uvm_code: 'BRIDGE_REPLY_TOO_LARGE', message: `the reply would be ${mib(bytes.length)}, over the reply cap of ${mib(limits.maxReply)} (--max-reply): ${done}, but its reply is not sent; ask for less (a smaller depth, a path to one slot)`, size: bytes.length, limit: limits.maxReply } }
    bytes = codec.encode(reply, format)
  } else if (bytes.length > 65536 && limits.queued + bytes.length > limits.maxQueued) {
    reply = simpleError('overloaded', `${mib(limits.queued)} of replies are waiting to be sent; this ${mib(bytes.length)} reply would go past the ${mib(limits.maxQueued)} budget: retry shortly`, id)
    bytes = codec.encode(reply, format)
  }
  return { bytes, reply }
}

export function mib(n: number): string {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`
}
