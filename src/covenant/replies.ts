import { z } from 'zod'
import { RequestId, WireValue } from './common.js'
import { JitCycleRecordSchema, JitSummary } from './jit.js'

/** The error codes a reply can carry: stable, for clients to branch on. */
export const ErrorCode = z.enum([
  'bad_frame',
  'invalid_command',
  'unknown_target',
  'syntax_error',
  'act_failed',
  'timeout',
  'cancelled',
  'conflict',
  'does_not_understand',
  'unauthorized',
  'too_large',
  'overloaded',
  'out_of_memory',
  'unavailable',
]).meta({ id: 'ErrorCode' })
export type ErrorCode = z.infer<typeof ErrorCode>

const id = RequestId.optional()
const Tid = z.number().int().positive()

export const UvmStateUpdateEvent = z.object({
  event: z.literal('uvm_state_update'),
  id,
  tid: Tid.optional().describe('the commit that produced this state (published events)'),
  changed: z.array(z.number().int()).optional().describe('oids written by that commit (published events)'),
  state: WireValue.optional().describe('the object (the reply to get_full_state always has it; a published event never does: its cost must not grow with what objects hold, so a subscriber asks get_full_state for what it shows)'),
}).meta({ id: 'UvmStateUpdateEvent', description: 'the reply to get_full_state (a snapshot of an object), and the event published after every commit (its tid and the oids it wrote)' })

export const AckReply = z.object({ event: z.literal('ack'), id, tid: Tid.optional() }).meta({ id: 'AckReply' })

export const ResultReply = z.object({
  event: z.literal('result'),
  id,
  value: WireValue,
  undefined: z.literal(true).optional().describe('the value was undefined (value is null, as before this field existed); absent: value is what it says'),
  output: z.string().optional(),
  tid: Tid.optional().describe('present when the command wrote to the image'),
  jit: z.array(JitSummary).optional().describe('the JIT cycles this request ran (each compiled what a send did not understand), in order'),
}).meta({ id: 'ResultReply' })

export const TransactionRecord = z.object({
  tid: Tid,
  time: z.number(),
  user: z.string(),
  description: z.string(),
  ext: z.record(z.string(), z.unknown()),
  oids: z.array(z.number().int()),
}).meta({ id: 'TransactionRecord' })

export const HistoryReply = z.object({ event: z.literal('history'), id, transactions: z.array(TransactionRecord) }).meta({ id: 'HistoryReply' })

/** Sent only when true: absent means writable, as from every server before read-only mode existed. */
const ReadOnly = z.boolean().optional().describe('true when this daemon serves its image read-only (uvm boot --read-only): commands that would change it get `unauthorized`; absent when writable')

export const PongReply = z.object({
  event: z.literal('pong'),
  id,
  version: z.string(),
  read_only: ReadOnly,
  jit: z.object({ server: z.string(), model: z.string().optional() }).optional().describe('the LLM behind doesNotUnderstand:, when one is configured (never its key)'),
  image: z.string().optional().describe("the real path of the image folder this daemon serves: a client that found the daemon by an image folder's uvm-daemon.json checks that it is that folder (absent from older daemons and memory images)"),
}).meta({ id: 'PongReply' })

export const CovenantReply = z.object({ event: z.literal('covenant'), id, schema: z.record(z.string(), z.unknown()), read_only: ReadOnly }).meta({ id: 'CovenantReply' })

export const TraceFrame = z.object({
  selector: z.string().describe("the method's selector; `act` for the act's own frame"),
  line: z.number().int().optional().describe("the line in the method's (or act's) own source; absent when the thrown value carried no stack (a thrown string)"),
  column: z.number().int().optional(),
  receiver: z.number().int().optional().describe('the oid of the object the method ran for (an act: its self, else the Genesis Object)'),
  receiver_print: z.string().optional().describe('its print string, e.g. <Shape #5>'),
  act: z.literal(true).optional().describe("the act's own frame"),
  block: z.literal(true).optional().describe('a function nested in the method or act (a callback), shown as "[] in"'),
  cut: z.literal(true).optional().describe('stands for frames past the stack trace limit (200), which were not recorded (selector `…`); shown as "… more frames not recorded"'),
}).meta({ id: 'TraceFrame', description: 'one frame of a send trace, innermost first' })
export type TraceFrame = z.infer<typeof TraceFrame>

export const ErrorReply = z.object({
  event: z.literal('error'),
  id,
  error: z.object({
    code: ErrorCode,
    message: z.string(),
    issues: z.array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() })).optional(),
    line: z.number().int().optional(),
    column: z.number().int().optional(),
    selector: z.string().optional(),
    receiver: z.number().int().optional(),
    /** What an act printed before it failed. */
    output: z.string().optional(),
    /** The UVM's own error code (docs/errors.md), finer than `code`. */
    uvm_code: z.string().optional(),
    /** unauthorized: the command that was refused. */
    command: z.string().optional(),
    /** too_large: the request's size in bytes (it carries no id: it was not decoded) and the limit. */
    size: z.number().int().optional(),
    limit: z.number().int().optional(),
    /** does_not_understand after a JIT cycle failed: each attempt's failure. */
    attempts: z.array(z.string()).optional(),
    trace: z.array(TraceFrame).optional().describe('where an act or method failed: each method the error left (receiver, selector, line and column in its own source), innermost first, then the act. `uvm` prints it as `<Shape #5> area (line 2, column 10) ← <Genesis #2> act (line 1, column 8)`'),
    excerpt: z.string().optional().describe('syntax_error: the source line and, below it, a caret under the column'),
    stack: z.string().optional().describe('only when the request had `debug: true`: the sandbox stack of what was thrown (act and method frames), then the host stack where the daemon raised it'),
  }).loose(),
}).meta({ id: 'ErrorReply' })

export const ProvenanceReply = z.object({
  event: z.literal('provenance'),
  id,
  selector: z.string(),
  holder: z.number().int().describe('the object holding the slot a send of the selector finds'),
  holder_print: z.string(),
  kind: z.string().describe('the slot kind: method, data, reference, parent, primitive, intent'),
  source: z.string().optional().describe('a method\'s source'),
  origin: Tid.optional().describe('the recorded cycle (JIT compile, curriculum turn) that made the slot, when one did'),
  tid: Tid.optional().describe('the transaction that last wrote the slot, when still in the history'),
  description: z.string().optional().describe("that transaction's description"),
  explanation: z.string().optional().describe("that transaction's explanation, when its act had one (a curriculum turn's, or an act sent with `explanation`)"),
  jit: JitCycleRecordSchema.optional().describe('the JIT cycle that made the slot'),
  curriculum: z.record(z.string(), z.unknown()).optional().describe('the curriculum turn that made the slot'),
}).meta({ id: 'ProvenanceReply', description: 'the reply to why' })

export const CemReply = z.object({
  event: z.literal('cem'),
  id,
  cem: z.number(),
  parts: z.object({ rel: z.number().optional(), cog: z.number(), sol: z.number(), struc: z.number() }),
  weights: z.object({ rel: z.number(), cog: z.number(), sol: z.number(), struc: z.number() }).describe('the effective weights (rel left out and the rest renormalised when no relevance was recorded)'),
  cycles: z.number().int().describe('JIT cycles the metric was computed over (the last 100)'),
}).meta({ id: 'CemReply', description: 'the reply to cem' })

export const CheckReply = z.object({
  event: z.literal('check'),
  id,
  ok: z.boolean().describe('no dangling reference and no undecodable record'),
  objects: z.number().int(),
  reachable: z.number().int(),
  unreachable: z.number().int(),
  revisions: z.number().int().describe('old revisions kept (pack drops them)'),
  transactions: z.number().int(),
  dangling_count: z.number().int(),
  undecodable_count: z.number().int(),
  dangling: z.array(z.object({ from: z.number().int(), to: z.number().int() })).describe('the first max_listed'),
  undecodable: z.array(z.object({ oid: z.number().int(), error: z.string() })).describe('the first max_listed'),
}).meta({ id: 'CheckReply', description: 'the reply to check' })

export const PackReply = z.object({
  event: z.literal('packed'),
  id,
  before: Tid.describe('what readers at or after this tid can see was kept (at most the oldest active transaction\'s snapshot)'),
  revisions_removed: z.number().int(),
  objects_removed: z.number().int(),
  objects_kept: z.number().int(),
}).meta({ id: 'PackReply', description: 'the reply to pack' })

export const ExportReply = z.object({
  event: z.literal('export'),
  id,
  objects: z.number().int(),
  unreachable: z.number().int().optional().describe('objects the image holds that nothing reaches: left out'),
  files: z.record(z.string(), z.string()).describe('path (relative to the export folder, "/"-separated) → text: image.json and objects/NNNNNN.uvm'),
}).meta({ id: 'ExportReply', description: 'the reply to export' })

const SlotsJson = z.record(z.string(), z.unknown()).describe('slot name → value as JSON: references {"$ref": oid}, methods {"$method": source}, primitives {"$primitive": name}, bigints {"$bigint": "…"}, bytes {"$bytes": base64}')

export const ShowReply = z.object({
  event: z.literal('show'),
  id,
  transaction: TransactionRecord,
  objects: z.array(z.object({
    oid: z.number().int(),
    created: z.boolean().describe('the transaction created it (no before)'),
    before_tid: Tid.optional().describe('the transaction that wrote the revision before'),
    before: SlotsJson.optional().describe('its slots just before (absent when created, or when pack took that revision)'),
    after: SlotsJson.optional().describe('its slots as the transaction wrote them (absent when pack took them)'),
    packed: z.literal(true).optional().describe('pack took a revision that would be shown'),
  })),
  names: z.record(z.string(), z.string()).describe('oid → how the object prints today (<Morph #4>), for those still in the image'),
}).meta({ id: 'ShowReply', description: 'the reply to show' })

export const CancelReply = z.object({
  event: z.literal('cancel'),
  id,
  request: RequestId.optional().describe('the id the cancel named, if it named one'),
  cancelled: z.boolean().describe('true: the cancel stopped the act (its reply was ACT_CANCELLED; nothing of it was committed)'),
  outcome: z.enum(['cancelled', 'finished', 'failed', 'not_running']).describe('cancelled; finished: it ended with a result first (committed, when it wrote: tid); failed: it ended with an error first (code); not_running: no act this cancel names is running (it ended before, never ran, or was sent on another connection without that cancel_key)'),
  tid: Tid.optional().describe('finished: the commit it made'),
  code: ErrorCode.optional().describe('failed: its error code'),
}).meta({ id: 'CancelReply', description: 'the reply to cancel' })

export const Reply = z.discriminatedUnion('event', [UvmStateUpdateEvent, AckReply, ResultReply, HistoryReply, PongReply, CovenantReply, ErrorReply, ProvenanceReply, CemReply, CheckReply, PackReply, ExportReply, ShowReply, CancelReply]).meta({ id: 'Reply' })

export type UvmStateUpdateEvent = z.infer<typeof UvmStateUpdateEvent>
export type AckReply = z.infer<typeof AckReply>
export type ResultReply = z.infer<typeof ResultReply>
export type TransactionRecord = z.infer<typeof TransactionRecord>
export type HistoryReply = z.infer<typeof HistoryReply>
export type PongReply = z.infer<typeof PongReply>
export type CovenantReply = z.infer<typeof CovenantReply>
export type ErrorReply = z.infer<typeof ErrorReply>
export type ProvenanceReply = z.infer<typeof ProvenanceReply>
export type CemReply = z.infer<typeof CemReply>
export type CheckReply = z.infer<typeof CheckReply>
export type PackReply = z.infer<typeof PackReply>
export type ExportReply = z.infer<typeof ExportReply>
export type ShowReply = z.infer<typeof ShowReply>
export type CancelReply = z.infer<typeof CancelReply>
export type Reply = z.infer<typeof Reply>
