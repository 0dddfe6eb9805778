/**
 * The UVM's public face: open a live image with its hardened realm, run acts,
 * serve the Synaptic Bridge. Each part is also importable on its own.
 */
import { HardenedRealm } from './act/index.js'
import type { HardenedRealmOptions } from './act/index.js'
import { Image } from './image/index.js'
import type { ImageOptions, LevelDb } from './image/index.js'

export * as kernel from './kernel/index.js'
export * as covenant from './covenant/index.js'
export { Image, Transaction } from './image/index.js'
export { HardenedRealm, runAct, ActError } from './act/index.js'
export { BridgeServer, BridgeClient, BridgeError, subscribe } from './bridge/index.js'
export { UvmError, ErrorCodes } from './errors.js'
export { VERSION } from './version.js'

export interface OpenOptions extends Omit<ImageOptions, 'realm'>, HardenedRealmOptions {}

/** Open (or create) an image with a fresh hardened realm. */
export async function openImage(location: string | LevelDb, opts: OpenOptions = {}): Promise<{ image: Image; realm: HardenedRealm }> {
  const realm = new HardenedRealm({ cpuTimeoutMs: opts.cpuTimeoutMs, wallTimeoutMs: opts.wallTimeoutMs, actMemoryMb: opts.actMemoryMb, collect: opts.collect })
  const image = await Image.open(location, { ...opts, realm })
  return { image, realm }
}
