import { once } from 'node:events'
import { DEFAULT_BIND, DEFAULT_PUB } from '../../bridge/index.js'
import { Daemon } from '../../daemon/index.js'
import { intOption, parse } from '../args.js'
import type { CommandSpec } from '../usage.js'
import { UsageError } from '../usage.js'

export const boot: CommandSpec = {
  name: 'boot',
  summary: 'run the UVM daemon: open the image and serve the Synaptic Bridge',
  usage: 'uvm boot [--image ./image.db] [--bind tcp://127.0.0.1:5555] [--pub tcp://127.0.0.1:5556] [--keys DIR] [--read-only] [--act-memory MB] [--max-reply MB] [--reader-bind ADDR --reader-pub ADDR]',
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
    ['--quiet', 'no per-request log lines'],
  ],
  async run(argv, io) {
    const { values } = parse(argv, {
      image: { type: 'string' }, bind: { type: 'string' }, pub: { type: 'string' }, keys: { type: 'string' },
      cache: { type: 'string' }, 'cpu-timeout': { type: 'string' }, 'wall-timeout': { type: 'string' }, quiet: { type: 'boolean' },
      'act-memory': { type: 'string' }, 'max-reply': { type: 'string' },
      'read-only': { type: 'boolean' }, 'reader-bind': { type: 'string' }, 'reader-pub': { type: 'string' },
    }, 'boot', false)
    const env = io.env
    // Listen before the ready line is out: a supervisor may signal the moment it reads it.
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
      quiet: values.quiet === true,
      out: io.out,
    })
    const signal = await signalled
    io.err(`uvm: ${signal} received, finishing requests in flight and closing ${daemon.path}`)
    await daemon.stop()
    return 0
  },
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
