import { z } from 'zod'
import type { ChatMessage, OutputSchema } from '../jit/index.js'
import { UVM_JIT_PERSONA } from '../jit/index.js'
import { replyObject } from './reply.js'

const score = (what: string) => z.number().int().min(1).max(5).describe(what)

/** The judge's rubric (seed 002's LLM-as-a-judge), as the structured answer it must give. */
export const JudgeScores = z.strictObject({
  persona_adherence: score('1-5: the explanations speak as the UVM-JIT and its personas, collaborative and principled (the prototypal imperative, operational closure, doesNotUnderstand: as creation)'),
  coherence: score('1-5: each explanation is clear, follows from the Architect\'s words, and the conversation holds together'),
  code_match: score('1-5: each explanation says what its act actually does (no promised behaviour missing, nothing done unsaid)'),
  rationale: z.string().describe('one or two sentences: why these scores'),
})
export type JudgeScores = z.infer<typeof JudgeScores>
export const SCORE_NAMES = ['persona_adherence', 'coherence', 'code_match'] as const

export const JUDGE_SCHEMA: OutputSchema = { name: 'uvm_judgement', schema: (({ $schema: _s, ...rest }) => rest)(z.toJSONSchema(JudgeScores) as Record<string, unknown>) }

const RUBRIC = `You are an independent judge of training data for the UVM-JIT, the LLM that compiles intent into acts inside the live image of BAT OS. The UVM-JIT's persona: ${UVM_JIT_PERSONA}
Score the conversation you are given on three criteria, each a whole number from 1 (poor) to 5 (excellent):
- persona_adherence: the explanations embody that persona (and any persona they name: BRICK, ROBIN, BABS, ALFRED), collaborative and principled.
- coherence: each explanation is clear and follows from the Architect's words; the turns hold together.
- code_match: each explanation matches its act: what it says is what the code does.
Answer with exactly one JSON object: {"persona_adherence": n, "coherence": n, "code_match": n, "rationale": "..."}.`

export function judgePrompt(conversation: unknown): ChatMessage[] {
  return [{ role: 'system', content: RUBRIC }, { role: 'user', content: JSON.stringify(conversation) }]
}

/** The judge's reply as scores, or what is wrong with it. */
export function parseScores(reply: string): { scores: JudgeScores } | { error: string } {
  const v = replyObject(reply)
  if (v === undefined) return { error: 'the judge\'s reply holds no JSON object' }
  const parsed = JudgeScores.safeParse(v)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    return { error: `the judge's answer: ${issue.path.join('.') || 'shape'}: ${issue.message}` }
  }
  return { scores: parsed.data }
}
