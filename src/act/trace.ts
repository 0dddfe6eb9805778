/**
 * The send trace of a failed act, as the realm sees it: the act and method frames of the thrown
 * value's stack, each mapped back to its own source, with the receiver each method noted as the
 * error left it (instrument.ts UNWIND, lockdown.ts takeTrace). runAct prints the receivers.
 */
import { UvmError } from '../errors.js'
import type { Instrumented } from './instrument.js'
import { ACT_FILE, TRACE_CUT } from './lockdown.js'

/** A compiled method as its stack frames name it (`method:<id>:<selector>`), by its id. */
export interface CompiledMethod {
  selector: string
  column: Instrumented['column']
  nested: Instrumented['nested']
}

/** What of a compiled act a trace needs: its file name (`act:<n>`) and its position maps. */
export interface TracedAct {
  file: string
  column: Instrumented['column']
  nested: Instrumented['nested']
}

/**
 * One frame of a failed act's send trace, innermost first, as the realm sees it: `self` is the
 * receiver the method left (a realm value: a graph proxy, or whatever the method was called on);
 * runAct turns it into the receiver's oid and print string. No position: the thrown value carried no
 * stack (a thrown string).
 */
export interface RawFrame {
  selector: string
  line?: number
  column?: number
  /** The act's own frame. */
  act?: true
  /** A function nested in the method or act (a callback, a block), not its own frame. */
  block?: true
  /** Present when known (absent: the receiver was not noted, e.g. the stack was cut). */
  self?: unknown
  /** Stands for the frames past the stack's limit, which were not recorded (selector `…`). */
  cut?: true
}

/** What a failed act left besides its UvmError's data: the send trace, and a thrown value that is not an Error. */
export const RAW = Symbol('uvm.rawActError')
export interface Raw { frames: RawFrame[]; thrown?: unknown }

/** The raw send trace and thrown value of an error the realm made for a failed act (undefined for any other). */
export function rawActError(e: unknown): Raw | undefined {
  return e instanceof UvmError ? (e as unknown as Record<symbol, Raw | undefined>)[RAW] : undefined
}

/** A stack line of an act or method frame: the file's kind and number, then line and column. */
const FRAME = /\b(act|method):(\d+)(?::[^\s()]*)?:(\d+):(\d+)\)?$/

/**
 * The frames of `stack` (innermost first) that are this act's or a method's, with positions in their
 * own source, and the receivers from `notes` ([method id, receiver, …], innermost first). Without a
 * stack (a thrown primitive), the methods the notes name, without positions, then the act.
 */
export function traceFrames(stack: string | undefined, act: TracedAct, notes: unknown[] | undefined, methods: ReadonlyMap<number, CompiledMethod>): RawFrame[] {
  const out: RawFrame[] = []
  let next = 0
  // A method's own frame takes its note; a block in it (a nested function) shows the same receiver.
  const receiver = (id: number, consume: boolean): { self?: unknown } => {
    for (let i = next; notes !== undefined && i + 1 < notes.length; i += 2) {
      if (notes[i] !== id) continue
      if (consume) next = i + 2
      return { self: notes[i + 1] }
    }
    return {}
  }
  if (stack === undefined) {
    for (let i = 0; notes !== undefined && i + 1 < notes.length; i += 2) {
      const info = methods.get(notes[i] as number)
      if (info !== undefined) out.push({ selector: info.selector, self: notes[i + 1] })
    }
    out.push({ selector: 'act', act: true })
    return out
  }
  let sawAct = false
  for (const text of stack.split('\n')) {
    if (text.trim() === TRACE_CUT) {
      // The act's frame is the outermost of all: past a cut it was not recorded, but it was there.
      out.push({ selector: '…', cut: true })
      if (!sawAct) out.push({ selector: 'act', act: true })
      break
    }
    const m = FRAME.exec(text)
    if (m === null) continue
    // Lines are source lines already (compiled with lineOffset -1); the compile body's line is one more.
    const line = Number(m[3])
    if (m[1] === 'act') {
      // Another act's frame (the settle of an async method) is not this act's to show.
      if (`${ACT_FILE}${m[2]}` !== act.file) continue
      const col = act.column(line + 1, Number(m[4]))
      sawAct = true
      out.push({ selector: 'act', act: true, line, column: col, ...(act.nested(line + 1, col) && { block: true as const }) })
      continue
    }
    const id = Number(m[2])
    const info = methods.get(id)
    if (info === undefined) continue
    const col = info.column(line + 1, Number(m[4]))
    const block = info.nested(line + 1, col)
    out.push({ selector: info.selector, line, column: col, ...(block && { block: true as const }), ...receiver(id, !block) })
  }
  return out
}
