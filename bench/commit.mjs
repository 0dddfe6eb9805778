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

export async function run({ realm, log = () => {}, rounds = 9 } = {}) {
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
    // The disk's fsync latency on a shared VM swings by several × within a second, so the
    // image and the raw side are interleaved commit by commit (A B A B …): both see the same
    // disk. Per round: ratio = raw time / image time over the round's pairs; the figure is
    // the median over rounds. The concurrency ratio compares a 4-writer run with the
    // sequential run right next to it, per round.
    const N = 300
    for (let i = 0; i < 50; i++) { await commitOne(writers[0]); await rawBatch(db, smallOps) } // warm
    const pairRatio = [], imgLat = [], rawLat = [], seqRate = [], conRate = [], conRatio = [], groupSizes = [], inWrite = []
    const pairedRound = async (imageFirst) => {
      let ti = 0, tr = 0
      const li = [], lr = []
      for (let i = 0; i < N; i++) {
        for (let side = 0; side < 2; side++) {
          const t0 = performance.now()
          if ((side === 0) === imageFirst) { await commitOne(writers[0]); const d = performance.now() - t0; ti += d; li.push(d) }
          else { await rawBatch(db, smallOps); const d = performance.now() - t0; tr += d; lr.push(d) }
        }
      }
      pairRatio.push(tr / ti)
      imgLat.push(ti / N); rawLat.push(tr / N)
    }
    const sequentialRound = async () => {
      const t0 = performance.now()
      for (let i = 0; i < N; i++) await commitOne(writers[0])
      const rate = N / (performance.now() - t0) * 1000
      seqRate.push(rate)
      return rate
    }
    const concurrentRound = async () => {
      // Count batches, to report the group size.
      const store = image.store
      let batches = 0
      store.write = function (ops, sync) { batches++; return Object.getPrototypeOf(store).write.call(store, ops, sync) }
      const t0 = performance.now()
      try {
        await Promise.all(writers.map(async (w) => { for (let i = 0; i < N / 4; i++) await commitOne(w) }))
      } finally { delete store.write }
      const rate = N / (performance.now() - t0) * 1000
      conRate.push(rate)
      groupSizes.push(N / batches)
      return rate
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
    log(`${B}: ${rounds} rounds × ${N} commits (image/raw pairs, sequential, 4 writers, instrumented)…`)
    for (let r = 0; r < rounds; r++) {
      gc()
      await pairedRound(r % 2 === 0)
      if (r % 2 === 0) { const s = await sequentialRound(); const c = await concurrentRound(); conRatio.push(c / s) }
      else { const c = await concurrentRound(); const s = await sequentialRound(); conRatio.push(c / s) }
      await instrumentedRound()
    }
    const ratio1 = median(pairRatio), img1 = 1000 / median(imgLat), raw1 = 1000 / median(rawLat)
    const seq = median(seqRate), con4 = median(conRate), ratio4 = median(conRatio)
    const split = { total: median(inWrite.map((x) => x.total)), write: median(inWrite.map((x) => x.write)) }
    rows.push(row(B, 'durable commit, 1 small changed object', fmtRate(img1, 'commit/s'), `${fmtRate(raw1, 'batch/s')} raw sync chained batch, same ${smallOps.length} records`, ratio1, '≥ 0.80×', meets(ratio1, 0.8),
      `interleaved commit by commit; per commit ${fmtMs(1000 / img1)} vs raw ${fmtMs(1000 / raw1)}; per-round ratios [${pairRatio.map((x) => x.toFixed(2)).join(', ')}]; separate instrumented rounds (${fmtMs(split.total)} per commit): ${fmtMs(split.write)} inside store.write (batch build + fsync), ${fmtMs(split.total - split.write)} outside it (begin, proxy write, flush, conflict check, encode, queue, promises)`))
    rows.push(row(B, '4 concurrent writers, own object each (group commit)', fmtRate(con4, 'commit/s'), `${fmtRate(seq, 'commit/s')} sequential commits (adjacent runs)`, ratio4, '≥ 2.00×', meets(ratio4, 2),
      `median of per-round ratios [${conRatio.map((x) => x.toFixed(2)).join(', ')}]; mean group size ${median(groupSizes).toFixed(2)} transactions per batch/fsync`))

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
    // Where a bulk commit's time goes: store.write (batch build + write + fsync) vs the rest (prepare: encode, keys, reachability).
    const bulkSplit = []
    {
      const store = image.store
      let wrote = 0
      store.write = async function (ops, sync) {
        const t = performance.now()
        try { return await Object.getPrototypeOf(store).write.call(store, ops, sync) } finally { wrote += performance.now() - t }
      }
      try {
        for (let i = 0; i < 2 * M; i++) { wrote = 0; const x = await bulkTx(); bulkSplit.push({ commit: x.commit, write: wrote }) }
      } finally { delete store.write }
    }
    const bsC = median(bulkSplit.map((x) => x.commit)), bsW = median(bulkSplit.map((x) => x.write))
    const bc = median(bulkCommit), bt = median(bulkTotal), br = median(bulkRaw)
    rows.push(row(B, `commit of ${K} new objects in one tx (tx.commit() only)`, fmtMs(bc), `${fmtMs(br)} raw sync chained batch, same ${bulkOps.length} records`, br / bc, '≥ 0.50×', meets(br / bc, 0.5),
      `${fmtRate(K / bc * 1000, 'obj/s')}; instrumented commits (${fmtMs(bsC)}): ${fmtMs(bsW)} inside store.write, ${fmtMs(bsC - bsW)} outside it (conflict check, reachability, encoding ${K + 2} records, keys, publish); the whole transaction incl. creating the objects through proxies (clone, o.x = i, bag[k] = o): ${fmtMs(bt)} (${(br / bt).toFixed(2)}× raw)`))

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
