import { resolve } from 'node:path'
import { VERSION } from '../../version.js'
import { parse } from '../args.js'
import type { CommandSpec } from '../usage.js'
import { UsageError } from '../usage.js'

export const keys: CommandSpec = {
  name: 'keys',
  summary: 'make the CURVE keypairs: the server\'s and one per client (existing keys are kept)',
  usage: 'uvm keys [--dir ./keys] [--client NAME]... [--reader NAME]...',
  options: [
    ['--dir DIR', 'the keys folder (default ./keys)'],
    ['--client NAME', 'a client keypair to make, in clients/ (repeatable; default "client" unless --reader is given)'],
    ['--reader NAME', 'a read-only client keypair, in readers/: admitted only on the daemon\'s --reader-bind endpoint, where writes get `unauthorized` (repeatable)'],
  ],
  async run(argv, io) {
    const { values } = parse(argv, { dir: { type: 'string' }, client: { type: 'string', multiple: true }, reader: { type: 'string', multiple: true } }, 'keys', false)
    const dir = resolve(values.dir ?? './keys')
    const readers = values.reader ?? []
    const { makeKeys } = await import('../../bridge/index.js')
    const { created } = await makeKeys(dir, values.client ?? (readers.length > 0 ? [] : ['client']), readers)
    io.out(created.length ? `made in ${dir}: ${created.join(', ')}` : `nothing to make: ${dir} already has these keys`)
    io.out(`boot with: uvm boot --keys ${dir} --bind tcp://0.0.0.0:5555${readers.length > 0 ? ' --reader-bind tcp://0.0.0.0:5557 --reader-pub tcp://0.0.0.0:5558' : ''}; give each client its clients/NAME.key_secret, clients/NAME.key and server.key`)
    if (readers.length > 0) io.out('read-only clients get readers/NAME.key_secret, readers/NAME.key and server.key, and connect to the --reader-bind endpoint (the --bind endpoint refuses their keys)')
    return 0
  },
}

export const covenant: CommandSpec = {
  name: 'covenant',
  summary: 'print the API covenant as JSON Schema (for clients in other languages)',
  usage: 'uvm covenant --json-schema',
  options: [['--json-schema', 'print the JSON Schema document']],
  async run(argv, io) {
    const { values } = parse(argv, { 'json-schema': { type: 'boolean' } }, 'covenant', false)
    if (!values['json-schema']) throw new UsageError('say --json-schema (the only format so far)', 'covenant')
    const { covenantJsonSchema } = await import('../../covenant/index.js')
    io.out(JSON.stringify(covenantJsonSchema(VERSION), null, 2))
    return 0
  },
}
