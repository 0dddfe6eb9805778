import type { ActOptions, ActResult, HardenedRealm } from '../act/index.js'
import { runAct } from '../act/index.js'
import type { CemReply, Command, JitSummary, Reply, RequestId } from '../covenant/index.js'
import { covenantJsonSchema } from '../covenant/index.js'
import type { CommitChain, Image, Transaction } from '../image/index.js'
import { Method, lookup, printString, setSlot, writeSlot } from '../kernel/index.js'
import { resolveTarget } from './target.js'
import { why } from './why.js'
import type { WriteGate } from './write-gate.js'
import { ReadOnlyRefused, UvmError } from '../errors.js'
import { WireWriter, assertNesting, fromWire, sessionBindings } from './values.js'
import { checkImage, exportFiles, packImage, showChanges } from './image-ops.js'

/** send_message runs as an act so that it gets the act's deadlines, draining and transaction record. */
const SEND_ACT = 'return await __send()'

export interface HandlerContext {
  image: Image
  realm: HardenedRealm
  version: string
  /** Conflict retries for each write command. */
  retries: number
  /** Gives a write command that lost a conflict a window of its own to retry in. */
  gate: WriteGate
  /** Serve the image for inspection only: commands that would change it are refused (ReadOnlyRefused). */
  readOnly?: boolean
  /** How a client refused by a read-only bridge gets write access (the end of the refusal's message). */
  writeAccess?: string
  /** Limits for acts and sends (defaults: the realm's). */
  cpuTimeoutMs?: number | undefined
  wallTimeoutMs?: number | undefined
  /** Names the request to the sandbox watchdog (RealmActOptions.tag). */
  tag?: number
  /** How acts and sends run (default runAct); the daemon puts the JIT here (runWithJit). */
  run?: ActRunner | undefined
  /** The LLM behind doesNotUnderstand:, for ping. */
  jitInfo?: { server: string; model?: string } | undefined
  /** The real path of the image folder, for ping (undefined: a memory image). */
  imagePath?: string | undefined
  /** Answers the cem command (the JIT's metric); absent: cem is refused. */
  cem?: (() => Promise<CemReply>) | undefined
}

/** Who a request's act works for: the Architect's words and the request id (the JIT records and announces them). */
export interface ActContext {
  utterance?: string | undefined
  request?: RequestId | undefined
  /** The request came through a read-only endpoint: capabilities that write (the bridge) are read-only too. */
  readOnly?: boolean | undefined
}

/** Runs an act for a command: runAct, or runAct with a compiler behind it that reports the cycles it ran. */
export type ActRunner = (code: string, opts: ActOptions, context: ActContext) => Promise<ActResult & { cycles?: JitSummary[] }>

/**
 * The UVM's answer to one valid command. Throws UvmErrors; the server turns them into error replies.
 * `chain`: the client's commit chain, for the writes that are one transaction of their own here.
 */
export async function handle(ctx: HandlerContext, cmd: Command, chain?: CommitChain): Promise<Reply> {
  const id = cmd.id
  const target = cmd.target ?? cmd.target_uuid
  const echo = id !== undefined ? { id } : {}
  const readOnly = ctx.readOnly === true
  const writeAccess = ctx.writeAccess ?? 'use a UVM that serves this image writable'
  // Refused before any validation of their own: what the client most needs to learn is that no
  // request of this kind can succeed here.
  if (readOnly && cmd.command === 'update_property') throw new ReadOnlyRefused(cmd.command, `it sets slot '${cmd.property_name}'`, writeAccess)
  if (readOnly && cmd.command === 'create_method') throw new ReadOnlyRefused(cmd.command, `it installs method '${cmd.method_name}'`, writeAccess)
  if (readOnly && cmd.command === 'undo') throw new ReadOnlyRefused(cmd.command, `it writes a transaction that puts back what ${cmd.tid} changed`, writeAccess)
  if (readOnly && cmd.command === 'pack') throw new ReadOnlyRefused(cmd.command, 'it deletes old revisions and unreachable objects', writeAccess)
  // Sends and acts cannot be judged before they run: a read-only daemon runs them and refuses the
  // commit of one that wrote.
  const guard = readOnly && (cmd.command === 'send_message' || cmd.command === 'run_act') ? new WriteRefusal(cmd.command, writeAccess) : undefined
  switch (cmd.command) {
    case 'ping':
      return { event: 'pong', ...echo, version: ctx.version, ...(readOnly && { read_only: true }), ...(ctx.jitInfo && { jit: ctx.jitInfo }), ...(ctx.imagePath !== undefined && { image: ctx.imagePath }) }
    case 'describe':
      return { event: 'covenant', ...echo, schema: covenantJsonSchema(ctx.version), ...(readOnly && { read_only: true }) }
    case 'history':
      return { event: 'history', ...echo, transactions: await ctx.image.transactions({ limit: cmd.limit }) }
    case 'undo': {
      const info = await ctx.image.undo(cmd.tid, { description: `undo ${cmd.tid}` })
      return { event: 'ack', ...echo, ...(info.tid !== undefined && { tid: info.tid }) }
    }
    case 'get_full_state':
      return read(ctx.image, (tx) => {
        const writer = new WireWriter(tx, cmd.elements_limit)
        const obj = resolveTarget(tx, target)
        if (cmd.slot === undefined) return { event: 'uvm_state_update', ...echo, tid: ctx.image.lastTid, state: writer.object(obj, cmd.depth, statePage(cmd)) }
        // One slot's array, a window at a time: what an inspector asks for the next page of a long array.
        const holder = lookup(tx, obj, cmd.slot)
        const items = holder === undefined ? undefined : tx.read(holder).slots.get(cmd.slot)
        if (!Array.isArray(items)) throw new UvmError('KERNEL_NOT_AN_OBJECT', `slot '${cmd.slot}' of ${printString(tx, obj)} is not an array (${items === undefined ? 'no such slot' : typeof items}): only an array is paged`, { invalidCommand: true })
        return { event: 'uvm_state_update', ...echo, tid: ctx.image.lastTid, state: writer.elements(items, cmd.elements_offset ?? 0, cmd.elements_limit ?? 200, cmd.depth) }
      })
    case 'update_property': {
      assertNesting(cmd.property_value, 'property_value')
      const { info } = await withRetries(ctx, () => ctx.image.transact((tx) => {
        setSlot(tx, resolveTarget(tx, target), cmd.property_name, fromWire(tx, cmd.property_value, 'property_value'))
      }, { retries: 0, chain, meta: { description: `update_property ${cmd.property_name}`, ext: { command: 'update_property', target: target ?? 'genesis' } } }))
      return { event: 'ack', ...echo, ...(info.tid !== undefined && { tid: info.tid }) }
    }
    case 'create_method': {
      // Compile first: a syntax error replies with its position and writes nothing.
      ctx.realm.compileMethod(cmd.method_code, cmd.method_name)
      const { info } = await withRetries(ctx, () => ctx.image.transact((tx) => {
        writeSlot(tx, resolveTarget(tx, target), cmd.method_name, new Method(cmd.method_code))
      }, { retries: 0, chain, meta: { description: `create_method ${cmd.method_name}`, ext: { command: 'create_method', target: target ?? 'genesis', source: cmd.method_code } } }))
      return { event: 'ack', ...echo, ...(info.tid !== undefined && { tid: info.tid }) }
    }
    case 'send_message': {
      assertNesting(cmd.args, 'args')
      // An unknown target (or $ref in args) is raised inside the act, where the realm strips its
      // unknownTarget mark on the way out: keep the host error to reply unknown_target, not act_failed.
      let unknownTarget: UvmError | undefined
      const result = await withRetries(ctx, () => runner(ctx)(SEND_ACT, {
        cpuTimeoutMs: ctx.cpuTimeoutMs,
        wallTimeoutMs: ctx.wallTimeoutMs,
        ...(ctx.tag !== undefined && { tag: ctx.tag }),
        meta: { description: `send ${cmd.selector}`, ext: { command: 'send_message', selector: cmd.selector, target: target ?? 'genesis' } },
        present: replyValue,
        ...(guard && { beforeCommit: guard.check }),
        bind: (tx) => ({
          __send: ctx.realm.hostFunction('send', () => {
            let receiver, args
            try {
              receiver = resolveTarget(tx, target)
              args = fromWire(tx, cmd.args, 'args') as unknown[]
            } catch (e) {
              if (e instanceof UvmError && e.details.unknownTarget === true) unknownTarget = e
              throw e
            }
            return tx.kernel.send(tx, receiver, cmd.selector, args)
          }),
        }),
      }, { utterance: cmd.intent, request: id, readOnly })).catch((e: unknown) => {
        guard?.rethrow(e, `'${cmd.selector}'`)
        if (unknownTarget !== undefined) throw unknownTarget
        // Positions would point into the one-line act that carries the send, not at anything the client wrote.
        if (e instanceof UvmError) {
          delete e.details.line; delete e.details.column
          // Its frame too: the trace starts at the method the client sent to.
          if (Array.isArray(e.details.trace)) e.details.trace = (e.details.trace as { act?: unknown }[]).filter((f) => f.act !== true)
        }
        throw e
      })
      return { event: 'result', ...echo, ...resultValue(result.value), ...(result.output && { output: result.output }), ...(result.tid !== undefined && { tid: result.tid }), ...(result.cycles?.length && { jit: result.cycles }) }
    }
    case 'run_act': {
      const result = await withRetries(ctx, () => runner(ctx)(cmd.code, {
        cpuTimeoutMs: ctx.cpuTimeoutMs,
        wallTimeoutMs: ctx.wallTimeoutMs,
        ...(ctx.tag !== undefined && { tag: ctx.tag }),
        ...(cmd.intent !== undefined && { intent: cmd.intent }),
        ...(cmd.explanation !== undefined && { explanation: cmd.explanation }),
        ...(cmd.description !== undefined && { meta: { description: cmd.description } }),
        ...(cmd.bindings !== undefined && { bind: sessionBindings(cmd.bindings) }),
        ...(guard && { beforeCommit: guard.check }),
        present: replyValue,
      }, { utterance: cmd.intent, request: id, readOnly })).catch((e: unknown) => {
        guard?.rethrow(e, 'the act')
        throw e
      })
      return { event: 'result', ...echo, ...resultValue(result.value), output: result.output, ...(result.tid !== undefined && { tid: result.tid }), ...(result.cycles?.length && { jit: result.cycles }) }
    }
    case 'why':
      return { ...echo, ...await why(ctx.image, target, cmd.selector) }
    case 'cem':
      if (ctx.cem === undefined) throw new UvmError('JIT_FAILED', 'this UVM computes no Composite Entropy Metric (it has no JIT)')
      return { ...await ctx.cem(), ...echo }
    case 'check':
      return { ...await checkImage(ctx.image, cmd.max_listed), ...echo }
    case 'pack':
      return { ...await packImage(ctx.image, cmd), ...echo }
    case 'export':
      return { ...await exportFiles(ctx.image), ...echo }
    case 'show':
      return { ...await showChanges(ctx.image, cmd.tid), ...echo }
    case 'cancel':
      // It names another request in flight, which only the backend that runs them knows.
      throw new UvmError('ACT_FAILED', 'cancel is answered by the backend, not by a handler')
  }
}

/** get_full_state's paging of the target's own slots, when it asked for any. */
function statePage(cmd: { slots_offset?: number; slots_limit?: number }): { offset?: number; limit?: number } | undefined {
  if (cmd.slots_offset === undefined && cmd.slots_limit === undefined) return undefined
  return { ...(cmd.slots_offset !== undefined && { offset: cmd.slots_offset }), ...(cmd.slots_limit !== undefined && { limit: cmd.slots_limit }) }
}

function runner(ctx: HandlerContext): ActRunner {
  return ctx.run ?? ((code, opts) => runAct(ctx.image, ctx.realm, code, opts))
}

/**
 * The commit check of a send or act on a read-only daemon. What the act throws reaches the host as
 * an ActError built from its fields, so the refusal is recognised by this flag, never by an error's
 * code: an act cannot make its own failure read as `unauthorized`.
 */
class WriteRefusal {
  private changed: number[] | undefined

  constructor(private readonly command: string, private readonly writeAccess: string) {}

  readonly check = (tx: Transaction): void => {
    // Called by the commit itself, after its last write-back of mutated copies: these are the writes it stores.
    // New objects only are stored when an existing object comes to refer to them: writes to
    // nothing but new objects leave the image as it was, so an act may build scratch objects.
    const changed: number[] = []
    for (const obj of tx.writes.keys()) if (!tx.created.has(obj)) changed.push(obj.oid)
    if (changed.length === 0) return
    this.changed = changed
    throw new Error('refused: the image is served read-only')
  }

  rethrow(e: unknown, what: string): void {
    if (this.changed === undefined) return
    const output = (e as { output?: unknown }).output
    const oids = this.changed.slice(0, 10).map((o) => '#' + o).join(', ') + (this.changed.length > 10 ? ', …' : '')
    throw new ReadOnlyRefused(this.command, `${what} changed ${oids}`, this.writeAccess, typeof output === 'string' ? output : '')
  }
}

/**
 * A send's or act's value as the reply carries it, written in the act's own transaction before it
 * commits: an object the act made and stored nowhere is never written, and only there can it be shown.
 */
function wireValue(tx: Transaction, value: unknown): unknown {
  return new WireWriter(tx).js(value, 1)
}

/** Marks a reply value that was undefined: it travels as null, with `undefined: true` beside it. */
const UNDEFINED = Symbol('undefined')
const replyValue = (tx: Transaction, value: unknown): unknown => (value === undefined ? UNDEFINED : wireValue(tx, value))
const resultValue = (v: unknown): { value: unknown; undefined?: true } => (v === UNDEFINED ? { value: null, undefined: true } : { value: v })

/** Run `f` in a read-only transaction. */
export function read<T>(image: Image, f: (tx: Transaction) => T): T {
  const tx = image.begin()
  try {
    return f(tx)
  } finally {
    tx.abort()
  }
}

/**
 * Write commands run side by side (their commits share fsyncs). One that lost a conflict retries
 * with priority (see WriteGate): under steady contention for one object a plain retry loop can
 * lose every round, since whoever begins right after each commit wins again.
 */
async function withRetries<T>(ctx: HandlerContext, f: () => Promise<T>): Promise<T> {
  let lost: number | undefined
  for (let attempt = 0; ; attempt++) {
    const began = ctx.image.lastTid
    try {
      return await ctx.gate.run(lost, f)
    } catch (e) {
      if ((e as { retryable?: unknown }).retryable !== true || attempt >= ctx.retries) throw e
      lost = began
    }
  }
}
