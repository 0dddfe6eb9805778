/** The UVM daemon: `uvm boot`. */
export { Daemon, formatBytes } from './daemon.js'
export type { DaemonOptions, Waiting } from './daemon.js'
export { DAEMON_FILE, DaemonFile, readDaemonFile } from './daemon-file.js'
export type { LogFormat } from './log.js'
export { standardCapabilities, systemCapability, forgeCapability, handoffCapability, readProfile, HardwareProfile, ForgeJob } from './capabilities.js'
export type { CapabilityConfig } from './capabilities.js'
export { startServices, defaultForgeDir } from './services.js'
export type { ServiceOptions, Services } from './services.js'
