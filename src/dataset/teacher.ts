import { z } from 'zod'
import type { Conversation, Curriculum } from '../genesis/index.js'
import { ConversationLine, words } from '../genesis/index.js'
import type { ChatMessage, OutputSchema } from '../jit/index.js'
import { systemPart } from '../jit/index.js'
import { replyObject } from './reply.js'

/** What the teacher is asked to return: one conversation line, without `meta` (that is ours to write). */
const Candidate = z.object({ messages: ConversationLine.shape.messages })
export const CANDIDATE_SCHEMA: OutputSchema = {
  name: 'uvm_conversation',
  schema: (({ $schema: _s, ...rest }) => rest)(z.toJSONSchema(Candidate, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>),
  // The uvm_jit content has optional fields (code or autopoietic_act), which strict mode cannot say.
  strict: false,
}

const CONTEXT = `You write training data for the UVM, the Universal Virtual Machine of BAT OS: a live image of prototype objects (Self-style slots and parent* delegation) that grows by doesNotUnderstand:. When a message finds no slot, the LLM, acting as the UVM-JIT, compiles the Architect's intent into an autopoietic act: JavaScript that runs inside the running image, in one transaction, and changes the live object graph. The Grand Narrative curriculum (genesis/) is the golden set; each line is one conversation in this schema:
{"messages": [{"role": "architect", "content": "<the Architect's words>"}, {"role": "uvm_jit", "content": {"explanation": "<the persona's why>", "code": "<the act>"}}, ...]}
Roles alternate, starting with architect, and end with a uvm_jit turn. Every act must run as written on the image the curriculum built: use only root, genesis, prototypes, UvmObject, print and the capabilities (bridge, forge, system, handoff, llm); each act has its own scope, so a later act reaches what an earlier one made through the graph (prototypes.Name), never through a variable.`

/** The prompt for one candidate: seeds' context and persona, the schema, golden conversations, the task. */
export function teacherPrompt(curriculum: Curriculum, chapter: number, task: string, examples = 6): { messages: ChatMessage[]; examples: string[] } {
  const golden = goldenFor(curriculum, chapter, task, examples)
  const shown = golden.map((c) => JSON.stringify({ messages: c.turns.flatMap((t) => [{ role: 'architect', content: t.utterance }, { role: 'uvm_jit', content: { explanation: t.explanation, code: t.code } }]) }))
  const system = [systemPart(), CONTEXT, `The JSON Schema of a line:\n${JSON.stringify(CANDIDATE_SCHEMA.schema)}`].join('\n\n')
  const user = [
    `Golden conversations from chapter ${chapter} of the curriculum (one per line):`,
    ...shown,
    '',
    `Task: write ONE new conversation for chapter ${chapter}, different from the golden ones: ${task}`,
    'Answer with exactly one JSON object in the schema above and nothing else.',
  ].join('\n')
  return { messages: [{ role: 'system', content: system }, { role: 'user', content: user }], examples: golden.map((c) => c.id) }
}

/** 5-10 golden conversations: those of the chapter closest in words to the task, within a size budget. */
function goldenFor(curriculum: Curriculum, chapter: number, task: string, k: number): Conversation[] {
  const want = Math.min(10, Math.max(5, k))
  const pool = curriculum.chapters(chapter, chapter)
  const all = pool.length >= want ? pool : [...pool, ...curriculum.conversations.filter((c) => c.chapter !== chapter)]
  const q = new Set(words(task))
  const scored = all.map((c, i) => {
    const w = words(c.turns.map((t) => t.utterance).join(' '))
    return { c, i, score: w.filter((x) => q.has(x)).length / Math.sqrt(w.length + 1) }
  }).sort((a, b) => b.score - a.score || a.i - b.i)
  const out: Conversation[] = []
  let chars = 0
  for (const { c } of scored) {
    const size = c.turns.reduce((n, t) => n + t.utterance.length + t.explanation.length + t.code.length, 0)
    // Past 40,000 characters (~10k tokens) of examples a small model's context is gone: stop at five.
    if (out.length >= 5 && chars + size > 40_000) break
    out.push(c)
    chars += size
    if (out.length === want) break
  }
  return out.sort((a, b) => curriculum.conversations.indexOf(a) - curriculum.conversations.indexOf(b))
}

/** A teacher's reply as a JSONL line with our meta, or why it is not one (stages 1-5 judge the rest). */
export function candidateLine(reply: string, meta: { chapter: number; teacher: string }): { text: string } | { error: string } {
  const v = replyObject(reply)
  if (v === undefined || v === null || typeof v !== 'object' || Array.isArray(v)) return { error: 'the reply holds no JSON object' }
  return { text: JSON.stringify({ ...(v as Record<string, unknown>), meta: { ...((v as { meta?: object }).meta ?? {}), chapter: meta.chapter, teacher: meta.teacher, source: 'uvm dataset generate' } }) }
}
