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
  /**
   * A second, read-only bridge (commands and events) for read-only clients: with keys, it admits
   * readers/ as well as clients/, while `bind` never admits readers/. Permissions go by endpoint
   * because a ROUTER cannot tell which CURVE key sent a message; each endpoint's own ZAP handler can.
   */
  readerBind?: string
  readerPub?: string
  /** Where the ready line and request logs go (one JSON object per line for logs). */
  out?: (line: string) => void
  quiet?: boolean
}

/** A running UVM: the image, its realm, and the bridge serving them. */
export class Daemon {
  private stopping: Promise<void> | undefined
  private onRejection: ((reason: unknown, promise: Promise<unknown>) => void) | undefined

  private constructor(readonly image: Image, readonly realm: HardenedRealm, readonly bridge: BridgeServer, readonly path: string, readonly readerBridge: BridgeServer | undefined) {}

  static async start(opts: DaemonOptions): Promise<Daemon> {
    const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'))
    const path = resolve(opts.image)
    const keys = opts.keys ? await loadServerKeys(opts.keys) : undefined
    // Refuse bad addresses before the image folder is created or opened.
    requireCurveFor(opts.bind, keys)
    requireCurveFor(opts.pub, keys)
    if ((opts.readerBind === undefined) !== (opts.readerPub === undefined)) {
      throw new Error('a reader endpoint needs both addresses: --reader-bind for commands and --reader-pub for events')
    }
    if (opts.readerBind !== undefined) requireCurveFor(opts.readerBind, keys)
    if (opts.readerPub !== undefined) requireCurveFor(opts.readerPub, keys)
    // Opening a missing image creates one (a write), and an empty image has nothing to inspect.
    if (opts.readOnly === true && !existsSync(path)) {
      throw new Error(`no image at ${path}: a read-only daemon serves an existing image and never creates one (check --image, or boot once without --read-only to create it)`)
    }
    const { image, realm } = await openImage(path, {
      ...(opts.cacheSize !== undefined && { cacheSize: opts.cacheSize }),
      ...(opts.cpuTimeoutMs !== undefined && { cpuTimeoutMs: opts.cpuTimeoutMs }),
      ...(opts.wallTimeoutMs !== undefined && { wallTimeoutMs: opts.wallTimeoutMs }),
    })
    const common = {
      ...(opts.maxFrameBytes !== undefined && { maxFrameBytes: opts.maxFrameBytes }),
      version: VERSION,
      ...(opts.cpuTimeoutMs !== undefined && { cpuTimeoutMs: opts.cpuTimeoutMs }),
      ...(opts.wallTimeoutMs !== undefined && { wallTimeoutMs: opts.wallTimeoutMs }),
    }
    const log = (via: string | undefined) => opts.quiet ? undefined : (r: RequestLog) => out(JSON.stringify({ level: 'info', time: new Date().toISOString(), msg: 'request', ...(via && { via }), ...r }))
    let bridge: BridgeServer | undefined
    let readerBridge: BridgeServer | undefined
    try {
      bridge = await BridgeServer.start(image, realm, {
        ...common,
        bind: opts.bind,
        pub: opts.pub,
        ...(keys && { keys }),
        ...(opts.readOnly === true && { readOnly: true, writeAccess: 'restart the daemon without --read-only (and without UVM_READ_ONLY=1)' }),
        log: log(undefined),
      })
      if (opts.readerBind !== undefined && opts.readerPub !== undefined) {
        // Its own BridgeServer, so its own zmq context and ZAP handler: the writers' endpoint never sees reader keys.
        readerBridge = await BridgeServer.start(image, realm, {
          ...common,
          bind: opts.readerBind,
          pub: opts.readerPub,
          ...(keys && { keys: { ...keys, allowedClients: [...keys.allowedClients, ...(keys.readOnlyClients ?? [])] } }),
          readOnly: true,
          writeAccess: opts.readOnly === true
            ? 'restart the daemon without --read-only (and without UVM_READ_ONLY=1), and use its main endpoint'
            : `send to the daemon's main endpoint, ${bridge.endpoint}${keys ? ', with a key from its clients/ folder' : ''}`,
          log: log('reader'),
        })
      }
    } catch (e) {
      await bridge?.stop()
      await image.close()
      throw e
    }
    const daemon = new Daemon(image, realm, bridge, path, readerBridge)
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
    out(`uvm ${VERSION} ready: commands ${bridge.endpoint}, events ${bridge.pubEndpoint}${bridge.secure ? ' (CURVE)' : ''}; image ${path} (${formatBytes(size)}, last tid ${image.lastTid})${bridge.readOnly ? '; read-only: commands that would change the image are refused' : ''}${readerBridge ? `; readers (read-only): commands ${readerBridge.endpoint}, events ${readerBridge.pubEndpoint}` : ''}`)
    return daemon
  }

  /** Stop taking requests, finish those in flight, close sockets and image. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all([this.bridge.stop(), this.readerBridge?.stop()])
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
