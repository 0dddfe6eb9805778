import type { Conversation, Turn } from '../genesis/index.js'
import { CheckerPool } from './chunks.js'
import type { ChunkReply } from './chunks.js'
import type { LineCheckerOptions } from './line-checker.js'
import { fileSize, readLines } from './lines.js'
import type { PythonCheck, PythonChecker } from './python.js'
import { checkPythonLine } from './python-logic.js'
import type { LineResult, Stage, Summary } from './result.js'
import { countResult } from './result.js'
import type { ScratchImages } from './scratch.js'

export interface ValidateOptions extends LineCheckerOptions {
  /** Worker threads for stages 1-4 (default: one per core). */
  jobs: number
  /** The one python3 process, with `syntax: 'python'`. */
  python?: PythonChecker | undefined
  /** Stage 5: replay each passing conversation into a scratch copy of the base. */
  execute?: ScratchImages | undefined
  /** Every line's result, in input order, with its text (`--out` keeps the passing ones). */
  onLine?: (r: LineResult, text: string) => void | Promise<void>
  onProgress?: (p: { lines: number; bytes: number; totalBytes: number; seconds: number }) => void
}

const CHUNK_LINES = 256
const CHUNK_CHARS = 1 << 20

/**
 * Validate a JSONL file, streaming: stages 1-4 in worker threads, chunk by chunk, results in input
 * order; then the Python stages (one python3 process) or stage 5 (scratch images) in this thread.
 */
export async function validateFile(file: string, opts: ValidateOptions): Promise<Summary> {
  const totalBytes = await fileSize(file)
  const t0 = performance.now()
  const ran: Stage[] = ['json', 'schema', 'syntax', 'logic', ...(opts.execute !== undefined && opts.syntax !== 'python' ? ['execute' as const] : [])]
  const summary: Summary = { file, read: 0, passed: 0, failed: 0, stages: {}, seconds: 0, linesPerSecond: 0, codes: { parsed: 0, cached: 0 } }
  const exec = { conversations: 0, ms: 0 }
  const pyCache = new Map<string, Promise<PythonCheck>>()
  const wantTurns = opts.syntax === 'python' || ran.includes('execute')
  const texts = new Map<number, string>()
  let bytes = 0
  const pool = new CheckerPool(Math.max(1, opts.jobs), { knowledge: opts.knowledge, globals: opts.globals, ...(opts.syntax !== undefined && { syntax: opts.syntax }), ...(opts.cacheSize !== undefined && { cacheSize: opts.cacheSize }) })

  const drain = async (reply: ChunkReply) => {
    summary.codes.parsed += reply.codes.parsed
    summary.codes.cached += reply.codes.cached
    // Python checks of a whole chunk go to the checker at once: it answers them pipelined.
    const python = opts.syntax === 'python' && opts.python !== undefined
      ? reply.results.map((c) => (c.result.ok ? checkPythonLine(c.result.line, c.turns!, opts.python!, pyCache, summary.codes) : undefined))
      : []
    for (let i = 0; i < reply.results.length; i++) {
      const c = reply.results[i]!
      let r = c.result
      if (python[i] !== undefined) r = await python[i]!
      else if (r.ok && opts.execute !== undefined && ran.includes('execute')) {
        const e0 = performance.now()
        const out = await opts.execute.run(conversationOf(file, r.line, c.turns!), c.chapter)
        exec.ms += performance.now() - e0
        exec.conversations++
        if (!out.ok) r = { line: r.line, ok: false, stage: 'execute', reason: out.reason, ...(out.turn !== undefined && { turn: out.turn }), turns: r.turns! }
      }
      summary.read++
      if (r.ok) summary.passed++
      else summary.failed++
      countResult(summary.stages, r, ran)
      const text = texts.get(r.line)!
      texts.delete(r.line)
      await opts.onLine?.(r, text)
    }
    opts.onProgress?.({ lines: summary.read, bytes, totalBytes, seconds: (performance.now() - t0) / 1000 })
  }

  try {
    let chunk: [number, string][] = []
    let chars = 0
    for await (const l of readLines(file)) {
      bytes = l.bytes
      chunk.push([l.line, l.text])
      texts.set(l.line, l.text)
      chars += l.text.length
      if (chunk.length >= CHUNK_LINES || chars >= CHUNK_CHARS) {
        await pool.submit(chunk, wantTurns, drain)
        chunk = []
        chars = 0
      }
    }
    if (chunk.length > 0) await pool.submit(chunk, wantTurns, drain)
    await pool.finish(drain)
  } finally {
    await pool.close()
  }
  summary.seconds = (performance.now() - t0) / 1000
  summary.linesPerSecond = summary.read / Math.max(summary.seconds, 1e-6)
  if (ran.includes('execute')) summary.execute = { conversations: exec.conversations, seconds: exec.ms / 1000, perSecond: exec.conversations / Math.max(exec.ms / 1000, 1e-6) }
  return summary
}

/** A dataset line as the replayer takes it: named by file and line, like a curriculum conversation. */
export function conversationOf(file: string, line: number, turns: Turn[]): Conversation {
  return { id: `${file}:${line}`, file, line, chapter: 0, chapterName: 'dataset', turns, teaches: [] }
}
