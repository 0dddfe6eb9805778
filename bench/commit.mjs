// Writes: durable commits against raw classic-level sync batches of the same records.
//
//   node --expose-gc bench/commit.mjs      (after `npm run build`)
//
//  - 1 small changed object per commit (begin, `w.x = i` through the proxy API, commit)
//    vs a raw chained batch `db.batch().put(..)…write({sync: true})` of exactly the
//    records that commit wrote (same keys, same value bytes: object, revision,
//    transaction record, image metadata).
//  - 4 concurrent writers (each changing its own object) vs the sequential rate:
//    group commit should share fsyncs.
//  - 1000 new objects in one transaction vs a raw chained sync batch of the same records.
//  - the transaction's own cost: begin+commit of an empty and of a read-only transaction.
//
// The image and the raw database live in separate folders of one temp dir on the
// same filesystem; rounds alternate image-first and raw-first.
import { ClassicLevel } from 'classic-level'
import { join } from 'node:path'
import { fmtMs, fmtNs, fmtRate, gc, importDist, median, meets, row, runAlone, tempDir } from './lib.mjs'

const B = 'commit'

/** Run `fn` once with store.write wrapped to copy out the ops it writes; returns them. */
async function captureOps(image, fn) {
  const store = image.store
  let captured
  store.write = async function (ops, sync) {
    captured = ops.map((o) => ({ ...o }))
    return Object.getPrototypeOf(store).write.call(store, ops, sync)
  }
  try { await fn() } finally { delete store.write }
  if (captured === undefined) throw new Error('commit bench: no batch was written')
  return captured
}

/** A raw chained sync batch of `ops`. */
function rawBatch(db, ops) {
  const b = db.batch()
  for (const op of ops) {
    if (op.type === 'put') b.put(op.key, op.value)
    else b.del(op.key)
  }
  return b.write({ sync: true })
}

const bytesOf = (ops) => ops.reduce((s, o) => s + o.key.length + (o.value?.length ?? 0), 0)

export async function run({ realm, log = () => {}, rounds = 7 } = {}) {
  const { Image } = await importDist('image/index.js')
  const dir = await tempDir('uvm-bench-commit-')
  const rows = []
  let image, db
  try {
    image = await Image.open(join(dir.path, 'image.db'), { realm: realm.make(), durable: true })
    db = new ClassicLevel(join(dir.path, 'raw.db'), { keyEncoding: 'utf8', valueEncoding: 'view' })
    await db.open()

    // Setup: a prototype, 4 writer objects, a holder for the bulk transactions.
    await image.transact((tx) => {
      const P = tx.genesis.prototypes
      const proto = P.clone()
      proto.x = 0
      P.CommitBench = proto
      proto.writers = [0, 1, 2, 3].map((k) => { const w = proto.clone(); w.x = 0; w.k = k; return w })
      proto.holder = proto.clone()
      proto.holder.bag = null
    })
    let tx0 = image.begin()
    const protoObj = tx0.objectOf(tx0.genesis.prototypes.CommitBench)
    const writers = [...tx0.genesis.prototypes.CommitBench.writers].map((p) => tx0.objectOf(p))
    const holderObj = tx0.objectOf(tx0.genesis.prototypes.CommitBench.holder)
    tx0.abort()

    let counter = 0
    const commitOne = async (w) => {
      const tx = image.begin()
      tx.proxy(w).x = ++counter
      await tx.commit()
    }

    // ---------------------------------------------------------- 1 small object, sequential
    const smallOps = await captureOps(image, () => commitOne(writers[0]))
    log(`${B}: one small commit writes ${smallOps.length} records, ${bytesOf(smallOps)} bytes (keys+values)`)
    const N = 300
    for (let i = 0; i < 50; i++) { await commitOne(writers[0]); await rawBatch(db, smallOps) } // warm
    const imgRate = [], rawRate = [], conRate = [], groupSizes = [], inWrite = []
    const imageRound = async () => {
      const t0 = performance.now()
      for (let i = 0; i < N; i++) await commitOne(writers[0])
      imgRate.push(N / (performance.now() - t0) * 1000)
    }
    const rawRound = async () => {
      const t0 = performance.now()
      for (let i = 0; i < N; i++) await rawBatch(db, smallOps)
      rawRate.push(N / (performance.now() - t0) * 1000)
    }
    const concurrentRound = async () => {
      // Count batches and time spent in store.write, to report group size.
      const store = image.store
      let batches = 0
      store.write = function (ops, sync) { batches++; return Object.getPrototypeOf(store).write.call(store, ops, sync) }
      const t0 = performance.now()
      try {
        await Promise.all(writers.map(async (w) => { for (let i = 0; i < N / 4; i++) await commitOne(w) }))
      } finally { delete store.write }
      conRate.push(N / (performance.now() - t0) * 1000)
      groupSizes.push(N / batches)
    }
    const instrumentedRound = async () => {
      // Where the time of one commit goes: inside store.write (the batch + fsync) vs everything else.
      const store = image.store
      let wrote = 0
      store.write = async function (ops, sync) {
        const t = performance.now()
        try { return await Object.getPrototypeOf(store).write.call(store, ops, sync) } finally { wrote += performance.now() - t }
      }
      const t0 = performance.now()
      try { for (let i = 0; i < N; i++) await commitOne(writers[0]) } finally { delete store.write }
      inWrite.push({ total: (performance.now() - t0) / N, write: wrote / N })
    }
    log(`${B}: ${rounds} rounds × ${N} commits (image / raw / 4 writers)…`)
    for (let r = 0; r < rounds; r++) {
      gc()
      if (r % 2 === 0) { await imageRound(); await rawRound() } else { await rawRound(); await imageRound() }
      await concurrentRound()
      if (r < 3) await instrumentedRound()
    }
    const img1 = median(imgRate), raw1 = median(rawRate), con4 = median(conRate)
    const split = { total: median(inWrite.map((x) => x.total)), write: median(inWrite.map((x) => x.write)) }
    rows.push(row(B, 'durable commit, 1 small changed object', fmtRate(img1, 'commit/s'), `${fmtRate(raw1, 'batch/s')} raw sync chained batch, same ${smallOps.length} records`, img1 / raw1, '≥ 0.80×', meets(img1 / raw1, 0.8),
      `per commit ${fmtMs(1000 / img1)} vs raw ${fmtMs(1000 / raw1)}; instrumented: ${fmtMs(split.write)} inside store.write (batch build + fsync), ${fmtMs(split.total - split.write)} outside it (begin, proxy write, flush, conflict check, encode, queue, promises)`))
    rows.push(row(B, '4 concurrent writers, own object each (group commit)', fmtRate(con4, 'commit/s'), `${fmtRate(img1, 'commit/s')} sequential commits`, con4 / img1, '≥ 2.00×', meets(con4 / img1, 2),
      `mean group size ${median(groupSizes).toFixed(2)} transactions per batch/fsync`))

    // ---------------------------------------------------------- 1000 new objects in one tx
    const K = 1000
    const bulkTx = async () => {
      const t0 = performance.now()
      const tx = image.begin()
      const proto = tx.proxy(protoObj)
      const bag = proto.clone()
      for (let i = 0; i < K; i++) {
        const o = proto.clone()
        o.x = i
        bag['k' + i] = o
      }
      tx.proxy(holderObj).bag = bag
      const t1 = performance.now()
      const info = await tx.commit()
      const t2 = performance.now()
      if (info.oids.length !== K + 2) throw new Error(`commit bench: expected ${K + 2} objects written, got ${info.oids.length}`)
      return { build: t1 - t0, commit: t2 - t1, total: t2 - t0 }
    }
    const bulkOps = await captureOps(image, bulkTx)
    log(`${B}: the ${K}-object commit writes ${bulkOps.length} records, ${bytesOf(bulkOps)} bytes`)
    const M = 5
    for (let i = 0; i < 3; i++) { await bulkTx(); await rawBatch(db, bulkOps) }
    const bulkCommit = [], bulkTotal = [], bulkRaw = []
    const bulkImageRound = async () => {
      let c = 0, t = 0
      for (let i = 0; i < M; i++) { const x = await bulkTx(); c += x.commit; t += x.total }
      bulkCommit.push(c / M); bulkTotal.push(t / M)
    }
    const bulkRawRound = async () => {
      const t0 = performance.now()
      for (let i = 0; i < M; i++) await rawBatch(db, bulkOps)
      bulkRaw.push((performance.now() - t0) / M)
    }
    log(`${B}: ${rounds} rounds × ${M} commits of ${K} new objects…`)
    for (let r = 0; r < rounds; r++) {
      gc()
      if (r % 2 === 0) { await bulkImageRound(); await bulkRawRound() } else { await bulkRawRound(); await bulkImageRound() }
    }
    const bc = median(bulkCommit), bt = median(bulkTotal), br = median(bulkRaw)
    rows.push(row(B, `commit of ${K} new objects in one tx (tx.commit() only)`, fmtMs(bc), `${fmtMs(br)} raw sync chained batch, same ${bulkOps.length} records`, br / bc, '≥ 0.50×', meets(br / bc, 0.5),
      `${fmtRate(K / bc * 1000, 'obj/s')}; the whole transaction incl. creating the objects through proxies (clone, o.x = i, bag[k] = o): ${fmtMs(bt)} (${(br / bt).toFixed(2)}× raw)`))

    // ---------------------------------------------------------- the transaction's own cost
    const T = 20_000
    const emptyNs = [], roNs = [], abortNs = []
    const w0 = writers[0]
    for (let r = 0; r < rounds; r++) {
      let t0 = process.hrtime.bigint()
      for (let i = 0; i < T; i++) { const tx = image.begin(); await tx.commit() }
      emptyNs.push(Number(process.hrtime.bigint() - t0) / T)
      t0 = process.hrtime.bigint()
      let s = 0
      for (let i = 0; i < T; i++) { const tx = image.begin(); s += image.kernel.send(tx, w0, 'x', []); await tx.commit() }
      roNs.push(Number(process.hrtime.bigint() - t0) / T)
      t0 = process.hrtime.bigint()
      for (let i = 0; i < T; i++) { const tx = image.begin(); s += image.kernel.send(tx, w0, 'x', []); tx.abort() }
      abortNs.push(Number(process.hrtime.bigint() - t0) / T)
      if (s < 0) console.log(s)
    }
    rows.push(row(B, 'transaction cost: begin + commit, empty', fmtNs(median(emptyNs)), '', undefined, '', undefined, 'no writes: commit resolves without touching the store'))
    rows.push(row(B, 'transaction cost: begin + 1 send + commit, read-only', fmtNs(median(roNs)), '', undefined, '', undefined, `begin + 1 send + abort: ${fmtNs(median(abortNs))}`))
  } finally {
    await image?.close()
    await db?.close()
    await dir.cleanup()
  }
  return rows
}

await runAlone(import.meta.url, run)
