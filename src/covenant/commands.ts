import { z } from 'zod'
import { RequestId, commandBase } from './common.js'

const selector = z.string().min(1).max(256)

/** The authority to cancel an act from any connection: a secret, never echoed or published (ids are both). */
const CancelKey = z.string().min(16).max(256)
const cancelKey = CancelKey.optional().describe('a secret (16 to 256 characters: make it unguessable, e.g. a random UUID) by which a cancel from any connection can stop this act; never echoed, published or recorded. Without it, only a cancel on the same connection, naming the id, can')

export const GetFullStateCommand = z.object({
  command: z.literal('get_full_state'),
  ...commandBase,
  depth: z.number().int().min(0).max(8).default(1).describe('how deep object references are expanded'),
  slots_offset: z.number().int().min(0).optional().describe("page the target's own slots: skip this many (in slot order); with either paging field the state carries $slot_count, all the target has"),
  slots_limit: z.number().int().min(0).max(100_000).optional().describe("page the target's own slots: at most this many (an inspector opens an object of 100,000 slots a page at a time)"),
  elements_limit: z.number().int().min(1).max(100_000).optional().describe('page long arrays: an array of the state longer than this comes as {"$array": its first elements_limit elements, "$length": how many it has}; without it arrays come whole'),
  slot: z.string().max(10_000).optional().describe('with elements_limit: answer only this slot of the target (own or inherited, as a send finds it), an array, as {"$array": the window, "$length", "$offset"}: the next page of a long array'),
  elements_offset: z.number().int().min(0).optional().describe('with slot: where the window starts'),
}).meta({ id: 'GetFullStateCommand', description: 'a snapshot of the target (default: the Genesis Object)' })

export const UpdatePropertyCommand = z.object({
  command: z.literal('update_property'),
  ...commandBase,
  property_name: selector,
  property_value: z.unknown().describe('plain data; {"$ref": oid} refers to an existing object'),
}).meta({ id: 'UpdatePropertyCommand', description: 'set a data slot on the target (a read-only daemon refuses it: unauthorized)' })

export const CreateMethodCommand = z.object({
  command: z.literal('create_method'),
  ...commandBase,
  method_name: selector,
  method_code: z.string().max(1_000_000).describe('a JS function body (self and args in scope) or a function expression'),
}).meta({ id: 'CreateMethodCommand', description: 'the primary autopoietic primitive: install a method on the target (a read-only daemon refuses it: unauthorized)' })

export const SendMessageCommand = z.object({
  command: z.literal('send_message'),
  ...commandBase,
  selector,
  args: z.array(z.unknown()).max(10_000).default([]),
  intent: z.string().max(100_000).optional().describe("the Architect's words: recorded with any JIT cycle the send starts, and shown to the LLM"),
  cancel_key: cancelKey,
}).meta({ id: 'SendMessageCommand', description: 'send a message to the target; a missing selector goes to doesNotUnderstand: (a read-only daemon runs it and answers unauthorized if it wrote)' })

export const RunActCommand = z.object({
  command: z.literal('run_act'),
  ...commandBase,
  code: z.string().max(1_000_000).describe('the body of an async function; root, genesis, prototypes, print, UvmObject in scope'),
  intent: z.string().max(100_000).optional(),
  explanation: z.string().max(100_000).optional(),
  description: z.string().max(1000).optional().describe("the transaction's description in the history (default: the intent, else the act's first line); the REPL sends the input as typed"),
  bindings: z.record(z.string().regex(/^[A-Za-z_$][\w$]*$/, 'an identifier'), z.unknown()).optional().describe('names bound in the act\'s scope, as wire values ({"$ref": oid} is the object, data is copied in): the REPL\'s session scope (docs/REPL.md)'),
  cancel_key: cancelKey,
}).meta({ id: 'RunActCommand', description: 'run an act (LLM-emitted code) in one transaction (a read-only daemon runs it and answers unauthorized if it wrote)' })

export const HistoryCommand = z.object({
  command: z.literal('history'),
  ...commandBase,
  limit: z.number().int().min(1).max(10_000).default(20),
}).meta({ id: 'HistoryCommand', description: 'the newest transactions, newest first' })

export const UndoCommand = z.object({
  command: z.literal('undo'),
  ...commandBase,
  tid: z.number().int().positive(),
}).meta({ id: 'UndoCommand', description: 'undo a transaction: a new transaction restores what it changed (refused when later ones changed the same objects) (a read-only daemon refuses it: unauthorized)' })

export const WhyCommand = z.object({
  command: z.literal('why'),
  ...commandBase,
  selector: selector.describe('the slot to explain (looked up from the target as a send would)'),
}).meta({ id: 'WhyCommand', description: 'how a slot was made: the holder, the transaction that last wrote it, and the JIT cycle or curriculum turn when one did' })

export const CemCommand = z.object({ command: z.literal('cem'), ...commandBase }).meta({ id: 'CemCommand', description: 'the Composite Entropy Metric and its parts' })

export const CheckCommand = z.object({
  command: z.literal('check'),
  ...commandBase,
  max_listed: z.number().int().min(0).max(10_000).default(100).describe('how many dangling references and undecodable records to list (all are counted)'),
}).meta({ id: 'CheckCommand', description: 'walk the image from the root: dangling references and undecodable records, with counts (uvm check)' })

export const PackCommand = z.object({
  command: z.literal('pack'),
  ...commandBase,
  before: z.number().int().positive().optional().describe('keep what readers at or after this tid can see (default: the last tid + 1, all history goes)'),
  before_time: z.number().int().nonnegative().optional().describe('or a time (ms since the epoch): keep what readers since then can see'),
}).meta({ id: 'PackCommand', description: 'drop old revisions and unreachable objects, beside the transactions in flight (commits wait while it writes; revisions an active transaction may read are kept) (a read-only daemon refuses it: unauthorized)' })

export const ExportCommand = z.object({
  command: z.literal('export'),
  ...commandBase,
}).meta({ id: 'ExportCommand', description: 'the image as text, one file per object (uvm export): the files in the reply, for the client to write' })

export const ShowCommand = z.object({
  command: z.literal('show'),
  ...commandBase,
  tid: z.number().int().positive().describe('the transaction to show (see history)'),
}).meta({ id: 'ShowCommand', description: "what a transaction changed: each object's slots before and after (uvm show)" })

export const CancelCommand = z.object({
  command: z.literal('cancel'),
  ...commandBase,
  request: RequestId.optional().describe('the id of a run_act or send_message sent on this same connection'),
  key: CancelKey.optional().describe("the cancel_key a run_act or send_message was sent with, from any connection (the REPL's Ctrl-C cancels from a new one). One of request and key is needed; given both, both must match. A key that names no running act waits up to 1 s for it to arrive (sent just before on another connection)"),
}).meta({ id: 'CancelCommand', description: 'stop a run_act or send_message that is running: a loop at its next checkpoint, an act that awaits at once; its transaction is aborted and it answers ACT_CANCELLED (covenant code cancelled). The reply comes once that act has ended, and says whether the cancel stopped it or it had ended first (docs/REPL.md, Ctrl-C)' })

export const PingCommand = z.object({ command: z.literal('ping'), ...commandBase }).meta({ id: 'PingCommand' })
export const DescribeCommand = z.object({ command: z.literal('describe'), ...commandBase }).meta({ id: 'DescribeCommand', description: 'the covenant as JSON Schema' })

export const Command = z.discriminatedUnion('command', [
  GetFullStateCommand,
  UpdatePropertyCommand,
  CreateMethodCommand,
  SendMessageCommand,
  RunActCommand,
  HistoryCommand,
  UndoCommand,
  PingCommand,
  DescribeCommand,
  WhyCommand,
  CemCommand,
  CheckCommand,
  PackCommand,
  ExportCommand,
  ShowCommand,
  CancelCommand,
]).meta({ id: 'Command' })

export type GetFullStateCommand = z.infer<typeof GetFullStateCommand>
export type UpdatePropertyCommand = z.infer<typeof UpdatePropertyCommand>
export type CreateMethodCommand = z.infer<typeof CreateMethodCommand>
export type SendMessageCommand = z.infer<typeof SendMessageCommand>
export type RunActCommand = z.infer<typeof RunActCommand>
export type HistoryCommand = z.infer<typeof HistoryCommand>
export type UndoCommand = z.infer<typeof UndoCommand>
export type PingCommand = z.infer<typeof PingCommand>
export type DescribeCommand = z.infer<typeof DescribeCommand>
export type WhyCommand = z.infer<typeof WhyCommand>
export type CemCommand = z.infer<typeof CemCommand>
export type CheckCommand = z.infer<typeof CheckCommand>
export type PackCommand = z.infer<typeof PackCommand>
export type ExportCommand = z.infer<typeof ExportCommand>
export type ShowCommand = z.infer<typeof ShowCommand>
export type CancelCommand = z.infer<typeof CancelCommand>
export type Command = z.infer<typeof Command>
/** What a client sends (defaults not yet applied). */
export type CommandInput = z.input<typeof Command>
export type CommandName = Command['command']
