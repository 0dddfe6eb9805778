import { randomUUID } from 'node:crypto'
import type { HardenedRealm } from '../act/index.js'
import { ActError, runAct } from '../act/index.js'
import { DoesNotUnderstand, UvmError } from '../errors.js'
import type { Image, Transaction } from '../image/index.js'
import type { Need, Obj } from '../kernel/index.js'
import { Method, intentOf, lookup, printString } from '../kernel/index.js'
import { ANSWER_INSTRUCTIONS, parseAnswer } from './answer.js'
import type { LlmClient } from './client.js'
import type { Attempt, Example } from './prompt/index.js'
import { BUILTIN_EXAMPLES, buildPrompt } from './prompt/index.js'
import { messageView, receiverView } from './view.js'
import type { JitCycleRecord, JitEvent } from './record.js'

export interface JitOptions {
  client: LlmClient
  /** LLM answers tried per cycle before the sender gets does_not_understand (default 3). */
  maxAttempts?: number
  /** The prompt's size limit, in estimated tokens (default 8000). */
  budgetTokens?: number
  /** Example conversations shown to the LLM (default: the built-in ones). */
  examples?: Example[] | ((need: Need) => Example[])
  /** Limits of the compile act (default: the realm's). */
  cpuTimeoutMs?: number | undefined
  wallTimeoutMs?: number | undefined
  /** Max tokens of each answer (default: the client's). */
  maxTokens?: number | undefined
  /** Every cycle's progress (PUB events). */
  onEvent?: (e: JitEvent) => void
  persona?: string
  /** The persona/facet a cycle is attributed to (H_cog): default the selector's first word. */
  facet?: (need: Need) => string
}

/** Who a cycle works for: the Architect's utterance, when the request carried one, and the request's id for its events. */
export interface CycleContext {
  utterance?: string | undefined
  request?: string | number | undefined
  /** An idle-loop inquiry: the act must change the image, not install this selector. */
  inquiry?: boolean | undefined
  /** The request came through a read-only endpoint. */
  readOnly?: boolean | undefined
}

/** The selector an idle-loop inquiry is recorded under (seed 000's Characterological Inquiry Loop). */
export const INQUIRY_SELECTOR = 'characterologicalInquiry'

/** A compiled cycle, as the sender's reply reports it. */
export interface CycleResult {
  cycle: string
  selector: string
  receiver: number
  print: string
  explanation: string
  tid: number
  attempts: string[]
  ms: number
}

/**
 * The JIT compiler for intent: a message nothing answers becomes a request to an LLM, whose answer
 * (an explanation and code) runs as an act of its own, with `self` the receiver and `message` the
 * message. The act commits in its own transaction (so it stays even when the sender's act fails
 * afterwards), recorded with its provenance; the caller then runs the sender's act again.
 */
export class Jit {
  readonly maxAttempts: number
  /** Compiles in flight, by receiver and selector: the same message is never compiled twice at once. */
  private readonly flights = new Map<string, Promise<CycleResult>>()

  constructor(readonly image: Image, readonly realm: HardenedRealm, private readonly opts: JitOptions) {
    this.maxAttempts = opts.maxAttempts ?? 3
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) throw new UvmError('JIT_FAILED', `maxAttempts must be a positive integer, got ${String(opts.maxAttempts)}`)
  }

  get client(): LlmClient { return this.opts.client }

  /** Compile what `need` lacks; a second caller for the same receiver and selector waits for the first compile. */
  compile(need: Need, context: CycleContext = {}): Promise<CycleResult> {
    const key = `${need.receiver.oid}\u0000${need.selector}`
    const running = this.flights.get(key)
    if (running !== undefined) return running
    const flight = this.cycle(need, context).finally(() => this.flights.delete(key))
    this.flights.set(key, flight)
    return flight
  }

  /**
   * The Characterological Inquiry Loop's one step: the idle stimulus through the JIT, with the
   * Genesis Object as self. Recorded like any cycle; the act must change something.
   */
  inquire(stimulus: string): Promise<CycleResult> {
    const genesis = this.read((tx) => tx.objectOf(tx.genesis))
    return this.compile({ kind: 'selector', receiver: genesis, selector: INQUIRY_SELECTOR, args: [] }, { utterance: stimulus, inquiry: true })
  }

  private async cycle(need: Need, context: CycleContext): Promise<CycleResult> {
    const started = performance.now()
    const cycle = randomUUID()
    const { receiverText, view, message } = this.read((tx) => ({ receiverText: printString(tx, need.receiver), view: receiverView(tx, need.receiver), message: messageView(tx, need, context.utterance) }))
    const base = { event: 'jit_cycle' as const, cycle, selector: need.selector, receiver: need.receiver.oid, print: receiverText, max_attempts: this.maxAttempts, ...(context.request !== undefined && { request: context.request }) }
    this.emit({ ...base, phase: 'started', attempt: 1 })
    const attempts: Attempt[] = []
    const usage = { promptTokens: 0, completionTokens: 0 }
    const examples = typeof this.opts.examples === 'function' ? this.opts.examples(need) : this.opts.examples ?? BUILTIN_EXAMPLES
    for (let n = 1; n <= this.maxAttempts; n++) {
      if (n > 1) this.emit({ ...base, phase: 'attempt', attempt: n })
      const prompt = buildPrompt({ receiver: view, message, examples, attempts, maxAttempts: this.maxAttempts, ...(this.opts.budgetTokens !== undefined && { budgetTokens: this.opts.budgetTokens }), answerInstructions: ANSWER_INSTRUCTIONS, ...(this.opts.persona !== undefined && { persona: this.opts.persona }) })
      let answer: { explanation: string; code: string } | undefined
      let model: string | undefined
      try {
        const reply = await this.opts.client.structured(prompt.messages, { ...(this.opts.maxTokens !== undefined && { maxTokens: this.opts.maxTokens }) })
        model = reply.model
        usage.promptTokens += reply.usage.promptTokens ?? 0
        usage.completionTokens += reply.usage.completionTokens ?? 0
        let parsed: { explanation: string; code: string }
        try {
          parsed = parseAnswer(reply.text)
        } catch (e) {
          attempts.push({ code: clip(reply.text, 2000), error: (e as Error).message })
          this.failed(base, n, (e as Error).message)
          continue
        }
        answer = parsed
        const tid = await this.install(need, parsed, {
          cycle, context, attempts, usage, ms: performance.now() - started, model: model ?? this.opts.client.model, mode: reply.mode, print: receiverText,
        })
        const result: CycleResult = { cycle, selector: need.selector, receiver: need.receiver.oid, print: receiverText, explanation: parsed.explanation, tid, attempts: attempts.map((a) => a.error), ms: performance.now() - started }
        this.emit({ ...base, phase: 'compiled', attempt: n, explanation: parsed.explanation, tid, ms: Math.round(result.ms) })
        return result
      } catch (e) {
        const why = attemptError(e)
        const tried = answer as { explanation: string; code: string } | undefined
        attempts.push({ ...(tried && { explanation: tried.explanation, code: tried.code }), error: why })
        this.failed(base, n, why)
      }
    }
    this.emit({ ...base, phase: 'failed', attempt: this.maxAttempts, reason: attempts.map((a, i) => `${i + 1}) ${a.error}`).join('; ') })
    const list = attempts.map((a, i) => `attempt ${i + 1}: ${a.error}`)
    const e = new DoesNotUnderstand(need.selector, need.receiver.oid, `the JIT could not compile it: ${list.join('; ')}`, receiverText)
    e.details.attempts = list
    e.details.jit = 'failed'
    throw e
  }

  /** Run the answer as an act in its own transaction; it must leave the receiver understanding the message. */
  private async install(need: Need, answer: { explanation: string; code: string }, info: Omit<JitCycleRecord, 'selector' | 'receiver' | 'explanation' | 'code' | 'server' | 'attempts' | 'utterance' | 'facet'> & { context: CycleContext; attempts: Attempt[] }): Promise<number> {
    const record: JitCycleRecord = {
      cycle: info.cycle,
      selector: need.selector,
      receiver: need.receiver.oid,
      print: info.print,
      ...(info.context.utterance !== undefined && { utterance: info.context.utterance }),
      explanation: answer.explanation,
      code: answer.code,
      ...(info.model !== undefined && { model: info.model }),
      server: this.opts.client.server,
      ...(info.mode !== undefined && { mode: info.mode }),
      attempts: info.attempts.map((a) => a.error),
      ms: Math.round(info.ms),
      usage: info.usage,
      facet: this.opts.facet?.(need) ?? facetOf(info.print),
      ...(need.kind === 'intent' && need.intent !== undefined && { intent: need.intent }),
    }
    const result = await runAct(this.image, this.realm, answer.code, {
      intent: info.context.utterance ?? `${need.selector} (doesNotUnderstand:)`,
      explanation: answer.explanation,
      user: 'uvm-jit',
      marksOrigins: true,
      cpuTimeoutMs: this.opts.cpuTimeoutMs,
      wallTimeoutMs: this.opts.wallTimeoutMs,
      bind: (tx) => ({ self: tx.proxy(need.receiver), message: this.message(tx, need) }),
      beforeCommit: (tx) => { if (info.context.inquiry !== true) understands(tx, need) },
      meta: { description: `jit ${need.selector} for ${record.print}`, ext: { act: answer.code, explanation: answer.explanation, ...(info.context.utterance !== undefined && { intent: info.context.utterance }), jit: record } },
    })
    if (result.tid === undefined) throw new UvmError('JIT_FAILED', info.context.inquiry === true ? 'the act wrote nothing: an inquiry must add or change behaviour in the image' : `the act wrote nothing: install '${need.selector}' as a method (self.setSlot('${need.selector}', function (...) { ... }))`)
    return result.tid
  }

  /** The reified message, made in the compile act's own transaction (the sender's objects by oid). */
  private message(tx: Transaction, need: Need): unknown {
    const m = this.realm.newObject()
    m.selector = need.selector
    m.args = this.realm.newArray(need.args.map((a) => this.realmCopy(tx, a)))
    m.receiver = tx.proxy(need.receiver)
    return m
  }

  private realmCopy(tx: Transaction, v: unknown): unknown {
    if (v === undefined || v === null || typeof v !== 'object') return v ?? null
    if (tx.kernel.objectOf(v) !== undefined) return tx.image.exists(v as Obj) ? tx.proxy(v as Obj) : null
    if (v instanceof Uint8Array) return this.realm.copyBytes(v)
    if (Array.isArray(v)) return this.realm.newArray(v.map((x) => this.realmCopy(tx, x)))
    const o = this.realm.newObject()
    for (const k of Object.keys(v)) Object.defineProperty(o, k, { value: this.realmCopy(tx, (v as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true })
    return o
  }

  private read<T>(f: (tx: Transaction) => T): T {
    const tx = this.image.begin()
    try { return f(tx) } finally { tx.abort() }
  }

  private failed(base: Omit<JitEvent, 'phase' | 'attempt'>, n: number, reason: string): void {
    this.emit({ ...base, phase: 'attempt_failed', attempt: n, reason })
  }

  private emit(e: JitEvent): void {
    try { this.opts.onEvent?.(e) } catch { /* a listener's failure must not fail a compile */ }
  }
}

/** The compile act must leave the receiver understanding the message (an intent slot: holding code). */
export function understands(tx: Transaction, need: Need): void {
  const holder = lookup(tx, need.receiver, need.selector)
  const value = holder === undefined ? undefined : tx.read(holder).slots.get(need.selector)
  if (holder === undefined) throw new UvmError('JIT_FAILED', `after the act, ${printString(tx, need.receiver)} still does not understand '${need.selector}': install it as a method on it or on one of its parents (self.setSlot('${need.selector}', function (...) { ... }))`)
  if (intentOf(value) !== undefined) throw new UvmError('JIT_FAILED', `slot '${need.selector}' still holds the intent: replace it with a method (${need.holder && need.holder !== need.receiver ? 'on the object holding it' : 'self'}.setSlot('${need.selector}', function (...) { ... }))`)
  if (need.kind === 'intent') {
    // "Into a code method in the same slot": the object that held the intent now holds the method.
    const holderValue = tx.read(need.holder ?? need.receiver).slots.get(need.selector)
    if (!(holderValue instanceof Method)) throw new UvmError('JIT_FAILED', `slot '${need.selector}' of ${printString(tx, need.holder ?? need.receiver)} must come to hold the method compiled from its intent (setSlot('${need.selector}', function (...) { ... }) on that object), ${intentOf(holderValue) !== undefined ? 'but it still holds the intent' : 'but it holds data'}`)
  }
}

/** An attempt's failure as the LLM reads it on the retry. */
function attemptError(e: unknown): string {
  if (e instanceof ActError || e instanceof UvmError) {
    const d = e.details
    const where = typeof d.line === 'number' ? ` (line ${d.line}${typeof d.column === 'number' ? `, column ${d.column}` : ''})` : ''
    const label = e.code === 'ACT_FAILED' ? '' : `${e.code}: `
    return clip(`${label}${e.message}${where}`, 2000)
  }
  return clip(e instanceof Error ? e.message : String(e), 2000)
}

/**
 * The facet a cycle is attributed to when none is configured: the prototype it worked on (the name
 * in the receiver's printString, `<Rect #12>` → Rect), so H_cog measures how widely the JIT's work
 * spreads over the image's parts.
 */
function facetOf(print: string): string {
  return /^<(.+) #\d+>$/.exec(print)?.[1] ?? print
}

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s
}
