/**
 * The page's one WebSocket to the gateway: covenant commands out (each with an id), replies matched
 * back by that id, and everything unasked (PUB events, the gateway's own status) handed to listeners.
 * It reconnects by itself, because a daemon or gateway that went away usually comes back.
 */
export type Json = Record<string, unknown>
export type Listener = (msg: Json) => void

export class Socket {
  private ws: WebSocket | undefined
  private next = 1
  private readonly pending = new Map<string, (reply: Json) => void>()
  private readonly listeners = new Set<Listener>()
  private readonly openers = new Set<(open: boolean) => void>()
  private retry = 250

  constructor(private readonly url: string) {}

  start(): void {
    const ws = new WebSocket(this.url)
    this.ws = ws
    ws.addEventListener('open', () => {
      this.retry = 250
      for (const f of this.openers) f(true)
    })
    ws.addEventListener('message', (e) => this.receive(String(e.data)))
    ws.addEventListener('close', () => {
      this.ws = undefined
      for (const [, resolve] of this.pending) resolve({ event: 'error', error: { code: 'disconnected', message: 'the connection to the gateway closed' } })
      this.pending.clear()
      for (const f of this.openers) f(false)
      setTimeout(() => this.start(), this.retry)
      this.retry = Math.min(this.retry * 2, 4000)
    })
    // An error is always followed by close, which reconnects; nothing to add here.
    ws.addEventListener('error', () => undefined)
  }

  onEvent(f: Listener): void {
    this.listeners.add(f)
  }

  onOpen(f: (open: boolean) => void): void {
    this.openers.add(f)
  }

  /** Send a covenant command; the promise holds its reply (an error reply when the socket is down). */
  send(command: Json): Promise<Json> {
    const id = 'p' + this.next++
    const ws = this.ws
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) {
      return Promise.resolve({ event: 'error', id, error: { code: 'disconnected', message: 'not connected to the gateway' } })
    }
    return new Promise((resolve) => {
      this.pending.set(id, resolve)
      ws.send(JSON.stringify({ ...command, id }))
    })
  }

  private receive(text: string): void {
    let msg: Json
    try {
      msg = JSON.parse(text) as Json
    } catch {
      return
    }
    const id = typeof msg.id === 'string' ? msg.id : undefined
    const waiting = id !== undefined ? this.pending.get(id) : undefined
    // A published event may echo a request id (JIT events do); only replies resolve a request.
    if (waiting !== undefined && msg.event !== 'jit_cycle' && msg.event !== 'uvm_state_update') {
      this.pending.delete(id!)
      waiting(msg)
      return
    }
    if (waiting !== undefined && msg.event === 'uvm_state_update' && msg.state !== undefined) {
      this.pending.delete(id!)
      waiting(msg)
      return
    }
    for (const f of this.listeners) f(msg)
  }
}

/** The gateway's URL for the socket: same host, `/ws`, carrying the page's token when it has one. */
export function socketUrl(loc: Location): string {
  const token = new URLSearchParams(loc.search).get('token')
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${loc.host}/ws${token !== null ? '?token=' + encodeURIComponent(token) : ''}`
}
