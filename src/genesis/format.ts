import { z } from 'zod'

/**
 * One curriculum conversation, one JSONL line: the seeds' format (seed 002 §2, seed 000 part II).
 * `autopoietic_act` is seed 000's name for the act and is accepted in place of `code`.
 */
export const ArchitectTurn = z.strictObject({ role: z.literal('architect'), content: z.string().min(1) })

export const JitContent = z.strictObject({
  explanation: z.string().min(1),
  code: z.string().min(1).optional(),
  autopoietic_act: z.string().min(1).optional(),
}).refine((c) => c.code !== undefined || c.autopoietic_act !== undefined, { message: "a uvm_jit turn needs 'code' (or 'autopoietic_act'): the act, JavaScript for this UVM" })

export const JitTurn = z.strictObject({ role: z.literal('uvm_jit'), content: JitContent })

export const ConversationLine = z.strictObject({
  messages: z.array(z.discriminatedUnion('role', [ArchitectTurn, JitTurn])).min(2),
}).superRefine((line, ctx) => {
  line.messages.forEach((m, i) => {
    const want = i % 2 === 0 ? 'architect' : 'uvm_jit'
    if (m.role !== want) ctx.addIssue({ code: 'custom', path: ['messages', i, 'role'], message: `turn ${i + 1} must be ${want}: roles alternate, starting with architect` })
  })
})

export type ConversationLine = z.infer<typeof ConversationLine>

/** One act of a conversation: the Architect's words and the JIT's answer to them. */
export interface Turn {
  utterance: string
  explanation: string
  code: string
}

/** A conversation as the curriculum holds it: where it came from, its turns, and what it teaches. */
export interface Conversation {
  /** `01-first-conversation.jsonl:3`: the file and the line, stable across runs. */
  id: string
  file: string
  line: number
  chapter: number
  chapterName: string
  turns: Turn[]
  /** Selectors its acts install as methods (what the curriculum JIT can answer with it). */
  teaches: string[]
}
