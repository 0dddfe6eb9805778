import { UvmError } from '../errors.js'
import { VERSION } from '../version.js'
import { boot } from './commands/boot.js'
import { clientCommands } from './commands/client.js'
import { imageCommands } from './commands/image.js'
import { show } from './commands/show.js'
import { covenant, keys } from './commands/misc.js'
import { replCommand } from './commands/repl.js'
import { llm } from './commands/llm.js'
import { genesis } from './commands/genesis.js'
import { dataset } from './commands/dataset.js'
import type { CommandSpec, Io } from './usage.js'
import { UsageError } from './usage.js'

const COMMANDS: CommandSpec[] = [boot, replCommand, ...clientCommands, genesis, dataset, ...imageCommands, show, llm, keys, covenant]

function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length))
  return [
    `uvm ${VERSION}: the Universal Virtual Machine of BAT OS, a live-image prototype object runtime`,
    '',
    'usage: uvm <command> [options]      uvm <command> --help for its options',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'global options: --help, --version, --debug (stack traces on errors)',
  ].join('\n')
}

export function commandHelp(c: CommandSpec): string {
  const width = Math.max(0, ...c.options.map(([f]) => f.length))
  return [`usage: ${c.usage}`, '', c.summary, ...(c.options.length ? ['', 'options:', ...c.options.map(([f, t]) => `  ${f.padEnd(width)}  ${t}`), `  ${'--help'.padEnd(width)}  this text`] : [])].join('\n')
}

export async function main(argv: string[], io: Io): Promise<number> {
  const args = argv.filter((a) => a !== '--debug')
  const [name, ...rest] = args
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined
    io.out(topic ? commandHelp(topic) : helpText())
    return 0
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    io.out(VERSION)
    return 0
  }
  const command = COMMANDS.find((c) => c.name === name)
  if (!command) {
    io.err(`uvm: unknown command "${name}" (commands: ${COMMANDS.map((c) => c.name).join(', ')}; see \`uvm --help\`)`)
    return 2
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(commandHelp(command))
    return 0
  }
  try {
    return await command.run(rest, io)
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`uvm ${command.name}: ${e.message}`)
      return 2
    }
    const message = e instanceof UvmError || e instanceof Error ? e.message : String(e)
    io.err(`uvm ${command.name}: ${message}`)
    if (io.debug && e instanceof Error && e.stack) io.err(e.stack)
    return 1
  }
}
