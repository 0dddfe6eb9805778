import { readFile } from 'node:fs/promises'
import { BridgeClient, DEFAULT_BIND, loadClientKeys } from '../bridge/index.js'
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
  ['--keys DIR', 'CURVE keys folder: use clients/client.key* and server.key (env UVM_KEYS)'],
  ['--timeout MS', 'give up after this long without a reply (default 10000)'],
]

export async function connect(values: { connect?: string; keys?: string; timeout?: string }, io: Io, command: string): Promise<BridgeClient> {
  const keysDir = values.keys ?? io.env.UVM_KEYS
  return BridgeClient.connect(values.connect ?? io.env.UVM_CONNECT ?? DEFAULT_BIND, {
    timeoutMs: intOption(values.timeout, 'timeout', command, 1) ?? 10_000,
    ...(keysDir && { keys: await loadClientKeys(keysDir) }),
  })
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
