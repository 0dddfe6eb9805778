// The JIT cycle: what the UVM adds around the LLM, measured against an LLM that answers at once.
//
//   node --expose-gc bench/jit.mjs      (after `npm run build`)
//
// A real HTTP server on loopback plays the LLM and answers every chat request at once with an act
// that installs the selector it was asked for (one fresh selector per cycle: every cycle is a real
// doesNotUnderstand:). A cycle is runWithJit of `return root.r.mN()`: the sender's act meets the
// DNU and is aborted, the prompt is built, the request goes over HTTP and comes back, the answer is
// checked with zod, the install act commits with its provenance, the sender's act runs again.
//
// Limit, measured in the same run: a run_act of the same install code plus a run_act of the send
// (what a person typing both would cost). Target: the cycle costs at most 3× that (ratio ≥ 0.33).
// Also shown, for the story: the bare HTTP round trip to the same server.
import { createServer } from 'node:http'
import { MemoryLevel } from 'memory-level'
import { fmtNs, gc, importDist, median, meets, row, runAlone } from './lib.mjs'

const B = 'jit'
const installCode = (sel) => `prototypes.Rect.setSlot('${sel}', function () { return this.width * this.height })`

async function run({ log }) {
  const { openImage } = await importDist('index.js')
  const { runAct } = await importDist('act/index.js')
  const { setUpJit } = await importDist('jit/index.js')
  let next = 0
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => { body += c })
    req.on('end', () => {
      if (req.url === '/v1/models') { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ data: [{ id: 'bench' }] })); return }
      const content = JSON.stringify({ explanation: 'area, installed on the prototype', code: installCode(`m${next++}`) })
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ model: 'bench', choices: [{ message: { role: 'assistant', content }, finish_reason: 'stop' }], usage: { prompt_tokens: 100, completion_tokens: 20 } }))
    })
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${server.address().port}`
  const { image, realm } = await openImage(new MemoryLevel({ keyEncoding: 'utf8', valueEncoding: 'view' }))
  const jit = setUpJit(image, realm, { url, model: 'bench' })
  try {
    await jit.run('prototypes.Rect = new UvmObject(); prototypes.Rect.width = 3; prototypes.Rect.height = 4; root.r = prototypes.Rect.clone()', {}, {})
    let base = 0
    const cycle = async () => {
      const sel = `m${next}`
      const r = await jit.run(`return root.r.${sel}()`, {}, {})
      if (r.value !== 12 || r.cycles.length !== 1) throw new Error(`cycle ${sel} answered ${JSON.stringify(r.value)}`)
    }
    const plain = async () => {
      const sel = `b${base++}`
      await runAct(image, realm, installCode(sel))
      const r = await runAct(image, realm, `return root.r.${sel}()`)
      if (r.value !== 12) throw new Error('baseline failed')
    }
    const http = async () => {
      const res = await fetch(`${url}/v1/models`)
      await res.text()
    }
    // Warm up, then rounds in turn (so load from elsewhere hits all three alike).
    for (let i = 0; i < 50; i++) { await cycle(); await plain(); await http() }
    const per = { cycle: [], plain: [], http: [] }
    const N = 40
    for (let round = 0; round < 15; round++) {
      gc()
      for (const [name, fn] of [['cycle', cycle], ['plain', plain], ['http', http]]) {
        const t0 = process.hrtime.bigint()
        for (let i = 0; i < N; i++) await fn()
        per[name].push(Number(process.hrtime.bigint() - t0) / N)
      }
    }
    const c = median(per.cycle), p = median(per.plain), h = median(per.http)
    const ratios = per.cycle.map((v, i) => per.plain[i] / v)
    const ratio = median(ratios)
    log(`${B}: cycle ${fmtNs(c)}, act+send ${fmtNs(p)}, HTTP round trip ${fmtNs(h)}`)
    return [
      row(B, 'whole JIT cycle (DNU → prompt → HTTP → zod → install act → re-send)', fmtNs(c), `${fmtNs(p)} run_act of the same code + a send`, ratio, '≥ 0.33× (≤ 3× the act)', meets(ratio, 1 / 3),
        `of which the loopback HTTP round trip alone is ${fmtNs(h)}; the rest is the aborted first run of the sender's act, the prompt, the answer check and the provenance record (${((c - p - h) / 1000).toFixed(0)} µs)`),
    ]
  } finally {
    jit.stop()
    await image.close()
    server.close()
  }
}

await runAlone(import.meta.url, run)
export { run }
