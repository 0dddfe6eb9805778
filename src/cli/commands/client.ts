import { DEFAULT_BIND } from '../../endpoint/index.js'
import type { BridgeClient } from '../../bridge/index.js'
import type { Reply } from '../../covenant/index.js'
import { intOption, parse } from '../args.js'
import { clientKeys, clientOptionHelp, clientOptions, codeArgument, codeTimeoutMs, connect, mustListen, targetOption } from '../connect.js'
import { eventsAddress, explanations, watchJit } from '../jit-status.js'

/** `{target}` for a command when --target was given, else nothing. */
function targetField(v: Values): { target?: string | { $ref: number } } {
  const target = targetOption(v.target as string | undefined)
  return target === undefined ? {} : { target }
}
import { errorDetailLines, formatValue, printable } from '../format.js'
import { paint } from '../colour.js'
import type { CommandSpec, Io } from '../usage.js'
import { UsageError } from '../usage.js'

type Values = Record<string, string | boolean | undefined>
type Requester = Pick<BridgeClient, 'request'>

/**
 * A client command: parse, connect, one request, print the reply (human text
 * or --json), exit 0, or 1 with one line for an error reply.
 */
function clientCommand(spec: {
  name: string
  summary: string
  usage: string
  options?: Record<string, { type: 'string' | 'boolean'; short?: string }>
  help?: [string, string][]
  /** Runs sandbox code, which may take up to the daemon's wall limit: wait that long for the reply (and show the JIT's status). */
  runsCode?: boolean
  /** Takes no positional arguments: a stray one is refused, never ignored. */
  noPositionals?: boolean
  request(client: Requester, positionals: string[], values: Values): Promise<Reply>
  human(reply: Reply, values: Values): string
}): CommandSpec {
  return {
    name: spec.name,
    summary: spec.summary,
    usage: spec.usage,
    options: [...(spec.help ?? []), ...clientOptionHelp],
    async run(argv, io) {
      const { values, positionals } = parse(argv, { ...clientOptions, ...spec.options, ...(spec.runsCode && { events: { type: 'string' } }) }, spec.name, spec.noPositionals !== true)
      const client = await connect(values as Values, io, spec.name)
      let watch: ReturnType<typeof watchJit> | undefined
      // --debug: error replies carry the sandbox's and the daemon's stack traces.
      const debug = io.debug ? { debug: true } : {}
      try {
        // Checked when the first request goes out, so that a usage mistake is still said first.
        let listening: Promise<void> | undefined
        const reachable = () => (listening ??= mustListen(client.endpoint))
        const requester: Requester = spec.runsCode
          ? {
              // The usual deadline tells a missing daemon quickly; the code itself may then run to the wall limit.
              async request(command) {
                await reachable()
                const pong = await client.call({ command: 'ping' }, 'pong')
                // A daemon with a JIT announces its cycles: show them while this request waits.
                if (pong.event === 'pong' && pong.jit !== undefined && values.json !== true) {
                  watch = watchJit(eventsAddress(String(values.connect ?? io.env.UVM_CONNECT ?? DEFAULT_BIND), (values.events as string | undefined) ?? io.env.UVM_EVENTS), await clientKeys(values as Values, io), io.err, process.stderr.isTTY === true)
                  await watch.ready
                }
                return client.request({ ...command, ...debug, ...(watch && { id: watch.id }) }, values.timeout === undefined ? { timeoutMs: codeTimeoutMs(io) } : {})
              },
            }
          : { request: async (command, opts) => { await reachable(); return client.request({ ...command, ...debug }, opts) } }
        const reply = await spec.request(requester, positionals, values as Values)
        watch?.stop()
        return report(reply, values.json === true, io, spec.name, (r) => [...explanations(r), spec.human(r, values as Values)].filter((t) => t).join('\n'))
      } catch (e) {
        const { BridgeError } = await import('../../bridge/index.js')
        if (e instanceof BridgeError) {
          io.err(paint(io, 'err').red(`uvm ${spec.name}: ${e.message}`))
          return 1
        }
        throw e
      } finally {
        watch?.stop()
        await client.close()
      }
    },
  }
}

function report(reply: Reply, json: boolean, io: Io, name: string, human: (r: Reply) => string): number {
  if (json) io.out(JSON.stringify(reply, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)))
  if (reply.event === 'error') {
    if (!json) {
      const where = reply.error.line !== undefined ? ` (line ${reply.error.line}, column ${reply.error.column})` : ''
      io.err(paint(io, 'err').red(`uvm ${name}: ${reply.error.code}: ${reply.error.message}${reply.error.message.includes('(line') ? '' : where}`))
      for (const line of errorDetailLines(reply.error, io.debug)) io.err(line)
      if (reply.error.output) io.err(reply.error.output.trimEnd())
    }
    return 1
  }
  if (!json) {
    const text = human(reply)
    if (text) io.out(text)
  }
  return 0
}

const targetHelp: [string, string] = ['--target PATH', 'the object: a dotted path as an act names it (prototypes.Dog, genesis.x, root.x; default genesis) or #oid']
const eventsHelp: [string, string] = ['--events ADDR', "the daemon's event address, for the JIT status line (env UVM_EVENTS; default the --connect port + 1)"]
const tidLine = (r: Reply) => ('tid' in r && r.tid !== undefined ? `committed as transaction ${r.tid}` : 'nothing changed')

function outputAndValue(r: Reply, v: Values): string {
  if (r.event !== 'result') return ''
  const parts: string[] = []
  if (r.output) parts.push(r.output.replace(/\n$/, ''))
  // An act that returns nothing prints nothing; one that returns null says so.
  if (r.undefined !== true && r.value !== undefined) parts.push(formatValue(r.value, formatOptions(v)))
  return parts.join('\n')
}

const allHelp: [string, string] = ['--all', 'show every element and slot (default: the first 100 of each, and how many more)']
const formatOptions = (v: Values) => ({ ...(v.all === true && { limit: Infinity }), color: process.stdout.isTTY === true && !process.env.NO_COLOR })

/** A CLI argument as a value: JSON when it parses (numbers, true, {"$ref": 4}, ...), else the string itself. */
export function argValue(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

export const ping = clientCommand({
  name: 'ping',
  summary: 'check that the daemon answers',
  usage: 'uvm ping [--connect ADDR]',
  noPositionals: true,
  request: (c) => c.request({ command: 'ping' }),
  human: (r) => (r.event === 'pong' ? `pong: uvm ${r.version}${r.read_only === true ? ' (read-only)' : ''}` : ''),
})

export const state = clientCommand({
  name: 'state',
  summary: 'show an object (default the Genesis Object) and its slots: uvm state prototypes.Morph',
  usage: 'uvm state [PATH] [--depth N] [--all]    (PATH as --target takes it)',
  options: { depth: { type: 'string' }, target: { type: 'string' }, all: { type: 'boolean' } },
  help: [['--depth N', 'how deep references are expanded (0-8, default 1)'], targetHelp, allHelp],
  request: (c, p, v) => {
    if (p.length > 1) throw new UsageError(`expected at most one PATH, got ${p.length}: ${p.join(' ')}`, 'state')
    if (p.length === 1 && v.target !== undefined) throw new UsageError('give the object as PATH or --target, not both', 'state')
    const depth = intOption(v.depth as string | undefined, 'depth', 'state')
    if (depth !== undefined && depth > 8) throw new UsageError('--depth is at most 8', 'state')
    return c.request({ command: 'get_full_state', ...(depth !== undefined && { depth }), ...targetField(p.length === 1 ? { target: p[0] } : v) })
  },
  human: (r, v) => (r.event === 'uvm_state_update' ? formatValue(r.state, formatOptions(v)) : ''),
})

export const set = clientCommand({
  name: 'set',
  summary: 'set a data slot: uvm set label \'"Ready"\'',
  usage: 'uvm set PROP JSON [--target PATH]',
  options: { target: { type: 'string' } },
  help: [targetHelp],
  request: (c, p, v) => {
    if (p.length !== 2) throw new UsageError('expected PROP and a JSON value, e.g. uvm set font_size 24', 'set')
    let value: unknown
    try {
      value = JSON.parse(p[1]!)
    } catch {
      throw new UsageError(`the value must be JSON (strings in quotes: '"Ready"'), got ${p[1]}`, 'set')
    }
    return c.request({ command: 'update_property', property_name: p[0]!, property_value: value, ...targetField(v) })
  },
  human: tidLine,
})

export const createMethod = clientCommand({
  name: 'create-method',
  summary: 'install a method: uvm create-method new_tool \'print("New tool created!")\'',
  usage: 'uvm create-method NAME (CODE | -f FILE) [--target PATH]',
  options: { file: { type: 'string', short: 'f' }, target: { type: 'string' } },
  help: [['-f, --file FILE', 'read the code from FILE (- for stdin)'], targetHelp],
  request: async (c, p, v) => {
    if (p.length < 1 || p.length > 2) throw new UsageError('expected NAME and CODE (or -f FILE)', 'create-method')
    const code = await codeArgument(p[1], v.file as string | undefined, 'method code', 'create-method')
    return c.request({ command: 'create_method', method_name: p[0]!, method_code: code, ...targetField(v) })
  },
  human: tidLine,
})

export const send = clientCommand({
  name: 'send',
  summary: 'send a message: uvm send display_yourself',
  usage: 'uvm send SELECTOR [ARG...] [--target PATH] [--intent TEXT]   (each ARG is JSON if it parses, else a string)',
  options: { target: { type: 'string' }, intent: { type: 'string' }, all: { type: 'boolean' } },
  help: [targetHelp, allHelp, ['--intent TEXT', "the architect's words: shown to the LLM and recorded with any JIT cycle the send starts"], eventsHelp],
  runsCode: true,
  request: (c, p, v) => {
    if (p.length < 1) throw new UsageError('missing SELECTOR', 'send')
    return c.request({ command: 'send_message', selector: p[0]!, args: p.slice(1).map(argValue), ...targetField(v), ...(v.intent !== undefined && { intent: String(v.intent) }) })
  },
  human: outputAndValue,
})

export const act = clientCommand({
  name: 'act',
  summary: 'run an act (JavaScript, the body of an async function) in one transaction',
  usage: 'uvm act (CODE | -f FILE) [--intent TEXT] [--explanation TEXT]',
  options: { file: { type: 'string', short: 'f' }, intent: { type: 'string' }, explanation: { type: 'string' }, all: { type: 'boolean' } },
  help: [['-f, --file FILE', 'read the act from FILE (- for stdin)'], allHelp, ['--intent TEXT', "the architect's intent, kept in the transaction record"], ['--explanation TEXT', 'why, kept in the transaction record'], eventsHelp],
  runsCode: true,
  request: async (c, p, v) => {
    if (p.length > 1) throw new UsageError('give the act as ONE argument (quote it), or -f FILE', 'act')
    const code = await codeArgument(p[0], v.file as string | undefined, 'act code', 'act')
    return c.request({ command: 'run_act', code, ...(v.intent !== undefined && { intent: String(v.intent) }), ...(v.explanation !== undefined && { explanation: String(v.explanation) }) })
  },
  human: outputAndValue,
})

export const why = clientCommand({
  name: 'why',
  summary: 'how a slot was made: the JIT cycle, curriculum turn or transaction behind it',
  usage: 'uvm why SELECTOR [--target PATH]',
  options: { target: { type: 'string' } },
  help: [targetHelp],
  request: (c, p, v) => {
    if (p.length !== 1) throw new UsageError('expected one SELECTOR, e.g. uvm why area --target genesis.prototypes.Rect', 'why')
    return c.request({ command: 'why', selector: p[0]!, ...targetField(v) })
  },
  human: provenanceText,
})

export const cem = clientCommand({
  name: 'cem',
  summary: 'the Composite Entropy Metric of the image and its parts',
  usage: 'uvm cem',
  noPositionals: true,
  request: (c) => c.request({ command: 'cem' }),
  human: (r) => {
    if (r.event !== 'cem') return ''
    const f = (v: number | undefined) => (v === undefined ? 'not measured' : v.toFixed(3))
    const w = r.weights
    return [
      `CEM ${f(r.cem)} over the last ${r.cycles} JIT cycle${r.cycles === 1 ? '' : 's'}`,
      `  H_rel   ${f(r.parts.rel)}  weight ${w.rel.toFixed(3)}`,
      `  H_cog   ${f(r.parts.cog)}  weight ${w.cog.toFixed(3)}`,
      `  H_sol   ${f(r.parts.sol)}  weight ${w.sol.toFixed(3)}`,
      `  H_struc ${f(r.parts.struc)}  weight ${w.struc.toFixed(3)}`,
    ].join('\n')
  },
})

function provenanceText(r: Reply): string {
  if (r.event !== 'provenance') return ''
  const lines = [`${r.selector}: ${r.kind} slot of ${r.holder_print}`]
  if (r.jit !== undefined) {
    const j = r.jit
    lines.push(`made by JIT cycle ${j.cycle} (transaction ${r.tid}), when ${j.print} did not understand '${j.selector}'`)
    const turn = r.curriculum as { conversation?: unknown; turn?: unknown; turns?: unknown } | undefined
    if (j.mode === 'curriculum' && turn !== undefined) lines.push(`replayed from the curriculum: ${String(turn.conversation)}, turn ${String(turn.turn)} of ${String(turn.turns)}`)
    if (j.utterance !== undefined) lines.push(`architect: ${j.utterance}`)
    if (j.intent !== undefined) lines.push(`intent: ${j.intent}`)
    lines.push(`explanation: ${j.explanation}`)
    if (j.mode !== 'curriculum') lines.push(`model: ${j.model ?? '(unnamed)'} at ${j.server}${j.mode ? ` (${j.mode})` : ''}; ${j.ms} ms; tokens ${j.usage.promptTokens} in, ${j.usage.completionTokens} out`)
    j.attempts.forEach((a, i) => lines.push(`attempt ${i + 1} failed: ${a}`))
  } else if (r.curriculum !== undefined) {
    const c = r.curriculum as { conversation?: unknown; turn?: unknown; turns?: unknown }
    lines.push(`made by the curriculum: ${String(c.conversation)}, turn ${String(c.turn)} of ${String(c.turns)} (transaction ${r.tid}${r.description ? `: ${printable(r.description)}` : ''})`)
  } else if (r.tid !== undefined) {
    lines.push(`last written by transaction ${r.tid}${r.description ? `: ${printable(r.description)}` : ''}`)
  } else {
    lines.push('written before the history kept (packed), or by the image\'s birth')
  }
  if (r.source !== undefined) lines.push('source:', r.source)
  return lines.join('\n')
}

export const clientCommands = [ping, state, set, createMethod, send, act, why, cem]
