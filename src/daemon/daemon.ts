import { stat, readdir, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { openImage } from '../index.js'
import { imageFolder } from '../image/index.js'
import type { Image, ImageFolder } from '../image/index.js'
import type { HardenedRealm } from '../act/index.js'
import { BridgeServer, loadServerKeys, requireCurveFor } from '../bridge/index.js'
import type { Backend, RequestLog } from '../bridge/index.js'
import { UnitBackend } from './unit.js'
import { VERSION } from '../version.js'
import { defaultForgeDir, startServices } from './services.js'
import type { ServiceOptions } from './services.js'
import { daemonLog } from './log.js'
import type { LogFormat } from './log.js'
import { readDaemonFile, removeDaemonFile, writeDaemonFile } from './daemon-file.js'
import { ImageInUse } from '../errors.js'

export interface DaemonOptions {
  image: string
  bind: string
  pub: string
  keys?: string
  cacheSize?: number
  cpuTimeoutMs?: number
  wallTimeoutMs?: number
  maxFrameBytes?: number
  /** Largest reply sent (bigger: `too_large`). Default 64 MiB. */
  maxReplyBytes?: number
  /** How much one act may grow the heap, in MiB (ACT_OUT_OF_MEMORY past it). Default 256. */
  actMemoryMb?: number
  /** How long past its CPU limit sandbox code may run before the execution unit is ended. Default 1000 ms. */
  graceMs?: number
  /**
   * Where acts run. 'process' (the default): a supervised child process, the execution unit, that
   * the daemon ends and replaces when an act outruns its limits (see unit.ts). 'none': in this
   * process, for embedding; the CPU limit and the memory check hold, but a native operation that
   * outruns them, or a heap exhausted in one allocation, takes this process with it.
   */
  isolation?: 'process' | 'none'
  /** Serve the image for inspection only (see BridgeOptions.readOnly). */
  readOnly?: boolean
  /**
   * A second, read-only bridge (commands and events) for read-only clients: with keys, it admits
   * readers/ as well as clients/, while `bind` never admits readers/. Permissions go by endpoint
   * because a ROUTER cannot tell which CURVE key sent a message; each endpoint's own ZAP handler can.
   */
  readerBind?: string
  readerPub?: string
  /** The JIT for intent: an OpenAI-compatible LLM behind doesNotUnderstand: (absent url: the curriculum JIT). */
  jit?: ServiceOptions['jit']
  /** The curriculum (default: the shipped genesis/); null: none (a DNU is then an error). */
  curriculumDir?: string | null | undefined
  /** Forge jobs folder (default: forge-jobs beside the image) or endpoint, and a hardware profile file for `system`. */
  forgeDir?: string | undefined
  forgeUrl?: string | undefined
  systemProfile?: string | undefined
  /** Replay the curriculum conversations the image lacks before serving (uvm boot --genesis). */
  genesis?: { from?: number; to?: number } | undefined
  /** Where the ready line and request logs go (one JSON object per line for logs). */
  out?: (line: string) => void
  quiet?: boolean
  /** Log lines as JSON objects (the default) or as lines for a person (uvm boot on a terminal). */
  logFormat?: LogFormat
  /** Keep the daemon file (uvm-daemon.json) in the image folder, by which image commands find this daemon. Default true. */
  daemonFile?: boolean
}

/** What a stopping daemon waits for: requests in flight, and how long the longest act may still run. */
export interface Waiting {
  acts: number
  others: string[]
  /** Seconds until the last act in flight reaches its wall limit (undefined: no act, or all past it). */
  secondsLeft: number | undefined
}

export const DEFAULT_ACT_MEMORY_MB = 256

/** A running UVM: the bridge, and the image it serves (in the execution unit, or here with isolation 'none'). */
export class Daemon {
  private stopping: Promise<void> | undefined
  private closeBackend: () => Promise<void> = async () => {}
  private onRejection: ((reason: unknown, promise: Promise<unknown>) => void) | undefined

  private constructor(
    readonly backend: Backend,
    readonly bridge: BridgeServer,
    readonly path: string,
    readonly readerBridge: BridgeServer | undefined,
    /** This process's image and realm, with isolation 'none' only. */
    readonly image: Image | undefined,
    readonly realm: HardenedRealm | undefined,
    private readonly wallTimeoutMs: number,
  ) {}

  private wroteFile = false

  /** The execution unit (isolation 'process'). */
  get unit(): UnitBackend | undefined {
    return this.backend instanceof UnitBackend ? this.backend : undefined
  }

  static async start(opts: DaemonOptions): Promise<Daemon> {
    const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'))
    const path = resolve(opts.image)
    const keys = opts.keys ? await loadServerKeys(opts.keys) : undefined
    // Refuse bad addresses and a folder that is no image before anything is created or opened.
    requireCurveFor(opts.bind, keys)
    requireCurveFor(opts.pub, keys)
    if ((opts.readerBind === undefined) !== (opts.readerPub === undefined)) {
      throw new Error('a reader endpoint needs both addresses: --reader-bind for commands and --reader-pub for events')
    }
    if (opts.readerBind !== undefined) requireCurveFor(opts.readerBind, keys)
    if (opts.readerPub !== undefined) requireCurveFor(opts.readerPub, keys)
    const folder = imageFolder(path)
    // Said before any port is bound: which daemon it is, not only that the folder is locked.
    const holder = folder === 'image' ? readDaemonFile(path) : undefined
    if (holder !== undefined) throw new ImageInUse(path, `the daemon with pid ${holder.pid} (commands ${holder.commands}) serves it: stop it first, or boot on another --image`)
    // Opening a missing image creates one (a write), and an empty image has nothing to inspect.
    if (opts.readOnly === true && folder !== 'image') {
      throw new Error(`no image at ${path}: a read-only daemon serves an existing image and never creates one (check --image, or boot once without --read-only to create it)`)
    }
    const actMemoryMb = opts.actMemoryMb ?? DEFAULT_ACT_MEMORY_MB
    const capabilities = { forgeDir: opts.forgeDir ?? defaultForgeDir(path), forgeUrl: opts.forgeUrl, systemProfile: opts.systemProfile }
    const logger = daemonLog(opts.logFormat ?? 'json', out)
    const log = (via: string | undefined) => opts.quiet ? undefined : (r: RequestLog) => logger.request(r, via)
    const notice = logger.notice
    let image: Image | undefined
    let realm: HardenedRealm | undefined
    let backend: Backend
    let lastTid: () => number
    let stopJit = () => {}
    let unit: UnitBackend | undefined
    if (opts.isolation === 'none') {
      const opened = await openImage(path, {
        ...(opts.cacheSize !== undefined && { cacheSize: opts.cacheSize }),
        ...(opts.cpuTimeoutMs !== undefined && { cpuTimeoutMs: opts.cpuTimeoutMs }),
        ...(opts.wallTimeoutMs !== undefined && { wallTimeoutMs: opts.wallTimeoutMs }),
        actMemoryMb,
      })
      image = opened.image
      realm = opened.realm
      let services
      try {
        services = await startServices(image, realm, { version: VERSION, cpuTimeoutMs: opts.cpuTimeoutMs, wallTimeoutMs: opts.wallTimeoutMs, jit: opts.jit, curriculumDir: opts.curriculumDir, capabilities, readOnly: opts.readOnly, genesis: opts.genesis })
      } catch (e) {
        await image.close()
        await unmake(path, folder)
        throw e
      }
      const jit = services.jit
      stopJit = () => jit.stop()
      for (const w of services.warnings) notice('warn', w)
      const g = services.genesis
      if (g !== undefined) notice('info', `genesis: replayed ${g.replayed} conversation${g.replayed === 1 ? '' : 's'} (${g.turns} turns) in ${(g.ms / 1000).toFixed(1)} s${g.skipped > 0 ? `; ${g.skipped} already in the image` : ''}`)
      backend = services.backend
      lastTid = () => opened.image.lastTid
    } else {
      // Not started yet: the sockets are bound first, so that a boot whose ports are taken creates nothing.
      const u = unit = UnitBackend.create({
        image: path,
        cacheSize: opts.cacheSize,
        cpuTimeoutMs: opts.cpuTimeoutMs,
        wallTimeoutMs: opts.wallTimeoutMs,
        actMemoryMb,
        ...(opts.graceMs !== undefined && { graceMs: opts.graceMs }),
        ...(opts.maxReplyBytes !== undefined && { maxReplyBytes: opts.maxReplyBytes }),
        version: VERSION,
        jit: opts.jit,
        readOnly: opts.readOnly,
        curriculumDir: opts.curriculumDir,
        capabilities,
        genesis: opts.genesis,
        log: (level, msg, fields) => notice(level, msg, fields),
      })
      backend = u
      lastTid = () => u.lastTid
    }
    const closeBackend = async () => { stopJit(); if (image !== undefined) await image.close(); else await (backend as UnitBackend).stop() }
    const common = {
      ...(opts.maxFrameBytes !== undefined && { maxFrameBytes: opts.maxFrameBytes }),
      ...(opts.maxReplyBytes !== undefined && { maxReplyBytes: opts.maxReplyBytes }),
      version: VERSION,
      ...(opts.cpuTimeoutMs !== undefined && { cpuTimeoutMs: opts.cpuTimeoutMs }),
      ...(opts.wallTimeoutMs !== undefined && { wallTimeoutMs: opts.wallTimeoutMs }),
    }
    let bridge: BridgeServer | undefined
    let readerBridge: BridgeServer | undefined
    try {
      bridge = await BridgeServer.serve(backend, {
        ...common,
        bind: opts.bind,
        pub: opts.pub,
        ...(keys && { keys }),
        ...(opts.readOnly === true && { readOnly: true, writeAccess: 'restart the daemon without --read-only (and without UVM_READ_ONLY=1)' }),
        log: log(undefined),
      })
      if (opts.readerBind !== undefined && opts.readerPub !== undefined) {
        // Its own BridgeServer, so its own zmq context and ZAP handler: the writers' endpoint never sees reader keys.
        readerBridge = await BridgeServer.serve(backend, {
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
      await unit?.open()
    } catch (e) {
      await Promise.all([bridge?.stop(), readerBridge?.stop()])
      await closeBackend()
      // A boot that does not serve leaves no image behind (a pre-existing one is as it was).
      await unmake(path, folder)
      throw e
    }
    const daemon = new Daemon(backend, bridge, path, readerBridge, image, realm, opts.wallTimeoutMs ?? 30_000)
    daemon.closeBackend = closeBackend
    // Act code can leave a rejected promise with no handler; on Node that is a
    // process-wide event that kills the process by default. One act's sloppiness
    // must not take the daemon down: log it. Host rejections stay fatal.
    if (realm !== undefined) daemon.onRejection = (reason, promise) => {
      if (realm!.isRealmValue(promise)) {
        notice('warn', 'an act left a rejected promise unhandled')
        return
      }
      throw reason
    }
    if (daemon.onRejection) process.on('unhandledRejection', daemon.onRejection)
    if (opts.daemonFile !== false) {
      const problem = writeDaemonFile(path, {
        pid: process.pid, version: VERSION, commands: bridge.endpoint, events: bridge.pubEndpoint, secure: bridge.secure,
        ...(bridge.readOnly && { read_only: true }),
        ...(readerBridge && { readers: { commands: readerBridge.endpoint, events: readerBridge.pubEndpoint } }),
        started: new Date().toISOString(),
      })
      if (problem === undefined) daemon.wroteFile = true
      else notice('warn', `the daemon file was not written, so \`uvm history\` and the other image commands will not find this daemon by the image (give them --connect ${bridge.endpoint}): ${problem}`)
    }
    const size = await folderSize(path)
    const jitLine = opts.jit?.url ? `; JIT: ${serverName(opts.jit.url)}${opts.jit.model ? ` (model ${opts.jit.model})` : ''}` : ''
    out(`uvm ${VERSION} ready: commands ${bridge.endpoint}, events ${bridge.pubEndpoint}${bridge.secure ? ' (CURVE)' : ''}; image ${path} (${formatBytes(size)}, last tid ${lastTid()})${jitLine}${bridge.readOnly ? '; read-only: commands that would change the image are refused' : ''}${readerBridge ? `; readers (read-only): commands ${readerBridge.endpoint}, events ${readerBridge.pubEndpoint}` : ''}`)
    return daemon
  }

  /** What a stop would wait for now (undefined: nothing). */
  waitingFor(): Waiting | undefined {
    const running = [...this.bridge.running(), ...(this.readerBridge?.running() ?? [])]
    if (running.length === 0) return undefined
    const acts = running.filter((r) => ACTS.has(r.command))
    const now = Date.now()
    const left = Math.max(...acts.map((a) => a.since + this.wallTimeoutMs - now))
    return { acts: acts.length, others: running.filter((r) => !ACTS.has(r.command)).map((r) => r.command), secondsLeft: acts.length > 0 && left > 0 ? Math.ceil(left / 1000) : undefined }
  }

  /** Stop at once: the execution unit is killed with whatever it runs (nothing it had not committed is), then the sockets close. */
  async abort(): Promise<void> {
    this.unit?.kill()
    if (this.wroteFile) removeDaemonFile(this.path)
    await this.stop()
  }

  /** Stop taking requests, finish those in flight, close sockets and image. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all([this.bridge.stop(), this.readerBridge?.stop()])
      await this.closeBackend()
      if (this.wroteFile) removeDaemonFile(this.path)
      if (this.onRejection) process.off('unhandledRejection', this.onRejection)
    })()
    return this.stopping
  }
}

/** The commands that run acts, bounded by the wall limit. */
const ACTS = new Set(['run_act', 'send_message'])

/** Undo what a failed boot created: the image folder if it was missing, its contents if it was an empty folder. */
async function unmake(path: string, before: ImageFolder): Promise<void> {
  if (before === 'image') return
  if (before === 'missing') { await rm(path, { recursive: true, force: true }); return }
  let entries: string[]
  try { entries = await readdir(path) } catch { return }
  await Promise.all(entries.map((e) => rm(join(path, e), { recursive: true, force: true })))
}

/** A server URL as logs may show it: never with credentials. */
function serverName(url: string): string {
  try {
    const u = new URL(url)
    u.username = ''
    u.password = ''
    return u.toString().replace(/\/$/, '')
  } catch {
    return '(an invalid URL)'
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
