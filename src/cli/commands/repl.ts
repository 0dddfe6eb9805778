import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse } from '../args.js'
import { clientKeys, clientOptionHelp, clientOptions, codeTimeoutMs, connect, mustListen } from '../connect.js'
import { eventsAddress, watchJit } from '../jit-status.js'
import type { CommandSpec } from '../usage.js'
import { UsageError } from '../usage.js'

export const replCommand: CommandSpec = {
  name: 'repl',
  summary: 'an interactive session on the live image: each input is an act',
  usage: 'uvm repl [--connect ADDR] | uvm repl --image PATH',
  options: [
    ['--image PATH', 'open this image in-process instead of attaching to a daemon (the daemon must be stopped)'],
    ['--history FILE', 'input history file (env UVM_REPL_HISTORY; default ~/.uvm_repl_history; "" for none)'],
    ...clientOptionHelp.filter(([f]) => f !== '--json'),
  ],
  async run(argv, io) {
    const { values, positionals } = parse(argv, { ...clientOptions, image: { type: 'string' }, history: { type: 'string' }, events: { type: 'string' } }, 'repl')
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`, 'repl')
    // A session for people: for one JSON reply per act, a program sends run_act itself (or runs `uvm act --json`).
    if (values.json === true) throw new UsageError('--json is not for the REPL (it is a session for people): use `uvm act --json CODE` for one JSON reply per act', 'repl')
    if (values.image !== undefined && values.connect !== undefined) throw new UsageError('use --connect (a daemon) or --image (in-process), not both', 'repl')
    const { localBackend, remoteBackend, startRepl } = await import('../repl.js')
    let backend
    if (values.image !== undefined) {
      const { openImage } = await import('../../index.js')
      const path = resolve(values.image)
      if (!existsSync(join(path, 'CURRENT'))) io.err(`uvm repl: no image at ${path} yet: a new one is born`)
      const { image, realm } = await openImage(path)
      backend = localBackend(image, realm)
    } else {
      const client = await connect(values, io, 'repl')
      let pong
      try {
        await mustListen(client.endpoint)
        pong = await client.ping()
      } catch (e) {
        await client.close()
        const message = (e as Error).message
        throw new UsageError(message.startsWith('nothing listening') ? `${message}, or use \`uvm repl --image PATH\`` : `${message}; start it with \`uvm boot\`, or use \`uvm repl --image PATH\``, 'repl')
      }
      const keys = await clientKeys(values, io)
      const events = eventsAddress(client.endpoint, values.events ?? io.env.UVM_EVENTS)
      backend = remoteBackend(client, {
        actTimeoutMs: values.timeout !== undefined ? Number(values.timeout) : codeTimeoutMs(io),
        reconnect: () => connect(values, io, 'repl'),
        debug: io.debug,
        ...(pong.jit !== undefined && { watch: () => watchJit(events, keys, io.err, process.stderr.isTTY === true) }),
      })
    }
    await startRepl(backend, io, { ...(values.history !== undefined && { historyFile: values.history }) })
    return 0
  },
}
