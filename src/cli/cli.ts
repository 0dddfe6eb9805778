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
import { completion } from './commands/completion.js'
import { ui } from './commands/ui.js'
import type { CommandSpec, Io } from './usage.js'
import { UsageError } from './usage.js'
import { PLAIN, paint } from './colour.js'
import type { Palette } from './colour.js'
import { didYouMean, withHint } from './suggest.js'

// Each command module loads what it runs on (the image, ZeroMQ, the realm) inside its run:
// `uvm --help` and a mistyped command start in the time Node itself takes.
const COMMANDS: CommandSpec[] = [boot, ui, replCommand, ...clientCommands, genesis, dataset, ...imageCommands, show, llm, keys, covenant]
COMMANDS.push(completion(() => COMMANDS))

function helpText(p: Palette = PLAIN): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length))
  return [
    `uvm ${VERSION}: the Universal Virtual Machine of BAT OS, a live-image prototype object runtime`,
    '',
    `${p.bold('usage:')} uvm <command> [options]      uvm <command> --help for its options`,
    '',
    p.bold('commands:'),
    ...COMMANDS.map((c) => `  ${p.cyan(c.name.padEnd(width))}  ${c.summary}`),
    '',
    'global options: --help, --version, --debug (stack traces on errors)',
  ].join('\n')
}

export function commandHelp(c: CommandSpec, p: Palette = PLAIN): string {
  const width = Math.max(0, ...c.options.map(([f]) => f.length))
  return [`${p.bold('usage:')} ${c.usage}`, '', c.summary, ...(c.options.length ? ['', p.bold('options:'), ...c.options.map(([f, t]) => `  ${p.cyan(f.padEnd(width))}  ${t}`), `  ${p.cyan('--help'.padEnd(width))}  this text`] : [])].join('\n')
}

export async function main(argv: string[], io: Io): Promise<number> {
  const args = argv.filter((a) => a !== '--debug')
  const [name, ...rest] = args
  const out = paint(io, 'out')
  const red = paint(io, 'err').red
  // Nothing asked for is a mistake, as in git: the help, and a failing exit for scripts.
  if (name === undefined) {
    io.out(helpText(out))
    return 1
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined
    if (name === 'help' && rest[0] !== undefined && topic === undefined) {
      io.err(red(withHint(`uvm help: no command "${rest[0]}" (see \`uvm --help\`)`, rest[0], COMMANDS.map((c) => c.name))))
      return 2
    }
    io.out(topic ? commandHelp(topic, out) : helpText(out))
    return 0
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    io.out(VERSION)
    return 0
  }
  const command = COMMANDS.find((c) => c.name === name)
  if (!command) {
    const names = COMMANDS.map((c) => c.name)
    const hint = didYouMean(name, names)
    io.err(red(hint ? `uvm: unknown command "${name}".${hint} (see \`uvm --help\`)` : `uvm: unknown command "${name}" (commands: ${names.join(', ')}; see \`uvm --help\`)`))
    return 2
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(commandHelp(command, out))
    return 0
  }
  try {
    return await command.run(rest, io)
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(red(`uvm ${command.name}: ${e.message}`))
      return 2
    }
    const message = e instanceof UvmError || e instanceof Error ? e.message : String(e)
    io.err(red(`uvm ${command.name}: ${message}`))
    if (io.debug && e instanceof Error && e.stack) io.err(e.stack)
    return 1
  }
}
