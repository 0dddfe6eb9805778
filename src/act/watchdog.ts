/**
 * The last line of containment inside one process: a thread that watches the realm's shared
 * stop signals (entry depth, CPU deadline) and, when sandbox code has run past its deadline by more
 * than a grace, ends the whole process. That happens only when the code's own limits could not stop
 * it: a native operation that never reaches a checkpoint (`new Array(1e8).fill(0)`, `indexOf` over
 * a length of 2**32), where V8's own termination cannot land either.
 *
 * Only for a process that exists to run sandbox code and is supervised (the daemon's execution
 * unit, daemon/unit.ts): its supervisor answers the requests in flight and starts a new one. The
 * line written to stderr first tells it why, and which act (its tag) was running.
 */
import { Worker } from 'node:worker_threads'
import type { HardenedRealm } from './realm.js'

/** The stderr line's prefix: `<prefix> <tag> <ms>` (tag 0: no act; a direct call). */
export const WATCHDOG_LINE = 'uvm-unit: watchdog stopped sandbox code:'
/** The line when the process outgrew its resident-memory ceiling: `<prefix> <tag> <MiB>`. */
export const WATCHDOG_MEMORY_LINE = 'uvm-unit: watchdog stopped the unit for memory:'

const SOURCE = `
const { workerData } = require('node:worker_threads')
const { writeSync } = require('node:fs')
const depth = new Int32Array(workerData.depth)
const deadline = new Float64Array(workerData.deadline)
const now = new Float64Array(workerData.now)
const awake = workerData.awake ? new Int32Array(workerData.awake) : undefined
// Keeps this thread's event loop alive while it waits (a pending Atomics.waitAsync does not).
setInterval(() => {}, 2 ** 30)
function run() {
  // Sandbox code runs only while the clock ticks: sleep with it (an idle unit costs no CPU).
  if (awake !== undefined && Atomics.load(awake, 0) === 0) {
    const w = Atomics.waitAsync(awake, 0, 0)
    if (w.async) w.value.then(run); else run()
    return
  }
  check()
  setTimeout(run, ${25})
}
function check() {
  if (depth[0] > 0 && now[0] > deadline[1] + workerData.graceMs) {
    try { writeSync(2, ${JSON.stringify(WATCHDOG_LINE)} + ' ' + depth[1] + ' ' + Math.round(now[0] - deadline[1]) + '\\n') } catch (e) {}
    process.kill(process.pid, 'SIGKILL')
  }
  // Memory V8's heap cap does not see (ArrayBuffers, typed arrays: malloc'd outside the heap), filled
  // inside one native call where no per-act check runs.
  // Only while sandbox code runs: what the image itself holds must never end the unit (a restart loop).
  if (workerData.rssLimitMb > 0 && depth[0] > 0) {
    const mb = process.memoryUsage.rss() / 1048576
    if (mb > workerData.rssLimitMb) {
      try { writeSync(2, ${JSON.stringify(WATCHDOG_MEMORY_LINE)} + ' ' + depth[1] + ' ' + Math.round(mb) + '\\n') } catch (e) {}
      process.kill(process.pid, 'SIGKILL')
    }
  }
}
run()
`

export interface WatchdogOptions {
  /** How long past its CPU deadline sandbox code may still be running before the process ends. */
  graceMs: number
  /** Resident memory (MiB) past which the process ends (0: not watched). */
  rssLimitMb?: number
}

export function startWatchdog(realm: HardenedRealm, opts: WatchdogOptions): Worker {
  const { depth, deadline, now, awake } = realm.stopSignals
  const worker = new Worker(SOURCE, {
    eval: true,
    name: 'uvm-watchdog',
    workerData: { depth: depth.buffer, deadline: deadline.buffer, now: now.buffer, awake: awake?.buffer, graceMs: opts.graceMs, rssLimitMb: opts.rssLimitMb ?? 0 },
  })
  worker.unref()
  return worker
}
