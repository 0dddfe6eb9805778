import * as zmq from 'zeromq'
import type { HardenedRealm } from '../act/index.js'
import { Command, JIT_TOPIC, PUB_TOPIC } from '../covenant/index.js'
import type { Reply, RequestId } from '../covenant/index.js'
import type { Image } from '../image/index.js'
import { errorReply, simpleError } from './errors.js'
import { isLoopback, requireCurveFor } from './address.js'
import { DEFAULT_BIND, DEFAULT_PUB } from '../endpoint/index.js'
import type { ServerKeys } from './keys.js'
import { ZapHandler } from './zap.js'
import { WireCodec } from './wire.js'
import type { WireFormat } from './wire.js'
import { LocalBackend, type Backend, type CommitEvent } from './backend.js'
import { isEncoded, mib, replyBytes, type EncodedReply } from './reply-bytes.js'

export interface BridgeOptions {
  /** Commands (ROUTER). Default tcp://127.0.0.1:5555. */
  bind?: string
  /** Events (PUB). Default tcp://127.0.0.1:5556. */
  pub?: string
  /** Largest request payload answered (bigger ones get `too_large`). Default 16 MiB. */
  maxFrameBytes?: number
  /** Commands being handled at once, all clients together, before `overloaded`. Default 1024. */
  maxInFlight?: number
  /** Commands of one client being handled or waiting their turn, before `overloaded`: one flooding client cannot take every slot. Default 256. */
  maxInFlightPerClient?: number
  /** Largest reply sent; a bigger one is answered `too_large` (BRIDGE_REPLY_TOO_LARGE) instead. Default 64 MiB. */
  maxReplyBytes?: number
  /**
   * Reply bytes encoded and not yet taken by ZeroMQ, all clients together, before new requests get
   * `overloaded` (and a large reply that would go past it is answered `overloaded`). Default 256 MiB.
   */
  maxQueuedBytes?: number
  /** CURVE keys: required to bind anything but loopback. */
  keys?: ServerKeys
  /** ZMTP heartbeat interval in ms (0: off). Default 5000. */
  heartbeatMs?: number
  /** Conflict retries per write command (with priority, see WriteGate). Default 8. */
  retries?: number
  /** Serve the image for inspection: commands that would change it get `unauthorized`. Default false. */
  readOnly?: boolean
  /** How a refused client gets write access, ending each refusal's message (e.g. which flag to drop). */
  writeAccess?: string
  cpuTimeoutMs?: number
  wallTimeoutMs?: number
  version?: string
  /** One structured record per request. */
  log?: (record: RequestLog) => void
}

export interface RequestLog {
  client: string
  command: string
  id?: RequestId
  ms: number
  event: string
  code?: string
  tid?: number
}

export { DEFAULT_BIND, DEFAULT_PUB }

/**
 * The Synaptic Bridge: a ROUTER that answers every request exactly once (in
 * order per client, concurrently across clients, each command its own
 * transaction) and a PUB that announces every commit.
 */
export class BridgeServer {
  private readonly context = new zmq.Context()
  private readonly router: zmq.Router
  private readonly publisher: zmq.XPublisher
  private readonly codec = new WireCodec()
  private readonly zap: ZapHandler | undefined
  private readonly maxFrame: number
  private readonly maxReply: number
  private readonly maxQueued: number
  /** Reply bytes handed to the send chain and not yet taken by ZeroMQ. */
  private queuedBytes = 0
  /** Subscriptions on the event socket that match each topic (XPUB reports them): none, no event of it is encoded. */
  private readonly subscribers = new Map<string, number>([[PUB_TOPIC, 0], [JIT_TOPIC, 0]])
  private subscriptionLoop: Promise<void> | undefined
  private readonly maxInFlight: number
  private readonly maxPerClient: number
  /** Commands in flight per client (handled or waiting). */
  private readonly queued = new Map<string, number>()
  private readonly log: (r: RequestLog) => void
  private readonly lanes = new Map<string, Lane>()
  private inFlight = 0
  /** The requests taken and not yet answered: their command and when each arrived. */
  private readonly active = new Set<{ command: string; since: number }>()
  private idle: (() => void) | undefined
  private routerSends: Promise<unknown> = Promise.resolve()
  private pubSends: Promise<unknown> = Promise.resolve()
  private stopping = false
  private loop: Promise<void> | undefined
  private unsubscribe: (() => void) | undefined
  endpoint = ''
  pubEndpoint = ''

  private constructor(readonly backend: Backend, private readonly opts: BridgeOptions) {
    this.maxFrame = opts.maxFrameBytes ?? 16 * 1024 * 1024
    this.maxInFlight = opts.maxInFlight ?? 1024
    this.maxPerClient = opts.maxInFlightPerClient ?? 256
    this.maxReply = opts.maxReplyBytes ?? 64 * 1024 * 1024
    this.maxQueued = opts.maxQueuedBytes ?? 256 * 1024 * 1024
    this.log = opts.log ?? (() => {})
    const heartbeat = opts.heartbeatMs ?? 5000
    const curve = opts.keys
      ? { curveServer: true, curveSecretKey: opts.keys.secretKey, curvePublicKey: opts.keys.publicKey, zapDomain: 'uvm', zapEnforceDomain: true }
      : {}
    // libzmq drops a connection past maxMessageSize without a word; keep that as
    // a backstop well above the limit we answer with `too_large`.
    this.router = new zmq.Router({
      context: this.context,
      linger: 500,
      maxMessageSize: this.maxFrame * 4 + 1024,
      ...(heartbeat > 0 && { heartbeatInterval: heartbeat, heartbeatTimeout: heartbeat * 3, heartbeatTimeToLive: heartbeat * 3 }),
      ...curve,
    })
    // XPUB, not PUB: it reports subscriptions, so an event is encoded only when someone listens.
    this.publisher = new zmq.XPublisher({ context: this.context, linger: 0, noDrop: false, verbosity: 'allSubsUnsubs', ...curve })
    this.zap = opts.keys ? new ZapHandler(this.context, opts.keys.allowedClients) : undefined
  }

  /** A bridge over this process's image and realm. */
  static start(image: Image, realm: HardenedRealm, opts: BridgeOptions = {}): Promise<BridgeServer> {
    return BridgeServer.serve(new LocalBackend(image, realm, { version: opts.version, retries: opts.retries, cpuTimeoutMs: opts.cpuTimeoutMs, wallTimeoutMs: opts.wallTimeoutMs }), opts)
  }

  /** A bridge over any backend (the daemon's execution unit, in a child process). */
  static async serve(backend: Backend, opts: BridgeOptions = {}): Promise<BridgeServer> {
    const bind = opts.bind ?? DEFAULT_BIND
    const pub = opts.pub ?? DEFAULT_PUB
    requireCurveFor(bind, opts.keys)
    requireCurveFor(pub, opts.keys)
    const server = new BridgeServer(backend, opts)
    try {
      if (server.zap) await server.zap.start()
      await server.router.bind(bind)
      await server.publisher.bind(pub)
    } catch (e) {
      await server.closeSockets()
      throw new Error(`cannot bind the bridge (${bind}, ${pub}): ${(e as Error).message}`)
    }
    server.endpoint = server.router.lastEndpoint ?? bind
    server.pubEndpoint = server.publisher.lastEndpoint ?? pub
    const offCommit = backend.onCommit((e) => server.publish(e))
    const offEvent = backend.onEvent?.((e) => server.publishEvent(JIT_TOPIC, e))
    server.unsubscribe = () => { offCommit(); offEvent?.() }
    server.loop = server.receiveLoop()
    server.subscriptionLoop = server.watchSubscriptions()
    return server
  }

  /** The requests being handled or waiting their turn: what a stop waits for. */
  running(): { command: string; since: number }[] {
    return [...this.active]
  }

  get secure(): boolean { return this.zap !== undefined }
  get readOnly(): boolean { return this.opts.readOnly === true }
  get loopbackOnly(): boolean { return isLoopback(this.endpoint) && isLoopback(this.pubEndpoint) }

  /** Stop taking requests, answer the ones in flight, close the sockets. The image stays open (its owner closes it). */
  async stop(): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    // The receive loop goes on until the sockets close, answering what arrives meanwhile with a
    // refusal: for at least REFUSAL_MS, so that a client whose request crossed the stop learns why.
    const grace = new Promise<void>((r) => setTimeout(r, REFUSAL_MS))
    if (this.inFlight > 0) await new Promise<void>((r) => { this.idle = r })
    await grace
    this.unsubscribe?.()
    await this.routerSends.catch(() => {})
    await this.pubSends.catch(() => {})
    await this.closeSockets()
    await this.loop
    await this.subscriptionLoop
  }

  /** Count the subscriptions that match the event topic, from what XPUB reports (1 + prefix: subscribe; 0 + prefix: unsubscribe). */
  private async watchSubscriptions(): Promise<void> {
    for (;;) {
      let msg: Buffer[]
      try {
        msg = await this.publisher.receive()
      } catch {
        if (this.publisher.closed) return
        continue
      }
      const frame = msg[0]
      if (frame === undefined || frame.length === 0) continue
      const prefix = frame.subarray(1)
      for (const [topic, n] of this.subscribers) {
        const bytes = Buffer.from(topic)
        if (prefix.length > bytes.length || !bytes.subarray(0, prefix.length).equals(prefix)) continue
        if (frame[0] === 1) this.subscribers.set(topic, n + 1)
        else if (frame[0] === 0) this.subscribers.set(topic, Math.max(0, n - 1))
      }
    }
  }

  private async closeSockets(): Promise<void> {
    this.router.close()
    this.publisher.close()
    await this.zap?.stop()
  }

  /** Waits for requests without a timeout (an idle bridge must not wake up); closing the socket ends it. */
  private async receiveLoop(): Promise<void> {
    for (;;) {
      let frames: Buffer[]
      try {
        frames = await this.router.receive()
      } catch {
        if (this.router.closed) return
        continue
      }
      if (this.stopping) {
        // Stop means stop taking requests: one that arrives now is answered, not run.
        this.refuse(frames, 'the UVM is shutting down; retry when it is back')
        continue
      }
      this.dispatch(frames)
    }
  }

  private dispatch(frames: Buffer[]): void {
    const envelope = frames.slice(0, -1)
    const payload = frames[frames.length - 1]!
    const client = envelope[0]?.toString('hex') ?? ''
    if (payload.length > this.maxFrame) {
      // Not decoded, so no id to echo: size lets a client tell which of its requests this answers.
      const e = simpleError('too_large', `request of ${payload.length} bytes is over the ${this.maxFrame}-byte limit`)
      this.reply(envelope, this.codec.formatOf(payload), { ...e, error: { ...e.error, size: payload.length, limit: this.maxFrame } }, { client, command: '?', ms: 0 })
      return
    }
    const mine = this.queued.get(client) ?? 0
    if (this.inFlight >= this.maxInFlight || mine >= this.maxPerClient || this.queuedBytes > this.maxQueued) {
      const why = mine >= this.maxPerClient ? `this client has ${mine} requests in flight`
        : this.queuedBytes > this.maxQueued ? `${mib(this.queuedBytes)} of replies are waiting to be sent`
        : `the UVM is handling ${this.inFlight} requests`
      this.refuse(frames, `${why}; retry shortly`)
      return
    }
    this.inFlight++
    this.queued.set(client, mine + 1)
    let lane = this.lanes.get(client)
    if (lane === undefined) {
      const settled = Promise.resolve()
      lane = { turn: settled, done: settled, replied: settled }
      this.lanes.set(client, lane)
    }
    const request = this.parse(payload)
    const active = { command: request.name, since: Date.now() }
    this.active.add(active)
    // In order per client. A write that is one transaction of the handler's own may begin as soon as
    // the previous request's transaction is in the commit queue (its lane's chain lets it see that
    // one's changes), so one client's writes share fsyncs; anything else waits until every earlier
    // request is done. Replies go out in request order, each once its own work is durable.
    const pipelined = request.command !== undefined && PIPELINED.has(request.command.command)
    // A cancel names an earlier request that may still run: it waits for nothing (only its reply waits its turn).
    const cancel = request.command?.command === 'cancel'
    const start = cancel ? Promise.resolve() : pipelined || (request.command !== undefined && STATELESS.has(request.command.command)) ? lane.turn : lane.done
    let releaseTurn!: () => void
    const turn = new Promise<void>((r) => { releaseTurn = r })
    const previousReply = lane.replied
    let replied!: () => void
    lane.replied = new Promise<void>((r) => { replied = r })
    // serve() answers every request itself; a failure must not stall this client's later requests.
    const run = start.then(() => this.serve(envelope, request, client, pipelined ? releaseTurn : undefined, previousReply)).catch(() => {}).finally(() => {
      releaseTurn()
      replied()
      this.active.delete(active)
      const left = this.queued.get(client)! - 1
      if (left === 0) { this.queued.delete(client); this.lanes.delete(client); this.backend.closeLane(client) }
      else this.queued.set(client, left)
      if (--this.inFlight === 0 && this.idle) this.idle()
    })
    const previousDone = lane.done
    if (!cancel) lane.turn = turn
    lane.done = previousDone === start ? run : Promise.all([run, previousDone]).then(() => {})
  }

  /** Answer `overloaded` without running the request (echoing its id when it decodes). */
  private refuse(frames: Buffer[], message: string): void {
    const envelope = frames.slice(0, -1)
    const payload = frames[frames.length - 1]!
    const format = this.codec.formatOf(payload)
    let id: RequestId | undefined
    try { id = idOf(this.codec.decode(payload, format)) } catch { /* undecodable: no id to echo */ }
    this.reply(envelope, format, simpleError('overloaded', message, id), { client: envelope[0]?.toString('hex') ?? '', command: '?', ...(id !== undefined && { id }), ms: 0 })
  }

  /** Decode and validate a request payload (in arrival order, before its turn: it needs no image state). */
  private parse(payload: Buffer): Request {
    const format = this.codec.formatOf(payload)
    let body: unknown
    try {
      body = this.codec.decode(payload, format)
    } catch (e) {
      return { format, name: '?', error: simpleError('bad_frame', (e as Error).message) }
    }
    const id = idOf(body)
    const name = typeof (body as { command?: unknown })?.command === 'string' ? String((body as { command: string }).command).slice(0, 64) : '?'
    const parsed = Command.safeParse(withoutNulls(body))
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message }))
      const what = body === null || typeof body !== 'object' || Array.isArray(body) ? 'a request must be a map with a "command" field' : `invalid ${name === '?' ? 'request' : `'${name}' command`}: ${issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`
      return { format, id, name, error: simpleError('invalid_command', what, id, issues) }
    }
    return { format, id, name, command: parsed.data }
  }

  private async serve(envelope: Buffer[], request: Request, client: string, queued: (() => void) | undefined, previousReply: Promise<void>): Promise<void> {
    const started = performance.now()
    const { format, id, name } = request
    let reply: Reply | EncodedReply
    if (request.command === undefined) reply = request.error!
    else {
      try {
        reply = await this.backend.handle(request.command, client, {
          readOnly: this.opts.readOnly === true, writeAccess: this.opts.writeAccess, onQueued: queued, format,
        })
      } catch (e) {
        reply = errorReply(e, id, { debug: request.command.debug === true })
      }
    }
    await previousReply
    this.reply(envelope, format, reply, { client, command: name, ...(id !== undefined && { id }), ms: performance.now() - started })
  }

  private reply(envelope: Buffer[], format: WireFormat, made: Reply | EncodedReply, log: Omit<RequestLog, 'event'>): void {
    let bytes: Buffer
    let event: string, code: string | undefined, tid: number | undefined
    let sent: (() => void) | undefined
    if (isEncoded(made)) {
      // Encoded, capped and counted by the execution unit; counted here too while it waits for ZeroMQ.
      bytes = Buffer.from(made.encoded.buffer, made.encoded.byteOffset, made.encoded.byteLength)
      ;({ event, code, tid, sent } = made)
    } else {
      const out = replyBytes(this.codec, made, format, { maxReply: this.maxReply, queued: this.queuedBytes, maxQueued: this.maxQueued })
      bytes = out.bytes
      event = out.reply.event
      code = out.reply.event === 'error' ? out.reply.error.code : undefined
      tid = (out.reply as { tid?: number }).tid
    }
    // Counted until ZeroMQ has taken it: replies that clients read slowly hold memory, and count against new requests.
    const size = bytes.length
    this.queuedBytes += size
    // zeromq.js allows one send in progress per socket: chain them.
    this.routerSends = this.routerSends.then(() => this.router.send([...envelope, bytes])).catch(() => {}).finally(() => { this.queuedBytes -= size; sent?.() })
    if (this.opts.log === undefined) return
    try {
      this.log({ ...log, ms: Math.round(log.ms * 10) / 10, event, ...(code && { code }), ...(tid !== undefined && { tid }) })
    } catch { /* a failing log sink must not cost anyone a reply */ }
  }

  /**
   * The event for a commit: its tid and the objects it wrote, never their state (a client that wants
   * it asks with get_full_state), so its cost does not grow with what the objects hold. Nothing is
   * encoded while nobody subscribes.
   */
  private publish(e: CommitEvent): void {
    this.publishEvent(PUB_TOPIC, { event: 'uvm_state_update', tid: e.tid, changed: e.changed })
  }

  private publishEvent(topic: string, body: object): void {
    if ((this.stopping && this.router.closed) || this.subscribers.get(topic) === 0) return
    let payload: Buffer
    try {
      payload = Buffer.from(this.codec.encode(body, 'msgpack'))
    } catch {
      return
    }
    this.pubSends = this.pubSends.then(() => this.publisher.send([topic, payload])).catch(() => {})
  }
}


/**
 * A request with its null fields left out: null in an optional field means absent. Pydantic clients
 * (the seeds' covenant) send every unset `Optional` field as None with `model_dump()`. A slot value
 * may be null, so `property_value` keeps it; a required field that is null is still reported missing.
 */
function withoutNulls(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body
  let out: Record<string, unknown> | undefined
  for (const [k, v] of Object.entries(body)) {
    if (v !== null || k === 'property_value') continue
    out ??= { ...body as Record<string, unknown> }
    delete out[k]
  }
  return out ?? body
}

/** How long a stopping bridge still answers new requests (with a refusal) before its sockets close. */
const REFUSAL_MS = 200

/** Commands whose work is one transaction of the handler's own, begun on the client's chain. */
const PIPELINED = new Set(['update_property', 'create_method'])

/** Commands that read nothing of the image: they need no earlier request finished, only their reply in order. */
const STATELESS = new Set(['ping', 'describe'])

/** One client's order: when its next pipelined request may begin, when every request so far is done, when its last reply was sent. */
interface Lane {
  turn: Promise<void>
  done: Promise<void>
  replied: Promise<void>
}

interface Request {
  format: WireFormat
  id?: RequestId
  name: string
  command?: Command
  error?: Reply
}

function idOf(body: unknown): RequestId | undefined {
  if (body === null || typeof body !== 'object') return undefined
  const id = (body as { id?: unknown }).id
  if (typeof id === 'string' && id.length <= 256) return id
  if (typeof id === 'number' && Number.isInteger(id)) return id
  return undefined
}
