import { parentPort, workerData } from 'node:worker_threads'
import { LineChecker } from './line-checker.js'
import type { LineCheckerOptions } from './line-checker.js'
import type { ChunkReply, ChunkRequest } from './chunks.js'

// One worker thread of `uvm dataset validate`: stages 1-4 for the chunks it is given, in order.
const checker = new LineChecker(workerData as LineCheckerOptions)
const port = parentPort!
port.on('message', (req: ChunkRequest) => {
  const before = { ...checker.codes }
  const results = req.lines.map(([line, text]) => {
    const c = checker.check(text, line)
    return req.wantTurns && c.result.ok ? c : { result: c.result }
  })
  const reply: ChunkReply = { seq: req.seq, results, codes: { parsed: checker.codes.parsed - before.parsed, cached: checker.codes.cached - before.cached } }
  port.postMessage(reply)
})
