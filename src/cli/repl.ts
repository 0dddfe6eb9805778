import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import repl from 'node:repl'
import readline from 'node:readline'
import { PassThrough } from 'node:stream'
import { Parser } from 'acorn'
import { BridgeClient, BridgeError, WireWriter, resolveTarget } from '../bridge/index.js'
import type { Reply, Target, TraceFrame } from '../covenant/index.js'
import type { Image } from '../image/index.js'
import type { HardenedRealm } from '../act/index.js'
import { excerpt, runAct } from '../act/index.js'
import { formatValue, traceText } from './format.js'
import { explanations } from './jit-status.js'
import { targetOption } from './connect.js'
import type { Io } from './usage.js'

/** What the REPL needs from a UVM: the daemon over the bridge, or an image opened in-process. */
export interface ReplBackend {
  readonly where: string
  act(code: string): Promise<{ value: unknown; output: string; tid?: number | undefined; explanations?: string[] }>
  state(target: Target | undefined, depth: number): Promise<unknown>
  history(limit: number): Promise<{ tid: number; time: number; user: string; description: string }[]>
  undo(tid: number): Promise<number | undefined>
  close(): Promise<void>
}

/** A failure to show as one line (the REPL keeps going), with an act's send trace and position when it has them. */
class ReplFailure extends Error {
  /** `debugStack`: with --debug, the sandbox's and the daemon's stacks (shown after the error's own lines). */
  constructor(message: string, readonly details: { code?: string; line?: number | undefined; column?: number | undefined; trace?: TraceFrame[] | undefined } = {}, readonly output = '', readonly debugStack?: string) {
    super(message)
  }
}

export function remoteBackend(client: BridgeClient, opts: { actTimeoutMs?: number; watch?: () => { id: string; ready: Promise<void>; stop(): void }; debug?: boolean } = {}): ReplBackend {
  const ok = <E extends Reply['event']>(r: Reply, e: E): Extract<Reply, { event: E }> => {
    if (r.event === 'error') {
      const pos = r.error.line !== undefined && !r.error.message.includes('(line') ? ` (line ${r.error.line}, column ${r.error.column})` : ''
      throw new ReplFailure(`${r.error.code}: ${r.error.message}${pos}`, { code: r.error.uvm_code, line: r.error.line, column: r.error.column, trace: r.error.trace }, r.error.output ?? '', r.error.stack)
    }
    return r as Extract<Reply, { event: E }>
  }
  return {
    where: client.endpoint,
    async act(code) {
      // The JIT's status line while an LLM works (a daemon with a JIT only).
      const watch = opts.watch?.()
      try {
        await watch?.ready
        const r = ok(await client.request({ command: 'run_act', code, ...(opts.debug === true && { debug: true }), ...(watch && { id: watch.id }) }, opts.actTimeoutMs !== undefined ? { timeoutMs: opts.actTimeoutMs } : {}), 'result')
        return { value: r.value, output: r.output ?? '', tid: r.tid, explanations: explanations(r) }
      } finally {
        watch?.stop()
      }
    },
    async state(target, depth) {
      return ok(await client.request({ command: 'get_full_state', depth, ...(target && { target }) }), 'uvm_state_update').state
    },
    async history(limit) {
      return ok(await client.request({ command: 'history', limit }), 'history').transactions
    },
    async undo(tid) {
      return ok(await client.request({ command: 'undo', tid }), 'ack').tid
    },
    close: () => client.close(),
  }
}

export function localBackend(image: Image, realm: HardenedRealm): ReplBackend {
  const wire = <T>(f: (w: WireWriter, tx: ReturnType<Image['begin']>) => T): T => {
    const tx = image.begin()
    try { return f(new WireWriter(tx), tx) } finally { tx.abort() }
  }
  return {
    where: image.location,
    async act(code) {
      const r = await runAct(image, realm, code, { user: 'repl' })
      return { value: wire((w) => w.js(r.value, 1)), output: r.output, tid: r.tid }
    },
    async state(target, depth) {
      return wire((w, tx) => w.object(resolveTarget(tx, target), depth))
    },
    async history(limit) {
      return image.transactions({ limit })
    },
    async undo(tid) {
      return (await image.undo(tid)).tid
    },
    close: () => image.close(),
  }
}

const PREFIX = '(async function () {\n'

/**
 * At the prompt the value of a trailing expression is the answer, as in any
 * REPL: `prototypes.Button` shows the object. Acts proper say `return`.
 */
export function returnLastExpression(code: string): string {
  return rewriteLastExpression(code).code
}

const RETURN = 'return ('

/** Where `return (` … `)` went in: 1-based line and column of the expression's start and of its end, in the input. */
interface Rewrite { code: string; start?: { line: number; column: number }; end?: { line: number; column: number } }

function rewriteLastExpression(code: string): Rewrite {
  let program
  try {
    program = Parser.parse(`${PREFIX}${code}\n})`, { ecmaVersion: 'latest', sourceType: 'script' }) as unknown as { body: { expression: { body: { body: { type: string; start: number; end: number; expression: { start: number; end: number } }[] } } }[] }
  } catch {
    return { code }
  }
  const body = program.body[0]?.expression.body.body
  const last = body?.[body.length - 1]
  if (!last || last.type !== 'ExpressionStatement') return { code }
  const start = last.expression.start - PREFIX.length
  const end = last.expression.end - PREFIX.length
  const at = (offset: number) => {
    const before = code.slice(0, offset).split('\n')
    return { line: before.length, column: before[before.length - 1]!.length + 1 }
  }
  return { code: `${code.slice(0, start)}${RETURN}${code.slice(start, end)})${code.slice(end)}`, start: at(start), end: at(end) }
}

/** Positions in an error about the rewritten input, put back where they are in what was typed. */
function mapPositions(text: string, r: Rewrite): string {
  return text.replace(/\(line (\d+), column (\d+)\)/g, (_m, l: string, c: string) => `(line ${l}, column ${mapColumn(Number(l), Number(c), r)})`)
}

function mapColumn(line: number, c: number, r: Rewrite): number {
  const { start, end } = r
  if (!start || !end || (line !== start.line && line !== end.line)) return c
  let column = c
  if (line === start.line && column >= start.column) column = Math.max(start.column, column - RETURN.length)
  // Past the expression's end: the closing parenthesis added there.
  const endColumn = end.column + (end.line === start.line ? RETURN.length : 0)
  if (line === end.line && c > endColumn) column -= 1
  return column
}

/**
 * Below a failed input's line: a syntax error's line with a caret (from what was typed), and the send
 * trace, whose act frames are put back where they are in what was typed (method frames are the methods' own).
 */
function detailLines(e: unknown, r: Rewrite, typed: string): string[] {
  const d = e instanceof ReplFailure ? e.details : (e as { code?: unknown; details?: { line?: unknown; column?: unknown; trace?: unknown } }).details
  const code = e instanceof ReplFailure ? e.details.code : (e as { code?: unknown }).code
  const out: string[] = []
  if (d === undefined) return out
  if ((code === 'ACT_SYNTAX' || code === 'ACT_FORBIDDEN') && typeof d.line === 'number' && typeof d.column === 'number') {
    const text = excerpt(typed, d.line, mapColumn(d.line, d.column, r))
    if (text !== undefined) out.push(...text.split('\n').map((l) => `  ${l}`))
  }
  if (Array.isArray(d.trace) && (d.trace as TraceFrame[]).some((f) => f.act !== true)) {
    const trace = (d.trace as TraceFrame[]).map((f) => (f.act === true && f.line !== undefined && f.column !== undefined ? { ...f, column: mapColumn(f.line, f.column, r) } : f))
    out.push(`  ${traceText(trace)}`)
  }
  return out
}

/** True when `code` is an unfinished act (more lines may complete it). */
export function incomplete(code: string): boolean {
  try {
    Parser.parse(`${PREFIX}${code}\n})`, { ecmaVersion: 'latest', sourceType: 'script' })
    return false
  } catch (e) {
    const pos = (e as { pos?: number }).pos
    // An error at the very end of the input means the act stopped mid-construct;
    // so does a template literal or comment still open (it swallowed the closing `})`).
    if (/^Unterminated (template|comment)/.test((e as Error).message)) return true
    return typeof pos === 'number' && pos >= code.length + PREFIX.length
  }
}

export async function startRepl(backend: ReplBackend, io: Io, opts: { historyFile?: string; input?: NodeJS.ReadableStream; output?: NodeJS.WritableStream; terminal?: boolean } = {}): Promise<void> {
  const input = opts.input ?? process.stdin
  const output = opts.output ?? process.stdout
  io.out(`uvm repl on ${backend.where}. Each input is an act (await works; keep what must outlive it in slots); .help for commands.`)
  // Inputs run one after another, even when they arrive faster than acts finish (piped input).
  let queue: Promise<void> = Promise.resolve()
  const enqueue = (f: () => Promise<void>) => { queue = queue.then(f, f) }
  const idle = async () => { for (let q = queue; ; q = queue) { await q; if (q === queue) return } }
  // Node's REPL takes the next line before an asynchronous eval has finished: piped
  // lines would interleave with acts still running, and an act finishing late would
  // clear a multi-line input being buffered. Without a terminal, hand it one line at a time.
  const terminal = opts.terminal ?? (output as NodeJS.WriteStream).isTTY === true
  let replInput = input
  let lines: readline.Interface | undefined
  if (!terminal) {
    const gate = new PassThrough()
    replInput = gate
    lines = readline.createInterface({ input, crlfDelay: Infinity, terminal: false })
    const source = lines
    void (async () => {
      try {
        for await (const line of source) {
          gate.write(line + '\n')
          await new Promise((r) => setImmediate(r))
          await idle()
        }
      } finally {
        gate.end()
      }
    })()
  }
  const server = repl.start({
    prompt: 'uvm> ',
    input: replInput,
    output,
    terminal,
    ignoreUndefined: true,
    preview: false,
    writer: (v: unknown) => formatValue(v), // strings quoted, as Node's REPL does: "undefined" is not undefined
    completer: (line: string, callback: (err: Error | null, result: [string[], string]) => void) => {
      complete(backend, line).then((r) => callback(null, r), () => callback(null, [[], line]))
    },
    eval: (cmd: string, _ctx: unknown, _file: string, callback: (err: Error | null, result?: unknown) => void) => {
      const code = cmd.replace(/\n$/, '')
      if (code.trim() === '') return callback(null, undefined)
      if (incomplete(code)) return callback(new repl.Recoverable(new SyntaxError('incomplete act')))
      const rewrite = rewriteLastExpression(code)
      enqueue(() => backend.act(rewrite.code).then((r) => {
        for (const line of r.explanations ?? []) output.write(line + '\n')
        if (r.output) output.write(r.output.endsWith('\n') ? r.output : r.output + '\n')
        callback(null, r.value === null ? undefined : r.value)
      }, (e: unknown) => {
        output.write(`${failureText(e, detailLines(e, rewrite, code), (t) => mapPositions(t, rewrite))}\n`)
        callback(null, undefined)
      }))
    },
  })
  const historyFile = opts.historyFile ?? io.env.UVM_REPL_HISTORY ?? join(homedir(), '.uvm_repl_history')
  if (historyFile !== '' && terminal) {
    server.setupHistory(resolve(historyFile), () => {})
  }
  const command = (name: string, help: string, action: (arg: string) => Promise<void>) => {
    server.defineCommand(name, {
      help,
      action(arg: string) {
        server.clearBufferedCommand()
        enqueue(() => action(arg.trim()).catch((e: unknown) => { output.write(`${failureText(e)}\n`) }).finally(() => server.displayPrompt()))
      },
    })
  }
  command('state', 'Show the Genesis Object (or .state PATH) with its slots', async (arg) => {
    output.write(formatValue(await backend.state(targetOption(arg || undefined), 1)) + '\n')
  })
  command('inspect', 'Show an object by dotted path or #oid: .inspect genesis.prototypes', async (arg) => {
    if (!arg) throw new ReplFailure('usage: .inspect PATH (e.g. genesis.prototypes, or #4)')
    output.write(formatValue(await backend.state(targetOption(arg), 1)) + '\n')
  })
  command('history', 'The newest transactions (.history N)', async (arg) => {
    const n = arg ? Number(arg) : 10
    if (!Number.isInteger(n) || n < 1) throw new ReplFailure('usage: .history [N]')
    for (const t of await backend.history(n)) output.write(`${String(t.tid).padStart(6)}  ${new Date(t.time).toISOString()}  ${t.user}  ${t.description}\n`)
  })
  command('undo', 'Undo a transaction: .undo TID', async (arg) => {
    const tid = Number(arg)
    if (!arg || !Number.isInteger(tid) || tid < 1) throw new ReplFailure('usage: .undo TID (see .history)')
    const newTid = await backend.undo(tid)
    output.write(`undid transaction ${tid} as transaction ${newTid}\n`)
  })
  await new Promise<void>((r) => server.on('exit', () => r()))
  // .exit before the end of piped input: stop reading it, so the process can end.
  if (lines) {
    lines.close()
    if (input === process.stdin) process.stdin.destroy()
  }
  await queue
  await backend.close()
}

/** `map`: applied to the error's own line (positions in what was typed), not to its details or output. */
function failureText(e: unknown, details: string[] = [], map = (t: string) => t): string {
  const more = details.map((l) => '\n' + l).join('')
  if (e instanceof ReplFailure) return `! ${map(e.message)}${more}${e.debugStack !== undefined ? '\n' + e.debugStack : ''}${e.output ? '\n' + e.output.trimEnd() : ''}`
  if (e instanceof BridgeError) return `! ${e.message}`
  const code = (e as { code?: unknown }).code
  const msg = e instanceof Error ? e.message : String(e)
  const d = (e as { details?: { line?: number; column?: number } }).details
  const pos = d?.line !== undefined && !msg.includes('(line') ? ` (line ${d.line}, column ${d.column})` : ''
  const output = (e as { output?: unknown }).output
  return `! ${map(`${typeof code === 'string' ? code + ': ' : ''}${msg}${pos}`)}${more}${typeof output === 'string' && output ? '\n' + output.trimEnd() : ''}`
}

/** Complete the last dotted path in the line from the live image's slot names. */
async function complete(backend: ReplBackend, line: string): Promise<[string[], string]> {
  const m = /([A-Za-z_$][\w$]*(?:\.[A-Za-z_$*][\w$*]*)*)\.?([\w$]*)$/.exec(line)
  if (!m) return [[], line]
  const word = m[0]
  const dot = word.lastIndexOf('.')
  if (dot < 0) {
    const names = ['root', 'genesis', 'prototypes', 'print', 'UvmObject'].filter((n) => n.startsWith(word))
    return [names, word]
  }
  let path = word.slice(0, dot)
  const prefix = word.slice(dot + 1)
  if (path === 'prototypes') path = 'genesis.prototypes'
  else if (path.startsWith('prototypes.')) path = 'genesis.' + path
  const state = await backend.state(path === 'root' ? 'root' : path.replace(/^root\./, ''), 1) as { $slots?: Record<string, unknown> }
  const names = new Set(Object.keys(state.$slots ?? {}))
  for (const p of ['clone', 'copy', 'setSlot', 'getSlot', 'removeSlot', 'hasSlot', 'slotNames', 'parents', 'respondsTo', 'perform', 'printString', 'mirror']) names.add(p)
  const hits = [...names].filter((n) => n.startsWith(prefix) && /^[A-Za-z_$][\w$]*$/.test(n)).sort()
  return [hits.map((n) => word.slice(0, dot + 1) + n), word]
}
