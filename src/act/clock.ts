/**
 * The millisecond clock the CPU-limit checkpoints read: one double in shared
 * memory, advanced every TICK_MS by a worker thread.
 *
 * A checkpoint runs at every loop iteration and function entry of sandbox code,
 * so it must cost a memory load, not a clock call (`performance.now()` is ~30 ns
 * from JS). Counting checkpoints instead of reading time is no answer either: one
 * iteration may be a ten-second native `sort`, and a count would let hundreds of
 * them pass before looking at the time. With this clock a limit is overrun by at
 * most one native operation plus TICK_MS.
 *
 * One clock per process, started on first use: it is the process's time, like
 * `performance.now()`, and a thread per realm would cost a thread per realm. The
 * worker is unref'd (it never keeps the process alive) and wakes 500 times a
 * second (a few µs of CPU each).
 */
import { Worker } from 'node:worker_threads'

const TICK_MS = 2

export interface Clock {
  /** [0]: milliseconds since the clock started, as last written by the worker. */
  readonly now: Float64Array
  /** False once the worker has failed or exited: nothing advances `now` any more. */
  running: boolean
}

const SOURCE = `
const { workerData } = require('node:worker_threads')
const now = new Float64Array(workerData)
const t0 = performance.now()
setInterval(() => { now[0] = performance.now() - t0 }, ${TICK_MS})
`

let processClock: Clock | undefined

export function clock(): Clock {
  if (processClock !== undefined) return processClock
  const buffer = new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT)
  const c: Clock = { now: new Float64Array(buffer), running: true }
  const worker = new Worker(SOURCE, { eval: true, workerData: buffer, name: 'uvm-clock' })
  worker.unref()
  worker.on('error', () => { c.running = false })
  worker.on('exit', () => { c.running = false; processClock = undefined })
  processClock = c
  return c
}
