import type { Io } from './usage.js'

/** A progress bar on stderr: redrawn in place on a terminal, a line per phase otherwise. */
export function progressBar(io: Io): ((phase: string, done: number, total: number) => void) & { done(): void } {
  const tty = process.stderr.isTTY === true
  let lastPhase = ''
  let lastDraw = 0
  const draw = (phase: string, done: number, total: number) => {
    const now = Date.now()
    if (!tty) {
      if (phase !== lastPhase) io.err(`${phase}…`)
      lastPhase = phase
      return
    }
    if (phase === lastPhase && now - lastDraw < 100 && done !== total) return
    lastPhase = phase
    lastDraw = now
    const width = 30
    const frac = total > 0 ? Math.min(1, done / total) : 0
    const bar = total > 0 ? '█'.repeat(Math.round(frac * width)).padEnd(width, '░') : '…'.padEnd(width)
    process.stderr.write(`\r${phase.padEnd(6)} ${bar} ${done}${total > 0 ? `/${total}` : ''}   `)
  }
  return Object.assign(draw, { done: () => { if (tty && lastPhase) process.stderr.write('\n') } })
}

/** A bar for a stream of known size: fraction by bytes, lines/s and the time left; on a terminal only. */
export function rateBar(label: string): ((p: { lines: number; bytes: number; totalBytes: number; seconds: number }) => void) & { done(): void } {
  const tty = process.stderr.isTTY === true
  let lastDraw = 0
  let drawn = false
  const draw = (p: { lines: number; bytes: number; totalBytes: number; seconds: number }) => {
    const now = Date.now()
    if (!tty || now - lastDraw < 100) return
    lastDraw = now
    drawn = true
    const frac = p.totalBytes > 0 ? Math.min(1, p.bytes / p.totalBytes) : 0
    const rate = p.lines / Math.max(p.seconds, 1e-3)
    const eta = frac > 0 ? (p.seconds / frac) * (1 - frac) : NaN
    const bar = '█'.repeat(Math.round(frac * 24)).padEnd(24, '░')
    process.stderr.write(`\r${label} ${bar} ${(frac * 100).toFixed(0).padStart(3)}%  ${p.lines} lines  ${rate.toFixed(0)} lines/s  ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)} s` : '…'}   `)
  }
  return Object.assign(draw, { done: () => { if (drawn) process.stderr.write('\n') } })
}
