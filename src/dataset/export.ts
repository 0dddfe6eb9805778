import type { DeclarativeAct } from '../covenant/index.js'
import type { JitCycleRecord } from '../covenant/index.js'
import type { ConversationLine } from '../genesis/index.js'
import type { Image, TxRecord } from '../image/index.js'
import { objectPaths } from './knowledge.js'
import { shownPath } from './result.js'

export interface ExportOptions {
  /** Only transactions after this tid. */
  since?: number
  /** Named in each line's `meta.source`. */
  source?: string
}

export interface ExportReport {
  conversations: number
  turns: number
  /** Transactions left out, by why: no act, no intent or explanation, undone, a JIT receiver nothing reaches. */
  skipped: Record<string, number>
}

interface Step {
  tid: number
  utterance: string
  explanation: string
  act: string | DeclarativeAct
  jit?: JitCycleRecord
  curriculum?: { conversation: string; chapter?: number; turn: number; turns: number }
}

/**
 * The image's history as conversations in the seeds' schema: each recorded act that carries the
 * Architect's words and an explanation is a turn; the turns of one curriculum conversation stay one
 * conversation, and every other act or JIT cycle is a conversation of its own. Undone transactions and
 * the undos themselves teach nothing and are left out. A JIT cycle's act ran with `self` bound to the
 * receiver: the exported act binds it by the receiver's path, so that it replays anywhere.
 */
export async function exportHistory(image: Image, opts: ExportOptions = {}): Promise<{ lines: ConversationLine[]; report: ExportReport }> {
  const records = (await image.transactions()).reverse()
  const undone = new Set<number>()
  for (const r of records) if (typeof r.ext.undo === 'number') undone.add(r.ext.undo)
  const skipped: Record<string, number> = {}
  const skip = (why: string) => { skipped[why] = (skipped[why] ?? 0) + 1 }
  let paths: Map<number, string> | undefined
  const steps: Step[] = []
  for (const r of records) {
    if (opts.since !== undefined && r.tid <= opts.since) continue
    if (typeof r.ext.undo === 'number') { skip('undo records'); continue }
    if (undone.has(r.tid)) { skip('undone'); continue }
    const step = stepOf(r)
    if (typeof step === 'string') { skip(step); continue }
    // The curriculum JIT replays its conversation with nothing bound: those turns stay the curriculum's own.
    if (step.jit !== undefined && step.curriculum === undefined) {
      paths ??= objectPaths(image)
      const path = paths.get(step.jit.receiver)
      if (path === undefined) { skip('JIT cycles whose receiver nothing reaches from the lobby'); continue }
      if (typeof step.act === 'string') step.act = bindReceiver(step.act, shownPath(path), step.jit)
    }
    steps.push(step)
  }
  const lines: ConversationLine[] = []
  let turns = 0
  for (let i = 0; i < steps.length;) {
    const first = steps[i]!
    let j = i + 1
    if (first.curriculum !== undefined) while (j < steps.length && steps[j]!.curriculum?.conversation === first.curriculum.conversation) j++
    const group = steps.slice(i, j)
    i = j
    turns += group.length
    lines.push({
      messages: group.flatMap((s) => [
        { role: 'architect' as const, content: s.utterance },
        { role: 'uvm_jit' as const, content: typeof s.act === 'string' ? { explanation: s.explanation, code: s.act } : { explanation: s.explanation, autopoietic_act: s.act } },
      ]),
      meta: {
        ...(opts.source !== undefined && { source: opts.source }),
        ...(first.curriculum?.chapter !== undefined && { chapter: first.curriculum.chapter }),
        tids: group.map((s) => s.tid),
        ...(first.curriculum !== undefined && { curriculum: first.curriculum.conversation }),
        ...(group.some((s) => s.jit !== undefined) && { jit: group.filter((s) => s.jit !== undefined).map((s) => provenance(s.jit!)) }),
      },
    })
  }
  return { lines, report: { conversations: lines.length, turns, skipped } }
}

/** A transaction record as a turn, or why it is not one. */
function stepOf(r: TxRecord): Step | string {
  const ext = r.ext
  const jit = isRecord(ext.jit) ? ext.jit as unknown as JitCycleRecord : undefined
  const act = isRecord(ext.autopoietic_act) ? ext.autopoietic_act as unknown as DeclarativeAct : typeof ext.act === 'string' ? ext.act : jit?.code
  if (act === undefined) return 'no act (bridge writes, the image\'s own records)'
  const explanation = typeof ext.explanation === 'string' && ext.explanation.trim() !== '' ? ext.explanation : jit?.explanation
  const utterance = typeof ext.intent === 'string' && ext.intent.trim() !== '' ? ext.intent : jit !== undefined ? (jit.utterance ?? jit.intent ?? jit.selector) : undefined
  if (explanation === undefined || utterance === undefined) return 'acts without the Architect\'s words or an explanation'
  const c = isRecord(ext.curriculum) ? ext.curriculum : undefined
  const curriculum = c !== undefined && typeof c.conversation === 'string'
    ? { conversation: c.conversation, ...(typeof c.chapter === 'number' && { chapter: c.chapter }), turn: Number(c.turn), turns: Number(c.turns) }
    : undefined
  return { tid: r.tid, utterance, explanation, act, ...(jit !== undefined && { jit }), ...(curriculum !== undefined && { curriculum }) }
}

/** The JIT ran the act with `self` (and `message`) bound: bind them by path, so the act replays anywhere. */
function bindReceiver(code: string, path: string, jit: JitCycleRecord): string {
  const lines: string[] = []
  if (/\bself\b/.test(code)) lines.push(`const self = ${path}`)
  if (/\bmessage\b/.test(code)) lines.push(`const message = { selector: ${JSON.stringify(jit.selector)}, args: [], receiver: ${/\bself\b/.test(code) ? 'self' : path} }`)
  return lines.length === 0 ? code : `${lines.join('\n')}\n${code}`
}

/** What a line keeps of a JIT cycle: who compiled it, how, and at what cost (never the server's key: it is not recorded). */
function provenance(j: JitCycleRecord): Record<string, unknown> {
  return { cycle: j.cycle, selector: j.selector, receiver: j.print, model: j.model, server: j.server, mode: j.mode, attempts: j.attempts.length, failures: j.attempts, ms: Math.round(j.ms), usage: j.usage, facet: j.facet }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}
