// Runs every benchmark and prints one summary table.
//
//   npm run bench          (= npm run build && node --expose-gc bench/run.mjs)
//   node --expose-gc bench/run.mjs dispatch commit     (a subset)
//
// Figures are only as quiet as the machine: the start line prints the load average
// (other processes on 2 cores move every figure here).
//
// Each bench file runs in its own child process (so JIT feedback, heap and
// native handles of one do not colour the next) and reports its rows as JSON.
// Missed targets are reported, never turned into a non-zero exit code; only a
// bench that crashes makes this script exit non-zero.
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadRealm, row, table } from './lib.mjs'

// Every bench/*.mjs except the helpers (lib, run, *-child, _*), the four first.
const FIRST = ['dispatch', 'commit', 'load', 'open']
const found = readdirSync(dirname(fileURLToPath(import.meta.url)))
  .filter((f) => f.endsWith('.mjs') && !f.startsWith('_') && !f.endsWith('-child.mjs') && f !== 'lib.mjs' && f !== 'run.mjs')
  .map((f) => f.slice(0, -4))
const BENCHES = [...FIRST.filter((b) => found.includes(b)), ...found.filter((b) => !FIRST.includes(b)).sort()]

function runChild(name) {
  return new Promise((resolve) => {
    const file = fileURLToPath(new URL(`./${name}.mjs`, import.meta.url))
    const child = spawn(process.execPath, ['--expose-gc', file], {
      env: { ...process.env, UVM_BENCH_JSON: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.on('exit', (code, signal) => {
      const line = out.split('\n').find((l) => l.startsWith('@@ROWS '))
      if (code === 0 && line) resolve({ ok: true, rows: JSON.parse(line.slice(7)) })
      else resolve({ ok: false, rows: [row(name, 'FAILED', `exit ${code ?? signal}`, '', undefined, '', false, out.trim().slice(-500))] })
    })
  })
}

const wanted = process.argv.slice(2).filter((a) => BENCHES.includes(a))
const names = wanted.length ? wanted : BENCHES
const realm = await loadRealm()
const t0 = performance.now()
console.log(`UVM benchmarks — node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg()[0].toFixed(2)} at start, realm: ${realm.name}`)
console.log('ratio = measured throughput / limit throughput (higher is better) unless the target column says otherwise\n')

const all = []
let failed = false
for (const name of names) {
  const t = performance.now()
  console.error(`── ${name} ──`)
  const res = await runChild(name)
  if (!res.ok) failed = true
  all.push(...res.rows)
  console.error(`   ${name} done in ${((performance.now() - t) / 1000).toFixed(1)} s\n`)
}

console.log(table(all))
const met = all.filter((r) => r.met === true).length
const missed = all.filter((r) => r.met === false).length
console.log(`\n${met} targets met, ${missed} missed, ${all.filter((r) => r.met === undefined).length} informational rows; total ${((performance.now() - t0) / 1000).toFixed(1)} s`)
process.exitCode = failed ? 1 : 0
