/** The `uvm` command line: the UVM's doors for people. */
export { main, commandHelp } from './cli.js'
export { UsageError } from './usage.js'
export type { CommandSpec, Io } from './usage.js'
