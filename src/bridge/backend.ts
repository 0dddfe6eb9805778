import type { HardenedRealm } from '../act/index.js'
import type { CancelCommand, CemReply, Command, JitEvent, Reply } from '../covenant/index.js'
import { CommitChain } from '../image/index.js'
import type { Image } from '../image/index.js'
import { handle, type ActRunner, type HandlerContext } from './handlers.js'
import { WriteGate } from './write-gate.js'
import type { EncodedReply } from './reply-bytes.js'
import type { WireFormat } from './wire.js'
import { LateActs, cancelRunning, type Ended } from './cancel.js'
import { errorReply } from './errors.js'

/** What the bridge announces after a commit: the tid and the objects it wrote (never their state). */
export interface CommitEvent {
  tid: number
  changed: number[]
}

/** How one request is to be served. */
export interface ServeOptions {
  /** The endpoint serves the image for inspection only. */
  readOnly: boolean
  /** How a client refused by a read-only endpoint gets write access (the end of the refusal's message). */
  writeAccess?: string | undefined
  /** Called once this request's transaction is in the commit queue (the client's next write may begin). */
  onQueued?: (() => void) | undefined
  /** A number naming the request to the sandbox's watchdog (see act/watchdog.ts). */
  tag?: number | undefined
  /** The request's wire format: a backend that encodes its replies itself answers in it. */
  format?: WireFormat | undefined
}

/**
 * Where the bridge's commands are answered: the image and its realm in this process (LocalBackend),
 * or an execution unit the daemon supervises in a child process (daemon/unit.ts). The bridge keeps
 * the sockets, the order of each client's requests and the replies; a backend, the work.
 */
export interface Backend {
  /**
   * Answer one valid command; throws UvmErrors (the server turns them into error replies). `lane`:
   * the client. A reply may come encoded (the execution unit encodes, caps and counts its own).
   */
  handle(cmd: Command, lane: string, opts: ServeOptions): Promise<Reply | EncodedReply>
  /** The client has nothing in flight any more: forget its commit chain. */
  closeLane(lane: string): void
  onCommit(listener: (e: CommitEvent) => void): () => void
  /** Events besides commits (JIT cycles), published on their own topic. */
  onEvent?(listener: (e: JitEvent) => void): () => void
}

export interface LocalBackendOptions {
  version?: string
  retries?: number
  cpuTimeoutMs?: number | undefined
  wallTimeoutMs?: number | undefined
  /** How acts and sends run (the daemon puts the JIT here). */
  run?: ActRunner | undefined
  /** Answers `cem`. */
  cem?: (() => Promise<CemReply>) | undefined
  /** The LLM behind doesNotUnderstand:, for ping. */
  jitInfo?: { server: string; model?: string } | undefined
  /** The real path of the image folder, for ping: a client that found the daemon by a folder's daemon file checks it. */
  imagePath?: string | undefined
  /** Where this backend's JIT announces its cycles (the PUB socket's `uvm_jit` topic). */
  events?: EventSource | undefined
}

/** A source of PUB events besides commits (the JIT's cycles): subscribe, get an unsubscribe. */
export type EventSource = (listener: (e: JitEvent) => void) => () => void

/** The image and realm of this process, serving the covenant's commands. */
export class LocalBackend implements Backend {
  private readonly chains = new Map<string, CommitChain>()
  private readonly gate: WriteGate
  private readonly base: Omit<HandlerContext, 'readOnly' | 'writeAccess'>

  constructor(readonly image: Image, private readonly realm: HardenedRealm, opts: LocalBackendOptions = {}) {
    this.gate = new WriteGate(image)
    this.base = { image, realm, version: opts.version ?? '0.0.0', retries: opts.retries ?? 8, gate: this.gate, cpuTimeoutMs: opts.cpuTimeoutMs, wallTimeoutMs: opts.wallTimeoutMs, run: opts.run, cem: opts.cem, jitInfo: opts.jitInfo, imagePath: opts.imagePath }
    this.events = opts.events
  }

  private readonly events: EventSource | undefined

  onEvent(listener: (e: JitEvent) => void): () => void {
    return this.events?.(listener) ?? (() => {})
  }

  /** Requests in flight by their act's tag, for cancel. */
  private readonly running = new Map<number, { cmd: Command; lane: string; ended: ((e: Ended) => void)[] }>()
  /** Tags for acts when the caller names none (a bridge in this process); the execution unit names them itself. */
  private tags = 0
  private readonly late = new LateActs()

  async handle(cmd: Command, lane: string, opts: ServeOptions): Promise<Reply> {
    if (cmd.command === 'cancel') return this.cancel(cmd, lane)
    const tag = opts.tag ?? ++this.tags
    const entry = { cmd, lane, ended: [] as ((e: Ended) => void)[] }
    this.running.set(tag, entry)
    if (cmd.command === 'run_act' || cmd.command === 'send_message') this.late.arrived(cmd.cancel_key)
    let ended: Ended = {}
    try {
      const reply = await this.serve(cmd, lane, opts, tag)
      ended = { tid: (reply as { tid?: number }).tid }
      return reply
    } catch (e) {
      ended = { code: errorReply(e, undefined).error.code }
      throw e
    } finally {
      this.running.delete(tag)
      for (const f of entry.ended) f(ended)
    }
  }

  /**
   * Stop the act `cmd` names and answer once it has ended. In this process an act whose code runs
   * holds the thread this runs on, so only one that awaits can be reached here; the daemon's execution
   * unit is reached from its own thread (daemon/unit.ts).
   */
  private cancel(cmd: CancelCommand, lane: string): Promise<Reply> {
    return cancelRunning(cmd, lane, () => this.running, (tag) => this.realm.cancel(tag), this.late)
  }

  private async serve(cmd: Command, lane: string, opts: ServeOptions, tag: number): Promise<Reply> {
    let chain = this.chains.get(lane)
    if (chain === undefined) this.chains.set(lane, chain = new CommitChain())
    const ctx: HandlerContext = { ...this.base, readOnly: opts.readOnly, ...(opts.writeAccess !== undefined && { writeAccess: opts.writeAccess }), tag }
    // Handed over while this request runs: the chain calls it once this request's transaction is queued.
    const queued = opts.onQueued
    chain.onQueued = queued
    try {
      return await handle(ctx, cmd, chain)
    } finally {
      if (chain.onQueued === queued) chain.onQueued = undefined
    }
  }

  closeLane(lane: string): void {
    this.chains.delete(lane)
  }

  onCommit(listener: (e: CommitEvent) => void): () => void {
    return this.image.onCommit((info) => listener({ tid: info.tid, changed: info.oids }))
  }
}
