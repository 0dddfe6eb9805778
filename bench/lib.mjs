// Shared helpers for the UVM benchmarks. Plain ESM over ../dist (run `npm run build` first).
//
// Conventions used by every bench file:
//  - every figure is measured in the same run as the limit it chases;
//  - "ratio" is always measured-throughput / limit-throughput (for timings:
//    limit-time / measured-time), so higher is better and the target reads "≥ x";
//    the one exception (open time vs image size) says so in its target column;
//  - each figure is the median of several runs; A/B pairs are interleaved so
//    drift (GC, page cache, thermal) hits both sides alike.
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
export const DIST = join(ROOT, 'dist')

if (!existsSync(join(DIST, 'image', 'index.js'))) {
  console.error('bench: dist/ is missing: run `npm run build` (or `npm run bench`) first')
  process.exit(1)
}

// ---------------------------------------------------------------- the realm

/** The realm methods run in: the HardenedRealm from dist/act/realm.js (src/act/realm.ts). */
export async function loadRealm() {
  const real = join(DIST, 'act', 'realm.js')
  if (!existsSync(real)) {
    console.error('bench: dist/act/realm.js is missing: src/act/realm.ts (HardenedRealm) must be built first')
    process.exit(1)
  }
  const mod = await import(pathToFileURL(real).href)
  const Ctor = mod.HardenedRealm
  if (typeof Ctor !== 'function') throw new Error('dist/act/realm.js does not export HardenedRealm')
  return { name: 'HardenedRealm (dist/act/realm.js)', make: (opts) => new Ctor(opts) }
}

export async function importDist(rel) {
  return import(pathToFileURL(join(DIST, rel)).href)
}

// ---------------------------------------------------------------- statistics

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const n = s.length
  if (n === 0) return NaN
  return n % 2 ? s[(n - 1) >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2
}

/** Median absolute deviation. */
export function mad(xs) {
  const m = median(xs)
  return median(xs.map((x) => Math.abs(x - m)))
}

export const gc = typeof globalThis.gc === 'function' ? globalThis.gc : () => {}

let hole = 0
export function blackhole(x) { hole ^= (Number(x) | 0); return hole }

export const now = () => performance.now()

// ---------------------------------------------------------------- files

export async function tempDir(prefix = 'uvm-bench-') {
  const path = await mkdtemp(join(tmpdir(), prefix))
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) }
}

// ---------------------------------------------------------------- formatting

export function fmtNs(ns) {
  if (!Number.isFinite(ns)) return String(ns)
  if (ns < 1_000) return `${ns.toFixed(ns < 10 ? 2 : 1)} ns`
  if (ns < 1_000_000) return `${(ns / 1e3).toFixed(ns < 1e4 ? 2 : 1)} µs`
  if (ns < 1e9) return `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)} ms`
  return `${(ns / 1e9).toFixed(2)} s`
}

export const fmtMs = (ms) => fmtNs(ms * 1e6)

export function fmtRate(perSec, unit = 'op/s') {
  if (!Number.isFinite(perSec)) return String(perSec)
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(2)} M ${unit}`
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(perSec >= 1e5 ? 0 : 1)} k ${unit}`
  return `${perSec.toFixed(0)} ${unit}`
}

export const fmtRatio = (r) => (!Number.isFinite(r) ? '—' : r >= 0.1 ? `${r.toFixed(2)}×` : `${r.toPrecision(2)}×`)

/**
 * One line of a report.
 *   name      what was measured
 *   measured  the figure, formatted
 *   limit     the baseline it chases, formatted and named ('' when informational)
 *   ratio     number (measured throughput / limit throughput) or undefined
 *   target    e.g. '≥ 0.80×' ('' when informational)
 *   met       true / false / undefined (informational)
 */
export function row(bench, name, measured, limit = '', ratio = undefined, target = '', met = undefined, note = '') {
  return { bench, name, measured, limit, ratio, target, met, note }
}

export function meets(ratio, min) {
  return Number.isFinite(ratio) ? ratio >= min : false
}

function pad(s, w) {
  s = String(s)
  // count code points, not UTF-16 units, so µ and × line up
  const len = [...s].length
  return s + ' '.repeat(Math.max(0, w - len))
}

export function table(rows) {
  const head = ['name', 'measured', 'limit (baseline)', 'ratio', 'target', 'met?']
  const cells = rows.map((r) => [
    `${r.bench ? r.bench + ': ' : ''}${r.name}`,
    r.measured,
    r.limit || '—',
    r.ratio === undefined ? '—' : fmtRatio(r.ratio),
    r.target || 'info',
    r.met === undefined ? '—' : r.met ? 'yes' : 'NO',
  ])
  const widths = head.map((h, i) => Math.max([...h].length, ...cells.map((c) => [...c[i]].length)))
  const line = (c) => '| ' + c.map((x, i) => pad(x, widths[i])).join(' | ') + ' |'
  const sep = '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|'
  const out = [line(head), sep, ...cells.map(line)]
  const notes = rows.filter((r) => r.note).map((r) => `  - ${r.bench ? r.bench + ': ' : ''}${r.name}: ${r.note}`)
  if (notes.length) out.push('', 'notes:', ...notes)
  return out.join('\n')
}

/** True when the module at `url` is the script node was started with. */
export function isMain(url) {
  return process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === url
}

/** Standalone runner for one bench file: run it, print its table. Never exits non-zero for a missed target. */
export async function runAlone(url, run) {
  if (!isMain(url)) return
  const realm = await loadRealm()
  console.log(`realm: ${realm.name}`)
  const t0 = now()
  const json = process.env.UVM_BENCH_JSON === '1'
  const rows = await run({ realm, log: (s) => (json ? console.error(s) : console.log(s)) })
  if (json) { console.log('@@ROWS ' + JSON.stringify(rows)); return }
  console.log('')
  console.log(table(rows))
  console.log(`\n(${((now() - t0) / 1000).toFixed(1)} s)`)
}

// ---------------------------------------------------------------- big images

/**
 * Build an image of `count` small objects at `location` (a folder) in large
 * transactions (`chunk` objects per commit), using the kernel's slot writer
 * directly (the fastest honest way in: same records as any other commit).
 *
 * Shape: root.bulk → bulk {count, c0, c1, …} → chunk {n0 … } → node {k0 … k999} → leaf
 * leaf = {parent*: proto, x: i}; proto = {parent*: traits, y: 1}.
 * root.probe is a method (`this.bulk.count`) for "first send" timings.
 * Returns the number of objects written and the build time.
 */
export async function buildImage(location, count, realm, { chunk = 50_000, fanout = 1000, log = () => {} } = {}) {
  const { Image } = await importDist('image/index.js')
  const { writeSlot, Method } = await importDist('kernel/index.js')
  const t0 = now()
  const image = await Image.open(location, { realm: realm.make(), durable: true })
  let objects = 0
  try {
    let tx = image.begin({ description: 'bench: build' })
    const bulk = tx.create()
    const proto = tx.create()
    writeSlot(tx, proto, 'parent*', image.traits)
    writeSlot(tx, proto, 'y', 1)
    writeSlot(tx, bulk, 'count', count)
    writeSlot(tx, bulk, 'proto', proto)
    writeSlot(tx, image.root, 'bulk', bulk)
    writeSlot(tx, image.root, 'probe', new Method('function () { return this.bulk.count }'))
    await tx.commit()
    objects += 2
    let made = 0
    for (let c = 0; made < count; c++) {
      tx = image.begin({ description: `bench: build chunk ${c}` })
      const ch = tx.create()
      objects++
      writeSlot(tx, bulk, 'c' + c, ch)
      let node
      const n = Math.min(chunk, count - made)
      for (let i = 0; i < n; i++) {
        if (i % fanout === 0) {
          node = tx.create()
          objects++
          writeSlot(tx, ch, 'n' + (i / fanout), node)
        }
        const o = tx.create()
        writeSlot(tx, o, 'parent*', proto)
        writeSlot(tx, o, 'x', made + i)
        writeSlot(tx, node, 'k' + (i % fanout), o)
      }
      made += n
      objects += n
      await tx.commit()
      if (c % 4 === 3) log(`  built ${made.toLocaleString('en')} / ${count.toLocaleString('en')} objects (${((now() - t0) / 1000).toFixed(1)} s)`)
    }
  } finally {
    await image.close()
  }
  return { objects, ms: now() - t0 }
}
