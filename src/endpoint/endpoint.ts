/**
 * ZeroMQ endpoints as text: the defaults, whether one stays on this machine, what is wrong with one.
 * No ZeroMQ here: the CLI reads these before it loads anything native.
 */
export const DEFAULT_BIND = 'tcp://127.0.0.1:5555'
export const DEFAULT_PUB = 'tcp://127.0.0.1:5556'

/** Whether a ZeroMQ endpoint only listens on this machine. */
export function isLoopback(endpoint: string): boolean {
  if (endpoint.startsWith('ipc://') || endpoint.startsWith('inproc://')) return true
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:]+):/.exec(endpoint)
  if (!m) return false
  const host = m[1]!.replace(/^\[|\]$/g, '')
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/**
 * What is wrong with `endpoint` as a ZeroMQ address, or undefined. Checked before ZeroMQ sees it: it
 * answers a bad address with "Invalid argument", and binds `tcp://host:99999` to some free port.
 */
export function endpointProblem(endpoint: string): string | undefined {
  if (!/^(tcp|ipc|inproc):\/\/.+/.test(endpoint)) return `"${endpoint}" is not a ZeroMQ endpoint (expected e.g. tcp://127.0.0.1:5555)`
  if (!endpoint.startsWith('tcp://')) return undefined
  const port = /:([^:\]]*)$/.exec(endpoint.slice('tcp://'.length))?.[1]
  if (port === undefined || port === '') return `"${endpoint}" names no port (expected e.g. tcp://127.0.0.1:5555)`
  if (port !== '*' && (!/^\d{1,5}$/.test(port) || Number(port) > 65535)) return `"${endpoint}": ${port} is not a TCP port (0 to 65535, or * for any free one)`
  return undefined
}
