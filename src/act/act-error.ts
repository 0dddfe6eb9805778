import { ErrorCodes, UvmError } from '../errors.js'
import type { ErrorCode } from '../errors.js'
import type { Need } from '../kernel/index.js'
import { rawActError } from './trace.js'

/**
 * A failed act, as data: what went wrong, where in the act (line/column
 * relative to the act's first line), and the kernel's code when the kernel
 * raised it (e.g. KERNEL_DOES_NOT_UNDERSTAND with selector and receiver).
 */
export class ActError extends UvmError {
  /** The act sent a message nothing answered while a compiler stood behind it (ActOptions.deferMissing): what to compile. */
  need: Need | undefined = undefined
  /** The sandbox's stack of what the act threw (act and method frames only), and the host's where the host raised it: for --debug, never in toJSON. */
  sandboxStack: string | undefined = undefined
  hostStack: string | undefined = undefined

  constructor(code: ErrorCode, message: string, details: Record<string, unknown>, readonly output: string) {
    super(code, message, details, code === 'IMAGE_CONFLICT')
  }

  static from(e: unknown, output: string): ActError {
    if (e instanceof ActError) return e
    const fields = errorFields(e)
    const code: ErrorCode = typeof fields.code === 'string' && isUvmCode(fields.code) ? fields.code : 'ACT_FAILED'
    const { message, ...rest } = fields
    delete rest.code
    const details: Record<string, unknown> = { ...rest }
    if (code === 'ACT_FAILED' && typeof fields.name === 'string') details.name = fields.name
    const err = new ActError(code, String(message ?? 'the act failed'), details, output)
    // The sandbox's stack (act and method frames only), not the host's own stack of the error that carries it.
    const stack = e instanceof UvmError ? e.details.stack : undefined
    if (typeof stack === 'string') err.sandboxStack = stack
    const host = e instanceof UvmError ? e.details.hostStack : undefined
    // An error the host raised outside the realm (a commit that failed): its own stack is the host's.
    // (One the realm made for what the act threw has no host stack of interest.)
    err.hostStack = typeof host === 'string' ? host : e instanceof UvmError && rawActError(e) === undefined ? e.stack : undefined
    return err
  }
}

function isUvmCode(c: string): c is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ErrorCodes, c)
}

/** Own data fields of an error from any realm, read defensively (a hostile error may have getters or symbols). */
function errorFields(e: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (e === null || (typeof e !== 'object' && typeof e !== 'function')) {
    const shown = typeof e === 'string' ? JSON.stringify(e) : typeof e === 'bigint' ? `${e}n` : String(e)
    out.message = `the act threw ${shown.length > 200 ? shown.slice(0, 199) + '…' : shown}`
    return out
  }
  for (const k of ['message', 'name', 'code', 'line', 'column', 'selector', 'receiver', 'oid', 'oids', 'path', 'tid', 'limit', 'ms', 'thrownCode', 'excerpt']) {
    try {
      const d = Object.getOwnPropertyDescriptor(e, k)
      let v = d && 'value' in d ? d.value : undefined
      if (v === undefined && (k === 'message' || k === 'name')) v = (e as Record<string, unknown>)[k]
      if (v === undefined) {
        const details = (e as { details?: Record<string, unknown> }).details
        if (details && typeof details === 'object' && k in details) v = details[k]
      }
      if (v === undefined) continue
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v
      else if (Array.isArray(v)) out[k] = v.filter((x) => typeof x === 'number')
    } catch { /* a throwing getter: skip the field */ }
  }
  return out
}
