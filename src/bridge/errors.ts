import { ActError } from '../act/index.js'
import { ReadOnlyRefused, UvmError } from '../errors.js'
import type { ErrorCode, ErrorReply, RequestId, TraceFrame } from '../covenant/index.js'

/** The wire's error code for a UVM error code. */
const BY_CODE: Record<string, ErrorCode> = {
  KERNEL_DOES_NOT_UNDERSTAND: 'does_not_understand',
  KERNEL_METHOD_SYNTAX: 'syntax_error',
  ACT_SYNTAX: 'syntax_error',
  ACT_FORBIDDEN: 'syntax_error',
  ACT_TIMEOUT: 'timeout',
  ACT_CANCELLED: 'cancelled',
  ACT_OUT_OF_MEMORY: 'out_of_memory',
  BRIDGE_REPLY_TOO_LARGE: 'too_large',
  BRIDGE_UNIT_RESTARTED: 'unavailable',
  IMAGE_CONFLICT: 'conflict',
  // `undo` of a transaction the image has no record of: the thing named is not there.
  IMAGE_UNKNOWN_TID: 'unknown_target',
}

/**
 * An error reply for anything a handler threw. Host stack traces leave the daemon only when the
 * request asked for them (`debug`: `uvm --debug`).
 */
export function errorReply(e: unknown, id: RequestId | undefined, opts: { debug?: boolean } = {}): ErrorReply {
  let code: ErrorCode = 'act_failed'
  let message = 'internal error'
  const extra: Record<string, unknown> = {}
  if (e instanceof UvmError) {
    // By class, not by code: an act can throw an error carrying any UVM code (see WriteRefusal).
    code = e instanceof ReadOnlyRefused ? 'unauthorized' : e.details.unknownTarget === true ? 'unknown_target' : e.details.invalidCommand === true ? 'invalid_command' : BY_CODE[e.code] ?? 'act_failed'
    if (e instanceof ReadOnlyRefused) extra.command = e.command
    message = e.message
    // Only as the covenant types them: a sandbox error can carry any value under these names.
    for (const k of ['line', 'column', 'receiver'] as const) {
      const v = e.details[k]
      if (Number.isInteger(v)) extra[k] = v
    }
    if (typeof e.details.selector === 'string') extra.selector = e.details.selector
    if (typeof e.details.excerpt === 'string') extra.excerpt = e.details.excerpt
    const trace = traceOf(e.details.trace)
    if (trace !== undefined) extra.trace = trace
    // Only the JIT sets these (an act's errors reach the host as ActErrors, which never carry them).
    if (Array.isArray(e.details.attempts)) extra.attempts = e.details.attempts.filter((a): a is string => typeof a === 'string')
    extra.uvm_code = e.code
    const output = (e as { output?: unknown }).output
    if (typeof output === 'string' && output.length > 0) extra.output = output
  } else if (e instanceof Error) {
    message = e.message
  }
  if (opts.debug === true && e instanceof Error) {
    // An act's error: the sandbox's frames, then the host's where the host raised it; any other: the host's.
    // (An error raised after an act failed, such as the JIT's, carries the act's sandbox stack with it.)
    const { sandboxStack, hostStack } = e as { sandboxStack?: unknown; hostStack?: unknown }
    const stacks = [sandboxStack, e instanceof ActError ? hostStack : e.stack].filter((t): t is string => typeof t === 'string')
    if (stacks.length > 0) extra.stack = stacks.join('\n')
  }
  return { event: 'error', ...(id !== undefined && { id }), error: { code, message, ...extra } }
}

export function simpleError(code: ErrorCode, message: string, id?: RequestId, issues?: { path: (string | number)[]; message: string }[]): ErrorReply {
  return { event: 'error', ...(id !== undefined && { id }), error: { code, message, ...(issues && { issues }) } }
}

/** A send trace as the covenant carries it (TraceFrame), from what an act's error holds; undefined when there is none. */
function traceOf(v: unknown): TraceFrame[] | undefined {
  if (!Array.isArray(v) || v.length === 0) return undefined
  const out: TraceFrame[] = []
  for (const f of v as Record<string, unknown>[]) {
    if (typeof f?.selector !== 'string') continue
    const int = (k: string) => (Number.isInteger(f[k]) ? { [k]: f[k] as number } : {})
    out.push({
      selector: f.selector, ...int('line'), ...int('column'), ...int('receiver'),
      ...(typeof f.receiver_print === 'string' && { receiver_print: f.receiver_print }),
      ...(f.act === true && { act: true }), ...(f.block === true && { block: true }), ...(f.cut === true && { cut: true }),
    })
  }
  return out.length > 0 ? out : undefined
}
