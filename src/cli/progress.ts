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
