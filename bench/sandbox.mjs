// Containment (issue 13): what the execution unit costs, against the in-process design it
// replaced, measured in the same run.
//
//   node --expose-gc bench/sandbox.mjs      (after `npm run build`)
//
//  - bridge round trips, sequential, 1 client, over real loopback sockets: ping, send_message of a
//    method, run_act 'return 1', a 10-slot act. In-process (BridgeServer over this process's image,
//    the old design) vs the daemon's execution unit (a child process behind the bridge): the
//    difference is the IPC hop. The raw zeromq.js echo is the floor under both.
//  - the candidates' hop: one round trip of a small message to a worker thread (postMessage) and to
//    a child process (IPC, 'advanced' serialization), and, for isolated-vm, one call across the
//    isolate boundary (what every slot read of act code would cost if acts ran in an isolate and
//    the image stayed outside), when isolated-vm is installed (it needs a native build).
//  - what the candidates survive: a worker with resourceLimits running `new Array(1e8).fill(1.5)`
//    (does the process live?), and the execution unit doing the same (answered, then serving?).
//
// In-act figures (a method send from host code, obj.m(i) inside an act) do not change with the
// unit: the unit runs the same realm and kernel. They are in bench/dispatch.mjs.
import { spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import * as zmq from 'zeromq'
import { Packr } from 'msgpackr'
import { fmtNs, importDist, median, row, runAlone, tempDir } from './lib.mjs'

const B = 'sandbox'
const LOOPBACK = 'tcp://127.0.0.1:0'
const packr = new Packr({ useRecords: false })

async function roundTrips(endpoint, frame, count) {
  const s = new zmq.Dealer({ linger: 0 })
  s.connect(endpoint)
  try {
    await s.send(frame); await s.receive()
    for (let i = 0; i < 50; i++) { await s.send(frame); await s.receive() }
    const t0 = performance.now()
    for (let i = 0; i < count; i++) {
      await s.send(frame)
      const [reply] = await s.receive()
      if (packr.unpack(reply).event === 'error') throw new Error(`sandbox bench: error reply ${JSON.stringify(packr.unpack(reply)).slice(0, 200)}`)
    }
    return (performance.now() - t0) / count * 1e6 // ns per round trip
  } finally { s.close() }
}

async function rawEcho() {
  const router = new zmq.Router({ linger: 0 })
  await router.bind(LOOPBACK)
  const loop = (async () => { try { for (;;) await router.send(await router.receive()) } catch { /* closed */ } })()
  return { endpoint: router.lastEndpoint, close: async () => { router.close(); await loop } }
}

const WORKER_ECHO = `const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m))`
const CHILD_ECHO = `process.on('message', (m) => process.send(m))`

async function hop(send, onMessage, count) {
  let resolve
  onMessage(() => resolve())
  const once = () => new Promise((r) => { resolve = r; send({ t: 'req', n: 1, cmd: { command: 'ping' } }) })
  for (let i = 0; i < 200; i++) await once()
  const t0 = performance.now()
  for (let i = 0; i < count; i++) await once()
  return (performance.now() - t0) / count * 1e6
}

async function ivmCrossing() {
  let ivm
  try { ivm = (await import('isolated-vm')).default } catch { return undefined }
  const isolate = new ivm.Isolate({ memoryLimit: 64 })
  const context = isolate.createContextSync()
  const ref = new ivm.Reference((k) => k.length)
  context.global.setSync('read', ref)
  const n = 20000
  const script = isolate.compileScriptSync(`(() => { let s = 0; for (let i = 0; i < ${n}; i++) s += read.applySync(undefined, ['x']); return s })()`)
  script.runSync(context)
  const t0 = performance.now()
  script.runSync(context)
  return (performance.now() - t0) / n * 1e6
}

/** Does a process survive a worker with resourceLimits running the long native allocation? */
function workerSurvives() {
  const src = `const { Worker } = require('node:worker_threads')
    const w = new Worker("require('node:vm').runInNewContext('new Array(1e8).fill(1.5); 1')", { eval: true, resourceLimits: { maxOldGenerationSizeMb: 256 } })
    w.on('error', (e) => { console.log('worker error: ' + e.message); process.exit(0) })
    w.on('exit', (c) => { console.log('worker exit ' + c); process.exit(0) })`
  const t0 = performance.now()
  const r = spawnSync(process.execPath, ['-e', src], { encoding: 'utf8', timeout: 120_000 })
  const ms = performance.now() - t0
  const survived = r.status === 0
  return { survived, ms, what: survived ? r.stdout.trim() : `the whole process died (${r.signal ?? `exit ${r.status}`}: ${/Allocation failed|heap out of memory/.test(r.stderr) ? 'V8 fatal out-of-memory' : r.stderr.trim().split('\n').pop()})` }
}

export async function run({ realm, log = () => {} } = {}) {
  const { Image } = await importDist('image/index.js')
  const { BridgeServer } = await importDist('bridge/index.js')
  const { Daemon } = await importDist('daemon/index.js')
  const dir = await tempDir('uvm-bench-sandbox-')
  const rows = []
  let image, server, daemon, echo
  try {
    image = await Image.open(join(dir.path, 'inproc.db'), { realm: realm.make(), durable: true })
    server = await BridgeServer.start(image, image.kernel.realm, { bind: LOOPBACK, pub: LOOPBACK })
    daemon = await Daemon.start({ image: join(dir.path, 'unit.db'), bind: LOOPBACK, pub: LOOPBACK, quiet: true, out: () => {} })
    echo = await rawEcho()
    const setup = packr.pack({ command: 'run_act', code: 'genesis.m = function (x) { return x + 1 }; genesis.t = new UvmObject()' })
    for (const ep of [server.endpoint, daemon.bridge.endpoint]) await roundTrips(ep, setup, 1)
    const FRAMES = [
      ['ping', { command: 'ping' }, 3000],
      ['send_message m(1) (a method, one act, nothing written)', { command: 'send_message', selector: 'm', args: [1] }, 1500],
      ["run_act 'return 1'", { command: 'run_act', code: 'return 1' }, 1500],
      ['a 10-slot act (10 writes, one durable commit)', { command: 'run_act', code: 'const t = genesis.t; for (let i = 0; i < 10; i++) t["s" + i] = i' }, 400],
    ]
    const raw = []
    for (let r = 0; r < 3; r++) raw.push(await roundTrips(echo.endpoint, packr.pack({ command: 'ping' }), 3000))
    const rawNs = median(raw)
    rows.push(row(B, 'raw zeromq.js ROUTER echo, sequential round trip', fmtNs(rawNs), '—', undefined, 'info', undefined, 'the floor under both designs'))
    for (const [name, body, count] of FRAMES) {
      const frame = packr.pack(body)
      const inproc = [], unit = []
      log(`${B}: ${name}…`)
      for (let r = 0; r < 5; r++) {
        // alternate the order: neither design always runs on a warmer machine
        if (r % 2 === 0) { inproc.push(await roundTrips(server.endpoint, frame, count)); unit.push(await roundTrips(daemon.bridge.endpoint, frame, count)) }
        else { unit.push(await roundTrips(daemon.bridge.endpoint, frame, count)); inproc.push(await roundTrips(server.endpoint, frame, count)) }
      }
      const a = median(inproc), u = median(unit)
      rows.push(row(B, `bridge ${name}: execution unit`, fmtNs(u), `${fmtNs(a)} in-process (the old design)`, a / u, 'info', undefined,
        `the unit adds ${fmtNs(u - a)} a round trip (one IPC hop each way); ${(rawNs / u).toFixed(2)}× the raw echo`))
    }
    // the candidates' hops
    const worker = new Worker(WORKER_ECHO, { eval: true })
    const wNs = await hop((m) => worker.postMessage(m), (f) => worker.on('message', f), 5000)
    await worker.terminate()
    const child = spawn(process.execPath, ['-e', CHILD_ECHO], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' })
    const cNs = await hop((m) => child.send(m), (f) => child.on('message', f), 5000)
    child.kill()
    rows.push(row(B, 'hop: worker_threads postMessage round trip', fmtNs(wNs), '—', undefined, 'info', undefined, 'what a worker-based unit would add per request'))
    rows.push(row(B, 'hop: child process IPC round trip (advanced serialization)', fmtNs(cNs), `${fmtNs(wNs)} worker postMessage`, wNs / cNs, 'info', undefined, 'what the chosen unit adds per request'))
    const iv = await ivmCrossing()
    rows.push(row(B, 'hop: isolated-vm call across the isolate boundary (Reference.applySync)', iv === undefined ? 'not installed' : fmtNs(iv), '—', undefined, 'info', undefined,
      iv === undefined ? 'npm install isolated-vm (a native build: npm install-scripts approve isolated-vm) to measure' : 'per slot read or send if act code ran in an isolate and the graph stayed outside: vs ~70 ns for obj.m(i) in the realm today'))
    // what they survive
    log(`${B}: worker survival…`)
    const w = workerSurvives()
    rows.push(row(B, 'survives: worker (resourceLimits 256 MB) running new Array(1e8).fill(1.5)', w.survived ? 'yes' : 'NO', '—', undefined, 'info', undefined, `${w.what}, after ${(w.ms / 1000).toFixed(1)} s`))
    const t0 = performance.now()
    const reply = packr.unpack((await (async () => {
      const s = new zmq.Dealer({ linger: 0 }); s.connect(daemon.bridge.endpoint)
      try { await s.send(packr.pack({ command: 'run_act', code: 'new Array(1e8).fill(1.5); return 1' })); return (await s.receive())[0] } finally { s.close() }
    })()))
    const answeredMs = performance.now() - t0
    const after = await roundTrips(daemon.bridge.endpoint, packr.pack({ command: 'ping' }), 10)
    rows.push(row(B, 'survives: execution unit running new Array(1e8).fill(1.5)', reply.event === 'error' ? `yes: ${reply.error.uvm_code}` : 'answered?', '—', undefined, 'info', undefined,
      `answered in ${(answeredMs / 1000).toFixed(2)} s (CPU limit 1 s + grace 1 s), then ping in ${fmtNs(after)}; restarts so far: ${daemon.unit.restarts}`))
  } finally {
    await echo?.close()
    await server?.stop()
    await image?.close()
    await daemon?.stop()
    await dir.cleanup()
  }
  return rows
}

await runAlone(import.meta.url, run)
