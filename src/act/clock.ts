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
 * One clock per thread, started on first use: it is the process's time, like
 * `performance.now()`, and a thread per realm would cost a thread per realm. The
 * worker is unref'd (it never keeps the process alive) and wakes 500 times a
 * second while it ticks. It ticks only while sandbox code may run: an idle daemon
 * must cost no CPU. A second after it was woken it sleeps again (`running` false),
 * which is only ever decided from a timer on this thread, so never while an entry
 * is on the stack; the next entry wakes it (the host's fast path sees `running`
 * false and takes the entry that does), writing the time itself first, so that no
 * deadline is ever computed from a stale `now`. The watchdog (watchdog.ts) sleeps with it
 * (`awake`), since sandbox code runs only while the clock ticks.
 */
import { Worker } from 'node:worker_threads'

const TICK_MS = 2
/** How long the clock ticks after it was last woken before it sleeps. */
const LINGER_MS = 1000

export interface Clock {
  /** [0]: milliseconds since the clock started, as last written by the worker. */
  readonly now: Float64Array
  /** False while `now` does not advance: the worker failed, exited, or sleeps (then `wake` restarts it). */
  running: boolean
  /** [0]: 1 while the worker ticks, 0 while it sleeps (threads that only matter while it ticks wait on it). */
  readonly awake?: Int32Array
  /** Make `now` current and the worker tick again (a no-op once the worker is gone). */
  wake?(): void
}

const SOURCE = `
const { workerData } = require('node:worker_threads')
const now = new Float64Array(workerData.now)
const awake = new Int32Array(workerData.awake)
const origin = workerData.origin
const ms = () => { const t = process.hrtime(); return t[0] * 1e3 + t[1] / 1e6 - origin }
// Keeps this thread's event loop alive while it waits (a pending Atomics.waitAsync does not).
setInterval(() => {}, 2 ** 30)
function run() {
  if (Atomics.load(awake, 0) === 0) {
    const w = Atomics.waitAsync(awake, 0, 0)
    if (w.async) w.value.then(run); else run()
    return
  }
  now[0] = ms()
  setTimeout(run, ${TICK_MS})
}
run()
`

let processClock: Clock | undefined

/** hrtime in ms: the same monotonic time base in every thread (performance.now() is per thread). */
function hrMs(): number {
  const t = process.hrtime()
  return t[0] * 1e3 + t[1] / 1e6
}

export function clock(): Clock {
  if (processClock !== undefined) return processClock
  const origin = hrMs()
  const now = new Float64Array(new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT))
  const awake = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT))
  awake[0] = 1
  let alive = true
  let timer: NodeJS.Timeout | undefined
  const sleep = () => {
    timer = undefined
    if (!alive) return
    c.running = false
    Atomics.store(awake, 0, 0)
  }
  const c: Clock = {
    now,
    awake,
    running: true,
    wake() {
      if (!alive) return
      now[0] = hrMs() - origin
      if (!c.running) {
        c.running = true
        Atomics.store(awake, 0, 1)
        Atomics.notify(awake, 0)
      }
      if (timer === undefined) timer = setTimeout(sleep, LINGER_MS).unref()
      else timer.refresh()
    },
  }
  const worker = new Worker(SOURCE, { eval: true, workerData: { now: now.buffer, awake: awake.buffer, origin }, name: 'uvm-clock' })
  worker.unref()
  const gone = () => { alive = false; c.running = false; if (timer !== undefined) clearTimeout(timer); if (processClock === c) processClock = undefined }
  worker.on('error', gone)
  worker.on('exit', gone)
  processClock = c
  c.wake!()
  return c
}
