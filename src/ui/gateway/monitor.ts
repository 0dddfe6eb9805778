import type { BridgeClient } from '../../bridge/index.js'

/** What the gateway knows of its daemon. */
export interface DaemonStatus {
  alive: boolean
  readOnly: boolean
  /** The daemon's version, from its last pong (the gateway's own until one came). */
  version: string
  /** Why it is not alive: the ping's failure. */
  problem?: string
}

/** Where a gateway learns the daemon's status: pings (DaemonMonitor), or the daemon's own process (fixedStatus). */
export interface StatusSource {
  readonly current: DaemonStatus | undefined
  join(): Promise<DaemonStatus>
  leave(): void
  stop(): void
}

/**
 * A gateway in the daemon's own process (uvm boot --ui) needs no pings: while it runs, so does the
 * daemon, whose mode it was told at start. (The pings would also fill the daemon's log, one a second.)
 */
export function fixedStatus(status: DaemonStatus): StatusSource {
  return { current: status, join: () => Promise.resolve(status), leave() {}, stop() {} }
}

export interface MonitorOptions {
  /** Between pings while pages are connected. Default 1000 ms. */
  intervalMs?: number
  /** A ping unanswered this long means the daemon is lost. Default 2000 ms. */
  timeoutMs?: number
  version: string
}

/**
 * Pings the daemon while at least one page is connected, and only then: an idle daemon (and its
 * gateway) must stay silent, so with no page there is no timer and no ping. ZeroMQ reconnects by
 * itself; the pings only tell when the daemon stops answering and when it answers again.
 */
export class DaemonMonitor implements StatusSource {
  private pages = 0
  private timer: NodeJS.Timeout | undefined
  private status: DaemonStatus | undefined
  private checking: Promise<DaemonStatus> | undefined
  private stopped = false

  constructor(
    private readonly client: BridgeClient,
    private readonly onChange: (now: DaemonStatus, before: DaemonStatus) => void,
    private readonly opts: MonitorOptions,
  ) {}

  /** The last known status (undefined while no page is connected, or before the first ping). */
  get current(): DaemonStatus | undefined {
    return this.status
  }

  /** A page came: pings start if they had stopped. Resolves to the status, fresh when none was known. */
  join(): Promise<DaemonStatus> {
    this.pages++
    if (this.timer === undefined && this.checking === undefined) this.schedule(0)
    return this.status !== undefined ? Promise.resolve(this.status) : this.check()
  }

  /** A page left: with none left, the pings stop and what they knew is forgotten (a later page asks afresh). */
  leave(): void {
    this.pages = Math.max(0, this.pages - 1)
    if (this.pages > 0) return
    clearTimeout(this.timer)
    this.timer = undefined
    this.status = undefined
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.check().then(() => { if (this.pages > 0 && !this.stopped && this.timer === undefined) this.schedule(this.opts.intervalMs ?? 1000) })
    }, ms)
  }

  private check(): Promise<DaemonStatus> {
    this.checking ??= this.ping().then((now) => {
      this.checking = undefined
      const before = this.status
      // Asked with no page left: nobody to tell, and nothing to remember.
      if (this.pages === 0 || this.stopped) return now
      this.status = now
      if (before !== undefined && (before.alive !== now.alive || before.readOnly !== now.readOnly)) this.onChange(now, before)
      return now
    })
    return this.checking
  }

  private async ping(): Promise<DaemonStatus> {
    const known = this.status ?? { readOnly: false, version: this.opts.version }
    try {
      const pong = await this.client.call({ command: 'ping' }, 'pong', { timeoutMs: this.opts.timeoutMs ?? 2000 })
      return { alive: true, readOnly: pong.read_only === true, version: pong.version }
    } catch (e) {
      return { alive: false, readOnly: known.readOnly, version: known.version, problem: (e as Error).message }
    }
  }
}
