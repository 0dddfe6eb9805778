// Open + first send: does the time to a usable image depend on the image's size?
//
//   node --expose-gc bench/open.mjs      (after `npm run build`)
//   UVM_BENCH_OPEN_SIZE=200000 node --expose-gc bench/open.mjs   (smaller big image)
//
// Two images are built in the same run: SMALL (10k objects) and BIG (1M by
// default, in 50k-object transactions). Timed: Image.open + begin + the first
// send (`tx.send(tx.root, 'probe')`, a method reading root.bulk.count: it loads
// root and bulk, compiles the method and enters the realm once). The realm
// object is created before the timer (its cost does not depend on the image).
//
// After a clean close: interleaved repetitions, medians. Before them each image is
// kept open once until LevelDB has worked off the compaction backlog the bulk build
// left (otherwise every short-lived open restarts the same level-0 compaction on the
// second core); the first, unsettled reopen is reported in the notes.
// After a crash: a child process opens the image and commits small changes in
// a loop; it is SIGKILLed mid-stream, then the reopen + first send is timed
// (LevelDB recovers its write-ahead log). Repeated, interleaved, medians.
//
// "Equal within noise" is judged against the small image's own spread:
// |median(big) − median(small)| ≤ max(3 × MAD(small), 1 ms). (The big image's
// spread is not allowed to widen the bound: a big image that is slow only
// sometimes is not "equal".) The ratio column shows
// time(big) / time(small) here (the one place it is a time ratio: 1× is the goal).
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildImage, fmtMs, gc, importDist, loadRealm, mad, median, row, runAlone, tempDir } from './lib.mjs'

const B = 'open'
const SMALL = 10_000
const BIG = Number(process.env.UVM_BENCH_OPEN_SIZE) || 1_000_000
const CHILD = fileURLToPath(new URL('./open-child.mjs', import.meta.url))

function killedChild(location) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, location], { stdio: ['ignore', 'pipe', 'pipe'] })
    let err = '', out = ''
    let killedAt = 0
    const deadline = setTimeout(() => child.kill('SIGKILL'), 60_000) // never hang the bench on a stuck child
    child.stderr.on('data', (d) => { err += d })
    child.stdout.on('data', (d) => {
      out += d
      if (killedAt === 0 && out.includes('ready')) {
        // let it keep committing for a moment so the kill lands mid-stream
        setTimeout(() => { killedAt = performance.now(); child.kill('SIGKILL') }, 30)
      }
    })
    child.on('exit', (code, signal) => {
      clearTimeout(deadline)
      if (signal === 'SIGKILL' && killedAt !== 0) resolve()
      else reject(new Error(`crash child exited (${code}, ${signal}) before being killed: ${err.slice(0, 2000)}`))
    })
  })
}

/** Keep the image open until LevelDB has no level-0 backlog and its compaction stats stop changing (cap 15 s). */
async function settle(location) {
  const { Image } = await importDist('image/index.js')
  const realm = await loadRealm()
  const t0 = performance.now()
  const image = await Image.open(location, { realm: realm.make() })
  try {
    const db = image.store.db
    if (typeof db.getProperty !== 'function') return 0
    let prev = ''
    while (performance.now() - t0 < 15_000) {
      const l0 = Number(db.getProperty('leveldb.num-files-at-level0'))
      const stats = db.getProperty('leveldb.stats')
      if (stats === prev && l0 < 4) break
      prev = stats
      await new Promise((r) => setTimeout(r, 200))
    }
  } finally {
    await image.close()
  }
  return performance.now() - t0
}

function verdict(big, small) {
  const mb = median(big), ms = median(small)
  const noise = Math.max(3 * mad(small), 1)
  return { mb, ms, ratio: mb / ms, noise, met: Math.abs(mb - ms) <= noise }
}

export async function run({ realm, log = () => {}, reps = 15, crashReps = 5 } = {}) {
  const { Image } = await importDist('image/index.js')
  const dir = await tempDir('uvm-bench-open-')
  const loc = { small: join(dir.path, 'small.db'), big: join(dir.path, 'big.db') }
  const size = { small: SMALL, big: BIG }
  const rows = []
  try {
    const built = {}
    for (const k of ['small', 'big']) {
      log(`${B}: building the ${k} image (${size[k].toLocaleString('en')} objects, 50k per commit)…`)
      built[k] = await buildImage(loc[k], size[k], realm, { log })
      log(`${B}: ${k}: ${built[k].objects.toLocaleString('en')} objects in ${(built[k].ms / 1000).toFixed(2)} s`)
      gc()
    }

    const openAndSend = async (k) => {
      const r = realm.make()
      const t0 = performance.now()
      const image = await Image.open(loc[k], { realm: r })
      const t1 = performance.now()
      const tx = image.begin()
      const v = tx.send(tx.root, 'probe')
      const t2 = performance.now()
      tx.abort()
      await image.close()
      if (v !== size[k]) throw new Error(`open bench: probe answered ${v}, expected ${size[k]}`)
      split[k].open.push(t1 - t0)
      split[k].send.push(t2 - t1)
      return t2 - t0
    }
    const split = { small: { open: [], send: [] }, big: { open: [], send: [] } }
    const splitNote = () => `; medians of Image.open alone: big ${fmtMs(median(split.big.open))}, small ${fmtMs(median(split.small.open))}; of the first send alone: big ${fmtMs(median(split.big.send))}, small ${fmtMs(median(split.small.send))}`
    const resetSplit = () => { for (const k of ['small', 'big']) { split[k].open = []; split[k].send = [] } }

    // First reopen after the build: LevelDB replays the build's write-ahead log tail into a
    // table and starts compacting the level-0 backlog the build left. Then let each image
    // settle (kept open until its compactions finish), as a long-lived image would be;
    // otherwise every short open restarts the same background compaction.
    const first = {}, settled = {}
    for (const k of ['small', 'big']) first[k] = await openAndSend(k)
    for (const k of ['small', 'big']) settled[k] = await settle(loc[k])

    log(`${B}: ${reps} interleaved clean reopens per image…`)
    resetSplit()
    const clean = { small: [], big: [] }
    for (let r = 0; r < reps; r++) {
      const order = r % 2 ? ['big', 'small'] : ['small', 'big']
      for (const k of order) { gc(); clean[k].push(await openAndSend(k)) }
    }

    const cleanSplit = splitNote()
    resetSplit()
    log(`${B}: ${crashReps} crash cycles per image (child commits in a loop, SIGKILL, timed reopen)…`)
    const crash = { small: [], big: [] }
    for (let r = 0; r < crashReps; r++) {
      const order = r % 2 ? ['big', 'small'] : ['small', 'big']
      for (const k of order) {
        await killedChild(loc[k])
        gc()
        crash[k].push(await openAndSend(k))
      }
    }

    const c = verdict(clean.big, clean.small)
    rows.push(row(B, `open + first send, ${BIG.toLocaleString('en')} vs ${SMALL.toLocaleString('en')} objects (clean close)`, `${fmtMs(c.mb)} (big)`, `${fmtMs(c.ms)} (small image)`, c.ratio, '≈ 1× within noise', c.met,
      `ratio = time(big)/time(small); noise bound ${fmtMs(c.noise)}; samples big [${clean.big.map((x) => x.toFixed(1)).join(', ')}] ms, small [${clean.small.map((x) => x.toFixed(1)).join(', ')}] ms; first reopen after build (log replay, compaction backlog): big ${fmtMs(first.big)}, small ${fmtMs(first.small)}; then each image was kept open until LevelDB compactions settled (big ${fmtMs(settled.big)}, small ${fmtMs(settled.small)})${cleanSplit}`))
    const k = verdict(crash.big, crash.small)
    rows.push(row(B, `open + first send after SIGKILL, ${BIG.toLocaleString('en')} vs ${SMALL.toLocaleString('en')}`, `${fmtMs(k.mb)} (big)`, `${fmtMs(k.ms)} (small image)`, k.ratio, '≈ 1× within noise', k.met,
      `ratio = time(big)/time(small); noise bound ${fmtMs(k.noise)}; samples big [${crash.big.map((x) => x.toFixed(1)).join(', ')}] ms, small [${crash.small.map((x) => x.toFixed(1)).join(', ')}] ms${splitNote()}`))
    rows.push(row(B, `building the ${BIG.toLocaleString('en')}-object image`, `${(built.big.ms / 1000).toFixed(2)} s`, '', undefined, '', undefined,
      `${(built.big.objects / built.big.ms * 1000 / 1000).toFixed(0)} k obj/s in 50k-object durable transactions (size used: ${BIG.toLocaleString('en')}${BIG !== 1_000_000 ? ', reduced from 1,000,000 via UVM_BENCH_OPEN_SIZE' : ''})`))
  } finally {
    await dir.cleanup()
  }
  return rows
}

await runAlone(import.meta.url, run)
