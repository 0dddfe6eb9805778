import type { ActOptions, HardenedRealm } from '../act/index.js'
import { runAct } from '../act/index.js'
import { UvmError } from '../errors.js'
import type { Image, Transaction } from '../image/index.js'
import type { Conversation } from './format.js'
import type { Curriculum } from './curriculum.js'

/** What a replayed turn's transaction record carries under `ext.curriculum`. */
export interface TurnRecord {
  conversation: string
  file: string
  line: number
  chapter: number
  turn: number
  turns: number
}

export interface ReplayOptions {
  /** Host services the acts are granted (bridge, forge, system, handoff, llm). */
  capabilities?: Record<string, unknown> | undefined
  /** Bindings made in each turn's transaction (the curriculum JIT binds `self` and `message`). */
  bind?: ActOptions['bind']
  /** Extra record fields for each turn's transaction (the curriculum JIT adds its cycle). */
  ext?: (turn: number) => Record<string, unknown>
  cpuTimeoutMs?: number | undefined
  wallTimeoutMs?: number | undefined
  /** Leave a failed conversation's earlier turns in place (a scratch image about to be dropped needs no undo). */
  keepOnFailure?: boolean | undefined
}

/**
 * Replay one conversation: each uvm_jit turn is one act, one transaction, recorded with the
 * Architect's utterance and the explanation, and marked as the origin of every slot it writes. A
 * failing turn stops it: what the conversation's earlier turns committed is undone (newest first),
 * so nothing of it stays, and the error names the file, the line and the turn.
 */
export async function replayConversation(image: Image, realm: HardenedRealm, c: Conversation, opts: ReplayOptions = {}): Promise<number[]> {
  const tids: number[] = []
  for (let i = 0; i < c.turns.length; i++) {
    const t = c.turns[i]!
    const record: TurnRecord = { conversation: c.id, file: c.file, line: c.line, chapter: c.chapter, turn: i + 1, turns: c.turns.length }
    try {
      const r = await runAct(image, realm, t.code, {
        intent: t.utterance,
        explanation: t.explanation,
        user: 'genesis',
        marksOrigins: true,
        // Every turn is a record of the narrative, reading ones too: the last one marks the conversation replayed.
        alwaysRecorded: true,
        capabilities: opts.capabilities,
        bind: opts.bind,
        cpuTimeoutMs: opts.cpuTimeoutMs,
        wallTimeoutMs: opts.wallTimeoutMs,
        meta: { description: t.utterance.length > 120 ? t.utterance.slice(0, 119) + '…' : t.utterance, ext: { act: t.code, ...(t.declarative !== undefined && { autopoietic_act: t.declarative }), intent: t.utterance, explanation: t.explanation, curriculum: record, ...opts.ext?.(i + 1) } },
      })
      if (r.tid !== undefined) tids.push(r.tid)
    } catch (e) {
      if (opts.keepOnFailure !== true) for (const tid of tids.reverse()) await image.undo(tid, { description: `undo ${tid}: ${c.id} failed at turn ${i + 1}`, user: 'genesis' })
      const err = new UvmError('GENESIS_TURN_FAILED', `${c.id}, turn ${i + 1} of ${c.turns.length} ("${clip(t.utterance, 60)}"): ${(e as Error).message}${lineOf(e)}${opts.keepOnFailure === true ? '' : '; nothing of this conversation was kept'}`, { file: c.file, line: c.line, turn: i + 1, cause: (e as { code?: string }).code })
      throw err
    }
  }
  return tids
}

export interface CurriculumProgress {
  done: number
  total: number
  conversation: Conversation
}

/**
 * Replay the curriculum (or its chapters `from`..`to`) in order, skipping the conversations the image
 * already holds. Returns how many were replayed and skipped.
 */
export async function replayCurriculum(image: Image, realm: HardenedRealm, curriculum: Curriculum, opts: ReplayOptions & { from?: number; to?: number; onProgress?: (p: CurriculumProgress) => void } = {}): Promise<{ replayed: number; skipped: number; turns: number }> {
  const todo = curriculum.chapters(opts.from, opts.to)
  const have = await replayedConversations(image)
  let replayed = 0, skipped = 0, turns = 0
  for (let i = 0; i < todo.length; i++) {
    const c = todo[i]!
    if (have.has(c.id)) skipped++
    else {
      turns += (await replayConversation(image, realm, c, opts)).length
      replayed++
    }
    opts.onProgress?.({ done: i + 1, total: todo.length, conversation: c })
  }
  return { replayed, skipped, turns }
}

/**
 * The conversations the image holds: those whose last turn's transaction is in its history and was
 * not undone. The image's history is the narrative, so it is also the record of what was replayed.
 */
export async function replayedConversations(image: Image): Promise<Set<string>> {
  const done = new Set<string>()
  const undone = new Set<number>()
  for (const rec of await image.transactions()) {
    if (typeof rec.ext.undo === 'number') undone.add(rec.ext.undo)
    const c = rec.ext.curriculum as Partial<TurnRecord> | undefined
    if (c !== null && typeof c === 'object' && typeof c.conversation === 'string' && c.turn === c.turns && !undone.has(rec.tid)) done.add(c.conversation)
  }
  return done
}

function lineOf(e: unknown): string {
  const d = (e as { details?: Record<string, unknown> }).details
  return d !== undefined && typeof d.line === 'number' ? ` (act line ${d.line}${typeof d.column === 'number' ? `, column ${d.column}` : ''})` : ''
}

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s
}

export type { Transaction }
