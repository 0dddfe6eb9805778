import { readFile } from 'node:fs/promises'
import { BridgeClient, DEFAULT_BIND, endpointProblem, loadClientKeys } from '../bridge/index.js'
import type { ClientKeys } from '../bridge/index.js'
import type { Io } from './usage.js'
import { UsageError } from './usage.js'
import { intOption } from './args.js'

/** Options every client command takes. */
export const clientOptions = {
  connect: { type: 'string' },
  json: { type: 'boolean' },
  keys: { type: 'string' },
  timeout: { type: 'string' },
} as const

export const clientOptionHelp: [string, string][] = [
  ['--connect ADDR', `the daemon's command address (env UVM_CONNECT; default ${DEFAULT_BIND})`],
  ['--json', 'print the raw reply as JSON (for machines)'],
  ['--keys DIR', 'CURVE keys folder: use clients/client.key* (or the one keypair there) and server.key (env UVM_KEYS)'],
  ['--timeout MS', 'give up after this long without a reply (default 10000; for code that runs, the wall limit UVM_WALL_TIMEOUT (30000) plus 5000)'],
]

/** How long a request that runs code (an act, a send) may take by default: the daemon's wall limit, and a margin for the reply. */
export function codeTimeoutMs(io: { env: NodeJS.ProcessEnv }): number {
  const wall = Number(io.env.UVM_WALL_TIMEOUT)
  return (Number.isInteger(wall) && wall > 0 ? wall : 30_000) + 5_000
}

/** The client's CURVE keys (--keys, UVM_KEYS), when it has any. */
export async function clientKeys(values: { keys?: string }, io: Io): Promise<ClientKeys | undefined> {
  const keysDir = values.keys ?? io.env.UVM_KEYS
  return keysDir ? await loadClientKeys(keysDir) : undefined
}

export async function connect(values: { connect?: string; keys?: string; timeout?: string }, io: Io, command: string): Promise<BridgeClient> {
  const keysDir = values.keys ?? io.env.UVM_KEYS
  const endpoint = values.connect ?? io.env.UVM_CONNECT ?? DEFAULT_BIND
  // zeromq says only "Invalid argument" for a malformed address.
  const problem = endpointProblem(endpoint)
  if (problem !== undefined) throw new UsageError(problem, command)
  const timeoutMs = intOption(values.timeout, 'timeout', command, 1) ?? 10_000
  const keys = keysDir ? await loadClientKeys(keysDir) : undefined
  try {
    return BridgeClient.connect(endpoint, { timeoutMs, ...(keys && { keys }) })
  } catch (e) {
    throw new UsageError(`cannot connect to "${endpoint}": ${(e as Error).message} (expected e.g. tcp://127.0.0.1:5555)`, command)
  }
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
