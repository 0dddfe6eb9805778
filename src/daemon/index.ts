/** The UVM daemon: `uvm boot`. */
export { Daemon, formatBytes } from './daemon.js'
export type { DaemonOptions } from './daemon.js'
