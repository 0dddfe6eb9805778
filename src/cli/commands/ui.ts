import { once } from 'node:events'
import { DEFAULT_BIND, endpointProblem } from '../../endpoint/index.js'
import { intOption, parse } from '../args.js'
import { clientKeys } from '../connect.js'
import { eventsAddress } from '../jit-status.js'
import type { CommandSpec, Io } from '../usage.js'
import { UsageError } from '../usage.js'
import { UvmError } from '../../errors.js'

export const UI_PORT_DEFAULT = 8080

export const ui: CommandSpec = {
  name: 'ui',
  summary: 'serve the Entropic UI: the page, and a WebSocket gateway to a running daemon',
  usage: 'uvm ui [--port 8080] [--host 127.0.0.1] [--connect ADDR] [--events ADDR] [--keys DIR] [--key NAME]',
  options: [
    ['--port N', `the page's port (env UVM_UI_PORT; default ${UI_PORT_DEFAULT}; 0: any free one)`],
    ['--host ADDR', 'where to listen (default 127.0.0.1); beyond loopback (e.g. 0.0.0.0) pages need the token printed at start'],
    ['--connect ADDR', `the daemon's command address (env UVM_CONNECT; default ${DEFAULT_BIND})`],
    ['--events ADDR', "the daemon's events address (env UVM_EVENTS; default the command address's port + 1)"],
    ['--keys DIR', 'CURVE keys folder, as for the client commands (env UVM_KEYS)'],
    ['--key NAME', 'the keypair NAME of the keys folder (env UVM_KEY); a readers/ key gives read-only pages'],
  ],
  async run(argv, io) {
    const { values } = parse(argv, {
      port: { type: 'string' }, host: { type: 'string' }, connect: { type: 'string' }, events: { type: 'string' },
      keys: { type: 'string' }, key: { type: 'string' },
    }, 'ui', false)
    const connect = values.connect ?? io.env.UVM_CONNECT ?? DEFAULT_BIND
    const problem = endpointProblem(connect)
    if (problem !== undefined) throw new UsageError(problem, 'ui')
    const events = eventsAddress(connect, values.events ?? io.env.UVM_EVENTS)
    if (events === undefined) throw new UsageError(`give --events ADDR: no events address follows from ${connect}`, 'ui')
    const port = uiPort(values.port, io)
    const host = values.host ?? '127.0.0.1'
    const keys = await clientKeys(values, io)
    const signalled = Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')])
    const started = await startGateway({ connect, events, host, port, ...(keys && { keys }) }, io)
    await signalled
    await started.close()
    return 0
  },
}

/** --port (UVM_UI_PORT): a whole number from 0 to 65535. */
export function uiPort(value: string | undefined, io: Io, flag = 'port', command = 'ui'): number {
  const given = value ?? io.env.UVM_UI_PORT
  const port = intOption(given, flag, command, 0) ?? UI_PORT_DEFAULT
  if (port > 65535) throw new UsageError(`--${flag} takes a port from 0 to 65535, got "${given}"`, command)
  return port
}

/**
 * Start the gateway and print its address (`ui: URL`). A port that is taken is an error that says
 * which and what to do: a person who runs `npm start` twice should learn of the first one, not get
 * a second UI on another port.
 */
export async function startGateway(opts: { connect: string; events: string; host: string; port: number; keys?: import('../../bridge/index.js').ClientKeys; sameProcess?: { readOnly: boolean } }, io: Io) {
  const { startUi } = await import('../../ui/index.js')
  let started
  try {
    started = await startUi({ ...opts, log: (line) => io.err(`uvm ui: ${line}`) })
  } catch (e) {
    if ((e as { code?: string }).code === 'EADDRINUSE') throw portTaken(opts.host, opts.port)
    throw e
  }
  io.out(`ui: ${started.url}`)
  if (started.token !== undefined) io.out(`ui: listening on ${opts.host}:${started.port} beyond loopback: pages need the token in that URL`)
  return started
}

export function portTaken(host: string, port: number): UvmError {
  return new UvmError('UI_PORT_TAKEN', `port ${port} on ${host} is taken (another \`uvm ui\` or \`npm start\`?): give --ui-port N / --port N, or UVM_UI_PORT`)
}
