/**
 * The daemon's side of its execution unit (unit-main.ts): a supervised child process that holds the
 * image and runs every act. V8 has no heap limit per context, and a native operation can outrun
 * every limit inside one thread, so what must be stoppable from outside lives in a process the
 * daemon can end and replace: the daemon (sockets, request order, replies) never runs act code.
 *
 * When the unit stops unasked (its watchdog ended it, V8 ran out of heap, anything else), every
 * request in flight gets an error reply: ACT_TIMEOUT for the act the watchdog named, ACT_OUT_OF_MEMORY
 * when the heap ran out, BRIDGE_UNIT_RESTARTED for the others; then a new unit opens the image. A
 * commit is acknowledged only once it is durable, so no acknowledged commit is lost; a write in
 * flight may or may not have committed (like a request cut by a network failure).
 */
import { fork, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { CancelCommand, Command, JitEvent, Reply } from '../covenant/index.js'
import type { Backend, CommitEvent, EncodedReply, ServeOptions } from '../bridge/index.js'
import { LateActs, cancelRunning, errorReply, type Ended } from '../bridge/index.js'
import { WATCHDOG_LINE, WATCHDOG_MEMORY_LINE } from '../act/index.js'
import { ErrorCodes, UvmError, type ErrorCode } from '../errors.js'
import type { FromUnit, ToUnit, UnitOpenOptions } from './unit-protocol.js'

export interface UnitOptions extends Omit<UnitOpenOptions, 'graceMs' | 'maxReplyBytes' | 'maxQueuedBytes' | 'rssLimitMb'> {
  maxReplyBytes?: number
  maxQueuedBytes?: number
  /** How long past its CPU limit sandbox code may run before the unit is ended. Default 1000 ms. */
  graceMs?: number
  /** The unit's V8 heap cap in MiB. Default: act memory + 512 (the image cache and the unit's own needs). */
  heapMb?: number
  /** Where the unit's notices go (restarts, acts that left rejections unhandled): one line each. */
  log?: (level: 'warn' | 'info', msg: string, fields?: Record<string, unknown>) => void
}

interface Pending {
  cmd: Command
  lane: string
  resolve: (r: Reply | EncodedReply) => void
  onQueued: (() => void) | undefined
  /** Told how the request ended (a cancel waiting for the act it named). */
  ended: ((e: Ended) => void)[]
}

/** The unit's entry point, next to this file; from the sources (tests), the build's copy. */
function unitScript(): string {
  const here = fileURLToPath(new URL('./unit-main.js', import.meta.url))
  if (existsSync(here)) return here
  return here.replace(/([\\/])src([\\/]daemon[\\/])/, '$1dist$2')
}

export class UnitBackend implements Backend {
  private child: ChildProcess | undefined
  private ready: Promise<void>
  private readonly pending = new Map<number, Pending>()
  private readonly listeners = new Set<(e: CommitEvent) => void>()
  private n = 0
  private stopping = false
  private readonly late = new LateActs()
  private stderrTail = ''
  /** Units started after the first (each after one stopped unasked). */
  restarts = 0
  lastTid = 0

  private constructor(private readonly opts: UnitOptions) {
    this.ready = Promise.resolve()
  }

  /** Start the unit and open the image; rejects as opening it would (e.g. IMAGE_IN_USE). */
  static async start(opts: UnitOptions): Promise<UnitBackend> {
    const b = UnitBackend.create(opts)
    await b.open()
    return b
  }

  /**
   * A backend whose unit is not started yet: requests wait for `open`. The daemon binds its sockets
   * first, so that a boot that cannot serve never creates an image.
   */
  static create(opts: UnitOptions): UnitBackend {
    const b = new UnitBackend(opts)
    let opened!: () => void
    let failed!: (e: unknown) => void
    b.ready = new Promise<void>((resolve, reject) => { opened = resolve; failed = reject })
    b.ready.catch(() => {}) // a failed open is the opener's to report; waiting requests get it too
    b.opening = { opened, failed }
    return b
  }

  private opening: { opened: () => void; failed: (e: unknown) => void } | undefined

  /** Start the unit and open the image (once). */
  async open(): Promise<void> {
    const o = this.opening
    if (o === undefined) return this.ready
    this.opening = undefined
    try {
      await this.spawn()
      o.opened()
    } catch (e) {
      o.failed(e)
      throw e
    }
  }

  get pid(): number | undefined { return this.child?.pid }

  /** The unit's V8 heap cap (MiB). */
  get heapMb(): number { return this.opts.heapMb ?? this.opts.actMemoryMb + 512 }

  /** Resident memory past which the watchdog ends the unit while sandbox code runs: the heap cap, one act's memory outside it, and room for code and buffers. */
  get rssLimitMb(): number { return this.heapMb + this.opts.actMemoryMb + 512 }

  private spawn(): Promise<void> {
    const heapMb = this.heapMb
    const child = fork(unitScript(), [], {
      serialization: 'advanced',
      execArgv: [`--max-old-space-size=${heapMb}`],
      // fd 4: cancels (unit-cancel.ts), read by a thread of the unit that a looping act does not hold.
      stdio: ['ignore', 'inherit', 'pipe', 'ipc', 'pipe'],
    })
    this.child = child
    this.stderrTail = ''
    // A cancel written as the unit dies: its exit answers everything in flight.
    ;(child.stdio[4] as NodeJS.WritableStream | null)?.on('error', () => {})
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-8192)
      // The watchdog's line is for the daemon; V8's out-of-memory report is long, and the daemon reports it in one line.
      if (!chunk.includes(WATCHDOG_LINE) && !chunk.includes(WATCHDOG_MEMORY_LINE) && !/heap out of memory|Allocation failed|Reached heap limit/.test(chunk)) process.stderr.write(chunk)
    })
    return new Promise<void>((resolve, reject) => {
      let opened = false
      child.on('message', (m: FromUnit) => {
        switch (m.t) {
          case 'ready': opened = true; this.lastTid = m.lastTid; resolve(); return
          case 'open-failed': reject(m.code !== undefined && Object.hasOwn(ErrorCodes, m.code) ? new UvmError(m.code as ErrorCode, m.message) : new Error(m.message)); return
          case 'res': {
            const p = this.pending.get(m.n)
            if (p === undefined) return
            this.pending.delete(m.n)
            if (m.tid !== undefined && m.tid > this.lastTid) this.lastTid = m.tid
            const size = m.bytes.byteLength
            for (const f of p.ended) f({ code: m.code, tid: m.tid })
            // Only to the unit that counted it: a unit started since never did.
            p.resolve({ encoded: m.bytes, event: m.event, code: m.code, tid: m.tid, sent: () => { if (this.child === child) this.post({ t: 'sent', size }) } })
            return
          }
          case 'queued': this.pending.get(m.n)?.onQueued?.(); return
          case 'commit':
            if (m.tid > this.lastTid) this.lastTid = m.tid
            for (const l of this.listeners) l({ tid: m.tid, changed: m.changed })
            return
          case 'log': this.opts.log?.(m.level, m.msg); return
          case 'jit': for (const l of this.jitListeners) l(m.event); return
        }
      })
      child.on('exit', (code, signal) => {
        if (!opened) { reject(new Error(`the execution unit could not start (${signal ?? `exit code ${code}`}): ${this.stderrTail.trim().split('\n').slice(-3).join(' ') || 'no message'}`)); return }
        this.stopped(code, signal)
      })
      child.on('error', (e) => { if (!opened) reject(e) })
      const o = this.opts
      this.post({ t: 'open', options: { image: o.image, cacheSize: o.cacheSize, cpuTimeoutMs: o.cpuTimeoutMs, wallTimeoutMs: o.wallTimeoutMs, actMemoryMb: o.actMemoryMb, graceMs: o.graceMs ?? 1000, rssLimitMb: this.rssLimitMb, version: o.version, maxReplyBytes: o.maxReplyBytes ?? 64 * 1048576, maxQueuedBytes: o.maxQueuedBytes ?? 256 * 1048576, jit: o.jit, readOnly: o.readOnly, curriculumDir: o.curriculumDir, capabilities: o.capabilities, genesis: this.restarts === 0 ? o.genesis : undefined } })
    })
  }

  /** A message that cannot be sent (the unit is gone) is answered by the unit's exit, which answers everything in flight. */
  private post(m: ToUnit): void {
    const child = this.child
    if (child === undefined || !child.connected) return
    try {
      child.send(m, (e) => { if (e) child.kill('SIGKILL') })
    } catch (e) {
      // Not serializable (nothing the covenant admits should be): only this request fails.
      const p = m.t === 'req' ? this.pending.get(m.n) : undefined
      if (m.t !== 'req' || p === undefined) throw e
      this.pending.delete(m.n)
      p.resolve(errorReply(new UvmError('ACT_FAILED', `the request could not be handed to the execution unit: ${(e as Error).message}`), p.cmd.id))
    }
  }

  /** The unit stopped: answer everything in flight, then start another (unless the daemon is stopping). */
  private stopped(code: number | null, signal: NodeJS.Signals | null): void {
    const tail = this.stderrTail
    const watchdog = lineOf(tail, WATCHDOG_LINE)
    const rss = lineOf(tail, WATCHDOG_MEMORY_LINE)
    const oom = rss !== undefined || /heap out of memory|Allocation failed|Reached heap limit/.test(tail)
    const culprit = watchdog ? Number(watchdog[1]) : undefined
    const heapMb = this.heapMb
    const inFlight = [...this.pending.entries()]
    this.pending.clear()
    for (const [n, p] of inFlight) {
      let err: UvmError
      if (watchdog && n === culprit) {
        err = new UvmError('ACT_TIMEOUT', `sandbox code ran past its CPU limit in a native operation that no checkpoint interrupts; the execution unit was stopped ${watchdog[2]} ms past the limit and restarted, and nothing of this request was committed`, { limit: 'cpu' })
      } else if (oom) {
        err = new UvmError('ACT_OUT_OF_MEMORY', `the execution unit ran out of memory (${rss ? `${rss[2]} MiB resident, past its ceiling of ${this.rssLimitMb} MiB` : `its heap cap is ${heapMb} MiB`}) while this request was in flight${inFlight.length > 1 ? ` with ${inFlight.length - 1} other(s); the act that exhausted it was one of them` : ''}; it was restarted, and nothing of this request was committed`, { limit: 'memory', mb: heapMb })
      } else {
        err = this.stopping
          ? new UvmError('BRIDGE_UNIT_RESTARTED', 'the daemon was stopped without waiting for this request (a second Ctrl-C, or a stop that timed out); a read can be retried once it is back, a write may or may not have committed: check history before retrying it')
          : new UvmError('BRIDGE_UNIT_RESTARTED', `the execution unit stopped (${watchdog ? 'another request\'s act ran past its CPU limit' : signal ?? `exit code ${code}`}) while this request was in flight, and was restarted; a read can be retried, a write may or may not have committed: check history before retrying it`)
      }
      const reply = errorReply(err, p.cmd.id)
      for (const f of p.ended) f({ code: reply.error.code })
      p.resolve(reply)
    }
    if (this.stopping) return
    this.restarts++
    this.opts.log?.('warn', 'execution unit restarted', { reason: watchdog ? 'watchdog' : oom ? 'out of memory' : signal ?? `exit code ${code}`, inFlight: inFlight.length })
    this.ready = this.respawn()
  }

  private async respawn(delayMs = 0): Promise<void> {
    for (let wait = delayMs; ; wait = Math.min(5000, Math.max(100, wait * 2))) {
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      if (this.stopping) return
      try {
        await this.spawn()
        return
      } catch (e) {
        this.opts.log?.('warn', `execution unit failed to start: ${(e as Error).message}`)
      }
    }
  }

  async handle(cmd: Command, lane: string, opts: ServeOptions): Promise<Reply | EncodedReply> {
    if (cmd.command === 'cancel') return this.cancel(cmd, lane)
    await this.ready
    if (this.stopping) throw new UvmError('BRIDGE_UNIT_RESTARTED', 'the daemon is stopping')
    const n = ++this.n
    return new Promise<Reply | EncodedReply>((resolve) => {
      this.pending.set(n, { cmd, lane, resolve, onQueued: opts.onQueued, ended: [] })
      this.post({ t: 'req', n, cmd, lane, readOnly: opts.readOnly, writeAccess: opts.writeAccess, format: opts.format ?? 'msgpack' })
      if (cmd.command === 'run_act' || cmd.command === 'send_message') this.late.arrived(cmd.cancel_key)
    })
  }

  /**
   * Stop the act `cmd` names (the unit's tag for it is its request number) and answer once it has
   * ended. If the unit cannot stop it (a native operation no checkpoint reaches), its watchdog ends
   * the unit at the act's CPU limit, as for any act.
   */
  private cancel(cmd: CancelCommand, lane: string): Promise<Reply> {
    return cancelRunning(cmd, lane, () => this.pending, (n) => {
      const tag = Buffer.alloc(4)
      tag.writeInt32LE(n)
      ;(this.child?.stdio[4] as NodeJS.WritableStream | null | undefined)?.write(tag)
    }, this.late)
  }

  closeLane(lane: string): void {
    this.post({ t: 'close-lane', lane })
  }

  private readonly jitListeners = new Set<(e: JitEvent) => void>()

  onEvent(listener: (e: JitEvent) => void): () => void {
    this.jitListeners.add(listener)
    return () => { this.jitListeners.delete(listener) }
  }

  onCommit(listener: (e: CommitEvent) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** End the unit now, with whatever it runs (a shutdown that will not wait); it is not restarted. */
  kill(): void {
    this.stopping = true
    this.child?.kill('SIGKILL')
  }

  /** Ask the unit to close the image and exit; end it if it does not within `timeoutMs`. */
  async stop(timeoutMs = 10000): Promise<void> {
    this.stopping = true
    this.opening?.failed(new UvmError('BRIDGE_UNIT_RESTARTED', 'the daemon stopped before it opened the image'))
    this.opening = undefined
    const child = this.child
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    this.post({ t: 'stop' })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    await exited
    clearTimeout(timer)
  }
}

/** The watchdog's `<prefix> <n> <m>` line in the unit's last output: [, n, m]. */
function lineOf(tail: string, prefix: string): RegExpExecArray | undefined {
  return new RegExp(`${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} (\\d+) (\\d+)`).exec(tail) ?? undefined
}
