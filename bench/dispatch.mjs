// Dispatch: the cost of a message send, against plain-JS baselines measured in the same run.
//
//   node --expose-gc bench/dispatch.mjs      (after `npm run build`)
//
// Object graph (committed, then read in a fresh transaction so lookups hit the
// shared lookup caches): 16 receivers r0..r15, each `parent*` → p1 → p2 → p3;
// p3 holds the method `m(i)` and the data slot `x`, so every send below is a
// cache hit whose holder is 3 parent levels up.
//
// What the figures mean:
//  - "kernel.send data slot": the explicit API on a data slot. Never enters the
//    realm: lookup (cache hit, 4 dependency checks) + read + toJS. The cleanest
//    per-send figure.
//  - "kernel.send method, one entry per send": every call is a fresh entry from
//    the host (realm depth 0): the explicit API as host code uses it. The CPU limit
//    is enforced by checkpoints compiled into sandbox code, so an entry costs a few
//    field writes and a try/finally (about 10 ns a send on the VM of 2026-12-02: see the
//    README) where node's watchdog, shown beside it, costs ~30 µs per `runInContext` with
//    `timeout`: it guards act entries only.
//  - "kernel.send method, inside one entry": the same sends issued from a host
//    function called by ONE method activation (realm depth > 0).
//  - "one args array reused": the send site's method send again, with the arguments array made
//    once instead of per send: the difference is what allocating `[i]` on every send costs.
//  - "proxy.x" / "proxy.m()": the surface acts use. Inside one entry means the
//    loop is a method body running in the realm (what an act does). The same from
//    host code is shown for information (host code is not an act).
//
// Method: every loop is calibrated to ~25 ms per run, runs are interleaved, 7 runs
// per process (median), in 3 fresh processes (UVM_BENCH_DISPATCH_PROCS); a figure is
// the median over processes. Per-process values are printed for the in-entry loops, whose
// outliers were 10–30× in some processes: the one traced (2026-12-02) was calibration, a slow
// first call that left the loop a few hundred iterations a run (see `calibrate`).
import { MemoryLevel } from 'memory-level'
import vm from 'node:vm'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { blackhole, fmtNs, importDist, isMain, loadRealm, median, meets, row, runAlone } from './lib.mjs'

const B = 'dispatch'

// ------------------------------------------------------------ plain-JS baselines

/** 16 classes with different field layouts (16 hidden classes), each with a method m. */
function megamorphicObjects() {
  const make = [
    class { constructor() { this.a = 1 } m(i) { return i + 1 } },
    class { constructor() { this.b = 1; this.a = 2 } m(i) { return i + 1 } },
    class { constructor() { this.c = 1 } m(i) { return i + 1 } },
    class { constructor() { this.d = 1; this.e = 1 } m(i) { return i + 1 } },
    class { constructor() { this.f = 1; this.g = 1; this.h = 1 } m(i) { return i + 1 } },
    class { constructor() { this.i = 1 } m(i) { return i + 1 } },
    class { constructor() { this.j = 'x' } m(i) { return i + 1 } },
    class { constructor() { this.k = 1.5 } m(i) { return i + 1 } },
    class { constructor() { this.l = null } m(i) { return i + 1 } },
    class { constructor() { this.n = [] } m(i) { return i + 1 } },
    class { constructor() { this.o = {} } m(i) { return i + 1 } },
    class { constructor() { this.p = 1; this.q = 1 } m(i) { return i + 1 } },
    class { constructor() { this.r = 1 } m(i) { return i + 1 } },
    class { constructor() { this.s = 1; this.t = 1; this.u = 1; this.v = 1 } m(i) { return i + 1 } },
    class { constructor() { this.w = true } m(i) { return i + 1 } },
    class { constructor() { this.y = 1; this.z = 1 } m(i) { return i + 1 } },
  ]
  return make.map((C) => { const o = new C(); o.x = 4; return o })
}

/** 16 bare proxies: the get trap forwards to its target (one of the 16 shapes). */
function bareProxies(targets) {
  const handler = { get(t, k) { return t[k] } }
  return targets.map((t) => new Proxy(t, handler))
}

/**
 * 16 proxies whose get trap resolves the key through a 3-level parent chain of
 * plain objects and remembers the holder in a small per-proxy Map (an inline
 * cache by key): what a minimal cached-lookup proxy costs.
 */
function icProxies() {
  const l3 = Object.create(null)
  l3.m = function (i) { return i + 1 }
  l3.x = 4
  const l2 = { parent: l3 }, l1 = { parent: l2 }
  const out = []
  for (let k = 0; k < 16; k++) {
    const own = { parent: l1, own: k }
    const ic = new Map()
    const resolve = (key) => {
      for (let o = own; o !== undefined; o = o.parent) if (Object.hasOwn(o, key)) return o
      return null
    }
    out.push(new Proxy({}, {
      get(_t, key) {
        let h = ic.get(key)
        if (h === undefined) { h = resolve(key); ic.set(key, h) }
        return h === null ? undefined : h[key]
      },
    }))
  }
  return out
}

// ------------------------------------------------------------ measurement helpers

/**
 * fn(n) running body(k) in chunks of 1024 iterations. A loop of millions of iterations in a
 * function called a handful of times depends on on-stack replacement to get optimized, and
 * V8 sometimes leaves such a frame in baseline code for the whole run (seen here as a 10–20×
 * bimodal slowdown of single figures); chunks are ordinary calls that tier up by call count.
 * Every loop, baselines included, is chunked the same way.
 */
const CHUNK = 1024
function chunked(body) {
  return (n) => {
    let t = 0
    for (let done = 0; done < n; done += CHUNK) t = (t + body(Math.min(CHUNK, n - done))) | 0
    return t
  }
}

/**
 * Choose n so that one run of body(n) takes about `ms`. Each size is timed three times and the
 * fastest counts: a first call that compiles methods or meets a GC once took over ms/4 at n = 64,
 * which left a loop with a few hundred iterations a run, its figure mostly the fixed cost of entering it.
 */
function calibrate(body, ms = 25, start = 64) {
  let n = start
  for (;;) {
    let dt = Infinity
    for (let k = 0; k < 3; k++) {
      const t0 = performance.now()
      blackhole(body(n))
      dt = Math.min(dt, performance.now() - t0)
    }
    if (dt >= ms / 4 || n >= 1 << 26) return Math.max(16, Math.round(n * ms / Math.max(dt, 0.001)))
    n *= 4
  }
}

/** Interleaved runs of several loops, each with its own n: medians of ns/op. */
function measure(specs, runs = 7) {
  const names = Object.keys(specs)
  for (const k of names) specs[k].n ??= calibrate(specs[k].fn, specs[k].ms)
  const samples = Object.fromEntries(names.map((k) => [k, []]))
  for (let w = 0; w < 2; w++) for (const k of names) blackhole(specs[k].fn(specs[k].n)) // warm
  for (let r = 0; r < runs; r++) {
    for (const k of names) {
      const { fn, n } = specs[k]
      const t0 = process.hrtime.bigint()
      blackhole(fn(n))
      samples[k].push(Number(process.hrtime.bigint() - t0) / n)
    }
  }
  return Object.fromEntries(names.map((k) => [k, { ns: median(samples[k]), samples: samples[k], n: specs[k].n }]))
}

// ------------------------------------------------------------ the bench

/** One process's measurements: { spec: { ns, samples } }. */
async function measureOnce({ realm, log = () => {}, runs = 7 } = {}) {
  const { Image } = await importDist('image/index.js')
  const db = new MemoryLevel({ keyEncoding: 'utf8', valueEncoding: 'view' })
  const image = await Image.open(db, { realm: realm.make(), durable: false })
  const kernel = image.kernel
  try {
    // Build the graph with the public proxy API, commit it.
    {
      const tx = image.begin({ description: 'dispatch bench setup' })
      const P = tx.genesis.prototypes
      const p3 = P.clone()
      p3.m = function (i) { return i + 1 }
      p3.x = 4
      // One sandbox entry, many sends: the loops run in the realm (an act's situation).
      // (chunked like every loop here: see `chunked` below)
      p3.callsInside = function (n) {
        const t = this.targets
        const chunk = (k) => { let s = 0; for (let i = 0; i < k; i++) s += t[i & 15].m(i); return s }
        let s = 0
        for (let d = 0; d < n; d += 1024) s = (s + chunk(Math.min(1024, n - d))) | 0
        return s
      }
      p3.readsInside = function (n) {
        const t = this.targets
        const chunk = (k) => { let s = 0; for (let i = 0; i < k; i++) s += t[i & 15].x; return s }
        let s = 0
        for (let d = 0; d < n; d += 1024) s = (s + chunk(Math.min(1024, n - d))) | 0
        return s
      }
      // One sandbox entry that calls back into the host (explicit kernel.send loop at realm depth > 0).
      p3.enter = function (f, n) { return f(n) }
      p3.noop = function () { return 0 }
      const p2 = p3.clone()
      const p1 = p2.clone()
      const rs = []
      for (let k = 0; k < 16; k++) { const r = p1.clone(); r.own = k; rs.push(r) }
      p3.targets = rs
      P.DispatchBench = p3
      await tx.commit()
    }

    const tx = image.begin({ description: 'dispatch bench' })
    const P = tx.genesis.prototypes
    const p3Proxy = P.DispatchBench
    const p3 = tx.objectOf(p3Proxy)
    const recvProxies = [...p3Proxy.targets]
    const recv = recvProxies.map((p) => tx.objectOf(p))
    // sanity: every send resolves as intended, and through the caches
    for (let k = 0; k < 16; k++) {
      if (kernel.send(tx, recv[k], 'm', [1]) !== 2 || kernel.send(tx, recv[k], 'x', []) !== 4) throw new Error('dispatch bench: unexpected send result')
    }
    if (tx.structDirty) throw new Error('dispatch bench: the measuring transaction must not change structure (lookup caches would be bypassed)')
    if (recv[0].lookupCache?.get('m') === undefined) throw new Error('dispatch bench: lookup cache was not filled')

    const mega = megamorphicObjects()
    const bare = bareProxies(mega)
    const ic = icProxies()
    const EMPTY = Object.freeze([])
    const ARGS = [0]

    // Host function handed to ONE method activation: runs a host loop of explicit sends at realm depth > 0.
    let insideN = 0
    const explicitSends = chunked((k) => { let s = 0; for (let i = 0; i < k; i++) s += kernel.send(tx, recv[i & 15], 'm', [i]); return s })
    // Send sites: the explicit API with an inline cache per site (what a compiled send in Self or Smalltalk has).
    const mSite = kernel.site('m'), xSite = kernel.site('x')
    const siteSends = chunked((k) => { let s = 0; for (let i = 0; i < k; i++) s += mSite.send(tx, recv[i & 15], [i]); return s })
    const siteLoop = image.kernel.realm.hostFunction('siteLoop', () => siteSends(insideN))
    const explicitLoop = image.kernel.realm.hostFunction('explicitLoop', () => explicitSends(insideN))
    const txSends = chunked((k) => { let s = 0; for (let i = 0; i < k; i++) s += tx.send(recvProxies[i & 15], 'm', i); return s })
    const txLoop = image.kernel.realm.hostFunction('txLoop', () => txSends(insideN))
    const enterSelector = 'enter'
    // The floor under any method send: the method's compiled function (in the sandbox's context,
    // checkpoint at its entry) called directly, with no lookup and no entry bookkeeping.
    const mFn = kernel.compile(tx.read(p3).slots.get('m'), 'm')
    // node:vm alone, in a context of our own: the cost of entering a context with and without a
    // timeout (the timeout is the watchdog: node starts and stops a watchdog thread per call).
    const vmCtx = vm.createContext({})
    const vmScript = new vm.Script('0')

    const specs = {
      mega: { fn: chunked((k) => { let s = 0; for (let i = 0; i < k; i++) s += mega[i & 15].m(i); return s }) },
      megaX: { fn: chunked((k) => { let s = 0; for (let i = 0; i < k; i++) s += mega[i & 15].x; return s }) },
      bareM: { fn: chunked((k) => { let s = 0; for (let i = 0; i < k; i++) s += bare[i & 15].m(i); return s }) },
      bareX: { fn: chunked((k) => { let s = 0; for (let i = 0; i < k; i++) s += bare[i & 15].x; return s }) },
      icM: { fn: chunked((k) => { let s = 0; for (let i = 0; i < k; i++) s += ic[i & 15].m(i); return s }) },
      icX: { fn: chunked((k) => { let s = 0; for (let i = 0; i < k; i++) s += ic[i & 15].x; return s }) },
      sendX: { fn: chunked((k) => { let s = 0; for (let i = 0; i < k; i++) s += kernel.send(tx, recv[i & 15], 'x', EMPTY); return s }) },
      txSendX: { fn: chunked((k) => { let s = 0; for (let i = 0; i < k; i++) s += tx.send(recvProxies[i & 15], 'x'); return s }) },
      siteX: { fn: chunked((k) => { let s = 0; for (let i = 0; i < k; i++) s += xSite.send(tx, recv[i & 15], EMPTY); return s }) },
      siteMEntry: { fn: siteSends, ms: 40 },
      // The same send with one arguments array reused: what the allocation of [i] on every send costs.
      siteMReused: { fn: chunked((k) => { let s = 0; for (let i = 0; i < k; i++) { ARGS[0] = i; s += mSite.send(tx, recv[i & 15], ARGS) } return s }), ms: 40 },
      directM: { fn: chunked((k) => { let s = 0; for (let i = 0; i < k; i++) { const p = recvProxies[i & 15]; s += mFn.call(p, p, i) } return s }) },
      siteMInside: { fn: (n) => { insideN = n; return kernel.send(tx, p3, enterSelector, [siteLoop, n]) } },
      sendPrim: { fn: chunked((k) => { let s = 0; for (let i = 0; i < k; i++) s += kernel.send(tx, recv[i & 15], 'hasSlot', ['own']) ? 1 : 0; return s }) },
      sendMInside: { fn: (n) => { insideN = n; return kernel.send(tx, p3, enterSelector, [explicitLoop, n]) } },
      txSendMInside: { fn: (n) => { insideN = n; return kernel.send(tx, p3, enterSelector, [txLoop, n]) } },
      vmPlain: { fn: chunked((k) => { let s = 0; for (let i = 0; i < k; i++) s += vmScript.runInContext(vmCtx); return s }) },
      vmTimeout: { fn: chunked((k) => { let s = 0; for (let i = 0; i < k; i++) s += vmScript.runInContext(vmCtx, { timeout: 1000 }); return s }), ms: 40 },
      sendMEntry: { fn: chunked((k) => { let s = 0; for (let i = 0; i < k; i++) s += kernel.send(tx, recv[i & 15], 'm', [i]); return s }), ms: 40 },
      proxyXHost: { fn: chunked((k) => { let s = 0; for (let i = 0; i < k; i++) s += recvProxies[i & 15].x; return s }) },
      proxyXInside: { fn: (n) => kernel.send(tx, p3, 'readsInside', [n]) },
      proxyMInside: { fn: (n) => kernel.send(tx, p3, 'callsInside', [n]) },
      proxyMHost: { fn: chunked((k) => { let s = 0; for (let i = 0; i < k; i++) s += recvProxies[i & 15].m(i); return s }), ms: 40 },
      // The watchdog alone: a host → realm entry of a method doing nothing, vs the same function called directly.
      entryNoop: { fn: chunked((k) => { let s = 0; for (let i = 0; i < k; i++) s += kernel.send(tx, p3, 'noop', EMPTY); return s }), ms: 40 },
    }
    log(`${B}:   calibrating and measuring ${Object.keys(specs).length} loops × ${runs} runs…`)
    const m = measure(specs, runs)
    if (tx.structDirty) throw new Error('dispatch bench: the measuring transaction changed structure')
    tx.abort()

    return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, { ns: v.ns, samples: v.samples }]))
  } finally {
    await image.close()
  }
}


const PROCS = Number(process.env.UVM_BENCH_DISPATCH_PROCS) || 3

function measureInChild() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url)], {
      env: { ...process.env, UVM_DISPATCH_CHILD: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.on('exit', (code, signal) => {
      const line = out.split('\n').find((l) => l.startsWith('@@M '))
      if (code === 0 && line) resolve(JSON.parse(line.slice(4)))
      else reject(new Error(`dispatch measuring process failed (${code ?? signal})`))
    })
  })
}

/**
 * The figures are measured in PROCS fresh processes; each figure is the median over
 * processes (of per-process medians). Per-process values are shown for the loops that run
 * inside a sandbox entry, so that a process whose figure is far off the others shows.
 */
export async function run({ log = () => {} } = {}) {
  const per = []
  for (let p = 0; p < PROCS; p++) {
    log(`${B}: measuring process ${p + 1}/${PROCS}…`)
    per.push(await measureInChild())
  }
  const m = {}
  for (const k of Object.keys(per[0])) {
    const procs = per.map((x) => x[k].ns)
    m[k] = { ns: median(procs), procs }
  }
  const perProc = (k) => {
    const xs = m[k].procs
    const spread = Math.max(...xs) / Math.min(...xs)
    return `per process [${xs.map(fmtNs).join(', ')}]${spread > 3 ? ' ← bimodal: one process far off the others' : ''}`
  }
  const rows = []
    const mega1 = m.mega.ns, ic1M = m.icM.ns, ic1X = m.icX.ns
    const r = (base, meas) => base / meas

    rows.push(row(B, 'baseline: megamorphic plain-JS call o.m(i), 16 shapes', fmtNs(mega1), '', undefined, '', undefined))
    rows.push(row(B, 'baseline: bare Proxy get trap, p.m(i)', fmtNs(m.bareM.ns), '', undefined, '', undefined, `p.x: ${fmtNs(m.bareX.ns)}`))
    rows.push(row(B, 'baseline: Proxy trap + inline cache (Map by key), p.m(i)', fmtNs(ic1M), '', undefined, '', undefined, `p.x: ${fmtNs(ic1X)}`))

    rows.push(row(B, 'floor: the compiled method m called directly (sandbox context; no lookup, no entry)', fmtNs(m.directM.ns), `${fmtNs(mega1)} megamorphic call`, r(mega1, m.directM.ns), 'info', undefined,
      'a call from host code into a function of the sandbox\'s context, with its CPU checkpoint: no send of a method can be faster than this'))
    rows.push(row(B, 'send site x.send(tx, r): data slot x, 3 levels up', fmtNs(m.siteX.ns), `${fmtNs(mega1)} megamorphic call`, r(mega1, m.siteX.ns), '≥ 0.80×', meets(r(mega1, m.siteX.ns), 0.8),
      'the explicit API with an inline cache per send site (kernel.site(selector)): 16 receivers, direct-mapped by oid, valid while the transaction\'s view is unchanged'))
    rows.push(row(B, 'send site m.send(tx, r, [i]): method m, 3 levels up, from host code', fmtNs(m.siteMEntry.ns), `${fmtNs(mega1)} megamorphic call`, r(mega1, m.siteMEntry.ns), '≥ 0.80×', meets(r(mega1, m.siteMEntry.ns), 0.8),
      `each send enters the realm (CPU limit by checkpoints); vs the direct-call floor: ${r(m.directM.ns, m.siteMEntry.ns).toFixed(2)}×; inside one sandbox entry: ${fmtNs(m.siteMInside.ns)} (${r(mega1, m.siteMInside.ns).toFixed(2)}× the megamorphic call)`))
    rows.push(row(B, 'send site m.send(tx, r, args), one args array reused: no allocation per send', fmtNs(m.siteMReused.ns), `${fmtNs(mega1)} megamorphic call`, r(mega1, m.siteMReused.ns), 'info', undefined,
      `the row above without an [i] array made for every send: the array costs ${fmtNs(m.siteMEntry.ns - m.siteMReused.ns)} a send (V8 optimizes it away only while the send path has run nothing else: once sends of other selectors went through the same code, a copy of it made the array again)`))
    rows.push(row(B, 'kernel.send data slot x (3 levels up, cache hit; no realm entry)', fmtNs(m.sendX.ns), `${fmtNs(mega1)} megamorphic call`, r(mega1, m.sendX.ns), '≥ 0.80×', meets(r(mega1, m.sendX.ns), 0.8),
      `tx.send(proxy,'x') (objectOf + rest args): ${fmtNs(m.txSendX.ns)}; primitive send hasSlot (6 levels up, no realm entry): ${fmtNs(m.sendPrim.ns)}`))
    rows.push(row(B, 'kernel.send method m (3 levels up), inside ONE sandbox entry', fmtNs(m.sendMInside.ns), `${fmtNs(mega1)} megamorphic call`, r(mega1, m.sendMInside.ns), '≥ 0.80×', meets(r(mega1, m.sendMInside.ns), 0.8),
      `host loop of kernel.send(tx, r, "m", [i]) run by a host function called from one method activation (realm depth > 0): the object model's own per-send cost; ${perProc('sendMInside')}; the same with tx.send(proxy, 'm', i): ${fmtNs(m.txSendMInside.ns)}`))
    rows.push(row(B, 'kernel.send method m from host code (each send enters the realm)', fmtNs(m.sendMEntry.ns), `${fmtNs(mega1)} megamorphic call`, r(mega1, m.sendMEntry.ns), '≥ 0.80×', meets(r(mega1, m.sendMEntry.ns), 0.8),
      `each send starts at realm depth 0: an entry under the CPU limit (checkpoints in the compiled code, no watchdog thread); a send of a no-op method from the host: ${fmtNs(m.entryNoop.ns)}`))
    rows.push(row(B, 'node:vm runInContext with timeout (the watchdog) vs without', fmtNs(m.vmTimeout.ns), `${fmtNs(m.vmPlain.ns)} without timeout`, m.vmPlain.ns / m.vmTimeout.ns, '', undefined,
      `a trivial script in a context of our own: the timeout option alone adds ${fmtNs(m.vmTimeout.ns - m.vmPlain.ns)} per entry, ${((m.vmTimeout.ns - m.vmPlain.ns) / m.sendMEntry.ns).toFixed(0)}× a method send from the host: why only act entries use it`))

    rows.push(row(B, 'proxy.x read from host code (3 levels up; no realm entry)', fmtNs(m.proxyXHost.ns), `${fmtNs(ic1X)} Proxy+IC p.x`, r(ic1X, m.proxyXHost.ns), '≥ 0.70×', meets(r(ic1X, m.proxyXHost.ns), 0.7),
      `vs bare Proxy p.x: ${(m.bareX.ns / m.proxyXHost.ns).toFixed(2)}×; vs plain megamorphic o.x ${fmtNs(m.megaX.ns)}`))
    rows.push(row(B, 'proxy.x read inside ONE sandbox entry (act loop)', fmtNs(m.proxyXInside.ns), `${fmtNs(ic1X)} Proxy+IC p.x`, r(ic1X, m.proxyXInside.ns), '≥ 0.70×', meets(r(ic1X, m.proxyXInside.ns), 0.7),
      `vs bare Proxy p.x: ${(m.bareX.ns / m.proxyXInside.ns).toFixed(2)}×; ${perProc('proxyXInside')}`))
    rows.push(row(B, 'proxy.m(i) call inside ONE sandbox entry (act loop)', fmtNs(m.proxyMInside.ns), `${fmtNs(ic1M)} Proxy+IC p.m(i)`, r(ic1M, m.proxyMInside.ns), '≥ 0.70×', meets(r(ic1M, m.proxyMInside.ns), 0.7),
      `get trap (cache hit → the method bound to its receiver, cached per transaction) then the call; vs bare Proxy p.m(i): ${(m.bareM.ns / m.proxyMInside.ns).toFixed(2)}×; ${perProc('proxyMInside')}`))
    rows.push(row(B, 'proxy.m(i) call from host code (one entry per call)', fmtNs(m.proxyMHost.ns), `${fmtNs(ic1M)} Proxy+IC p.m(i)`, r(ic1M, m.proxyMHost.ns), 'info', undefined,
      'host code is not an act (the target is for the act surface): the host gets a realm function that sends the selector, so each call is realm → host → kernel.send → realm'))
  return rows
}

if (process.env.UVM_DISPATCH_CHILD === '1' && isMain(import.meta.url)) {
  const realm = await loadRealm()
  const m = await measureOnce({ realm, log: (x) => console.error(x) })
  console.log('@@M ' + JSON.stringify(m))
} else {
  await runAlone(import.meta.url, run)
}
