import * as zmq from 'zeromq'
import { JIT_TOPIC, JitCycleEvent, PUB_TOPIC, Reply, UvmStateUpdateEvent } from '../covenant/index.js'
import type { z } from 'zod'
import type { CommandInput, ErrorReply, JitEvent, RequestId, Target } from '../covenant/index.js'
import type { ClientKeys } from './keys.js'
import { WireCodec } from './wire.js'
import type { WireFormat } from './wire.js'
import { DEFAULT_BIND } from './server.js'

export interface ClientOptions {
  /** Per-request deadline in ms. Default 30,000. */
  timeoutMs?: number
  /** Speak JSON instead of MessagePack. */
  format?: WireFormat
  /** CURVE client keys, for a daemon bound beyond loopback. */
  keys?: ClientKeys
}

/**
 * An error reply from the UVM, or a failure on this side: no reply in time (`timeout`), the client
 * closed (`closed`), the daemon refused this client's CURVE key (`curve_refused`), one side speaks
 * CURVE and the other does not (`curve_mismatch`), or another ZMTP protocol error (`handshake_failed`).
 */
export class BridgeError extends Error {
  constructor(readonly code: string, message: string, readonly reply?: ErrorReply) {
    super(message)
    this.name = 'BridgeError'
  }
}

type Pending = { resolve: (r: Reply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout; size: number }

/**
 * A typed DEALER client: each request is a promise of its typed reply,
 * matched by id, so many can be in flight. ZeroMQ reconnects by itself when
 * the daemon restarts; a request whose reply never comes times out.
 */
export class BridgeClient {
  private readonly socket: zmq.Dealer
  private readonly codec = new WireCodec()
  private readonly pending = new Map<RequestId, Pending>()
  private readonly timeoutMs: number
  private readonly format: WireFormat
  private sends: Promise<unknown> = Promise.resolve()
  private nextId = 1
  private closed = false
  /** Why the last handshake failed, while no later one succeeded: a refusal fails requests at once. */
  private refusal: BridgeError | undefined
  /** Handshakes lost without a word from the server (EPIPE): a wrong server key looks like this. */
  private silentFailures = 0
  private readonly curve: boolean
  private readonly loop: Promise<void>

  private constructor(readonly endpoint: string, opts: ClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 30_000
    this.format = opts.format ?? 'msgpack'
    this.socket = new zmq.Dealer({
      linger: 0,
      reconnectInterval: 100,
      reconnectMaxInterval: 2000,
      ...(opts.keys && { curveServerKey: opts.keys.serverPublicKey, curvePublicKey: opts.keys.publicKey, curveSecretKey: opts.keys.secretKey }),
    })
    this.curve = opts.keys !== undefined
    this.watchHandshakes()
    this.socket.connect(endpoint)
    this.loop = this.receive()
  }

  /**
   * A refused handshake never reaches a request: ZeroMQ retries in silence, and the caller would wait
   * out its whole timeout to learn only that nothing answered. The socket's events say why.
   */
  private watchHandshakes(): void {
    const events = this.socket.events
    events.on('handshake', () => { this.refusal = undefined; this.silentFailures = 0 })
    events.on('handshake:error:auth', () => this.refuse(new BridgeError('curve_refused', `${this.endpoint} refused your CURVE key: the daemon's keys folder does not list it (a readers/ key is admitted only on the daemon's --reader-bind endpoint)`)))
    events.on('handshake:error:protocol', (e) => {
      const mismatch = (e.error as { code?: string }).code === 'ERR_ZMTP_MECHANISM_MISMATCH'
      this.refuse(mismatch
        ? new BridgeError('curve_mismatch', this.curve
          ? `${this.endpoint} does not speak CURVE: connect without keys (no --keys, no UVM_KEYS)`
          : `${this.endpoint} requires CURVE: give --keys DIR (the keys folder from \`uvm keys\`; env UVM_KEYS)`)
        : new BridgeError('handshake_failed', `the handshake with ${this.endpoint} failed: ${e.error.message} (is it a UVM daemon?)`))
    })
    events.on('handshake:error:other', () => { this.silentFailures++ })
  }

  private refuse(e: BridgeError): void {
    this.refusal = e
    for (const [, p] of this.pending) { clearTimeout(p.timer); p.reject(e) }
    this.pending.clear()
  }

  static connect(endpoint = DEFAULT_BIND, opts: ClientOptions = {}): BridgeClient {
    return new BridgeClient(endpoint, opts)
  }

  /** Send any command; resolves with the reply, error replies included. */
  request(command: CommandInput, opts: { timeoutMs?: number } = {}): Promise<Reply> {
    if (this.closed) return Promise.reject(new BridgeError('closed', 'the client is closed'))
    if (this.refusal) return Promise.reject(this.refusal)
    const id = command.id ?? `c${this.nextId++}`
    const payload = this.codec.encode({ ...command, id }, this.format)
    return new Promise<Reply>((resolve, reject) => {
      const ms = opts.timeoutMs ?? this.timeoutMs
      const timer = setTimeout(() => {
        this.pending.delete(id)
        const hint = this.silentFailures > 1
          ? `the handshake failed ${this.silentFailures} times${this.curve ? ": is the server.key you were given this daemon's?" : ''}`
          : 'is `uvm boot` running?'
        reject(new BridgeError('timeout', `no reply from ${this.endpoint} within ${ms} ms (${hint})`))
      }, ms)
      this.pending.set(id, { resolve, reject, timer, size: payload.length })
      // EAGAIN: at that instant the socket had no connection to queue on (one was just
      // dropped, e.g. a refused handshake). Not a failure of the request: keep trying
      // until it is answered, times out, or the client closes.
      const send = (): Promise<void> => this.socket.send(payload).catch(async (e: unknown) => {
        if ((e as { code?: unknown }).code !== 'EAGAIN' || this.closed || !this.pending.has(id)) throw e
        await new Promise((r) => setTimeout(r, 25))
        if (!this.closed && this.pending.has(id)) return send()
      })
      this.sends = this.sends.then(send).catch((e: Error) => {
        const p = this.pending.get(id)
        if (p) { clearTimeout(p.timer); this.pending.delete(id); p.reject(new BridgeError('bad_frame', e.message)) }
      })
    })
  }

  /** Send a command and return its reply, throwing BridgeError on an error reply. */
  async call<E extends Reply['event']>(command: CommandInput, expect: E, opts?: { timeoutMs?: number }): Promise<Extract<Reply, { event: E }>> {
    const reply = await this.request(command, opts)
    if (reply.event === 'error') throw new BridgeError(reply.error.code, reply.error.message, reply)
    if (reply.event !== expect) throw new BridgeError('bad_frame', `expected a '${expect}' reply, got '${reply.event}'`)
    return reply as Extract<Reply, { event: E }>
  }

  ping() { return this.call({ command: 'ping' }, 'pong') }
  describe() { return this.call({ command: 'describe' }, 'covenant') }
  state(opts: { depth?: number; target?: Target } = {}) { return this.call({ command: 'get_full_state', ...opts }, 'uvm_state_update') }
  set(property_name: string, property_value: unknown, target?: Target) { return this.call({ command: 'update_property', property_name, property_value, ...(target !== undefined && { target }) }, 'ack') }
  createMethod(method_name: string, method_code: string, target?: Target) { return this.call({ command: 'create_method', method_name, method_code, ...(target !== undefined && { target }) }, 'ack') }
  send(selector: string, args: unknown[] = [], target?: Target) { return this.call({ command: 'send_message', selector, args, ...(target !== undefined && { target }) }, 'result') }
  act(code: string, opts: { intent?: string; explanation?: string } = {}) { return this.call({ command: 'run_act', code, ...opts }, 'result') }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const [, p] of this.pending) { clearTimeout(p.timer); p.reject(new BridgeError('closed', 'the client was closed')) }
    this.pending.clear()
    this.socket.close()
    await this.loop.catch(() => {})
  }

  /** A too_large reply carries no id (the server did not decode the request), but the request's size: the oldest pending one of that size. */
  private tooLargeRequest(reply: Reply): RequestId | undefined {
    if (reply.event !== 'error' || reply.error.code !== 'too_large' || typeof reply.error.size !== 'number') return undefined
    for (const [id, p] of this.pending) if (p.size === reply.error.size) return id
    return undefined
  }

  private async receive(): Promise<void> {
    while (!this.closed) {
      let frames: Buffer[]
      try {
        frames = await this.socket.receive()
      } catch {
        if (this.closed || this.socket.closed) return
        continue
      }
      const payload = frames[frames.length - 1]
      if (!payload) continue
      let parsed
      try {
        parsed = Reply.safeParse(this.codec.decode(payload, this.codec.formatOf(payload)))
      } catch {
        continue
      }
      if (!parsed.success) continue
      const id = parsed.data.id ?? this.tooLargeRequest(parsed.data)
      if (id === undefined) continue
      const p = this.pending.get(id)
      if (!p) continue
      clearTimeout(p.timer)
      this.pending.delete(id)
      p.resolve(parsed.data)
    }
  }
}

/** Events from the PUB socket: every commit's `uvm_state_update`. */
export function subscribe(endpoint: string, opts: { keys?: ClientKeys; signal?: AbortSignal } = {}): AsyncGenerator<UvmStateUpdateEvent> {
  return events(endpoint, PUB_TOPIC, UvmStateUpdateEvent, opts)
}

/** The JIT's cycles as the daemon announces them (topic `uvm_jit`): what a client shows while the LLM works. */
export function subscribeJit(endpoint: string, opts: { keys?: ClientKeys; signal?: AbortSignal } = {}): AsyncGenerator<JitEvent> {
  return events(endpoint, JIT_TOPIC, JitCycleEvent, opts)
}

/** The events of one topic, checked against their schema (anything else on the socket is skipped). */
async function* events<T>(endpoint: string, topic: string, schema: z.ZodType<T>, opts: { keys?: ClientKeys; signal?: AbortSignal }): AsyncGenerator<T> {
  const codec = new WireCodec()
  const sub = new zmq.Subscriber({
    linger: 0,
    ...(opts.keys && { curveServerKey: opts.keys.serverPublicKey, curvePublicKey: opts.keys.publicKey, curveSecretKey: opts.keys.secretKey }),
  })
  sub.connect(endpoint)
  sub.subscribe(topic)
  opts.signal?.addEventListener('abort', () => sub.close(), { once: true })
  try {
    for (;;) {
      let frames: Buffer[]
      try {
        frames = await sub.receive()
      } catch {
        return
      }
      if (frames.length < 2 || frames[0]!.toString() !== topic) continue
      const payload = frames[frames.length - 1]
      if (!payload) continue
      let body: unknown
      try { body = codec.decode(payload, 'msgpack') } catch { continue }
      const parsed = schema.safeParse(body)
      if (parsed.success) yield parsed.data
    }
  } finally {
    if (!sub.closed) sub.close()
  }
}
