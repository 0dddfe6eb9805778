// Acts: the cost of running an act through runAct, against a raw node:vm entry measured in the same run.
//
//   node --expose-gc bench/act.mjs      (after `npm run build`)
//
// Baseline ("raw vm"): a precompiled `vm.Script` run in a reused context with
// `runInContext(ctx, { timeout: 1000 })`: the least any timed entry into a
// sandbox costs (node starts its watchdog for every such call). An act is one
// such entry plus everything around it.
//
//  - read-only trivial acts through runAct on a memory image: `return 1`, and
//    `return genesis.prototypes` (three graph reads, a proxy result) against
//    raw scripts `1` and `g.prototypes`. Target ≥ 0.5× the raw rate.
//  - the transaction's cost, separately:
//      realm.runAct alone (no image: no syntax pre-check, transaction, bindings,
//      result hand-over or commit) vs raw vm;
//      runAct read-only vs realm.runAct alone (what the transaction and the act
//      plumbing add);
//      runAct with one write + commit vs runAct read-only, on a memory image,
//      on a non-durable classic-level image and on a durable (fsync) one.
//
// Every variant runs sequentially (each act awaited before the next starts).
// Variants take turns in chunks of ~5 ms within each round; a ratio is the
// median of the per-round ratios of the two figures it compares, so drift and
// load from other processes hit both sides alike.
import { MemoryLevel } from 'memory-level'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import vm from 'node:vm'
import { blackhole, fmtNs, fmtRate, gc, importDist, median, meets, row, runAlone, tempDir } from './lib.mjs'

const B = 'act'
const WRITE_ACT = 'const c = root.actBench\nc.n = c.n + 1\nreturn c.n'

/** Choose n so that `fn`, awaited n times, takes about `ms`. */
async function calibrate(fn, ms) {
  let n = 4
  for (;;) {
    const t0 = performance.now()
    for (let i = 0; i < n; i++) blackhole(await fn())
    const dt = performance.now() - t0
    if (dt >= ms / 2 || n >= 1 << 20) return Math.max(4, Math.round(n * ms / Math.max(dt, 0.001)))
    n *= 2
  }
}

async function chunk(fn, n, sync) {
  const t0 = process.hrtime.bigint()
  if (sync) for (let i = 0; i < n; i++) blackhole(fn())
  else for (let i = 0; i < n; i++) blackhole(await fn())
  return Number(process.hrtime.bigint() - t0)
}

const rate = (ns) => 1e9 / ns
const shown = (ns) => `${fmtRate(rate(ns), 'act/s')} (${fmtNs(ns)})`

/**
 * Rounds of `sampleMs` per variant. Within a round the variants take turns in
 * chunks of about `CHUNK_MS` (each sized by calibration), so a burst of load
 * from elsewhere on the machine hits every variant alike; one round gives each
 * variant one figure (its time over its iterations in that round).
 */
const CHUNK_MS = 5
async function measure(variants, rounds, sampleMs, log, label) {
  const vs = Object.values(variants)
  for (const v of vs) {
    for (let i = 0; i < 200; i++) blackhole(await v.fn())
    // Median of three sizings: one sizing alone is at the mercy of a burst of load elsewhere.
    v.n = median([await calibrate(v.fn, (v.weight ?? 1) * CHUNK_MS), await calibrate(v.fn, (v.weight ?? 1) * CHUNK_MS), await calibrate(v.fn, (v.weight ?? 1) * CHUNK_MS)])
    v.ns = []
  }
  const turns = Math.max(1, Math.round(sampleMs / CHUNK_MS))
  log(`${B}: ${label} (load average ${loadavg()[0].toFixed(2)}): ${rounds} rounds × ${turns} turns × ${vs.length} variants (${Object.entries(variants).map(([k, v]) => `${k} ${v.n}`).join(', ')} per turn)…`)
  for (let r = 0; r < rounds; r++) {
    gc()
    const total = vs.map(() => 0)
    for (let t = 0; t < turns; t++) {
      for (let i = 0; i < vs.length; i++) total[i] += await chunk(vs[i].fn, vs[i].n, vs[i].sync === true)
    }
    vs.forEach((v, i) => v.ns.push(total[i] / (turns * v.n)))
  }
}

export async function run({ realm, log = () => {}, rounds = 9, sampleMs = 80 } = {}) {
  const { Image } = await importDist('image/index.js')
  const { runAct } = await importDist('act/run.js')
  const dir = await tempDir('uvm-bench-act-')
  const opened = []
  const rows = []
  try {
    const open = async (location, durable) => {
      const r = realm.make()
      const image = await Image.open(location, { realm: r, durable })
      opened.push(image)
      await runAct(image, r, 'root.actBench = new UvmObject()\nroot.actBench.n = 0')
      return { image, realm: r }
    }
    const mem = await open(new MemoryLevel({ keyEncoding: 'utf8', valueEncoding: 'view' }), false)

    // Phase 1, read-only (no LevelDB image open yet: its background threads would share the cores).
    // Raw baselines: precompiled scripts in one reused context.
    const ctx = vm.createContext({ g: { prototypes: {} } })
    const rawOne = new vm.Script('1')
    const rawRead = new vm.Script('g.prototypes')
    const timed = { timeout: 1000 }
    const read = {
      rawOne: { sync: true, fn: () => rawOne.runInContext(ctx, timed) },
      rawRead: { sync: true, fn: () => rawRead.runInContext(ctx, timed) },
      realmOne: { fn: () => mem.realm.runAct('return 1', {}) },
      actOne: { fn: async () => (await runAct(mem.image, mem.realm, 'return 1')).value },
      // (not the proxy itself to blackhole: Number(proxy) would send printString)
      actRead: { fn: async () => (await runAct(mem.image, mem.realm, 'return genesis.prototypes')).value === undefined ? 0 : 1 },
    }
    await measure(read, rounds, sampleMs, log, 'read-only acts')

    // Phase 2, writes: one slot write + commit per act, against read-only acts in the same rounds.
    const lazy = await open(join(dir.path, 'lazy.db'), false)
    const durable = await open(join(dir.path, 'durable.db'), true)
    const write = {
      actOne: { fn: read.actOne.fn },
      writeMem: { fn: async () => (await runAct(mem.image, mem.realm, WRITE_ACT)).value },
      writeLazy: { fn: async () => (await runAct(lazy.image, lazy.realm, WRITE_ACT)).value },
      writeDurable: { weight: 2, fn: async () => (await runAct(durable.image, durable.realm, WRITE_ACT)).value },
    }
    await measure(write, rounds, sampleMs, log, 'writing acts')
    for (const { image } of [mem, lazy, durable]) if (image.lastTid < 10) throw new Error('act bench: the write acts committed nothing')

    const ns = (vs, k) => median(vs[k].ns)
    /** Median of per-round ratios `base time / k time` (= k throughput / base throughput). */
    const ratio = (vs, k, base) => median(vs[k].ns.map((x, i) => vs[base].ns[i] / x))
    const over = (vs, k, base) => {
      const d = median(vs[k].ns.map((x, i) => x - vs[base].ns[i]))
      return d < 0 ? `−${fmtNs(-d)} (less)` : fmtNs(d)
    }

    const r1 = ratio(read, 'actOne', 'rawOne')
    rows.push(row(B, "runAct 'return 1', read-only, memory image", shown(ns(read, 'actOne')), `${shown(ns(read, 'rawOne'))} raw vm runInContext(timeout) of script '1'`, r1, '≥ 0.50×', meets(r1, 0.5),
      `per act ${over(read, 'actOne', 'rawOne')} above the raw entry`))
    const r2 = ratio(read, 'actRead', 'rawRead')
    rows.push(row(B, "runAct 'return genesis.prototypes', read-only, memory image", shown(ns(read, 'actRead')), `${shown(ns(read, 'rawRead'))} raw vm of script 'g.prototypes'`, r2, '≥ 0.50×', meets(r2, 0.5),
      `3 graph reads through proxies and a proxy result; per act ${over(read, 'actRead', 'rawRead')} above the raw entry`))
    rows.push(row(B, "realm.runAct 'return 1' alone (no image, no transaction)", shown(ns(read, 'realmOne')), `${shown(ns(read, 'rawOne'))} raw vm`, ratio(read, 'realmOne', 'rawOne'), '', undefined,
      'one timed entry per act plus the act promise, its wall-clock timer and the hand-over of the result'))
    rows.push(row(B, "transaction cost: runAct read-only vs realm.runAct alone ('return 1')", shown(ns(read, 'actOne')), `${shown(ns(read, 'realmOne'))} realm.runAct alone`, ratio(read, 'actOne', 'realmOne'), '', undefined,
      `runAct adds ${over(read, 'actOne', 'realmOne')} per act: syntax pre-check (cached per text), begin, bindings (3 proxies, UvmObject), print sink, commit of an empty write set`))
    const base = `runAct read-only (${fmtNs(ns(write, 'actOne'))} in these rounds)`
    rows.push(row(B, 'transaction cost: runAct write + commit, memory-level (non-durable)', shown(ns(write, 'writeMem')), base, ratio(write, 'writeMem', 'actOne'), '', undefined,
      `one slot write + commit adds ${over(write, 'writeMem', 'actOne')} per act`))
    rows.push(row(B, 'transaction cost: runAct write + commit, classic-level, durable: false', shown(ns(write, 'writeLazy')), base, ratio(write, 'writeLazy', 'actOne'), '', undefined,
      `adds ${over(write, 'writeLazy', 'actOne')} per act (LevelDB batch write, no fsync)`))
    rows.push(row(B, 'transaction cost: runAct write + commit, classic-level, durable (fsync)', shown(ns(write, 'writeDurable')), base, ratio(write, 'writeDurable', 'actOne'), '', undefined,
      `adds ${over(write, 'writeDurable', 'actOne')} per act (sync batch write: the fsync dominates)`))
  } finally {
    for (const image of opened) await image.close()
    await dir.cleanup()
  }
  return rows
}

await runAlone(import.meta.url, run)
