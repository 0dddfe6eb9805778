/**
 * The execution unit's cancel listener: a thread that reads the tags of acts to cancel from a pipe
 * the daemon writes (4 bytes each, little-endian). A loop in an act holds the unit's main thread, so
 * neither the IPC channel nor a timer there would see a cancel until the loop ended: this thread writes
 * the tag into the realm's shared cancel cell and makes the running entry's deadline "now", so that the
 * loop's next checkpoint asks the host, which stops it with ACT_CANCELLED (realm.ts #checkLimits). It
 * also hands the tag to the main thread, which fails an act that awaits at once (realm.cancel).
 */
import { Worker } from 'node:worker_threads'
import type { HardenedRealm } from '../act/index.js'

/** The unit's file descriptor the daemon writes cancels to (after stdin, stdout, stderr and IPC). */
export const CANCEL_FD = 4

const SOURCE = `
const { workerData, parentPort } = require('node:worker_threads')
const net = require('node:net')
const depth = new Int32Array(workerData.depth)
const deadline = new Float64Array(workerData.deadline)
const cancel = new Int32Array(workerData.cancel)
function stop(tag) {
  Atomics.store(cancel, 0, tag)
  parentPort.postMessage(tag)
  // The main thread rewrites deadline[0] at each of its own checks, and one may have read the cell just
  // before it was written: say "now" again while that act's code runs (bounded: 2 s).
  let left = 400
  const poke = () => {
    if (Atomics.load(depth, 0) === 0 || Atomics.load(depth, 1) !== tag || --left === 0) return
    deadline[0] = -Infinity
    setTimeout(poke, 5)
  }
  poke()
}
const pipe = new net.Socket({ fd: workerData.fd, readable: true, writable: false })
let held = Buffer.alloc(0)
pipe.on('data', (chunk) => {
  held = held.length === 0 ? chunk : Buffer.concat([held, chunk])
  while (held.length >= 4) { const tag = held.readInt32LE(0); held = held.subarray(4); if (tag !== 0) stop(tag) }
})
pipe.on('error', () => {})
`

export function startCancelListener(realm: HardenedRealm, fd = CANCEL_FD): Worker {
  const { depth, deadline, cancel } = realm.stopSignals
  const worker = new Worker(SOURCE, { eval: true, name: 'uvm-cancel', workerData: { fd, depth: depth.buffer, deadline: deadline.buffer, cancel: cancel.buffer } })
  worker.on('message', (tag: number) => { realm.cancel(tag) })
  worker.on('error', () => {})
  worker.unref()
  return worker
}
