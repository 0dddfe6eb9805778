import { randomUUID } from 'node:crypto'
import type { HardenedRealm } from '../act/index.js'
import type { JitCycleRecord, JitEvent } from '../covenant/index.js'
import { DoesNotUnderstand } from '../errors.js'
import type { Image, Transaction } from '../image/index.js'
import type { Need } from '../kernel/index.js'
import { printString } from '../kernel/index.js'
import type { Compiler, CycleContext, CycleResult } from '../jit/index.js'
import { NO_LLM_HINT, understands } from '../jit/index.js'
import type { Curriculum } from './curriculum.js'
import type { Conversation } from './format.js'
import { replayConversation, replayedConversations } from './replay.js'

/**
 * The embedded default JIT: with no LLM, a message whose selector a curriculum conversation teaches
 * is answered by replaying that conversation (and, first, every earlier one the image lacks: a
 * conversation builds on the ones before it). Each turn is recorded like any cycle, with provenance
 * "curriculum". Any other selector gets does_not_understand saying how to configure an LLM.
 */
export class CurriculumCompiler implements Compiler {
  /** Conversations the image holds (read from its history once, then kept up to date here). */
  private held: Promise<Set<string>> | undefined
  /** Replays go one at a time: two of them would both replay the same prerequisites. */
  private queue: Promise<unknown> = Promise.resolve()
  private listener: ((e: JitEvent) => void) | undefined

  constructor(
    private readonly image: Image,
    private readonly realm: HardenedRealm,
    readonly curriculum: Curriculum,
    private readonly opts: { capabilities?: () => Record<string, unknown>; cpuTimeoutMs?: number | undefined; wallTimeoutMs?: number | undefined } = {},
  ) {}

  onEvent(listener: (e: JitEvent) => void): void {
    this.listener = listener
  }

  compile(need: Need, context: CycleContext): Promise<CycleResult> {
    const conv = this.curriculum.teaching(need.selector)
    if (conv === undefined || need.kind === 'intent') return Promise.reject(this.notTaught(need))
    const run = this.queue.then(() => this.replay(need, conv, context))
    this.queue = run.catch(() => {})
    return run
  }

  private async replay(need: Need, conv: Conversation, context: CycleContext): Promise<CycleResult> {
    const started = performance.now()
    const cycle = randomUUID()
    const print = this.read((tx) => printString(tx, need.receiver))
    const base = { event: 'jit_cycle' as const, cycle, selector: need.selector, receiver: need.receiver.oid, print, max_attempts: 1, ...(context.request !== undefined && { request: context.request }) }
    // Already understood: another send's replay taught it while this one waited.
    if (this.read((tx) => { try { understands(tx, need); return true } catch { return false } })) {
      return { cycle, selector: need.selector, receiver: need.receiver.oid, print, explanation: conv.turns.at(-1)!.explanation, tid: this.image.lastTid, attempts: [], ms: 0 }
    }
    this.emit({ ...base, phase: 'started', attempt: 1 })
    const held = await (this.held ??= replayedConversations(this.image))
    let tid = 0
    try {
      for (const c of this.curriculum.upTo(conv)) {
        if (held.has(c.id)) continue
        const teaching = c === conv
        const tids = await replayConversation(this.image, this.realm, c, {
          capabilities: this.opts.capabilities?.(),
          cpuTimeoutMs: this.opts.cpuTimeoutMs,
          wallTimeoutMs: this.opts.wallTimeoutMs,
          ...(teaching && { ext: (turn: number) => ({ jit: this.record(cycle, need, print, c, turn, context, started) }) }),
        })
        held.add(c.id)
        if (tids.length > 0) tid = tids.at(-1)!
      }
      this.read((tx) => understands(tx, need))
    } catch (e) {
      this.emit({ ...base, phase: 'failed', attempt: 1, reason: (e as Error).message })
      throw new DoesNotUnderstand(need.selector, need.receiver.oid, `the curriculum conversation ${conv.id} teaches it, but replaying it did not: ${(e as Error).message}`, print)
    }
    const ms = performance.now() - started
    const explanation = conv.turns.at(-1)!.explanation
    this.emit({ ...base, phase: 'compiled', attempt: 1, explanation, tid, ms: Math.round(ms) })
    return { cycle, selector: need.selector, receiver: need.receiver.oid, print, explanation, tid, attempts: [], ms }
  }

  private record(cycle: string, need: Need, print: string, c: Conversation, turn: number, context: CycleContext, started: number): JitCycleRecord {
    const t = c.turns[turn - 1]!
    return {
      cycle,
      selector: need.selector,
      receiver: need.receiver.oid,
      print,
      ...(context.utterance !== undefined && { utterance: context.utterance }),
      explanation: t.explanation,
      code: t.code,
      server: `curriculum ${c.id}`,
      mode: 'curriculum',
      attempts: [],
      ms: Math.round(performance.now() - started),
      usage: { promptTokens: 0, completionTokens: 0 },
      facet: `chapter ${c.chapter}: ${c.chapterName}`,
    }
  }

  private notTaught(need: Need): DoesNotUnderstand {
    const label = this.read((tx) => printString(tx, need.receiver))
    const taught = this.curriculum.selectors
    const list = taught.length === 0 ? 'nothing' : taught.slice(0, 8).join(', ') + (taught.length > 8 ? `, and ${taught.length - 8} more` : '')
    const what = need.kind === 'intent' ? `its slot '${need.selector}' holds an intent, not code, and only an LLM compiles intents` : 'no curriculum conversation teaches it'
    return new DoesNotUnderstand(need.selector, need.receiver.oid, `${what}, and ${NO_LLM_HINT}. The curriculum teaches ${list}`, label)
  }

  private read<T>(f: (tx: Transaction) => T): T {
    const tx = this.image.begin()
    try { return f(tx) } finally { tx.abort() }
  }

  private emit(e: JitEvent): void {
    try { this.listener?.(e) } catch { /* a listener's failure must not fail a replay */ }
  }
}
