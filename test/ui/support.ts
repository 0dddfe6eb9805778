/** Pages for the gateway's tests: real `ws` clients, each keeping what it was sent. */
import { WebSocket } from 'ws'

export interface Page {
  ws: WebSocket
  messages: Record<string, unknown>[]
  closed: Promise<{ code: number; reason: string }>
  /** The first message (from now back to the start) that `test` accepts, waiting for it if need be. */
  next(test: (m: Record<string, unknown>) => boolean, timeoutMs?: number, what?: string): Promise<Record<string, unknown>>
  /** Send a command and wait for the reply with its id. */
  ask(command: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>>
  close(): Promise<void>
}

let counter = 0

export function openPage(url: string, opts: { headers?: Record<string, string> } = {}): Promise<Page> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ...(opts.headers && { headers: opts.headers }) })
    const messages: Record<string, unknown>[] = []
    const waiters = new Set<() => void>()
    ws.on('message', (data) => {
      messages.push(JSON.parse(String(data)) as Record<string, unknown>)
      for (const w of [...waiters]) w()
    })
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => { r({ code, reason: String(reason) }); for (const w of [...waiters]) w() }))
    ws.once('unexpected-response', (_req, res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => { body += d }).on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })))
    })
    ws.once('error', reject)
    const next: Page['next'] = (test, timeoutMs = 10_000, what = 'a message') => new Promise((r, j) => {
      const look = () => {
        const m = messages.find(test)
        if (m) { cleanup(); r(m); return true }
        if (ws.readyState === WebSocket.CLOSED) { cleanup(); j(new Error(`the page closed before ${what}; it got ${JSON.stringify(messages).slice(0, 2000)}`)); return true }
        return false
      }
      const timer = setTimeout(() => { cleanup(); j(new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(messages).slice(-2000)}`)) }, timeoutMs)
      const w = () => { look() }
      const cleanup = () => { clearTimeout(timer); waiters.delete(w) }
      if (!look()) waiters.add(w)
    })
    ws.once('open', () => {
      ws.off('error', reject)
      ws.on('error', () => {})
      resolve({
        ws, messages, closed, next,
        ask(command, timeoutMs) {
          const id = (command.id as string | undefined) ?? `t${++counter}`
          ws.send(JSON.stringify({ ...command, id }))
          return next((m) => m.id === id, timeoutMs, `the reply to ${id}`)
        },
        async close() {
          if (ws.readyState === WebSocket.CLOSED) return
          ws.close()
          await closed
        },
      })
    })
  })
}
