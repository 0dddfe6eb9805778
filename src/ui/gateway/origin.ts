import type { IncomingMessage } from 'node:http'

/** Whether an address to listen on is loopback only (no token needed there). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/** The name in a Host header, without its port. */
function hostName(header: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(header)
  if (m) return m[1]!
  return header.replace(/:\d+$/, '')
}

/**
 * On loopback the Host must be a loopback name: a page of some site whose name the attacker points
 * at 127.0.0.1 (DNS rebinding) would otherwise be same-origin with the gateway.
 */
export function hostAllowed(req: IncomingMessage, loopback: boolean): boolean {
  if (!loopback) return true
  const header = req.headers.host
  return header !== undefined && isLoopbackHost(hostName(header.toLowerCase()))
}

/**
 * A browser sends Origin with every WebSocket: a page of another site must not drive the image
 * through the user's browser (WebSockets are not bound by CORS). Clients that are not browsers
 * send none, and are let in (beyond loopback, only with the token).
 */
export function originAllowed(req: IncomingMessage): boolean {
  const origin = req.headers.origin
  if (origin === undefined) return true
  try {
    return new URL(origin).host === (req.headers.host ?? '').toLowerCase()
  } catch {
    return false
  }
}
