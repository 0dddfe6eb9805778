import { connect } from 'node:net'

export type Probe =
  | { kind: 'listening' }
  /** Refused, or no such socket file: a definite answer, and an immediate one. */
  | { kind: 'nothing'; reason: string }
  /** Unknown host, no route, or no answer in time: ZeroMQ would only keep retrying. */
  | { kind: 'unknown'; reason: string }

/**
 * Whether anything accepts connections at a tcp:// or ipc:// endpoint, by opening a plain socket
 * and closing it at once. ZeroMQ hides a refused connection behind endless silent retries, so a
 * client that asks it alone learns only, after its whole timeout, that nothing answered.
 */
export function probeEndpoint(endpoint: string, timeoutMs = 1000): Promise<Probe> {
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)$/.exec(endpoint)
  const ipc = /^ipc:\/\/(.+)$/.exec(endpoint)
  if (!tcp && !ipc) return Promise.resolve({ kind: 'unknown', reason: 'not a tcp:// or ipc:// endpoint' })
  return new Promise((resolve) => {
    const socket = tcp ? connect({ host: tcp[1]!.replace(/^\[|\]$/g, ''), port: Number(tcp[2]) }) : connect({ path: ipc![1]! })
    const done = (p: Probe) => { clearTimeout(timer); socket.destroy(); resolve(p) }
    const timer = setTimeout(() => done({ kind: 'unknown', reason: `no TCP answer within ${timeoutMs} ms` }), timeoutMs)
    socket.once('connect', () => done({ kind: 'listening' }))
    socket.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED' || e.code === 'ENOENT') done({ kind: 'nothing', reason: e.code === 'ENOENT' ? 'no such socket file' : 'connection refused' })
      else done({ kind: 'unknown', reason: e.code === 'ENOTFOUND' ? 'unknown host' : (e.code ?? e.message) })
    })
  })
}
