import { ErrorCodes, UvmError } from '../errors.js'
import type { ErrorCode } from '../errors.js'
import type { Need } from '../kernel/index.js'

/**
 * A failed act, as data: what went wrong, where in the act (line/column
 * relative to the act's first line), and the kernel's code when the kernel
 * raised it (e.g. KERNEL_DOES_NOT_UNDERSTAND with selector and receiver).
 */
export class ActError extends UvmError {
  /** The act sent a message nothing answered while a compiler stood behind it (ActOptions.deferMissing): what to compile. */
  need: Need | undefined = undefined

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
    return new ActError(code, String(message ?? 'the act failed'), details, output)
  }
}

function isUvmCode(c: string): c is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ErrorCodes, c)
}

/** Own data fields of an error from any realm, read defensively (a hostile error may have getters or symbols). */
function errorFields(e: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (e === null || (typeof e !== 'object' && typeof e !== 'function')) {
    out.message = `the act threw ${typeof e === 'string' ? JSON.stringify(e) : String(e)}`
    return out
  }
  for (const k of ['message', 'name', 'code', 'line', 'column', 'selector', 'receiver', 'oid', 'oids', 'path', 'tid', 'limit', 'ms', 'thrownCode']) {
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
