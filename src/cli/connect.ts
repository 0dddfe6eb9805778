import { readFile } from 'node:fs/promises'
import { UvmError } from '../errors.js'
import { DEFAULT_BIND, endpointProblem, isLoopback, probeEndpoint } from '../endpoint/index.js'
import type { BridgeClient, ClientKeys } from '../bridge/index.js'
import type { Io } from './usage.js'
import { UsageError } from './usage.js'
import { intOption } from './args.js'

/** Options every client command takes. */
export const clientOptions = {
  connect: { type: 'string' },
  json: { type: 'boolean' },
  keys: { type: 'string' },
  key: { type: 'string' },
  timeout: { type: 'string' },
} as const

export const clientOptionHelp: [string, string][] = [
  ['--connect ADDR', `the daemon's command address (env UVM_CONNECT; default ${DEFAULT_BIND})`],
  ['--json', 'print the raw reply as JSON (for machines)'],
  ['--keys DIR', 'CURVE keys folder: use clients/client.key* (or the one keypair there) and server.key (env UVM_KEYS; default ./keys with --key)'],
  ['--key NAME', 'the keypair NAME of the keys folder, in clients/ or readers/ (env UVM_KEY), e.g. a reader made by `uvm keys --reader NAME`'],
  ['--timeout MS', 'give up after this long without a reply (default 10000; for code that runs, the wall limit UVM_WALL_TIMEOUT (30000) plus 5000)'],
]

/** How long a request that runs code (an act, a send) may take by default: the daemon's wall limit, and a margin for the reply. */
export function codeTimeoutMs(io: { env: NodeJS.ProcessEnv }): number {
  const wall = Number(io.env.UVM_WALL_TIMEOUT)
  return (Number.isInteger(wall) && wall > 0 ? wall : 30_000) + 5_000
}

type KeyValues = { keys?: string; key?: string }

/** The client's CURVE keys (--keys, UVM_KEYS; --key, UVM_KEY picks the keypair), when it has any. */
export async function clientKeys(values: KeyValues, io: Io): Promise<ClientKeys | undefined> {
  const name = values.key ?? io.env.UVM_KEY
  // A name alone means the keys folder `uvm keys` makes by default.
  const keysDir = values.keys ?? io.env.UVM_KEYS ?? (name !== undefined ? './keys' : undefined)
  if (keysDir === undefined) return undefined
  const { loadClientKeys } = await import('../bridge/index.js')
  return loadClientKeys(keysDir, name)
}

/** A client for the daemon at --connect (UVM_CONNECT); ZeroMQ connects lazily, so nothing waits here. */
export async function connect(values: { connect?: string; timeout?: string } & KeyValues, io: Io, command: string): Promise<BridgeClient> {
  const endpoint = values.connect ?? io.env.UVM_CONNECT ?? DEFAULT_BIND
  // zeromq says only "Invalid argument" for a malformed address.
  const problem = endpointProblem(endpoint)
  if (problem !== undefined) throw new UsageError(problem, command)
  const timeoutMs = intOption(values.timeout, 'timeout', command, 1) ?? 10_000
  const keys = await clientKeys(values, io)
  const { BridgeClient } = await import('../bridge/index.js')
  try {
    return BridgeClient.connect(endpoint, { timeoutMs, ...(keys && { keys }) })
  } catch (e) {
    throw new UsageError(`cannot connect to "${endpoint}": ${(e as Error).message} (expected e.g. tcp://127.0.0.1:5555)`, command)
  }
}

/**
 * Refuse at once an address where nothing listens: ZeroMQ would retry in silence until the timeout.
 * On this machine a refusal is immediate; elsewhere a firewall may drop the probe, so it gets a
 * moment, and then ZeroMQ tries anyway.
 */
export async function mustListen(endpoint: string): Promise<void> {
  const probe = await probeEndpoint(endpoint, isLoopback(endpoint) ? 1000 : 3000)
  if (probe.kind === 'nothing') throw new UvmError('BRIDGE_UNREACHABLE', `nothing listening at ${endpoint} (${probe.reason}): start the daemon with \`uvm boot\`, or give --connect ADDR (env UVM_CONNECT)`)
}

/** CODE given inline, or -f FILE (`-f -` reads stdin). */
export async function codeArgument(positional: string | undefined, file: string | undefined, what: string, command: string): Promise<string> {
  if (file !== undefined && positional !== undefined) throw new UsageError(`give the ${what} inline or with -f FILE, not both`, command)
  if (file !== undefined) {
    try {
      return file === '-' ? await readStdin() : await readFile(file, 'utf8')
    } catch (e) {
      throw new UsageError(`cannot read ${file}: ${(e as Error).message}`, command)
    }
  }
  if (positional === undefined) throw new UsageError(`missing ${what} (inline, or -f FILE)`, command)
  return positional
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** A target given as a dotted path, or as `#12` / `12` for an oid. */
export function targetOption(value: string | undefined): string | { $ref: number } | undefined {
  if (value === undefined) return undefined
  const m = /^#?(\d+)$/.exec(value)
  return m ? { $ref: Number(m[1]) } : value
}
