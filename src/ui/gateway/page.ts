import { WebSocket } from 'ws'
import type { RawData } from 'ws'
import { BridgeClient, BridgeError, subscribe, subscribeJit } from '../../bridge/index.js'
import type { ClientKeys } from '../../bridge/index.js'
import { Command, RequestId } from '../../covenant/index.js'
import type { CommandInput, ErrorCode, ErrorReply } from '../../covenant/index.js'
import type { DaemonStatus } from './monitor.js'

/** The commands a read-only page is refused before they reach the daemon. */
const WRITES = new Set(['update_property', 'create_method', 'undo', 'pack'])

export interface PageOptions {
  connect: string
  events: string
  keys: ClientKeys | undefined
  requestTimeoutMs: number
  /** Requests of one page in flight at once, before `overloaded`. */
  maxInFlight: number
  /** Bytes queued for a page and not yet taken by it, before the page is closed as too slow. */
  maxBufferedBytes: number
  /** The daemon's status now (undefined: not known yet). */
  status: () => DaemonStatus | undefined
  log: (line: string) => void
  /** The page is gone (closed by either side). */
  onGone: () => void
}

/** The close code and reason a page too slow to read gets. */
export const TOO_SLOW = 1008

/**
 * One page: its own DEALER client and PUB subscriptions, so one page's requests and ids never
 * mix with another's, and a page that goes away takes its sockets with it.
 */
export class PageSession {
  private client: BridgeClient
  private readonly events = new AbortController()
  private readonly inFlight = new Set<RequestId>()
  private gone = false

  constructor(private readonly ws: WebSocket, private readonly opts: PageOptions) {
    this.client = this.connect()
    ws.on('message', (data, isBinary) => this.receive(data, isBinary))
    ws.on('close', () => this.dispose())
    ws.on('error', () => this.dispose())
    void this.relay(subscribe(opts.events, { ...(opts.keys && { keys: opts.keys }), signal: this.events.signal }))
    void this.relay(subscribeJit(opts.events, { ...(opts.keys && { keys: opts.keys }), signal: this.events.signal }))
  }

  /** The gateway's word on the daemon: the first message a page gets, then each change. */
  status(status: 'connected' | 'daemon_lost' | 'daemon_back', s: DaemonStatus): void {
    this.send({ event: 'gateway', status, read_only: s.readOnly, version: s.version, daemon: this.opts.connect, ...(s.problem !== undefined && { message: s.problem }) })
  }

  /**
   * The daemon stopped answering: what this page has in flight will get no reply, so it is told now
   * rather than at its timeout. A fresh DEALER takes the page's next requests (ZeroMQ connects it when
   * the daemon is back).
   */
  daemonLost(): void {
    if (this.gone || this.inFlight.size === 0) return
    const old = this.client
    this.client = this.connect()
    void old.close()
  }

  private connect(): BridgeClient {
    return BridgeClient.connect(this.opts.connect, { timeoutMs: this.opts.requestTimeoutMs, format: 'json', ...(this.opts.keys && { keys: this.opts.keys }) })
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, reason)
    this.dispose()
  }

  private async relay(events: AsyncGenerator<unknown>): Promise<void> {
    try {
      for await (const e of events) this.send(e)
    } catch { /* the subscription ends with the page */ }
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (this.gone) return
    if (isBinary) return this.refuse(undefined, 'invalid_command', 'a binary frame: send each command as a text frame holding one JSON object')
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8')
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch (e) {
      return this.refuse(undefined, 'invalid_command', `not JSON: ${(e as Error).message}`)
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return this.refuse(undefined, 'invalid_command', 'a command must be a JSON object with a "command" field')
    const rawId = RequestId.safeParse((body as { id?: unknown }).id)
    const id = rawId.success ? rawId.data : undefined
    const parsed = Command.safeParse(body)
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message }))
      const name = (body as { command?: unknown }).command
      const what = typeof name === 'string' ? `invalid '${name.slice(0, 64)}' command` : 'invalid command'
      return this.refuse(id, 'invalid_command', `${what}: ${issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`, { issues })
    }
    const command = parsed.data.command
    const status = this.opts.status()
    if (status?.readOnly === true && WRITES.has(command)) {
      return this.refuse(id, 'unauthorized', `the daemon serves its image read-only: ${command} is refused (this page is read-only)`, { command })
    }
    if (status !== undefined && !status.alive) return this.refuse(id, 'unavailable', `the daemon at ${this.opts.connect} is not answering: wait for the gateway's daemon_back`)
    if (id !== undefined && this.inFlight.has(id)) return this.refuse(id, 'invalid_command', `a request with id ${JSON.stringify(id)} is still in flight: give each request its own id`)
    if (this.inFlight.size >= this.opts.maxInFlight) return this.refuse(id, 'overloaded', `${this.opts.maxInFlight} requests of this page are in flight: wait for their replies`)
    const key = id ?? Symbol('no id') as unknown as RequestId
    this.inFlight.add(key)
    this.client.request(body as CommandInput).then(
      (reply) => this.send(reply),
      (e: unknown) => {
        if (this.gone) return
        const code: ErrorCode = e instanceof BridgeError && e.code === 'timeout' ? 'timeout' : e instanceof BridgeError && e.code === 'curve_refused' ? 'unauthorized' : 'unavailable'
        const lost = e instanceof BridgeError && e.code === 'closed'
        this.refuse(id, code, lost ? `the daemon at ${this.opts.connect} was lost while this request was in flight: it may or may not have been done (a write shows in \`uvm history\` when the daemon is back)` : (e as Error).message)
      },
    ).finally(() => this.inFlight.delete(key))
  }

  private refuse(id: RequestId | undefined, code: ErrorCode, message: string, extra: Partial<ErrorReply['error']> = {}): void {
    const reply: ErrorReply = { event: 'error', ...(id !== undefined && { id }), error: { code, message, ...extra } }
    this.send(reply)
  }

  /**
   * Queue a message for the page, unless the page has left more unread than it may: a page that
   * does not read must not make the gateway hold everything the daemon says for it.
   */
  private send(message: unknown): void {
    if (this.gone || this.ws.readyState !== WebSocket.OPEN) return
    const waiting = this.ws.bufferedAmount
    if (waiting > this.opts.maxBufferedBytes) {
      const reason = `too slow: ${waiting} bytes unread (limit ${this.opts.maxBufferedBytes})`
      this.opts.log(`closed a page that did not read: ${reason}`)
      this.close(TOO_SLOW, reason)
      // A page that reads nothing never answers the close either.
      setTimeout(() => this.ws.terminate(), 10_000).unref()
      return
    }
    this.ws.send(JSON.stringify(message))
  }

  private dispose(): void {
    if (this.gone) return
    this.gone = true
    this.events.abort()
    void this.client.close()
    this.opts.onGone()
  }
}
