/**
 * Every error the UVM raises on purpose, in one place. Each has a stable `code`
 * (documented in docs/errors.md) so that clients, the bridge and tests can
 * branch on it without parsing messages. Absence returns `undefined`; misuse throws one of these.
 */

export const ErrorCodes = {
  KERNEL_DOES_NOT_UNDERSTAND: 'a message found no slot and doesNotUnderstand: could not answer it',
  KERNEL_NOT_STORABLE: 'a value of a kind that cannot live in a slot',
  KERNEL_BAD_SLOT_NAME: 'a slot name that is empty or not a string',
  KERNEL_METHOD_SYNTAX: 'method source that does not parse',
  KERNEL_NOT_AN_OBJECT: 'an object was expected',
  KERNEL_FOREIGN_OBJECT: 'an object of another transaction or image was used',
  IMAGE_CONFLICT: 'another transaction committed a change to the same object first (retryable)',
  IMAGE_IN_USE: 'the image is held by another process',
  IMAGE_CLOSED: 'the image or transaction is closed',
  IMAGE_WRITE_FAILED: 'the store failed to write a commit (or one accepted before it that it was checked against): nothing of it was written',
  IMAGE_TX_FINISHED: 'the transaction was already committed or aborted',
  IMAGE_UNDO_REFUSED: 'an object the transaction wrote no longer holds what it wrote (the message names what to undo first, when that helps), or the revisions were packed',
  IMAGE_UNKNOWN_TID: 'no transaction with that tid (undo, show), or a pack before a tid past the next one',
  IMAGE_CORRUPT: 'a record in the image cannot be decoded',
  IMAGE_DANGLING: 'a reference points at an object that is not in the image',
  IMAGE_BAD_FORMAT: 'the folder is not a UVM image, or of a newer format',
  IMAGE_EXPORT_FOLDER: 'the folder an export goes to is not empty: an earlier export (replace it with --force) or other files (refused)',
  ACT_SYNTAX: 'act source that does not parse',
  ACT_FORBIDDEN: 'act source that uses a construct the sandbox refuses (e.g. import())',
  ACT_TIMEOUT: 'sandbox code ran past its CPU or wall-clock limit (or, in the daemon, a native operation ran past it and the execution unit was stopped)',
  ACT_OUT_OF_MEMORY: "an act grew the heap past its memory limit (--act-memory), or the daemon's execution unit ran out of memory and was restarted",
  ACT_FAILED: 'an act threw',
  ACT_CANCELLED: 'the act was cancelled (the covenant\'s cancel command, Ctrl-C in the REPL): it was stopped and its transaction aborted',
  BRIDGE_REPLY_TOO_LARGE: 'a reply would be larger than the reply cap (--max-reply)',
  BRIDGE_UNIT_RESTARTED: "the daemon's execution unit stopped (another request ran past its limits) while this request was in flight",
  BRIDGE_READ_ONLY: 'the daemon serves the image read-only and the command would change it',
  BRIDGE_UNREACHABLE: "nothing listens at the daemon's address (a client checks before it sends anything)",
  UI_PORT_TAKEN: 'the port the UI would serve its page on is taken (uvm ui --port, uvm boot --ui-port, UVM_UI_PORT)',
  GENESIS_BAD_LINE: 'a curriculum line is not a valid conversation (the file and line are in the message)',
  GENESIS_TURN_FAILED: 'a curriculum turn failed when replayed: its conversation was undone (the file, line and turn are in the message)',
  CAPABILITY_UNAVAILABLE: 'a capability was not granted to this act, or its service is not available here (the message says which)',
  JIT_FAILED: 'the JIT could not compile the missing behaviour: every attempt failed (the sender gets KERNEL_DOES_NOT_UNDERSTAND listing them)',
  JIT_BAD_ANSWER: "the LLM's reply held no valid uvm_jit answer ({explanation, code}): not JSON, or not that shape",
  JIT_LLM_ERROR: 'the LLM server could not be reached, or answered with an HTTP error',
  JIT_LLM_TIMEOUT: 'the LLM server did not answer within the request timeout (--llm-timeout)',
  DATASET_BAD_ACT: 'a declarative autopoietic_act (ADD_SLOT, MODIFY_SLOT, CLONE_PROTOTYPE, COMPOSITE_ACTION, INITIATE_FINETUNE_JOB) is not of the vocabulary, or cannot be applied (the message says where)',
  DATASET_PYTHON: "the python3 syntax checker (--syntax python) cannot be started, or stopped while checking",
  DATASET_BAD_FILE: 'a dataset file cannot be read or written (the path and the reason are in the message)',
  JIT_LLM_NOT_FOUND: 'the LLM server has no such endpoint (runtime LoRA needs vLLM started with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True)',
} as const

export type ErrorCode = keyof typeof ErrorCodes

export class UvmError extends Error {
  readonly code: ErrorCode
  readonly retryable: boolean
  readonly details: Record<string, unknown>

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, retryable = false) {
    super(message)
    this.name = new.target.name
    this.code = code
    this.details = details
    this.retryable = retryable
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.details }
  }
}

export class DoesNotUnderstand extends UvmError {
  constructor(readonly selector: string, readonly receiver: number | string, why = '', label = `#${receiver}`) {
    super('KERNEL_DOES_NOT_UNDERSTAND',
      `${label} does not understand '${selector}'${why ? ` (${why})` : ''}`,
      { selector, receiver })
  }
}

export class NotStorable extends UvmError {
  constructor(what: string, path: string) {
    super('KERNEL_NOT_STORABLE', `cannot store ${what} in slot ${path}: slots hold null, booleans, numbers, strings, bigints, Uint8Arrays, arrays and plain maps of these, objects, and methods`, { path })
  }
}

export class MethodSyntaxError extends UvmError {
  constructor(message: string, readonly line: number, readonly column: number, selector?: string) {
    super('KERNEL_METHOD_SYNTAX', `${selector ? `method '${selector}': ` : ''}${message} (line ${line}, column ${column})`, { line, column, selector })
  }
}

export class Conflict extends UvmError {
  constructor(readonly oids: number[]) {
    super('IMAGE_CONFLICT', `conflict: object${oids.length > 1 ? 's' : ''} ${oids.map((o) => '#' + o).join(', ')} changed by another transaction since this one read ${oids.length > 1 ? 'them' : 'it'}; retry`, { oids }, true)
  }
}

export class ImageInUse extends UvmError {
  constructor(readonly path: string, who?: string) {
    super('IMAGE_IN_USE', `${path} is in use by another process${who ? `: ${who}` : ''}`, { path })
  }
}

export class UndoRefused extends UvmError {
  constructor(reason: string, readonly tid: number) {
    super('IMAGE_UNDO_REFUSED', `cannot undo transaction ${tid}: ${reason}`, { tid })
  }
}

/**
 * A command refused because the daemon serves its image read-only (`uvm boot --read-only`). The
 * bridge answers it as `unauthorized`, and only when it raised it itself: an act that throws an
 * error with this code gets `act_failed`, so `unauthorized` always means the server refused.
 */
export class ReadOnlyRefused extends UvmError {
  constructor(readonly command: string, why: string, writeAccess: string, readonly output = '') {
    super('BRIDGE_READ_ONLY', `${command} refused: ${why}, and this endpoint serves the image read-only, so nothing was written. For write access, ${writeAccess}`, { command })
  }
}

export function isUvmError(e: unknown): e is UvmError {
  return e instanceof UvmError
}
