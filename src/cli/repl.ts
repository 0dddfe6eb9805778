import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import repl from 'node:repl'
import readline from 'node:readline'
import { PassThrough } from 'node:stream'
import { ACT_SCOPE_NAMES, BridgeError, isReservedBinding } from '../bridge/index.js'
import type { TraceFrame } from '../covenant/index.js'
import { formatValue, printable, traceText } from './format.js'
import { targetOption } from './connect.js'
import { wholeNumber } from './args.js'
import { showText } from './commands/show.js'
import type { Io } from './usage.js'
import type { ReplBackend } from './repl-backend.js'
import { Cancelled, ReplFailure } from './repl-backend.js'
import { complete } from './repl-complete.js'
import type { Prepared } from './repl-source.js'
import { caret, checkInput, prepare, topLevelDeclarations } from './repl-source.js'
import { Session } from './repl-session.js'

export { localBackend, remoteBackend } from './repl-backend.js'
export type { ReplBackend } from './repl-backend.js'


export async function startRepl(backend: ReplBackend, io: Io, opts: { historyFile?: string; input?: NodeJS.ReadableStream; output?: NodeJS.WritableStream; terminal?: boolean } = {}): Promise<void> {
  const input = opts.input ?? process.stdin
  const output = opts.output ?? process.stdout
  io.out(`uvm repl on ${backend.where}. Each input is an act (await works; what you declare lasts for the session, slots for good); .help for commands.`)
  // Inputs run one after another, even when they arrive faster than acts finish (piped input).
  let queue: Promise<void> = Promise.resolve()
  const enqueue = (f: () => Promise<void>) => { queue = queue.then(f, f) }
  const idle = async () => { for (let q = queue; ; q = queue) { await q; if (q === queue) return } }
  // Node's REPL takes the next line before an asynchronous eval has finished: piped
  // lines would interleave with acts still running, and an act finishing late would
  // clear a multi-line input being buffered. Without a terminal, hand it one line at a time.
  const terminal = opts.terminal ?? (output as NodeJS.WriteStream).isTTY === true
  const color = terminal && !io.env.NO_COLOR
  const paint = (code: number, text: string) => (color ? `\x1b[${code}m${text}\x1b[39m` : text)
  const session = new Session()
  /** Oids of the session's objects that are known to be in the image. */
  const known = new Set<number>()
  let showAll = false
  const show = (v: unknown) => formatValue(v, { color, more: '.all shows everything', ...(showAll && { limit: Infinity }) })
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
  /** Stops waiting for the act that runs (set while one does). */
  let cancel: (() => void) | undefined
  const failure = (e: unknown, code?: string, prepared?: Prepared) => {
    if (e instanceof Cancelled) return paint(33, e.message)
    let text = failureText(e)
    let at = positionOf(e)
    if (prepared !== undefined) {
      text = text.replace(/\(line (\d+), column (\d+)\)/g, (_m, l: string, c: string) => {
        const p = prepared.toInput(Number(l), Number(c))
        return `(line ${p.line}, column ${p.column})`
      })
      if (at !== undefined) at = prepared.toInput(at.line, at.column)
    }
    const [head, ...rest] = text.split('\n')
    const pointer = at !== undefined && code !== undefined ? caret(code, at.line, at.column) : undefined
    // The send trace, with the act's frames put back where they are in what was typed (a method's are its own).
    let trace = traceOf(e)
    if (trace !== undefined && prepared !== undefined) trace = trace.map((f) => (f.act === true && f.line !== undefined && f.column !== undefined ? { ...f, ...prepared.toInput(f.line, f.column) } : f))
    const traceLine = trace !== undefined && trace.some((f) => f.act !== true) ? [paint(90, `  ${traceText(trace)}`)] : []
    const stack = e instanceof ReplFailure && e.debugStack !== undefined ? [paint(90, e.debugStack)] : []
    return [paint(31, head!), ...(pointer !== undefined ? [paint(90, pointer)] : []), ...traceLine, ...stack, ...rest].join('\n')
  }
  const server = repl.start({
    prompt: 'uvm> ',
    input: replInput,
    output,
    terminal,
    useColors: color,
    ignoreUndefined: true,
    preview: false,
    writer: (v: unknown) => show(v), // strings quoted, as Node's REPL does: "undefined" is not undefined
    completer: (line: string, callback: (err: Error | null, result: [string[], string]) => void) => {
      const scope = { commands: Object.keys(server.commands), names: session.all(), refs: session.refs() }
      complete((t) => backend.state(t, 1), line, scope).then((r) => callback(null, r), () => callback(null, [[], line]))
    },
    eval: (cmd: string, _ctx: unknown, _file: string, callback: (err: Error | null, result?: unknown) => void) => {
      const code = cmd.replace(/\n$/, '')
      if (code.trim() === '') return callback(null, undefined)
      const check = checkInput(code)
      if (check.kind === 'incomplete') return callback(new repl.Recoverable(new SyntaxError('incomplete act')))
      if (check.kind === 'error') {
        // Shown at once, where it is: nothing more typed could make this input an act.
        output.write(failure(new ReplFailure(`syntax_error: ${check.message} (line ${check.line}, column ${check.column})`, check.line, check.column), code) + '\n')
        return callback(null, undefined)
      }
      // A session name that is one of the act's own would hide it in every later input (the daemon refuses
      // such bindings): refused here, where it is typed, before anything is sent.
      const taken = topLevelDeclarations(check.program).find((d) => isReservedBinding(d.name))
      if (taken !== undefined) {
        const why = taken.name.startsWith('__uvm') ? 'names starting with __uvm are the runtime\'s' : `every act has it (${ACT_SCOPE_NAMES.join(', ')})`
        output.write(failure(new ReplFailure(`syntax_error: '${taken.name}' cannot be declared here: ${why}; pick another name (line ${taken.line}, column ${taken.column})`, taken.line, taken.column), code) + '\n')
        return callback(null, undefined)
      }
      const declares = (check.program.body as { type: string }[]).some((s) => /^(VariableDeclaration|FunctionDeclaration|ClassDeclaration)$/.test(s.type))
      const useSession = declares || session.size > 0
      const prepared = prepare(code, check.program, useSession ? { names: session.names(), functions: session.functionSources() } : undefined)
      // Ctrl-C from now on cancels this input: before it is sent (it never is), or while it runs.
      let cancelled = false
      let stop: ((why: Error) => void) | undefined
      const mine = () => { cancelled = true; stop?.(new Cancelled()) }
      cancel = mine
      enqueue(async () => {
        try {
          if (cancelled) throw new Cancelled('! cancelled: the input was never sent')
          const r = await backend.act(prepared.code, {
            description: descriptionOf(code),
            ...(useSession && { bindings: session.bindings() ?? {} }),
            abandon: (f) => { stop = f; if (cancelled) f(new Cancelled()) },
          })
          for (const line of r.explanations ?? []) output.write(line + '\n')
          if (r.output) output.write(r.output.endsWith('\n') ? r.output : r.output + '\n')
          let value = r.value
          let isUndefined = r.undefined === true
          if (prepared.captures !== undefined && Array.isArray(value) && value.length === 2) {
            const answered = (value[1] ?? {}) as Record<string, unknown>
            value = value[0]
            isUndefined = isTag(value, '$undefined')
            for (const note of session.keep(answered, prepared)) output.write(paint(90, note) + '\n')
            // An object the input made and stored nowhere was never written: no later act can reach it.
            for (const [name, oid] of Object.entries(session.refs())) {
              if (known.has(oid)) continue
              try {
                await backend.state({ $ref: oid }, 0)
                known.add(oid)
              } catch {
                session.drop(name)
                output.write(paint(90, `(${name} is an object this input made and stored nowhere, so it was never written and the session cannot keep it: store it in a slot, e.g. genesis.${name} = ${name})`) + '\n')
              }
            }
          }
          callback(null, isUndefined ? undefined : value)
        } catch (e) {
          output.write(`${failure(e, code, prepared)}\n`)
          callback(null, undefined)
        } finally {
          if (cancel === mine) cancel = undefined
        }
      })
    },
  })
  // Ctrl-C while an act runs stops waiting for it; otherwise Node's own manners (clear the line; twice to exit).
  const nodeSigint = server.listeners('SIGINT') as ((...a: unknown[]) => void)[]
  server.removeAllListeners('SIGINT')
  server.on('SIGINT', (...a: unknown[]) => {
    if (cancel !== undefined) { cancel(); cancel = undefined; return }
    for (const f of nodeSigint) f.apply(server, a)
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
        enqueue(() => action(arg.trim()).catch((e: unknown) => { output.write(`${failure(e)}\n`) }).finally(() => server.displayPrompt()))
      },
    })
  }
  command('state', 'Show the Genesis Object (or .state PATH) with its slots', async (arg) => {
    output.write(show(await backend.state(targetOption(arg || undefined), 1)) + '\n')
  })
  command('inspect', 'Show an object by dotted path or #oid: .inspect genesis.prototypes', async (arg) => {
    if (!arg) throw new ReplFailure('usage: .inspect PATH (e.g. genesis.prototypes, or #4)')
    output.write(show(await backend.state(targetOption(arg), 1)) + '\n')
  })
  command('history', 'The newest transactions (.history N)', async (arg) => {
    const n = arg ? wholeNumber(arg) : 10
    if (n === undefined || n < 1 || n > 10_000) throw new ReplFailure('usage: .history [N] (N from 1 to 10000)')
    for (const t of await backend.history(n)) output.write(`${String(t.tid).padStart(6)}  ${new Date(t.time).toISOString()}  ${printable(t.user)}  ${printable(t.description)}\n`)
  })
  command('undo', 'Undo a transaction: .undo TID', async (arg) => {
    const tid = wholeNumber(arg) ?? 0
    if (tid < 1) throw new ReplFailure('usage: .undo TID (see .history)')
    const newTid = await backend.undo(tid)
    output.write(`undid transaction ${tid} as transaction ${newTid}\n`)
  })
  command('show', "What a transaction changed: .show TID (each object's slots before and after)", async (arg) => {
    const tid = wholeNumber(arg) ?? 0
    if (tid < 1) throw new ReplFailure('usage: .show TID (see .history)')
    const changes = await backend.show(tid)
    if (changes === undefined) throw new ReplFailure(`no transaction ${tid} (see .history)`)
    output.write(showText(changes, showAll) + '\n')
  })
  command('names', "The session's names: what inputs declared (let, const, var, function, class), kept for later inputs", async () => {
    const names = session.all()
    output.write((names.length ? names.join(', ') : '(none yet: `let q = 1` makes one)') + '\n')
  })
  command('all', 'Show every element and slot of the values that follow (again: the first 100 of each)', async () => {
    showAll = !showAll
    output.write(showAll ? 'showing every element and slot\n' : 'showing the first 100 elements and slots of each value\n')
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

/** The history's line for an input: its first line, as runAct describes an act (the act itself is rewritten). */
function descriptionOf(code: string): string {
  const line = code.trim().split('\n', 1)[0] ?? ''
  return line.length > 80 ? line.slice(0, 79) + '…' : line
}

function isTag(v: unknown, key: string): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && key in v
}

/** Where in the act a failure points, when it says. */
function positionOf(e: unknown): { line: number; column: number } | undefined {
  if (e instanceof ReplFailure) return e.line !== undefined && e.column !== undefined ? { line: e.line, column: e.column } : undefined
  const d = (e as { details?: { line?: unknown; column?: unknown } }).details
  return typeof d?.line === 'number' && typeof d.column === 'number' ? { line: d.line, column: d.column } : undefined
}

/** An error's send trace: from the daemon's reply, or from the in-process act's error. */
function traceOf(e: unknown): TraceFrame[] | undefined {
  if (e instanceof ReplFailure) return e.trace
  const t = (e as { details?: { trace?: unknown } }).details?.trace
  return Array.isArray(t) ? (t as TraceFrame[]) : undefined
}

function failureText(e: unknown): string {
  if (e instanceof ReplFailure || e instanceof BridgeError) return `! ${e.message}`
  const code = (e as { code?: unknown }).code
  const msg = e instanceof Error ? e.message : String(e)
  const d = (e as { details?: { line?: number; column?: number } }).details
  const pos = d?.line !== undefined && !msg.includes('(line') ? ` (line ${d.line}, column ${d.column})` : ''
  const output = (e as { output?: unknown }).output
  return `! ${typeof code === 'string' ? code + ': ' : ''}${msg}${pos}${typeof output === 'string' && output ? '\n' + output.trimEnd() : ''}`
}
