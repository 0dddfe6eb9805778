import { z } from 'zod'
import { RequestId } from './common.js'

/**
 * A JIT cycle's provenance, recorded in the transaction that installed its code (`ext.jit` of its
 * transaction record), and what `why` answers with.
 */
export const JitCycleRecordSchema = z.object({
  cycle: z.string().describe('the cycle id (its PUB events carry it too)'),
  selector: z.string(),
  receiver: z.number().int().describe('oid of the object that did not understand'),
  print: z.string().describe('its printString when compiled'),
  utterance: z.string().optional().describe("the Architect's words, when the request carried an intent"),
  intent: z.string().optional().describe('the {"$intent": …} text the slot held, when the cycle compiled an intent slot'),
  explanation: z.string(),
  code: z.string(),
  model: z.string().optional(),
  server: z.string().describe('the LLM server (never its key)'),
  mode: z.enum(['json_schema', 'json_object', 'prompt', 'curriculum']).optional().describe('how structured output was asked for'),
  attempts: z.array(z.string()).describe('the failures of the attempts before the one that compiled'),
  ms: z.number().describe('the whole cycle, first request to commit'),
  usage: z.object({ promptTokens: z.number(), completionTokens: z.number() }).describe('token counts the server reported, summed over attempts'),
  facet: z.string().describe('the persona or facet the cycle is attributed to (H_cog)'),
  relevance: z.number().min(0).max(1).optional().describe('a relevance score, when one was recorded (H_rel)'),
}).meta({ id: 'JitCycleRecord' })

export const JitPhase = z.enum(['started', 'attempt', 'attempt_failed', 'compiled', 'failed'])

/** Published on topic `uvm_jit` for every step of every cycle. */
export const JitCycleEvent = z.object({
  event: z.literal('jit_cycle'),
  phase: JitPhase,
  cycle: z.string(),
  selector: z.string(),
  receiver: z.number().int(),
  print: z.string(),
  attempt: z.number().int().positive(),
  max_attempts: z.number().int().positive(),
  reason: z.string().optional().describe('attempt_failed, failed: what went wrong'),
  explanation: z.string().optional().describe('compiled'),
  tid: z.number().int().optional().describe('compiled: the transaction that installed the code'),
  ms: z.number().optional(),
  request: RequestId.optional().describe('the id of the request whose send started the cycle, when it had one'),
}).meta({ id: 'JitCycleEvent', description: 'a JIT cycle\'s progress: started, attempt (a retry begins), attempt_failed, compiled, failed' })

/** What a reply says of the cycles its request ran. */
export const JitSummary = z.object({
  cycle: z.string(),
  selector: z.string(),
  receiver: z.number().int(),
  print: z.string(),
  explanation: z.string(),
  tid: z.number().int(),
  attempts: z.array(z.string()),
  ms: z.number(),
}).meta({ id: 'JitSummary' })

export const JIT_TOPIC = 'uvm_jit'

export type JitEvent = z.infer<typeof JitCycleEvent>
export type JitCycleRecord = z.infer<typeof JitCycleRecordSchema>
export type JitSummary = z.infer<typeof JitSummary>
