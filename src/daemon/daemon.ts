import { existsSync } from 'node:fs'
import { stat, readdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { openImage } from '../index.js'
import type { Image } from '../image/index.js'
import type { HardenedRealm } from '../act/index.js'
import { BridgeServer, loadServerKeys, requireCurveFor } from '../bridge/index.js'
import type { RequestLog } from '../bridge/index.js'
import { VERSION } from '../version.js'

export interface DaemonOptions {
  image: string
  bind: string
  pub: string
  keys?: string
  cacheSize?: number
  cpuTimeoutMs?: number
  wallTimeoutMs?: number
  maxFrameBytes?: number
  /** Serve the image for inspection only (see BridgeOptions.readOnly). */
  readOnly?: boolean
  /** Where the ready line and request logs go (one JSON object per line for logs). */
  out?: (line: string) => void
  quiet?: boolean
}

/** A running UVM: the image, its realm, and the bridge serving them. */
export class Daemon {
  private stopping: Promise<void> | undefined
  private onRejection: ((reason: unknown, promise: Promise<unknown>) => void) | undefined

  private constructor(readonly image: Image, readonly realm: HardenedRealm, readonly bridge: BridgeServer, readonly path: string) {}

  static async start(opts: DaemonOptions): Promise<Daemon> {
    const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'))
    const path = resolve(opts.image)
    const keys = opts.keys ? await loadServerKeys(opts.keys) : undefined
    // Refuse bad addresses before the image folder is created or opened.
    requireCurveFor(opts.bind, keys)
    requireCurveFor(opts.pub, keys)
    // Opening a missing image creates one (a write), and an empty image has nothing to inspect.
    if (opts.readOnly === true && !existsSync(path)) {
      throw new Error(`no image at ${path}: a read-only daemon serves an existing image and never creates one (check --image, or boot once without --read-only to create it)`)
    }
    const { image, realm } = await openImage(path, {
      ...(opts.cacheSize !== undefined && { cacheSize: opts.cacheSize }),
      ...(opts.cpuTimeoutMs !== undefined && { cpuTimeoutMs: opts.cpuTimeoutMs }),
      ...(opts.wallTimeoutMs !== undefined && { wallTimeoutMs: opts.wallTimeoutMs }),
    })
    let bridge: BridgeServer
    try {
      bridge = await BridgeServer.start(image, realm, {
        bind: opts.bind,
        pub: opts.pub,
        ...(keys && { keys }),
        ...(opts.maxFrameBytes !== undefined && { maxFrameBytes: opts.maxFrameBytes }),
        version: VERSION,
        ...(opts.readOnly === true && { readOnly: true }),
        ...(opts.cpuTimeoutMs !== undefined && { cpuTimeoutMs: opts.cpuTimeoutMs }),
        ...(opts.wallTimeoutMs !== undefined && { wallTimeoutMs: opts.wallTimeoutMs }),
        log: opts.quiet ? undefined : (r: RequestLog) => out(JSON.stringify({ level: 'info', time: new Date().toISOString(), msg: 'request', ...r })),
      })
    } catch (e) {
      await image.close()
      throw e
    }
    const daemon = new Daemon(image, realm, bridge, path)
    // Act code can leave a rejected promise with no handler; on Node that is a
    // process-wide event that kills the process by default. One act's sloppiness
    // must not take the daemon down: log it. Host rejections stay fatal.
    daemon.onRejection = (reason, promise) => {
      if (realm.isRealmValue(promise)) {
        out(JSON.stringify({ level: 'warn', time: new Date().toISOString(), msg: 'an act left a rejected promise unhandled' }))
        return
      }
      throw reason
    }
    process.on('unhandledRejection', daemon.onRejection)
    const size = await folderSize(path)
    out(`uvm ${VERSION} ready: commands ${bridge.endpoint}, events ${bridge.pubEndpoint}${bridge.secure ? ' (CURVE)' : ''}; image ${path} (${formatBytes(size)}, last tid ${image.lastTid})${bridge.readOnly ? '; read-only: commands that would change the image are refused' : ''}`)
    return daemon
  }

  /** Stop taking requests, finish those in flight, close sockets and image. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.bridge.stop()
      await this.image.close()
      if (this.onRejection) process.off('unhandledRejection', this.onRejection)
    })()
    return this.stopping
  }
}

async function folderSize(path: string): Promise<number> {
  let total = 0
  try {
    for (const f of await readdir(path)) total += (await stat(join(path, f))).size
  } catch { /* not a folder: size unknown */ }
  return total
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`
  return `${(n / 1024 ** 3).toFixed(2)} GiB`
}
