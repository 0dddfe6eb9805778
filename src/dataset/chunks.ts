import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { CheckedLine, LineCheckerOptions } from './line-checker.js'

/** A run of lines for one worker: [line number, text] pairs. */
export interface ChunkRequest {
  seq: number
  lines: [number, string][]
  /** Send the parsed turns back for the lines that passed (stage 5 or the Python stages need them). */
  wantTurns: boolean
}

export interface ChunkReply {
  seq: number
  results: CheckedLine[]
  codes: { parsed: number; cached: number }
}

/** The worker's entry point, next to this file; from the sources (tests), the build's copy. */
function workerScript(): string {
  const here = fileURLToPath(new URL('./worker.js', import.meta.url))
  if (existsSync(here)) return here
  return here.replace(/([\\/])src([\\/]dataset[\\/])/, '$1dist$2')
}

/**
 * Worker threads running stages 1-4, fed chunk by chunk and answered in input order. `submit` waits
 * while too many chunks are out, so a file of any size holds only a bounded window in memory.
 */
export class CheckerPool {
  readonly #workers: Worker[]
  readonly #waiting = new Map<number, { resolve: (r: ChunkReply) => void; reject: (e: Error) => void }>()
  readonly #window: number
  #next = 0
  #out: Promise<ChunkReply>[] = []
  #failure: Error | undefined
  #closing = false

  constructor(jobs: number, opts: LineCheckerOptions) {
    this.#workers = Array.from({ length: jobs }, () => {
      const w = new Worker(workerScript(), { workerData: opts })
      w.on('message', (r: ChunkReply) => {
        const done = this.#waiting.get(r.seq)
        this.#waiting.delete(r.seq)
        done?.resolve(r)
      })
      // A worker that dies fails the run: every chunk still out would otherwise wait forever.
      const die = (e: Error) => {
        this.#failure ??= e
        for (const p of this.#waiting.values()) p.reject(this.#failure)
        this.#waiting.clear()
      }
      w.on('error', die)
      w.on('exit', (code) => { if (!this.#closing) die(new Error(`a validation worker stopped (exit code ${code})`)) })
      return w
    })
    this.#window = jobs * 4
  }

  /** Queue a chunk; resolves once there is room for another (not when this one is done). */
  async submit(lines: [number, string][], wantTurns: boolean, drain: (r: ChunkReply) => Promise<void>): Promise<void> {
    const seq = this.#next++
    const reply = new Promise<ChunkReply>((resolve, reject) => {
      if (this.#failure !== undefined) return reject(this.#failure)
      this.#waiting.set(seq, { resolve, reject })
      const w = this.#workers[seq % this.#workers.length]!
      w.postMessage({ seq, lines, wantTurns } satisfies ChunkRequest)
    })
    // Awaited in order by #shift; a failure before then must not count as unhandled.
    reply.catch(() => {})
    this.#out.push(reply)
    while (this.#out.length >= this.#window) await drain(await this.#shift())
  }

  /** Every chunk still out, in order. */
  async finish(drain: (r: ChunkReply) => Promise<void>): Promise<void> {
    while (this.#out.length > 0) await drain(await this.#shift())
  }

  #shift(): Promise<ChunkReply> {
    return this.#out.shift()!
  }

  async close(): Promise<void> {
    this.#closing = true
    await Promise.all(this.#workers.map((w) => w.terminate()))
  }
}
