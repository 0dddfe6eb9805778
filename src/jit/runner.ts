import type { ActOptions, ActResult, HardenedRealm } from '../act/index.js'
import { ActError, runAct } from '../act/index.js'
import { DoesNotUnderstand, UvmError } from '../errors.js'
import type { Image } from '../image/index.js'
import type { Need } from '../kernel/index.js'
import type { JitEvent } from '../covenant/index.js'
import type { CycleContext, CycleResult } from './jit.js'

/** What stands behind an act's unknown messages: the LLM's JIT, or the curriculum's (src/genesis). */
export interface Compiler {
  compile(need: Need, context: CycleContext): Promise<CycleResult>
  /** Where the compiler announces its cycles (the daemon's PUB socket), when it has any to announce. */
  onEvent?(listener: (e: JitEvent) => void): void
}

/** Distinct messages one act may have compiled before it is given up (each compile reruns it). */
const MAX_CYCLES_PER_ACT = 16

export interface JitActResult extends ActResult {
  /** The JIT cycles the act needed, in order. */
  cycles: CycleResult[]
}

/**
 * Run an act with the JIT behind it. When the act sends a message nothing answers, the act is
 * aborted (nothing of that run is kept), the JIT compiles the message in a transaction of its own,
 * and the act runs again from its start: the replay sees the new behaviour, and the original send
 * gets its result. This is how a blocking doesNotUnderstand: (the seeds' Python) is had without
 * holding a transaction, or the thread, while the LLM thinks. Without a JIT it is runAct.
 */
export async function runWithJit(jit: Compiler | undefined, image: Image, realm: HardenedRealm, code: string, opts: ActOptions = {}, context: CycleContext = {}): Promise<JitActResult> {
  const cycles: CycleResult[] = []
  const compiled = new Set<string>()
  for (;;) {
    try {
      const result = await runAct(image, realm, code, { ...opts, deferMissing: jit !== undefined })
      return { ...result, cycles }
    } catch (e) {
      const need = e instanceof ActError ? e.need : undefined
      if (need === undefined || jit === undefined) throw e
      const key = `${need.receiver.oid}\u0000${need.selector}`
      if (compiled.has(key)) {
        // Compiled, committed, and still not understood on the rerun: another writer removed it, or
        // the act sends it to a different object than the one it was installed for.
        throw notUnderstoodAgain(e as ActError, cycles.find((c) => c.receiver === need.receiver.oid && c.selector === need.selector))
      }
      if (cycles.length >= MAX_CYCLES_PER_ACT) throw new DoesNotUnderstand(need.selector, need.receiver.oid, `the act needed more than ${MAX_CYCLES_PER_ACT} JIT compiles; the rest are left undone`)
      compiled.add(key)
      try {
        cycles.push(await jit.compile(need, context))
      } catch (ce) {
        // Where the act sent the message, for the person reading the error.
        if (ce instanceof UvmError) {
          for (const k of ['line', 'column', 'trace']) if ((e as ActError).details[k] !== undefined && ce.details[k] === undefined) ce.details[k] = (e as ActError).details[k]
          // For --debug: the act's frames, before the host's own stack of this error.
          if ((e as ActError).sandboxStack !== undefined) Object.assign(ce, { sandboxStack: (e as ActError).sandboxStack })
        }
        throw ce
      }
    }
  }
}

function notUnderstoodAgain(e: ActError, cycle: CycleResult | undefined): DoesNotUnderstand {
  const need = e.need!
  return new DoesNotUnderstand(need.selector, need.receiver.oid, `still not understood after the JIT compiled it${cycle ? ` in transaction ${cycle.tid}` : ''}`, cycle?.print)
}
