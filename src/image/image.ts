import { Conflict, UvmError } from '../errors.js'
import type { Realm } from '../kernel/index.js'
import { Kernel, Obj, State } from '../kernel/index.js'
import { ObjectCache } from './cache.js'
import { Codec, referencesOf } from './codec.js'
import { META, objectKey, revisionKey, txKey } from './keys.js'
import type { LevelDb, Op } from './store.js'
import { Store } from './store.js'
import type { CommitInfo, TxMeta } from './transaction.js'
import { Transaction } from './transaction.js'
import { bootstrap } from './bootstrap.js'
import { imageFolder } from './folder.js'
import { history, loadBefore, transactionRecord, transactions, slotWriter } from './history.js'
import { undo } from './undo.js'
import { showTransaction } from './show.js'
import type { TransactionChanges } from './show.js'
import type { Revision, TxRecord } from './history.js'
import { pack } from './pack.js'
import type { PackProgress, PackReport } from './pack.js'
import { check } from './check.js'
import type { CheckReport } from './check.js'

export interface ImageOptions {
  /** The realm methods compile and run in (src/act's HardenedRealm). */
  realm: Realm
  /** Loaded objects kept before unmodified ones are evicted to ghosts. Default 100,000. */
  cacheSize?: number
  /** fsync each commit before acknowledging it. Default true. */
  durable?: boolean
  /** Default `user` of transaction records. */
  user?: string
  /** Builds a new image's first objects beyond the kernel's own (the genesis curriculum). */
  genesis?: (tx: Transaction) => void | Promise<void>
}

interface Meta {
  format: number
  root: number
  traits: number
  nextOid: number
  lastTid: number
  created: number
}

export const IMAGE_FORMAT = 1

interface Prepared {
  tid: number
  ops: Op[]
  /** The objects written and their new states, index by index. */
  objs: Obj[]
  states: State[]
  publish: () => CommitInfo & { tid: number; written: Obj[] }
}

function dependentFailed(): UvmError {
  return new UvmError('IMAGE_WRITE_FAILED', 'commit failed, nothing of it was written: the write of a commit accepted before it failed')
}

export type CommitListener = (info: CommitInfo & { tid: number }) => void

/** A transaction accepted into the commit queue: conflict-checked, given its tid, encoded. */
export interface QueuedCommit {
  /** The records to write (empty for a transaction that stores nothing but must wait for one it read from). */
  ops: Op[]
  /** undefined when nothing is stored. */
  tid: number | undefined
  publish: Prepared['publish'] | undefined
  meta: TxMeta
  chain: CommitChain | undefined
  resolve: (info: CommitInfo) => void
  reject: (e: unknown) => void
  status: 'queued' | 'durable' | 'failed'
}

/**
 * Transactions begun one after another that each see the changes of the ones before, as soon as
 * those are in the commit queue rather than once they are durable (one bridge client's commands).
 * Lets one writer have many transactions share an fsync while keeping its order. Nothing of a queued
 * transaction is visible outside its chain until it is durable; a transaction that saw a queued one
 * commits in the same or a later batch, so it is never durable without it, and fails when its write fails.
 */
export class CommitChain {
  /** The chain's latest transaction in the commit queue. */
  last: QueuedCommit | undefined
  /** For each object written by a queued transaction of the chain, its newest such state. Replaced, never changed in place: transactions hold on to the one they began with. */
  overlay: ReadonlyMap<Obj, State> = EMPTY_OVERLAY
  /** Called when a transaction of the chain is accepted into the commit queue (the next one may begin). */
  onQueued: (() => void) | undefined

  /** What a transaction beginning now must see and wait for. */
  pending(): { after: QueuedCommit; overlay: ReadonlyMap<Obj, State> } | undefined {
    const last = this.last
    if (last === undefined) return undefined
    if (last.status !== 'queued') {
      // Durable: everything in the overlay is published. Failed: none of it will ever be.
      this.last = undefined
      this.overlay = EMPTY_OVERLAY
      return undefined
    }
    return { after: last, overlay: this.overlay }
  }

  queued(q: QueuedCommit, objs: readonly Obj[] | undefined, states: readonly State[] | undefined): void {
    this.last = q
    if (objs !== undefined && objs.length > 0) {
      const next = new Map(this.overlay)
      for (let i = 0; i < objs.length; i++) next.set(objs[i]!, states![i]!)
      this.overlay = next
    }
    this.onQueued?.()
  }
}

const EMPTY_OVERLAY: ReadonlyMap<Obj, State> = new Map()

/**
 * A live image: one root object and everything reachable from it, persisted
 * in LevelDB (one record per object, keyed by oid) with ZODB's semantics:
 * atomic durable commits, snapshot-isolated transactions with first-committer
 * -wins conflicts, lazily loaded objects, revision history, undo and pack.
 */
export class Image {
  readonly kernel: Kernel
  readonly codec: Codec
  readonly cache: ObjectCache
  root!: Obj
  traits!: Obj
  lastTid = 0
  private nextOid = 0
  private created = 0
  private readonly durable: boolean
  private readonly defaultUser: string
  private readonly listeners = new Set<CommitListener>()
  /** Accepted, not yet being written: the next batch. */
  private queue: QueuedCommit[] = []
  private writing: Promise<void> | undefined
  /** The tid the last accepted transaction got (lastTid is the last durable one). */
  private preparedTid = 0
  /** Objects written by accepted, not yet published transactions: the serial they will have. */
  private readonly pendingSerials = new Map<Obj, number>()
  private closed = false
  /** The snapshots of the transactions begun and not ended, and how many began at each. */
  private readonly views = new Map<number, number>()

  private constructor(readonly store: Store, opts: ImageOptions) {
    this.kernel = new Kernel(opts.realm)
    this.cache = new ObjectCache(opts.cacheSize ?? 100_000)
    this.codec = new Codec((oid) => this.cache.handle(oid))
    this.durable = opts.durable ?? true
    this.defaultUser = opts.user ?? 'uvm'
  }

  /** Open (or create) the image at `location` (a folder for classic-level), or over any abstract-level database. */
  static async open(location: string | LevelDb, opts: ImageOptions): Promise<Image> {
    const path = typeof location === 'string' ? location : 'a memory image'
    if (typeof location === 'string') imageFolder(location)
    // The native LevelDB binding is loaded by the first folder opened, not by whoever imports the image
    // module (a client command such as `uvm ping` reaches it through the bridge and never opens one).
    const db = typeof location === 'string'
      ? new (await import('classic-level')).ClassicLevel<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view' }) as unknown as LevelDb
      : location
    const store = await Store.open(db, path)
    const image = new Image(store, opts)
    try {
      const raw = store.getSync(META)
      if (raw === undefined) {
        // No metadata: a new image, unless the database already holds something else.
        if (!(await store.isEmpty())) {
          throw new UvmError('IMAGE_BAD_FORMAT', `${path} holds a LevelDB database that is not a UVM image (no image metadata); refusing to write into it`, { path })
        }
        await image.birth(opts)
      }
      else image.adoptMeta(raw)
    } catch (e) {
      await store.close()
      throw e
    }
    return image
  }

  get location(): string { return this.store.location }

  /** A new transaction; on a `chain`, it sees that chain's queued, not yet durable transactions. */
  begin(meta: TxMeta = {}, chain?: CommitChain): Transaction {
    this.assertOpen()
    return new Transaction(this, { user: this.defaultUser, ...meta }, chain)
  }

  /**
   * Run `work` in a transaction and commit it, retrying on Conflict up to
   * `retries` times (each try is a fresh transaction: `work` must not keep
   * state across tries). Any other error aborts and is rethrown.
   */
  async transact<T>(work: (tx: Transaction) => T | Promise<T>, opts: { retries?: number; meta?: TxMeta; chain?: CommitChain } = {}): Promise<{ value: T; info: CommitInfo }> {
    const retries = opts.retries ?? 5
    for (let attempt = 0; ; attempt++) {
      const tx = this.begin(opts.meta, opts.chain)
      try {
        const value = await work(tx)
        const info = await tx.commit()
        return { value, info }
      } catch (e) {
        tx.abort()
        if (e instanceof Conflict && attempt < retries) {
          await new Promise((r) => setTimeout(r, Math.random() * 2 ** attempt))
          continue
        }
        throw e
      }
    }
  }

  /** Called after every durable commit that wrote something. */
  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  handle(oid: number): Obj {
    return this.cache.handle(oid)
  }

  exists(obj: Obj): boolean {
    return obj.state !== undefined || this.store.getSync(objectKey(obj.oid)) !== undefined
  }

  /** Load a ghost's committed state (synchronously: a send cannot await). */
  load(obj: Obj): State {
    this.assertOpen()
    const bytes = this.store.getSync(objectKey(obj.oid))
    if (bytes === undefined) throw new UvmError('IMAGE_DANGLING', `object #${obj.oid} is not in the image (a dangling reference, or an object of an uncommitted transaction)`, { oid: obj.oid })
    const state = this.codec.decodeState(bytes, obj.oid)
    // Serial first: a CPU timeout can stop host code called from the sandbox
    // between two statements, and a state without its serial would read as a conflict.
    obj.serial = state.serial
    obj.state = state
    this.cache.loaded(obj)
    return state
  }

  /** The revision of `obj` that was current as of `tid` (for snapshot reads). */
  loadAsOf(obj: Obj, tid: number): State {
    let s = obj.state ?? this.load(obj)
    while (s.serial > tid) {
      if (s.prevSerial === 0) throw new UvmError('IMAGE_DANGLING', `object #${obj.oid} did not exist as of transaction ${tid}`, { oid: obj.oid })
      const bytes = this.store.getSync(revisionKey(obj.oid, s.prevSerial))
      if (bytes === undefined) throw new UvmError('IMAGE_DANGLING', `revision ${s.prevSerial} of object #${obj.oid} was packed away while a transaction still read it`, { oid: obj.oid })
      s = this.codec.decodeState(bytes, obj.oid)
    }
    return s
  }

  /** The handle for `oid`, making sure later allocations never reuse it. */
  claim(oid: number): Obj {
    if (oid >= this.nextOid) this.nextOid = oid + 1
    return this.cache.handle(oid)
  }

  allocate(): Obj {
    const obj = this.cache.handle(this.nextOid++)
    return obj
  }

  /**
   * Commit through the group-commit queue. The transaction is checked for conflicts (against
   * committed states and against those of transactions already accepted), given its tid and
   * encoded now; transactions accepted while a batch is being written go together in the next
   * batch, so concurrent writers share one fsync. The promise settles once the batch is durable
   * and published (or failed: then nothing of it was written).
   */
  commitTransaction(tx: Transaction): Promise<CommitInfo> {
    this.assertOpen()
    const after = tx.after
    if (after !== undefined && after.status === 'failed') return Promise.reject(dependentFailed())
    const waits = after !== undefined && after.status === 'queued'
    if (tx.writes.size === 0 && !waits && !tx.alwaysRecorded) return Promise.resolve({ tid: undefined, time: Date.now(), oids: [], meta: tx.meta })
    let prepared: Prepared | undefined
    try {
      if (tx.writes.size !== 0 || tx.alwaysRecorded) prepared = this.prepare(tx, this.preparedTid + 1)
    } catch (e) {
      return Promise.reject(e)
    }
    // Only new objects that nothing reaches: nothing to store, no transaction record.
    if (prepared === undefined && !waits) return Promise.resolve({ tid: undefined, time: Date.now(), oids: [], meta: tx.meta })
    return new Promise((resolve, reject) => {
      const q: QueuedCommit = { ops: prepared?.ops ?? [], tid: prepared?.tid, publish: prepared?.publish, meta: tx.meta, chain: tx.chain, resolve, reject, status: 'queued' }
      if (prepared !== undefined) {
        this.preparedTid = prepared.tid
        for (const obj of prepared.objs) this.pendingSerials.set(obj, prepared.tid)
      }
      this.queue.push(q)
      // Start the batch one macrotask later, not now: writers whose previous commits were just
      // acknowledged re-enqueue in the current microtask checkpoint, and so join this batch
      // instead of the first of them getting an fsync to itself (costs one event-loop turn).
      if (this.writing === undefined) this.writing = new Promise<void>((r) => setImmediate(r)).then(() => this.drain())
      tx.chain?.queued(q, prepared?.objs, prepared?.states)
    })
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group = this.queue
        this.queue = []
        await this.writeGroup(group)
      }
    } finally {
      this.writing = undefined
    }
  }

  private async writeGroup(group: QueuedCommit[]): Promise<void> {
    let ops: Op[] | undefined
    let tid = 0
    for (const q of group) {
      if (q.tid === undefined) continue
      tid = q.tid
      if (ops === undefined) ops = q.ops
      else for (const op of q.ops) ops.push(op)
    }
    if (ops !== undefined) {
      ops.push({ type: 'put', key: META, value: this.encodeMeta(tid) })
      try {
        await this.store.write(ops, this.durable)
      } catch (e) {
        this.failQueued(group, (e as Error).message)
        return
      }
      this.lastTid = tid
    }
    for (const q of group) {
      q.status = 'durable'
      if (q.publish === undefined) {
        q.resolve({ tid: undefined, time: Date.now(), oids: [], meta: q.meta })
        continue
      }
      const info = q.publish()
      for (const obj of info.written) if (this.pendingSerials.get(obj) === info.tid) this.pendingSerials.delete(obj)
      if (q.chain !== undefined && q.chain.last === q) {
        // Everything the chain had queued is published now.
        q.chain.last = undefined
        q.chain.overlay = EMPTY_OVERLAY
      }
      const out = { tid: info.tid, time: info.time, oids: info.oids, meta: info.meta }
      q.resolve(out)
      for (const l of this.listeners) {
        try { l(out) } catch { /* a listener's failure must not undo a durable commit */ }
      }
    }
  }

  /**
   * The batch failed: nothing of it was written. Every transaction accepted after it fails too,
   * nothing of them written either: they were checked against its states (and some read them).
   */
  private failQueued(group: QueuedCommit[], why: string): void {
    const later = this.queue
    this.queue = []
    this.pendingSerials.clear()
    this.preparedTid = this.lastTid
    for (const q of group) {
      q.status = 'failed'
      q.reject(new UvmError('IMAGE_WRITE_FAILED', `commit failed, nothing of it was written: ${why}`))
    }
    for (const q of later) {
      q.status = 'failed'
      q.reject(dependentFailed())
    }
  }

  /**
   * Check a transaction for conflicts and encode it; returns its records and the in-memory
   * publication to run once durable, or undefined when there is nothing to store.
   */
  private prepare(tx: Transaction, tid: number): Prepared | undefined {
    const pendingSerials = this.pendingSerials
    const conflicts: number[] = []
    const objs: Obj[] = []
    const states: State[] = []
    const created = tx.created
    const writes = tx.writes
    const bases = tx.bases
    for (const [obj, state] of writes) {
      if (created.has(obj)) continue
      const base = bases.get(obj)!
      if ((pendingSerials.get(obj) ?? obj.serial) !== base.serial) conflicts.push(obj.oid)
      else { objs.push(obj); states.push(state) }
    }
    if (conflicts.length > 0) throw new Conflict(conflicts)
    const existing = objs.length
    if (created.size !== 0) {
      // A new object is written only when something committed reaches it.
      const seen = new Set<Obj>()
      const refs: Obj[] = []
      if (created.has(this.root)) refs.push(this.root)
      for (let i = 0; i < existing; i++) referencesOf(states[i]!, refs)
      // In the order found: what the committed objects reach, then what each of those reaches.
      for (let i = existing; ; i++) {
        for (let r = 0; r < refs.length; r++) {
          const o = refs[r]!
          if (!created.has(o) || seen.has(o)) continue
          seen.add(o)
          objs.push(o)
          states.push(writes.get(o)!)
        }
        if (i >= objs.length) break
        refs.length = 0
        referencesOf(states[i]!, refs)
      }
    }
    const n = objs.length
    if (n === 0 && !tx.alwaysRecorded) return undefined

    // Encode into a batch of this transaction's own: if anything throws, nothing of it is accepted.
    const time = Date.now()
    const ops: Op[] = []
    const oids: number[] = new Array(n)
    const codec = this.codec
    const marks = tx.marksOrigins
    for (let i = 0; i < n; i++) {
      const obj = objs[i]!
      const state = states[i]!
      const oid = obj.oid
      const base = i < existing ? bases.get(obj) : undefined
      const prev = base === undefined ? 0 : base.serial
      if (marks || state.origins !== undefined) state.origins = originsAfter(state, base, marks ? tid : 0)
      state.serial = tid
      state.prevSerial = prev
      oids[i] = oid
      ops.push({ type: 'put', key: objectKey(oid), value: codec.encodeState(state, tid, prev) })
      // The revision it replaces moves to its revision key, encoded again rather than kept in
      // memory: every loaded object holding its record's bytes would double what the cache holds.
      if (base !== undefined) ops.push({ type: 'put', key: revisionKey(oid, prev), value: codec.encodeState(base, prev, base.prevSerial) })
    }
    const meta = tx.meta
    ops.push({ type: 'put', key: txKey(tid), value: codec.packMap({ tid, time, user: meta.user ?? this.defaultUser, description: meta.description ?? '', ext: meta.ext ?? {}, oids }) })
    const publish = () => {
      let structural = false
      for (let i = 0; i < n; i++) {
        const obj = objs[i]!
        const state = states[i]!
        const wasGhost = obj.state === undefined
        obj.state = state
        obj.serial = tid
        if (state.structChanged) {
          obj.structVersion++
          state.structChanged = false
          if (i < existing) structural = true
        }
        if (wasGhost) this.cache.loaded(obj)
      }
      if (structural) this.kernel.structEpoch++
      return { tid, time, oids, meta, written: objs }
    }
    return { tid, ops, objs, states, publish }
  }

  private encodeMeta(lastTid: number): Uint8Array {
    const meta: Meta = { format: IMAGE_FORMAT, root: this.root.oid, traits: this.traits.oid, nextOid: this.nextOid, lastTid, created: this.created }
    return this.codec.packMap(meta)
  }

  private adoptMeta(raw: Uint8Array): void {
    const meta = this.codec.unpack(raw) as Partial<Meta>
    if (meta === null || typeof meta !== 'object' || typeof meta.root !== 'number' || typeof meta.traits !== 'number') {
      throw new UvmError('IMAGE_BAD_FORMAT', `${this.location} is not a UVM image (its metadata record is unreadable)`)
    }
    if ((meta.format ?? 0) > IMAGE_FORMAT) throw new UvmError('IMAGE_BAD_FORMAT', `${this.location} has image format ${meta.format}; this UVM reads format ${IMAGE_FORMAT}`)
    this.root = this.cache.handle(meta.root)
    this.traits = this.cache.handle(meta.traits)
    this.cache.pin(this.root)
    this.cache.pin(this.traits)
    this.nextOid = meta.nextOid ?? 0
    this.lastTid = meta.lastTid ?? 0
    this.preparedTid = this.lastTid
    this.created = meta.created ?? 0
  }

  private async birth(opts: ImageOptions): Promise<void> {
    this.created = Date.now()
    const tx = this.begin({ description: 'genesis' })
    const { root, traits } = bootstrap(tx)
    this.root = root
    this.traits = traits
    this.cache.pin(root)
    this.cache.pin(traits)
    await opts.genesis?.(tx)
    await tx.commit()
  }

  history(oid: number, opts?: { limit?: number }): Promise<Revision[]> { return history(this, oid, opts) }
  loadBefore(oid: number, tid: number) { return loadBefore(this, oid, tid) }
  /** The tid that last wrote one slot of an object (see history.ts). */
  slotWriter(oid: number, slot: string): Promise<number | undefined> { return slotWriter(this, oid, slot) }
  transactions(opts?: { limit?: number; before?: number }): Promise<TxRecord[]> { return transactions(this, opts) }
  transaction(tid: number): Promise<TxRecord | undefined> { return transactionRecord(this, tid) }
  undo(tid: number, meta?: TxMeta): Promise<CommitInfo> { return undo(this, tid, meta) }
  /** What a transaction changed: each object's slots before and after (see show.ts). */
  show(tid: number): Promise<TransactionChanges | undefined> { return showTransaction(this, tid) }
  /**
   * Pack (see pack.ts), safely beside transactions in flight: no batch is written while it runs
   * (commits accepted meanwhile are written after it), so what it marks and sweeps is one state of
   * the image; and it keeps every revision an active transaction may still read (`before` is at
   * most the oldest one's snapshot), so none of them can commit a reference to an object it swept.
   */
  pack(opts: { before?: number; onProgress?: (p: PackProgress) => void } = {}): Promise<PackReport> {
    return this.exclusive(() => {
      const asked = opts.before ?? this.lastTid + 1
      // A tid past the last is refused as asked (pack.ts), not hidden by the cap below.
      if (asked > this.lastTid + 1) return pack(this, opts)
      const oldest = this.oldestView()
      return pack(this, { ...opts, before: oldest === undefined ? asked : Math.min(asked, oldest) })
    })
  }
  check(opts?: { maxListed?: number }): Promise<CheckReport> { return check(this, opts) }

  /** A transaction began with this snapshot (Transaction calls it; viewEnded when it ends). */
  viewOpened(snapshot: number): void {
    this.views.set(snapshot, (this.views.get(snapshot) ?? 0) + 1)
  }

  viewEnded(snapshot: number): void {
    const n = (this.views.get(snapshot) ?? 1) - 1
    if (n <= 0) this.views.delete(snapshot)
    else this.views.set(snapshot, n)
  }

  private oldestView(): number | undefined {
    let oldest: number | undefined
    for (const s of this.views.keys()) if (oldest === undefined || s < oldest) oldest = s
    return oldest
  }

  /** Run `f` while no commit batch is written: batches accepted meanwhile wait, and are written after it. */
  private async exclusive<T>(f: () => Promise<T>): Promise<T> {
    this.assertOpen()
    while (this.writing !== undefined) await this.writing
    const result = f()
    this.writing = result.then(() => {}, () => {}).then(() => this.drain())
    return result
  }

  /** Commits still in flight finish first; then the store closes. */
  async close(): Promise<void> {
    if (this.closed) return
    while (this.writing !== undefined) await this.writing
    this.closed = true
    await this.store.close()
  }

  get isClosed(): boolean { return this.closed }

  assertOpen(): void {
    if (this.closed) throw new UvmError('IMAGE_CLOSED', `image ${this.location} is closed`)
  }
}

/**
 * A written state's slot origins (State.origins): the slots this commit changed point to it when it
 * is a recorded cycle (`tid`), and lose their old origin otherwise (0); the others keep theirs.
 * Data is frozen and replaced when written, so identity tells a changed slot.
 */
function originsAfter(state: State, base: State | undefined, tid: number): ReadonlyMap<string, number> | undefined {
  const before = state.origins
  const out = new Map<string, number>()
  for (const [name, value] of state.slots) {
    // A slot value is never undefined: a missing slot of the base reads as changed.
    const same = base !== undefined && base.slots.get(name) === value
    if (!same) { if (tid !== 0) out.set(name, tid) }
    else {
      const o = before?.get(name)
      if (o !== undefined) out.set(name, o)
    }
  }
  return out.size === 0 ? undefined : out
}
