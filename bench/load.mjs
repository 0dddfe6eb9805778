// Cold load: build a 100k-object image, close it, reopen it, touch every object.
//
//   node --expose-gc bench/load.mjs      (after `npm run build`)
//
// "Touch" = read the object's committed state through a transaction
// (tx.read: getSync of its record + decode + handles for its references +
// object-cache bookkeeping), walking the graph from the root. A second walk
// variant sends a message to each leaf instead (`kernel.send(tx, leaf, 'x')`:
// load + first lookup, which fills that receiver's lookup cache).
// Baseline, same run: raw classic-level getSync of the same keys in the same
// order on a freshly opened database (no decode).
// Each repetition reopens the image (or the raw database), so LevelDB's block
// cache starts empty; the OS page cache is warm for both sides alike.
import { ClassicLevel } from 'classic-level'
import { join } from 'node:path'
import { buildImage, fmtMs, fmtRate, gc, importDist, median, meets, row, runAlone, tempDir } from './lib.mjs'

const B = 'load'
const SIZE = Number(process.env.UVM_BENCH_LOAD_SIZE) || 100_000

export async function run({ realm, log = () => {}, reps = 5 } = {}) {
  const { Image } = await importDist('image/index.js')
  const { Obj } = await importDist('kernel/index.js')
  const { objectKey } = await importDist('image/keys.js')
  const dir = await tempDir('uvm-bench-load-')
  const location = join(dir.path, 'image.db')
  const rows = []
  try {
    log(`${B}: building a ${SIZE.toLocaleString('en')}-object image…`)
    const built = await buildImage(location, SIZE, realm, { log })
    log(`${B}: built ${built.objects.toLocaleString('en')} objects in ${(built.ms / 1000).toFixed(2)} s`)

    // One warm-up reopen: LevelDB replays the write-ahead log of the build into a table.
    { const im = await Image.open(location, { realm: realm.make() }); await im.close() }

    let order // oids in walk order, for the raw baseline
    /** Reopen, walk from the root touching every object; `leafSend`: send 'x' to leaves instead of tx.read. */
    const walk = async (leafSend) => {
      const image = await Image.open(location, { realm: realm.make() })
      const kernel = image.kernel
      const EMPTY = []
      try {
        const seen = []
        const t0 = performance.now()
        const tx = image.begin()
        let touched = 0, sum = 0
        const touch = (o) => { touched++; if (order === undefined) seen.push(o.oid); return tx.read(o) }
        const rootState = touch(image.root)
        const bulk = rootState.slots.get('bulk')
        for (const [name, ch] of touch(bulk).slots) {
          if (name.charCodeAt(0) !== 99 /* c */ || !(ch instanceof Obj)) continue
          for (const [, node] of touch(ch).slots) {
            for (const [, leaf] of touch(node).slots) {
              if (leafSend) { touched++; if (order === undefined) seen.push(leaf.oid); sum += kernel.send(tx, leaf, 'x', EMPTY) }
              else sum += touch(leaf).slots.get('x')
            }
          }
        }
        tx.abort()
        const ms = performance.now() - t0
        const expect = SIZE * (SIZE - 1) / 2
        if (sum !== expect) throw new Error(`load bench: walked sum ${sum}, expected ${expect}`)
        if (order === undefined) order = seen
        return { ms, touched }
      } finally {
        await image.close()
      }
    }
    const rawRead = async () => {
      const keys = order.map(objectKey)
      const db = new ClassicLevel(location, { keyEncoding: 'utf8', valueEncoding: 'view' })
      await db.open()
      try {
        let bytes = 0
        const t0 = performance.now()
        for (let i = 0; i < keys.length; i++) bytes += db.getSync(keys[i]).length
        const ms = performance.now() - t0
        if (bytes === 0) throw new Error('unreachable')
        return { ms, touched: keys.length }
      } finally {
        await db.close()
      }
    }

    await walk(false) // first walk records the order (and warms the JIT)
    const readRate = [], sendRate = [], rawRate = []
    let touched = 0
    log(`${B}: ${reps} repetitions (reopen + walk, reopen + send-walk, raw getSync)…`)
    for (let r = 0; r < reps; r++) {
      gc()
      const steps = [
        async () => { const x = await walk(false); touched = x.touched; readRate.push(x.touched / x.ms * 1000) },
        async () => { const x = await walk(true); sendRate.push(x.touched / x.ms * 1000) },
        async () => { const x = await rawRead(); rawRate.push(x.touched / x.ms * 1000) },
      ]
      // rotate the order so no side always runs first
      for (let k = 0; k < steps.length; k++) { await steps[(k + r) % steps.length](); gc() }
    }
    const rr = median(readRate), sr = median(sendRate), raw = median(rawRate)
    rows.push(row(B, `cold load, touch all ${touched.toLocaleString('en')} objects (tx.read walk)`, fmtRate(rr, 'obj/s'), '100 k obj/s (target)', rr / 100_000, '≥ 1.00× (≥ 100k obj/s)', meets(rr / 100_000, 1),
      `whole walk ${fmtMs(touched / rr * 1000)}; image built in ${(built.ms / 1000).toFixed(2)} s (${fmtRate(built.objects / built.ms * 1000, 'obj/s')}); object cache bound is the default (100,000), so the walk also exercises eviction`))
    rows.push(row(B, 'cold load vs raw getSync of the same keys', fmtRate(rr, 'obj/s'), `${fmtRate(raw, 'get/s')} raw classic-level getSync, same keys & order`, rr / raw, '', undefined,
      'informational: the remainder is decode (msgpackr + slot Map), reference handles (WeakRef + FinalizationRegistry) and cache bookkeeping'))
    rows.push(row(B, 'cold load, first send to every leaf (kernel.send x)', fmtRate(sr, 'obj/s'), '100 k obj/s (target)', sr / 100_000, '≥ 1.00× (≥ 100k obj/s)', meets(sr / 100_000, 1),
      `load + a lookup-cache miss per receiver; vs raw getSync ${(sr / raw).toFixed(2)}×`))
  } finally {
    await dir.cleanup()
  }
  return rows
}

await runAlone(import.meta.url, run)
