import { createServer } from 'node:http'
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { resolve } from 'node:path'
import { WebSocket, WebSocketServer } from 'ws'
import { BridgeClient } from '../../bridge/index.js'
import type { ClientKeys } from '../../bridge/index.js'
import { VERSION } from '../../version.js'
import { DaemonMonitor, fixedStatus } from './monitor.js'
import type { DaemonStatus, StatusSource } from './monitor.js'
import { PageSession } from './page.js'
import { plain, serveStatic } from './static.js'
import { makeToken, tokenMatches } from './token.js'
import { hostAllowed, isLoopbackHost, originAllowed } from './origin.js'

export interface UiOptions {
  /** The daemon's command address (ROUTER). */
  connect: string
  /** The daemon's events address (PUB). */
  events: string
  /** CURVE client keys, for a daemon that requires them. */
  keys?: ClientKeys
  /** Where the gateway listens. Default 127.0.0.1; anything else needs the token. */
  host?: string
  /** Default 8080; 0 picks a free one. */
  port?: number
  /** The page's files. Default dist/ui/page beside this module. */
  staticDir?: string
  /** The token pages must carry beyond loopback (default: a fresh random one). */
  token?: string
  /** Per request (acts and JIT cycles can take long). Default 120,000 ms. */
  requestTimeoutMs?: number
  /** Largest message a page may send, in bytes: bigger closes it with 1009. Default 1 MiB. */
  maxPayloadBytes?: number
  /** Bytes a page may leave unread before it is closed as too slow. Default 8 MiB. */
  maxBufferedBytes?: number
  /** Requests of one page in flight at once. Default 64. */
  maxInFlight?: number
  /** Pages at once, before new ones get HTTP 503. Default 500. */
  maxPages?: number
  /** Daemon pings while pages are connected. Defaults 1000 ms apart, 2000 ms to answer. */
  pingIntervalMs?: number
  pingTimeoutMs?: number
  /**
   * The gateway runs in the daemon's own process (uvm boot --ui): its status is this, and no pings
   * are sent (the daemon lives as long as the gateway does).
   */
  sameProcess?: { readOnly: boolean }
  /** Notices (a page closed as too slow, the daemon lost or back). */
  log?: (line: string) => void
}

export interface Ui {
  /** The page's address, with ?token=… when one is needed. */
  readonly url: string
  readonly host: string
  readonly port: number
  /** The token, when bound beyond loopback. */
  readonly token: string | undefined
  /** Pages connected now. */
  pages(): number
  close(): Promise<void>
}

export const DEFAULT_UI_PORT = 8080

/** dist/ui/page: the page engineer's build, next to this module's folder. */
export function defaultStaticDir(): string {
  return fileURLToPath(new URL('../page/', import.meta.url))
}

/** A ws WebSocket whose 1009 close (a frame over maxPayload) says why: ws itself sends the code alone. */
class ReasonedWebSocket extends WebSocket {
  override close(code?: number, data?: string | Buffer): void {
    super.close(code, code === 1009 && data === undefined ? 'message too big: the limit is 1 MiB' : data)
  }
}

/**
 * Serve the page and the WebSocket gateway at /ws. Each page gets its own DEALER client and PUB
 * subscriptions; commands are checked against the covenant here before they go on.
 */
export async function startUi(opts: UiOptions): Promise<Ui> {
  const host = opts.host ?? '127.0.0.1'
  const loopback = isLoopbackHost(host)
  const token = loopback ? undefined : opts.token ?? makeToken()
  const root = resolve(opts.staticDir ?? defaultStaticDir())
  const log = opts.log ?? (() => {})
  const maxPayload = opts.maxPayloadBytes ?? 1024 * 1024
  const maxPages = opts.maxPages ?? 500
  const sessions = new Set<PageSession>()

  const monitorClient = opts.sameProcess === undefined ? BridgeClient.connect(opts.connect, { timeoutMs: opts.pingTimeoutMs ?? 2000, format: 'json', ...(opts.keys && { keys: opts.keys }) }) : undefined
  const monitor: StatusSource = monitorClient === undefined ? fixedStatus({ alive: true, readOnly: opts.sameProcess!.readOnly, version: VERSION }) : new DaemonMonitor(monitorClient, (now: DaemonStatus) => {
    log(now.alive ? `the daemon at ${opts.connect} answers again` : `the daemon at ${opts.connect} does not answer: ${now.problem ?? ''}`)
    for (const s of sessions) {
      s.status(now.alive ? 'daemon_back' : 'daemon_lost', now)
      if (!now.alive) s.daemonLost()
    }
  }, { version: VERSION, ...(opts.pingIntervalMs !== undefined && { intervalMs: opts.pingIntervalMs }), ...(opts.pingTimeoutMs !== undefined && { timeoutMs: opts.pingTimeoutMs }) })

  const wss = new WebSocketServer({ noServer: true, maxPayload, perMessageDeflate: { threshold: 1024 }, clientTracking: false, WebSocket: ReasonedWebSocket })
  wss.on('connection', (ws: WebSocket) => {
    let left = false
    const session: PageSession = new PageSession(ws, {
      connect: opts.connect,
      events: opts.events,
      keys: opts.keys,
      requestTimeoutMs: opts.requestTimeoutMs ?? 120_000,
      maxInFlight: opts.maxInFlight ?? 64,
      maxBufferedBytes: opts.maxBufferedBytes ?? 8 * 1024 * 1024,
      status: () => monitor.current,
      log,
      onGone: () => { if (!left) { left = true; sessions.delete(session); monitor.leave() } },
    })
    sessions.add(session)
    void monitor.join().then((s) => { if (!left) session.status(s.alive ? 'connected' : 'daemon_lost', s) })
  })

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://gateway')
    if (!hostAllowed(req, loopback)) return plain(res, 421, 'this gateway answers only to a loopback host name (127.0.0.1, localhost, [::1])')
    if (url.pathname === '/ws') return plain(res, 426, 'the gateway speaks WebSocket here', { Upgrade: 'websocket' })
    void serveStatic(req, res, root, url.pathname).catch(() => res.destroy())
  })
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://gateway')
    const refuse = (status: number, text: string, why: string) => {
      socket.end(`HTTP/1.1 ${status} ${why}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`)
    }
    socket.on('error', () => socket.destroy())
    if (url.pathname !== '/ws') return refuse(404, 'the WebSocket is at /ws\n', 'Not Found')
    if (token !== undefined && !tokenMatches(token, url.searchParams.get('token'))) {
      return refuse(401, 'a missing or wrong token: open the URL the gateway printed at start (it carries ?token=...)\n', 'Unauthorized')
    }
    if (!hostAllowed(req, loopback)) return refuse(421, 'this gateway answers only to a loopback host name\n', 'Misdirected Request')
    if (!originAllowed(req)) return refuse(403, 'a page of another origin may not open this gateway\n', 'Forbidden')
    if (sessions.size >= maxPages) return refuse(503, `${maxPages} pages are open: close one\n`, 'Service Unavailable')
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
  })

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? DEFAULT_UI_PORT, host, () => { server.off('error', reject); resolveListen() })
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : opts.port ?? DEFAULT_UI_PORT
  const shown = host === '0.0.0.0' || host === '::' ? host : host.includes(':') ? `[${host}]` : host
  const url = `http://${shown}:${port}/${token !== undefined ? `?token=${token}` : ''}`
  let closing: Promise<void> | undefined
  return {
    url,
    host,
    port,
    token,
    pages: () => sessions.size,
    close() {
      closing ??= (async () => {
        monitor.stop()
        for (const s of [...sessions]) s.close(1001, 'the gateway is closing')
        await new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections() })
        wss.close()
        await monitorClient?.close()
      })()
      return closing
    },
  }
}
