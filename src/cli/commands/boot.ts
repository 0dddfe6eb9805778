import { once } from 'node:events'
import { DEFAULT_BIND, DEFAULT_PUB } from '../../endpoint/index.js'
import type { LogFormat, Waiting } from '../../daemon/index.js'
import { resolve } from 'node:path'
import { chapterRange, intOption, parse } from '../args.js'
import type { CommandSpec } from '../usage.js'
import { UsageError } from '../usage.js'
import type { JitConfig } from '../../jit/index.js'
import { clientKeys } from '../connect.js'
import { portTaken, startGateway, uiPort } from './ui.js'

/** boot --ui serves the page on loopback only: beyond it, run `uvm ui --host` (with its token). */
const UI_HOST = '127.0.0.1'

/** The daemon's own address as a client in this process reaches it: a wildcard bind is reached on loopback. */
function loopbackOf(endpoint: string): string {
  return endpoint.replace(/^tcp:\/\/(0\.0\.0\.0|\*|\[::\]|\[\*\])(?=:\d+$)/, 'tcp://127.0.0.1')
}

export const boot: CommandSpec = {
  name: 'boot',
  summary: 'run the UVM daemon: open the image and serve the Synaptic Bridge',
  usage: 'uvm boot [--image ./image.db] [--bind tcp://127.0.0.1:5555] [--pub tcp://127.0.0.1:5556] [--keys DIR] [--read-only] [--act-memory MB] [--max-reply MB] [--reader-bind ADDR --reader-pub ADDR] [--log-format human|json] [--llm-url URL [--llm-model NAME] [--llm-max-attempts N] [--idle-after S]] [--ui [--ui-port 8080]]',
  options: [
    ['--image PATH', 'the live image folder, created when missing (env UVM_IMAGE; default ./image.db)'],
    ['--bind ADDR', 'ROUTER address for commands (env UVM_BIND; default ' + DEFAULT_BIND + ')'],
    ['--pub ADDR', 'PUB address for events (env UVM_PUB; default ' + DEFAULT_PUB + ')'],
    ['--keys DIR', 'CURVE keys folder from `uvm keys`; required to bind beyond loopback (env UVM_KEYS)'],
    ['--cache N', 'objects kept loaded before eviction (env UVM_CACHE; default 100000)'],
    ['--cpu-timeout MS', 'CPU limit per entry into sandbox code (env UVM_CPU_TIMEOUT; default 1000)'],
    ['--wall-timeout MS', 'wall-clock limit per act (env UVM_WALL_TIMEOUT; default 30000)'],
    ['--act-memory MB', 'how much one act may grow the heap; past it the act fails with ACT_OUT_OF_MEMORY and the daemon serves on (env UVM_ACT_MEMORY; default 256)'],
    ['--max-reply MB', 'largest reply sent; a bigger one is answered `too_large` naming the cap (env UVM_MAX_REPLY; default 64)'],
    ['--read-only', 'serve the image for inspection: update_property, create_method, undo, and sends and acts that write get `unauthorized`; nothing is written, and a missing image is not created (env UVM_READ_ONLY=1)'],
    ['--reader-bind ADDR', 'also serve a read-only endpoint for commands; with --keys it admits clients/ and readers/ keys (`uvm keys --reader NAME`), while --bind never admits readers/ (env UVM_READER_BIND)'],
    ['--reader-pub ADDR', 'PUB address for events on the read-only endpoint; required with --reader-bind (env UVM_READER_PUB)'],
    ['--llm-url URL', 'the JIT for intent: an OpenAI-compatible server (vLLM, Ollama, llama.cpp, a hosted API) that compiles what doesNotUnderstand: catches (env UVM_LLM_URL; default none: a DNU is an error saying so)'],
    ['--llm-model NAME', 'the model to ask (env UVM_LLM_MODEL; default the first the server lists)'],
    ['--llm-key KEY', 'sent as a Bearer token; never logged, recorded or visible to acts (env UVM_LLM_KEY, preferred: a flag shows in `ps`)'],
    ['--llm-max-attempts N', 'answers tried per JIT cycle before the sender gets does_not_understand (env UVM_LLM_MAX_ATTEMPTS; default 3)'],
    ['--llm-timeout S', 'seconds per LLM request (env UVM_LLM_TIMEOUT; default 60)'],
    ['--llm-max-in-flight N', 'LLM requests at once (env UVM_LLM_MAX_IN_FLIGHT; default 2)'],
    ['--llm-max-tokens N', 'max tokens of each answer (env UVM_LLM_MAX_TOKENS; default 1024)'],
    ['--prompt-budget N', 'estimated tokens a JIT prompt may take; the least useful parts are cut first (env UVM_PROMPT_BUDGET; default 8000)'],
    ['--idle-after S', 'the autotelic drive: after S seconds without a request, while the CEM\'s moving average is below --cem-threshold, send the idle stimulus through the JIT (env UVM_IDLE_AFTER; default off)'],
    ['--cem-threshold X', 'the CEM below which the idle loop inquires (env UVM_CEM_THRESHOLD; default 0.5)'],
    ['--genesis', 'replay the curriculum (genesis/) into the image before serving: the conversations it lacks, so a new image is born with the whole Grand Narrative (with --chapters N or N-M: only those)'],
    ['--chapters N-M', 'with --genesis: which chapters (default all)'],
    ['--curriculum DIR', 'the curriculum folder: its NN-name.jsonl conversations teach the offline curriculum JIT and the LLM\'s examples (env UVM_CURRICULUM; default the genesis/ that ships)'],
    ['--forge-dir DIR', 'where the forge capability writes fine-tuning jobs (env UVM_FORGE_DIR; default forge-jobs beside the image)'],
    ['--forge-url URL', 'post fine-tuning jobs to this endpoint instead (env UVM_FORGE_URL)'],
    ['--ui', 'also serve the Entropic UI (the page and its WebSocket gateway, in this process) on 127.0.0.1, and print its URL after the ready line (`npm start` does)'],
    ['--ui-port N', 'with --ui: the page\'s port (env UVM_UI_PORT; default 8080; a taken port stops the boot before anything opens)'],
    ['--quiet', 'no per-request log lines'],
    ['--log-format F', 'human (a line for a person) or json (one object a line); default auto: human on a terminal, json when piped (env UVM_LOG_FORMAT)'],
  ],
  async run(argv, io) {
    const { values } = parse(argv, {
      image: { type: 'string' }, bind: { type: 'string' }, pub: { type: 'string' }, keys: { type: 'string' },
      cache: { type: 'string' }, 'cpu-timeout': { type: 'string' }, 'wall-timeout': { type: 'string' }, quiet: { type: 'boolean' },
      'act-memory': { type: 'string' }, 'max-reply': { type: 'string' },
      'read-only': { type: 'boolean' }, 'reader-bind': { type: 'string' }, 'reader-pub': { type: 'string' },
      'llm-url': { type: 'string' }, 'llm-model': { type: 'string' }, 'llm-key': { type: 'string' }, 'llm-max-attempts': { type: 'string' },
      'llm-timeout': { type: 'string' }, 'llm-max-in-flight': { type: 'string' }, 'llm-max-tokens': { type: 'string' }, 'prompt-budget': { type: 'string' },
      'idle-after': { type: 'string' }, 'cem-threshold': { type: 'string' },
      genesis: { type: 'boolean' }, chapters: { type: 'string' }, curriculum: { type: 'string' }, 'forge-dir': { type: 'string' }, 'forge-url': { type: 'string' },
      'log-format': { type: 'string' }, ui: { type: 'boolean' }, 'ui-port': { type: 'string' },
    }, 'boot', false)
    if (values['ui-port'] !== undefined && values.ui !== true) throw new UsageError('--ui-port goes with --ui (the UI\'s port)', 'boot')
    const uiPortNumber = values.ui === true ? uiPort(values['ui-port'], io, 'ui-port', 'boot') : undefined
    if (values.chapters !== undefined && values.genesis !== true) throw new UsageError('--chapters goes with --genesis (which chapters to replay)', 'boot')
    const forgeUrl = values['forge-url'] ?? io.env.UVM_FORGE_URL
    if (forgeUrl !== undefined) httpUrl(forgeUrl, 'forge-url')
    const env = io.env
    const logFormat = logFormatOf(values["log-format"] ?? env.UVM_LOG_FORMAT)
    // Listen before the ready line is out: a supervisor may signal the moment it reads it.
    const { Daemon } = await import('../../daemon/index.js')
    // A taken UI port is found before the daemon opens the image: a boot that cannot show its page boots nothing.
    if (uiPortNumber !== undefined && uiPortNumber !== 0 && !await (await import('../../ui/index.js')).portFree(UI_HOST, uiPortNumber)) throw portTaken(UI_HOST, uiPortNumber)
    const signalled = Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]).then(([name]) => String(name))
    const daemon = await Daemon.start({
      image: values.image ?? env.UVM_IMAGE ?? './image.db',
      bind: values.bind ?? env.UVM_BIND ?? DEFAULT_BIND,
      pub: values.pub ?? env.UVM_PUB ?? DEFAULT_PUB,
      ...((values.keys ?? env.UVM_KEYS) && { keys: values.keys ?? env.UVM_KEYS }),
      cacheSize: intOption(values.cache ?? env.UVM_CACHE, 'cache', 'boot', 1),
      cpuTimeoutMs: intOption(values['cpu-timeout'] ?? env.UVM_CPU_TIMEOUT, 'cpu-timeout', 'boot', 1),
      wallTimeoutMs: intOption(values['wall-timeout'] ?? env.UVM_WALL_TIMEOUT, 'wall-timeout', 'boot', 1),
      actMemoryMb: intOption(values['act-memory'] ?? env.UVM_ACT_MEMORY, 'act-memory', 'boot', 16),
      maxReplyBytes: mebibytes(intOption(values['max-reply'] ?? env.UVM_MAX_REPLY, 'max-reply', 'boot', 1)),
      readOnly: values['read-only'] === true || envFlag(env.UVM_READ_ONLY, 'UVM_READ_ONLY'),
      ...((values['reader-bind'] ?? env.UVM_READER_BIND) && { readerBind: values['reader-bind'] ?? env.UVM_READER_BIND }),
      ...((values['reader-pub'] ?? env.UVM_READER_PUB) && { readerPub: values['reader-pub'] ?? env.UVM_READER_PUB }),
      jit: jitConfig(values, env),
      ...((values.curriculum ?? env.UVM_CURRICULUM) && { curriculumDir: resolve(values.curriculum ?? env.UVM_CURRICULUM!) }),
      ...((values['forge-dir'] ?? env.UVM_FORGE_DIR) && { forgeDir: resolve(values['forge-dir'] ?? env.UVM_FORGE_DIR!) }),
      ...(forgeUrl !== undefined && { forgeUrl }),
      ...(env.UVM_SYSTEM_PROFILE && { systemProfile: env.UVM_SYSTEM_PROFILE }),
      ...(values.genesis === true && { genesis: chapterRange(values.chapters, 'boot') }),
      quiet: values.quiet === true,
      logFormat,
      out: io.out,
    })
    let ui: { close(): Promise<void> } | undefined
    if (uiPortNumber !== undefined) {
      const keysDir = values.keys ?? env.UVM_KEYS
      try {
        const keys = keysDir === undefined ? undefined : await clientKeys({ keys: keysDir }, io)
        ui = await startGateway({ connect: loopbackOf(daemon.bridge.endpoint), events: loopbackOf(daemon.bridge.pubEndpoint), host: UI_HOST, port: uiPortNumber, ...(keys && { keys }), sameProcess: { readOnly: daemon.bridge.readOnly } }, io)
      } catch (e) {
        await daemon.stop()
        throw e
      }
    }
    const signal = await signalled
    await ui?.close()
    io.err(`uvm: ${signal} received, finishing requests in flight and closing ${daemon.path}`)
    // A second signal ends what is still running instead of waiting for it.
    const again = Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]).then(() => 'abort' as const)
    const say = () => { const w = daemon.waitingFor(); if (w !== undefined) io.err(`uvm: ${waitingLine(w)}; ${signal === 'SIGINT' ? 'Ctrl-C' : 'a signal'} again to abort`) }
    say()
    const reminder = setInterval(say, 5000)
    try {
      if (await Promise.race([daemon.stop().then(() => 'stopped' as const), again]) === 'abort') {
        const w = daemon.waitingFor()
        await daemon.abort()
        io.err(`uvm: aborted${w ? `: ${waitingLine(w, true)} cut short (a write in flight may or may not have committed: see \`uvm history\`)` : ''}`)
        return 130
      }
    } finally {
      clearInterval(reminder)
    }
    return 0
  },
}

/** "waiting for 1 act, 12 s left" (or what was cut short). */
function waitingLine(w: Waiting, cut = false): string {
  const parts: string[] = []
  if (w.acts > 0) parts.push(plural(w.acts, 'act'))
  if (w.others.length > 0) parts.push(`${plural(w.others.length, 'request')} (${[...new Set(w.others)].join(', ')})`)
  if (cut) return parts.join(' and ')
  return `waiting for ${parts.join(' and ')}${w.secondsLeft !== undefined ? `, ${w.secondsLeft} s left` : ''}`
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`

/** --log-format: human on a terminal, JSON when piped, unless asked. */
function logFormatOf(value: string | undefined): LogFormat {
  if (value === undefined || value === 'auto') return process.stdout.isTTY === true ? 'human' : 'json'
  if (value === 'human' || value === 'json') return value
  throw new UsageError(`--log-format takes human, json or auto, got "${value}"`, 'boot')
}

/** The --llm-* flags, over their UVM_LLM_* variables; a bad URL or number is refused before anything opens. */
function jitConfig(values: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): JitConfig | undefined {
  const str = (flag: string, name: string) => (values[flag] as string | undefined) ?? env[name]
  const url = str('llm-url', 'UVM_LLM_URL')
  const num = (flag: string, name: string, min: number) => intOption(str(flag, name), flag, 'boot', min)
  const idle = num('idle-after', 'UVM_IDLE_AFTER', 1)
  const timeout = num('llm-timeout', 'UVM_LLM_TIMEOUT', 1)
  const threshold = str('cem-threshold', 'UVM_CEM_THRESHOLD')
  if (threshold !== undefined && !(Number(threshold) >= 0 && Number(threshold) <= 1)) throw new UsageError(`--cem-threshold takes a number from 0 to 1, got "${threshold}"`, 'boot')
  if (url === undefined || url === '') {
    if (idle !== undefined) throw new UsageError('--idle-after needs a JIT: give --llm-url too (the idle loop sends its stimulus through the LLM)', 'boot')
    return undefined
  }
  httpUrl(url, 'llm-url')
  const model = str('llm-model', 'UVM_LLM_MODEL')
  const key = str('llm-key', 'UVM_LLM_KEY')
  return {
    url,
    ...(model && { model }),
    ...(key && { key }),
    maxAttempts: num('llm-max-attempts', 'UVM_LLM_MAX_ATTEMPTS', 1),
    timeoutMs: timeout === undefined ? undefined : timeout * 1000,
    maxInFlight: num('llm-max-in-flight', 'UVM_LLM_MAX_IN_FLIGHT', 1),
    maxTokens: num('llm-max-tokens', 'UVM_LLM_MAX_TOKENS', 1),
    budgetTokens: num('prompt-budget', 'UVM_PROMPT_BUDGET', 256),
    idleAfterMs: idle === undefined ? undefined : idle * 1000,
    cemThreshold: threshold === undefined ? undefined : Number(threshold),
  }
}

/** Refuse anything but an http(s) URL, naming the flag. */
function httpUrl(url: string, flag: string): void {
  let parsed: URL
  try { parsed = new URL(url) } catch { throw new UsageError(`--${flag} takes an http(s) URL such as http://127.0.0.1:8000, got "${url}"`, 'boot') }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--${flag} takes an http(s) URL such as http://127.0.0.1:8000, got a ${parsed.protocol} URL`, 'boot')
}

function mebibytes(mb: number | undefined): number | undefined {
  return mb === undefined ? undefined : mb * 1024 * 1024
}

/** A yes/no environment variable; anything else is refused rather than guessed (a typo must not leave a daemon writable). */
function envFlag(value: string | undefined, name: string): boolean {
  const v = (value ?? '').trim().toLowerCase()
  if (['', '0', 'false', 'no', 'off'].includes(v)) return false
  if (['1', 'true', 'yes', 'on'].includes(v)) return true
  throw new UsageError(`${name} takes 1 or 0 (also true/false, yes/no, on/off), got "${value}"`, 'boot')
}
