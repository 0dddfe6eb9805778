import type { ServerKeys } from './keys.js'

/** Whether a ZeroMQ endpoint only listens on this machine. */
export function isLoopback(endpoint: string): boolean {
  if (endpoint.startsWith('ipc://') || endpoint.startsWith('inproc://')) return true
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:]+):/.exec(endpoint)
  if (!m) return false
  const host = m[1]!.replace(/^\[|\]$/g, '')
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/** Loopback by default: any other address must be protected by CURVE. */
export function requireCurveFor(endpoint: string, keys: ServerKeys | undefined): void {
  if (!/^(tcp|ipc|inproc):\/\/.+/.test(endpoint)) {
    throw new Error(`"${endpoint}" is not a ZeroMQ endpoint (expected e.g. tcp://127.0.0.1:5555)`)
  }
  if (!isLoopback(endpoint) && keys === undefined) {
    throw new Error(`binding ${endpoint} (not loopback) requires CURVE: run \`uvm keys\` and pass --keys DIR`)
  }
}
