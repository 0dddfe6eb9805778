// The `uvm` command end to end, as a person runs it: a fresh `node dist/cli/main.js` each time.
//
//   node bench/cli.mjs      (after `npm run build`)
//
// Limit, measured in the same run: `node -e 0`, the time Node itself takes to start and exit. Rows:
//  - `uvm --help`: nothing but the command list should load (no image, no ZeroMQ, no realm).
//    Target ≥ 0.5× (at most twice Node's own start).
//  - `uvm ping` against a live daemon (started here, on a fresh image, on loopback): start, load
//    ZeroMQ, one round trip, exit. Target ≥ 0.2× (at most five times Node's own start).
//  - `uvm ping` where nothing listens: the probe's answer. Informational; the bound is the issue's
//    "a second or less on loopback" (the note says whether it held).
// Runs alternate with `node -e 0`; each figure is the median.
import { spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { DIST, fmtMs, median, meets, row, runAlone, tempDir } from './lib.mjs'

const B = 'cli'
const MAIN = join(DIST, 'cli', 'main.js')
const RUNS = Number(process.env.UVM_BENCH_CLI_RUNS) || 15
const env = { ...process.env, NO_COLOR: '1' }
for (const k of Object.keys(env)) if (k.startsWith('UVM_')) delete env[k]

function timed(args) {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8', timeout: 30_000 })
  const ms = performance.now() - t0
  return { ms, code: r.status, out: r.stdout, err: r.stderr }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)) })
  })
}

async function startDaemon(image) {
  const bind = `tcp://127.0.0.1:${await freePort()}`
  const pub = `tcp://127.0.0.1:${await freePort()}`
  const child = spawn(process.execPath, [MAIN, 'boot', '--image', image, '--bind', bind, '--pub', pub, '--quiet'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the daemon did not start: ${out}`)), 30_000)
    const read = (d) => { out += d; if (out.includes(' ready: ')) { clearTimeout(timer); resolve() } }
    child.stdout.on('data', read)
    child.stderr.on('data', read)
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`the daemon exited (${code}): ${out}`)) })
  })
  return { bind, stop: () => new Promise((r) => { child.removeAllListeners('exit'); child.once('exit', r); child.kill('SIGTERM') }) }
}

/** Medians of `node -e 0` and each command, runs interleaved. */
function interleaved(commands) {
  const base = []
  const times = commands.map(() => [])
  for (let i = 0; i < RUNS; i++) {
    base.push(timed(['-e', '0']).ms)
    commands.forEach((args, k) => {
      const r = timed([MAIN, ...args.args])
      if (!args.ok(r)) throw new Error(`uvm ${args.args.join(' ')}: exit ${r.code}: ${r.err}`)
      times[k].push(r.ms)
    })
  }
  return { base: median(base), medians: times.map(median) }
}

export async function run({ log }) {
  const dir = await tempDir()
  const d = await startDaemon(join(dir.path, 'image.db'))
  const nowhere = `tcp://127.0.0.1:${await freePort()}`
  try {
    // Warm the page cache and the daemon once.
    timed([MAIN, '--help'])
    timed([MAIN, 'ping', '--connect', d.bind])
    log(`  ${RUNS} runs of each, interleaved with node -e 0`)
    const { base, medians: [help, ping, missing] } = interleaved([
      { args: ['--help'], ok: (r) => r.code === 0 },
      { args: ['ping', '--connect', d.bind], ok: (r) => r.code === 0 && r.out.startsWith('pong: ') },
      { args: ['ping', '--connect', nowhere, '--timeout', '60000'], ok: (r) => r.code === 1 && r.err.includes('nothing listening') },
    ])
    const limit = `${fmtMs(base)} (node -e 0)`
    return [
      row(B, 'uvm --help, end to end', fmtMs(help), limit, base / help, '≥ 0.50×', meets(base / help, 0.5)),
      row(B, 'uvm ping to a live daemon, end to end', fmtMs(ping), limit, base / ping, '≥ 0.20×', meets(base / ping, 0.2)),
      row(B, 'uvm ping where nothing listens', fmtMs(missing), limit, base / missing, '', undefined, `the issue's bound is 1 s on loopback: ${missing <= 1000 ? 'held' : 'MISSED'}`),
    ]
  } finally {
    await d.stop()
    await dir.cleanup()
  }
}

await runAlone(import.meta.url, run)
