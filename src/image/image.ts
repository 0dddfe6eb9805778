import { ClassicLevel } from 'classic-level'
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
import { history, loadBefore, transactionRecord, transactions, undo } from './history.js'
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

export type CommitListener = (info: CommitInfo & { tid: number }) => void

interface Pending {
  tx: Transaction
  resolve: (info: CommitInfo) => void
  reject: (e: unknown) => void
}

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
  private queue: Pending[] = []
  private writing: Promise<void> | undefined
  private closed = false

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
    const db = typeof location === 'string'
      ? new ClassicLevel<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view' }) as unknown as LevelDb
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

  begin(meta: TxMeta = {}): Transaction {
    this.assertOpen()
    return new Transaction(this, { user: this.defaultUser, ...meta })
  }

  /**
   * Run `work` in a transaction and commit it, retrying on Conflict up to
   * `retries` times (each try is a fresh transaction: `work` must not keep
   * state across tries). Any other error aborts and is rethrown.
   */
  async transact<T>(work: (tx: Transaction) => T | Promise<T>, opts: { retries?: number; meta?: TxMeta } = {}): Promise<{ value: T; info: CommitInfo }> {
    const retries = opts.retries ?? 5
    for (let attempt = 0; ; attempt++) {
      const tx = this.begin(opts.meta)
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
   * Commit through the group-commit queue: transactions that arrive while a
   * batch is being written go together in the next batch, so concurrent
   * writers share one fsync. Each transaction is still all-or-nothing.
   */
  commitTransaction(tx: Transaction): Promise<CommitInfo> {
    this.assertOpen()
    if (tx.writes.size === 0) return Promise.resolve({ tid: undefined, time: Date.now(), oids: [], meta: tx.meta })
    return new Promise((resolve, reject) => {
      this.queue.push({ tx, resolve, reject })
      // Start the batch one macrotask later, not now: writers whose previous commits were just
      // acknowledged re-enqueue in the current microtask checkpoint, and so join this batch
      // instead of the first of them getting an fsync to itself (costs one event-loop turn).
      if (this.writing === undefined) this.writing = new Promise<void>((r) => setImmediate(r)).then(() => this.drain())
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

  private async writeGroup(group: Pending[]): Promise<void> {
    const ops: Op[] = []
    const pendingSerials = new Map<Obj, number>()
    const accepted: { p: Pending; publish: () => CommitInfo & { tid: number } }[] = []
    let tid = this.lastTid
    for (const p of group) {
      try {
        const publish = this.prepare(p.tx, tid + 1, pendingSerials, ops)
        if (publish === undefined) {
          // Only new objects that nothing reaches: nothing to store, no transaction record.
          p.resolve({ tid: undefined, time: Date.now(), oids: [], meta: p.tx.meta })
          continue
        }
        tid++
        accepted.push({ p, publish })
      } catch (e) {
        p.reject(e)
      }
    }
    if (accepted.length === 0) return
    ops.push({ type: 'put', key: META, value: this.encodeMeta(tid) })
    try {
      await this.store.write(ops, this.durable)
    } catch (e) {
      for (const a of accepted) a.p.reject(new UvmError('IMAGE_CLOSED', `commit failed, nothing was written: ${(e as Error).message}`))
      return
    }
    this.lastTid = tid
    for (const a of accepted) {
      const info = a.publish()
      a.p.resolve(info)
      for (const l of this.listeners) {
        try { l(info) } catch { /* a listener's failure must not undo a durable commit */ }
      }
    }
  }

  /**
   * Check a transaction for conflicts and encode it; returns the in-memory
   * publication to run once durable, or undefined when there is nothing to store.
   */
  private prepare(tx: Transaction, tid: number, pendingSerials: Map<Obj, number>, ops: Op[]): (() => CommitInfo & { tid: number }) | undefined {
    const conflicts: number[] = []
    const written: [Obj, State][] = []
    for (const [obj, state] of tx.writes) {
      if (tx.created.has(obj)) continue
      const base = tx.bases.get(obj)!
      if ((pendingSerials.get(obj) ?? obj.serial) !== base.serial) conflicts.push(obj.oid)
      else written.push([obj, state])
    }
    if (conflicts.length > 0) throw new Conflict(conflicts)
    // A new object is written only when something committed reaches it.
    const fresh: Obj[] = []
    const seen = new Set<Obj>()
    const reach = (o: Obj) => {
      if (!tx.created.has(o) || seen.has(o)) return
      seen.add(o)
      fresh.push(o)
    }
    if (tx.created.has(this.root)) reach(this.root)
    for (const [, s] of written) for (const r of referencesOf(s)) reach(r)
    for (let i = 0; i < fresh.length; i++) for (const r of referencesOf(tx.writes.get(fresh[i]!)!)) reach(r)
    for (const o of fresh) written.push([o, tx.writes.get(o)!])
    if (written.length === 0) return undefined

    // Encode into a batch of this transaction's own: if anything throws, nothing of it joins the group.
    const time = Date.now()
    const mine: Op[] = []
    for (const [obj, state] of written) {
      const base = tx.bases.get(obj)
      const prev = base?.serial ?? 0
      state.serial = tid
      state.prevSerial = prev
      state.bytes = this.codec.encodeState(state, tid, prev)
      mine.push({ type: 'put', key: objectKey(obj.oid), value: state.bytes })
      if (base !== undefined) mine.push({ type: 'put', key: revisionKey(obj.oid, prev), value: base.bytes! })
    }
    const oids = written.map(([o]) => o.oid)
    const meta = tx.meta
    mine.push({ type: 'put', key: txKey(tid), value: this.codec.pack({ tid, time, user: meta.user ?? this.defaultUser, description: meta.description ?? '', ext: meta.ext ?? {}, oids }) })
    for (const op of mine) ops.push(op)
    for (const [obj] of written) pendingSerials.set(obj, tid)
    const created = tx.created
    return () => {
      let structural = false
      for (const [obj, state] of written) {
        const wasGhost = obj.state === undefined
        obj.state = state
        obj.serial = tid
        if (state.structChanged) {
          obj.structVersion++
          state.structChanged = false
          if (!created.has(obj)) structural = true
        }
        if (wasGhost) this.cache.loaded(obj)
      }
      if (structural) this.kernel.structEpoch++
      return { tid, time, oids, meta }
    }
  }

  private encodeMeta(lastTid: number): Uint8Array {
    const meta: Meta = { format: IMAGE_FORMAT, root: this.root.oid, traits: this.traits.oid, nextOid: this.nextOid, lastTid, created: this.created }
    return this.codec.pack(meta)
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
  transactions(opts?: { limit?: number; before?: number }): Promise<TxRecord[]> { return transactions(this, opts) }
  transaction(tid: number): Promise<TxRecord | undefined> { return transactionRecord(this, tid) }
  undo(tid: number, meta?: TxMeta): Promise<CommitInfo> { return undo(this, tid, meta) }
  pack(opts?: { before?: number; onProgress?: (p: PackProgress) => void }): Promise<PackReport> { return pack(this, opts) }
  check(opts?: { maxListed?: number }): Promise<CheckReport> { return check(this, opts) }

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
