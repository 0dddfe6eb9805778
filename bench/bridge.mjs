// The Synaptic Bridge: round trips per second over real loopback sockets, against
// limits measured in the same run.
//
//   node --expose-gc bench/bridge.mjs      (after `npm run build`)
//
//  - `ping` vs a raw zeromq.js ROUTER echo of the same frames (no decoding, no
//    validation, no handler): sequential round trips and 100 in flight per client,
//    with 1 and 4 clients (DEALERs). Target: ≥ 0.5× the raw echo.
//  - `update_property` on a durable classic-level image (each client writes a small
//    value into its own object, so nothing conflicts) vs the image's own durable
//    group-commit rate: 4 concurrent writers committing the same small change
//    directly through image.transact on the same image. Target with 4 clients:
//    ≥ 0.8× that rate. The 1-client rows are shown beside the 1-writer rate.
//
// The server side (raw echo, BridgeServer, image) runs in this process; the clients
// run in a child process of their own (each pipelined client has separate send and
// receive loops), so client and server do not share an event loop. Rounds alternate
// the order of the two sides; each figure is the median over rounds.
import { fork } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as zmq from 'zeromq'
import { Packr } from 'msgpackr'
import { fmtRate, gc, importDist, median, meets, row, runAlone, tempDir } from './lib.mjs'

const B = 'bridge'
const LOOPBACK = 'tcp://127.0.0.1:0'
const packr = new Packr({ useRecords: false })

// ------------------------------------------------------------------ the client process

/**
 * One job: `clients` DEALERs, each doing `count` round trips of its frames, sequentially
 * (inflight 1) or with `inflight` requests outstanding (separate send and receive loops).
 * Answers { ms, replies, errors }.
 */
async function clientJob({ endpoint, clients, inflight, count, frames }) {
  const socks = Array.from({ length: clients }, () => {
    const s = new zmq.Dealer({ linger: 0, sendHighWaterMark: 0, receiveHighWaterMark: 0 })
    s.connect(endpoint)
    return s
  })
  const bodies = frames.map((perClient) => perClient.map((b) => Buffer.from(b, 'base64')))
  let errors = 0
  const check = (frame) => {
    // the same work for the echo and the bridge: decode the reply, look at one field
    const v = packr.unpack(frame)
    if (v.event === 'error') errors++
  }
  // connect and warm each socket with one round trip
  await Promise.all(socks.map(async (s, k) => { await s.send(bodies[k][0]); check((await s.receive())[0]) }))
  const t0 = performance.now()
  await Promise.all(socks.map(async (s, k) => {
    const mine = bodies[k]
    if (inflight <= 1) {
      for (let i = 0; i < count; i++) {
        await s.send(mine[i % mine.length])
        check((await s.receive())[0])
      }
      return
    }
    let received = 0
    let wake
    const receiving = (async () => {
      while (received < count) {
        const [frame] = await s.receive()
        received++
        check(frame)
        if (wake) { const w = wake; wake = undefined; w() }
      }
    })()
    for (let sent = 0; sent < count; sent++) {
      while (sent - received >= inflight) await new Promise((r) => { wake = r })
      await s.send(mine[sent % mine.length])
    }
    await receiving
  }))
  const ms = performance.now() - t0
  for (const s of socks) s.close()
  return { ms, replies: clients * count, errors }
}

if (process.env.UVM_BRIDGE_BENCH_CLIENT === '1') {
  process.on('message', async (job) => {
    try {
      process.send({ ok: true, result: await clientJob(job) })
    } catch (e) {
      process.send({ ok: false, error: String(e?.stack ?? e) })
    }
  })
}

/** The client process: run(job) → { ms, replies, errors }. */
function clientProcess() {
  const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, UVM_BRIDGE_BENCH_CLIENT: '1' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  let pending
  child.on('message', (m) => { const p = pending; pending = undefined; m.ok ? p?.resolve(m.result) : p?.reject(new Error(m.error)) })
  child.on('exit', (code) => { pending?.reject(new Error(`bench client process exited (${code})`)) })
  return {
    run: (job) => new Promise((resolve, reject) => { pending = { resolve, reject }; child.send(job) }),
    close: () => child.kill(),
  }
}

// ------------------------------------------------------------------ the server side

/** A raw ROUTER that sends every message straight back: the floor under any ZeroMQ request/reply server. */
async function rawEcho() {
  const router = new zmq.Router({ linger: 0, sendHighWaterMark: 0, receiveHighWaterMark: 0 })
  await router.bind(LOOPBACK)
  const loop = (async () => {
    try {
      for (;;) await router.send(await router.receive())
    } catch { /* closed */ }
  })()
  return { endpoint: router.lastEndpoint, close: async () => { router.close(); await loop } }
}

const b64 = (v) => packr.pack(v).toString('base64')

export async function run({ realm, log = () => {}, rounds = 7 } = {}) {
  const { Image } = await importDist('image/index.js')
  const { BridgeServer } = await importDist('bridge/index.js')
  const dir = await tempDir('uvm-bench-bridge-')
  const rows = []
  const client = clientProcess()
  let image, server, echo
  try {
    const r = realm.make()
    image = await Image.open(join(dir.path, 'image.db'), { realm: r, durable: true })
    // 4 objects for the bridge's writers, 4 for the direct writers: small changes, no conflicts
    const oids = await image.transact((tx) => {
      const P = tx.genesis.prototypes
      const mk = (name) => { const o = P.clone(); o.x = 0; P[name] = o; return tx.objectOf(o).oid }
      return { bridge: [0, 1, 2, 3].map((k) => mk(`BridgeBench${k}`)), direct: [0, 1, 2, 3].map((k) => mk(`DirectBench${k}`)) }
    }).then((x) => x.value)
    server = await BridgeServer.start(image, r, { bind: LOOPBACK, pub: LOOPBACK })
    echo = await rawEcho()

    const pingFrames = (clients) => Array.from({ length: clients }, (_, k) => [b64({ command: 'ping', id: k })])
    const updateFrames = (clients) => Array.from({ length: clients }, (_, k) =>
      Array.from({ length: 16 }, (_, i) => b64({ command: 'update_property', id: i, target: { $ref: oids.bridge[k] }, property_name: 'x', property_value: i })))

    // ------------------------------------------------------------ ping vs raw echo
    const PING = [
      { name: 'sequential, 1 client', clients: 1, inflight: 1, count: 4000 },
      { name: '100 in flight, 1 client', clients: 1, inflight: 100, count: 20_000 },
      { name: 'sequential, 4 clients', clients: 4, inflight: 1, count: 2000 },
      { name: '100 in flight per client, 4 clients', clients: 4, inflight: 100, count: 8000 },
    ]
    const rate = (res) => res.replies / res.ms * 1000
    let rawRttMs // one raw echo round trip, sequential, 1 client
    for (const cfg of PING) {
      const frames = pingFrames(cfg.clients)
      const job = (endpoint) => ({ endpoint, clients: cfg.clients, inflight: cfg.inflight, count: cfg.count, frames })
      await client.run({ ...job(echo.endpoint), count: Math.ceil(cfg.count / 4) }) // warm
      await client.run({ ...job(server.endpoint), count: Math.ceil(cfg.count / 4) })
      const raw = [], ping = [], ratio = []
      log(`${B}: ping, ${cfg.name}: ${rounds} rounds…`)
      for (let i = 0; i < rounds; i++) {
        gc()
        let a, b
        if (i % 2 === 0) { a = await client.run(job(echo.endpoint)); b = await client.run(job(server.endpoint)) } else { b = await client.run(job(server.endpoint)); a = await client.run(job(echo.endpoint)) }
        if (b.errors > 0) throw new Error(`bridge bench: ${b.errors} error replies to ping`)
        raw.push(rate(a)); ping.push(rate(b)); ratio.push(rate(b) / rate(a))
      }
      const rt = median(ratio)
      if (cfg.clients === 1 && cfg.inflight === 1) rawRttMs = 1000 / median(raw)
      rows.push(row(B, `ping round trips, ${cfg.name}`, fmtRate(median(ping), 'rt/s'), `${fmtRate(median(raw), 'rt/s')} raw zeromq.js ROUTER echo`, rt, '≥ 0.50×', meets(rt, 0.5),
        `median of per-round ratios [${ratio.map((x) => x.toFixed(2)).join(', ')}]`))
    }

    // ------------------------------------------------------------ update_property vs durable group commit
    let counter = 0
    /** `writers` concurrent writers, `perWriter` commits each; answers the number of commits. */
    const directRound = async (writers, perWriter) => {
      await Promise.all(oids.direct.slice(0, writers).map(async (oid) => {
        for (let i = 0; i < perWriter; i++) {
          await image.transact((tx) => { tx.proxy(image.handle(oid)).x = ++counter }, { retries: 0 })
        }
      }))
      return writers * perWriter
    }
    const PAIRS = 3
    // count batches (one fsync each) to report group sizes
    const store = image.store
    let batches = 0
    store.write = function (ops, sync) { batches++; return Object.getPrototypeOf(store).write.call(store, ops, sync) }
    const UPDATE = [
      { name: 'sequential, 1 client', clients: 1, inflight: 1, count: 100, writers: 1 },
      { name: '100 in flight, 1 client', clients: 1, inflight: 100, count: 300, writers: 1 },
      { name: 'sequential, 4 clients', clients: 4, inflight: 1, count: 60, writers: 4, target: 0.8 },
      { name: '100 in flight per client, 4 clients', clients: 4, inflight: 100, count: 300, writers: 4, target: 0.8 },
    ]
    for (const cfg of UPDATE) {
      const frames = updateFrames(cfg.clients)
      const job = { endpoint: server.endpoint, clients: cfg.clients, inflight: cfg.inflight, count: cfg.count, frames }
      await client.run({ ...job, count: 20 }) // warm
      await directRound(cfg.writers, 20)
      await client.run({ ...job, count: 20 })
      const direct = [], bridge = [], ratio = [], groups = []
      log(`${B}: update_property, ${cfg.name}: ${rounds} rounds of ${PAIRS} direct/bridge pairs (durable commits)…`)
      for (let i = 0; i < rounds; i++) {
        gc()
        // fsync latency on a shared VM swings within a second: alternate short runs of each side
        let dMs = 0, dN = 0, bMs = 0, bN = 0, dB = 0, bB = 0
        for (let p = 0; p < PAIRS; p++) {
          const bridgeRun = async () => {
            const before = batches
            const b = await client.run(job)
            if (b.errors > 0) throw new Error(`bridge bench: ${b.errors} error replies to update_property`)
            bMs += b.ms; bN += b.replies; bB += (batches - before) * b.replies / (b.replies + cfg.clients) // the job's first round trip per client (connecting) commits too
          }
          const directRun = async () => {
            const before = batches
            const t0 = performance.now()
            dN += await directRound(cfg.writers, cfg.count)
            dMs += performance.now() - t0; dB += batches - before
          }
          if ((i + p) % 2 === 0) { await directRun(); await bridgeRun() } else { await bridgeRun(); await directRun() }
        }
        const d = dN / dMs * 1000, b = bN / bMs * 1000
        direct.push(d); bridge.push(b); ratio.push(b / d)
        groups.push([dN / dB, bN / bB])
      }
      const rt = median(ratio)
      // With one request in flight, a client's every commit also waits for its own round trip, which the
      // direct writers never pay: each client's cycle is at least c + rtt where the direct writer's is c.
      const commitMs = 1000 / median(direct) * cfg.writers
      const ceiling = cfg.inflight === 1 && rawRttMs !== undefined
        ? `; ceiling with 1 request in flight per client: c / (c + rtt) = ${commitMs.toFixed(3)} / (${commitMs.toFixed(3)} + ${rawRttMs.toFixed(3)}) ms = ${(commitMs / (commitMs + rawRttMs)).toFixed(2)}× (c: durable commit per writer here, rtt: raw echo round trip in this run), lower still when the clients' commits do not land in the same batch`
        : ''
      const limit = `${fmtRate(median(direct), 'commit/s')} ${cfg.writers === 4 ? '4 concurrent writers (group commit)' : '1 writer, sequential'}, image.transact, durable`
      rows.push(row(B, `update_property round trips, ${cfg.name}`, fmtRate(median(bridge), 'rt/s'), limit, rt, cfg.target ? `≥ ${cfg.target.toFixed(2)}×` : '', cfg.target ? meets(rt, cfg.target) : undefined,
        `each client writes its own object; median of per-round ratios [${ratio.map((x) => x.toFixed(2)).join(', ')}]; ` +
        `commits per fsync: direct ${median(groups.map((g) => g[0])).toFixed(2)}, bridge ${median(groups.map((g) => g[1])).toFixed(2)}; ` +
        `durable commit cost here: ${commitMs.toFixed(2)} ms of wall time per writer per commit${ceiling}`))
    }
    delete store.write
    // the writes all landed
    const tx = image.begin()
    for (const oid of oids.bridge) if (typeof tx.proxy(image.handle(oid)).x !== 'number') throw new Error('bridge bench: a client\'s writes are missing')
    tx.abort()
  } finally {
    client.close()
    await echo?.close()
    await server?.stop()
    await image?.close()
    await dir.cleanup()
  }
  return rows
}

if (process.env.UVM_BRIDGE_BENCH_CLIENT !== '1') await runAlone(import.meta.url, run)
