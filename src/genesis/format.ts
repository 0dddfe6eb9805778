import { z } from 'zod'
import { DeclarativeAct } from '../covenant/index.js'

/**
 * One conversation, one JSONL line: the seeds' format (seed 002 §2, seed 000 part II), for the
 * curriculum and for every dataset the UVM validates, exports or generates. `autopoietic_act` is seed
 * 000's name for the act: JavaScript, like `code`, or a declarative act of its vocabulary (ADD_SLOT...).
 */
const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`)

export const ArchitectTurn = z.strictObject({
  role: z.literal('architect'),
  content: z.string({ error: (i) => `architect content is the Architect's words, a string, not ${kind(i.input)}` })
    .min(1, { error: 'architect content is empty' }),
})

export const JitContent = z.strictObject({
  explanation: z.string({ error: (i) => i.input === undefined ? "uvm_jit content lacks 'explanation' (a non-empty string: why the act does what it does)" : `'explanation' must be a non-empty string, not ${kind(i.input)}` })
    .refine((s) => s.trim() !== '', { error: "'explanation' is empty" })
    .describe('the persona\'s explanation of the act: the why'),
  code: z.string({ error: (i) => `'code' is the act, a string of JavaScript, not ${kind(i.input)}` })
    .min(1, { error: "'code' is empty" }).optional()
    .describe('the act: the body of an async function, JavaScript for this UVM'),
  autopoietic_act: z.union([z.string().min(1), DeclarativeAct], { error: (i) => `'autopoietic_act' is JavaScript (a string) or a declarative act ({"action": "ADD_SLOT", ...}), not ${kind(i.input)}` }).optional()
    .describe("seed 000's name for the act: JavaScript, or a declarative act (ADD_SLOT, MODIFY_SLOT, CLONE_PROTOTYPE, COMPOSITE_ACTION, INITIATE_FINETUNE_JOB)"),
}).refine((c) => c.code !== undefined || c.autopoietic_act !== undefined, { error: "a uvm_jit turn needs 'code' (or 'autopoietic_act'): the act, JavaScript for this UVM" })

export type JitContent = z.infer<typeof JitContent>

export const JitTurn = z.strictObject({ role: z.literal('uvm_jit'), content: JitContent })

/** Where a line came from and what was said of it: free-form, with these fields typed when present. */
export const LineMeta = z.looseObject({
  chapter: z.number().int().min(1).max(99).optional().describe('the curriculum chapter the conversation belongs to'),
  teacher: z.string().optional().describe('the model that generated it (uvm dataset generate)'),
  source: z.string().optional().describe('where it came from: a file, an image'),
})

export const ConversationLine = z.strictObject({
  messages: z.array(z.discriminatedUnion('role', [ArchitectTurn, JitTurn]), { error: (i) => `'messages' must be an array of turns, not ${kind(i.input)}` })
    .min(2, { error: "'messages' needs at least two turns: the Architect's, then the uvm_jit answer" }),
  meta: LineMeta.optional(),
}).superRefine((line, ctx) => {
  line.messages.forEach((m, i) => {
    const want = i % 2 === 0 ? 'architect' : 'uvm_jit'
    if (m.role !== want) ctx.addIssue({ code: 'custom', path: ['messages', i, 'role'], message: `turn ${i + 1} must be ${want}: roles alternate, starting with architect` })
  })
  const n = line.messages.length
  if (n % 2 !== 0 && line.messages[n - 1]?.role === 'architect') ctx.addIssue({ code: 'custom', path: ['messages', n - 1], message: 'the conversation ends with an architect turn that nothing answers' })
})

export type ConversationLine = z.infer<typeof ConversationLine>

/** One act of a conversation: the Architect's words and the JIT's answer to them. */
export interface Turn {
  utterance: string
  explanation: string
  /** The act as the runner runs it: the JavaScript, or what a declarative act compiles to. */
  code: string
  /** The declarative act `code` was made from, when the turn held one. */
  declarative?: DeclarativeAct
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
