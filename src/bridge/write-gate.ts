import type { Image } from '../image/index.js'

/**
 * A window of its own for a write that lost a conflict: new writes wait until it is done, and such
 * retries go one at a time. If nothing was published since the lost try began, what it lost to is
 * still being written, so the retry begins once the next commit is published (begun at once, it
 * would read the state from before that commit and lose again; `settleMs` caps that wait). The
 * window lasts at most `windowMs`, so a slow retry (an act awaiting a capability, say) never holds
 * up the other clients' writes for long.
 */
export class WriteGate {
  /** Set while a priority write has its window: writes arriving meanwhile wait on it. */
  private closed: Promise<void> | undefined

  constructor(private readonly image: Image, private readonly windowMs = 100, private readonly settleMs = 1000) {}

  /** Run a write; `lostSince`: this is a retry, and the tid current when the lost try began. */
  async run<T>(lostSince: number | undefined, f: () => Promise<T>): Promise<T> {
    while (this.closed !== undefined) await this.closed
    if (lostSince === undefined) return f()
    let open!: () => void
    const window = new Promise<void>((r) => { open = r })
    this.closed = window
    const reopen = () => {
      if (this.closed === window) this.closed = undefined
      open()
    }
    const lease = setTimeout(reopen, this.windowMs)
    try {
      if (this.image.lastTid === lostSince) await this.nextCommit()
      return await f()
    } finally {
      clearTimeout(lease)
      reopen()
    }
  }

  /** The image's next commit is published, or `settleMs` passed. */
  private nextCommit(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => { clearTimeout(timer); off(); resolve() }
      const off = this.image.onCommit(done)
      const timer = setTimeout(done, this.settleMs)
    })
  }
}
