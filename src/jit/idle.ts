import type { Image } from '../image/index.js'
import { idleStimulus, movingAverage, shouldInquire } from './cem.js'
import type { CycleResult, Jit } from './jit.js'
import { imageCem } from './metric.js'

export interface IdleOptions {
  /** How long the daemon must have had no request before it inquires. */
  idleAfterMs: number
  /** The moving average of the CEM below which it inquires (default 0.5). */
  threshold?: number
  /** How often the CEM is sampled (default: a quarter of idleAfterMs, at least 1 s). */
  checkEveryMs?: number
  /** Samples in the moving average (default 5). */
  window?: number
  /** The clock (tests pass a fake one). */
  now?: () => number
  /** Called after every inquiry, and with the error when one failed. */
  onInquiry?: (result: CycleResult | undefined, error?: unknown) => void
}

/**
 * The autotelic drive (seed 000, Act II): while the daemon is idle and the CEM's moving average is
 * low, the seeds' idle stimulus goes through the JIT (the Characterological Inquiry Loop), and the
 * cycle is recorded like any other. Off unless configured.
 */
export class IdleLoop {
  private readonly samples: number[] = []
  private lastActive: number
  private timer: NodeJS.Timeout | undefined
  private busy = false
  private readonly now: () => number

  constructor(private readonly jit: Jit, private readonly image: Image, private readonly opts: IdleOptions) {
    this.now = opts.now ?? Date.now
    this.lastActive = this.now()
  }

  /** A request arrived: the daemon is not idle. */
  activity(): void {
    this.lastActive = this.now()
  }

  /** Sample the CEM; inquire when idle and low. Answers the inquiry's cycle when one ran. */
  async tick(): Promise<CycleResult | undefined> {
    if (this.busy) return undefined
    this.busy = true
    try {
      const m = await imageCem(this.image)
      this.samples.push(m.cem)
      const window = this.opts.window ?? 5
      if (this.samples.length > window) this.samples.splice(0, this.samples.length - window)
      const average = movingAverage(this.samples, window)
      if (!shouldInquire({ idleMs: this.now() - this.lastActive, idleAfterMs: this.opts.idleAfterMs, average, threshold: this.opts.threshold ?? 0.5 })) return undefined
      let result: CycleResult | undefined
      try {
        result = await this.jit.inquire(idleStimulus(m, average))
        this.opts.onInquiry?.(result)
      } catch (e) {
        this.opts.onInquiry?.(undefined, e)
      }
      // One inquiry per idle period: the next waits for the daemon to be idle that long again.
      this.lastActive = this.now()
      return result
    } finally {
      this.busy = false
    }
  }

  start(): void {
    const every = this.opts.checkEveryMs ?? Math.max(1000, Math.floor(this.opts.idleAfterMs / 4))
    this.timer = setInterval(() => { void this.tick().catch(() => {}) }, every)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }
}
