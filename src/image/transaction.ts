import { UvmError } from '../errors.js'
import type { Heap, Kernel, Need } from '../kernel/index.js'
import { Obj, State, Surface } from '../kernel/index.js'
import type { CommitChain, Image, QueuedCommit } from './image.js'

/** What a transaction record remembers besides the changed objects. */
export interface TxMeta {
  user?: string
  description?: string
  /** Free-form extension map: the act's source, the architect's intent, ... */
  ext?: Record<string, unknown>
}

export interface CommitInfo {
  /** undefined when the transaction wrote nothing (nothing was stored). */
  tid: number | undefined
  time: number
  /** Objects written, new ones included. */
  oids: number[]
  meta: TxMeta
}

export type TxStatus = 'active' | 'committing' | 'committed' | 'aborted'

/** A point to roll a transaction back to. */
export interface Savepoint {
  rollback(): void
}

/**
 * One unit of work against the image (ZODB's per-connection view): writes go
 * to private copy-on-write states; reads see those first, then the committed
 * image as of the transaction's start (snapshot isolation). Commit publishes
 * every written object at once, or fails with a Conflict when another
 * transaction committed one of them first. Nothing is shared until commit, so
 * transactions overlap freely across awaits.
 */
export class Transaction implements Heap {
  /** Working copies of the objects this transaction wrote. */
  writes = new Map<Obj, State>()
  /** For each written object that existed before: the state it was copied from. */
  bases = new Map<Obj, State>()
  /** Objects made by this transaction (written at commit only if reachable). */
  created = new Set<Obj>()
  structDirty = false
  /** See Heap.deferMissing. */
  deferMissing = false
  missing: Need | undefined = undefined
  /** See Heap.capabilities. */
  capabilities: ReadonlyMap<string, unknown> | undefined = undefined
  /**
   * This transaction is a recorded cycle (a JIT compile, a curriculum turn): every slot it changes
   * points to its tid (State.origins), which is how `uvm why` and mirrors find how a slot was made.
   */
  marksOrigins = false
  /** Commit a transaction record even when nothing was written (a curriculum turn that only reads is still a turn of the narrative). */
  alwaysRecorded = false
  /** See Heap.stamp: renewed by every write and rollback, 0 once ended. */
  stamp: number
  snapshot: number
  status: TxStatus = 'active'
  readonly surface: Surface
  readonly meta: TxMeta
  /** Older revisions this transaction read because a later commit replaced them. */
  private older: Map<Obj, State> | undefined

  /** The image's kernel, as a field: every send reads it. */
  readonly kernel: Kernel
  /** On a chain: the chain's queued transaction this one saw (it commits only if that one does). */
  readonly after: QueuedCommit | undefined
  /** On a chain: the states the chain's queued transactions wrote, read before the committed ones. */
  private readonly overlay: ReadonlyMap<Obj, State> | undefined

  constructor(readonly image: Image, meta: TxMeta = {}, chain?: CommitChain) {
    this.kernel = image.kernel
    this.stamp = this.kernel.newStamp()
    this.snapshot = image.lastTid
    image.viewOpened(this.snapshot)
    this.meta = { ...meta }
    this.surface = new Surface(this)
    this.chain = chain
    const pending = chain?.pending()
    this.after = pending?.after
    if (pending !== undefined && pending.overlay.size > 0) {
      this.overlay = pending.overlay
      // The shared lookup caches describe committed structure, and their data fast path committed
      // values: this view sees newer states than those, so it walks and reads for itself.
      this.structDirty = true
    }
  }

  /** The chain this transaction was begun on, if any. */
  readonly chain: CommitChain | undefined

  get traits(): Obj { return this.image.traits }

  read(obj: Obj): State {
    if (this.writes.size !== 0) {
      const w = this.writes.get(obj)
      if (w !== undefined) return w
    }
    if (this.overlay !== undefined) {
      const o = this.overlay.get(obj)
      if (o !== undefined) return o
    }
    const s = obj.state ?? this.image.load(obj)
    obj.touched = true
    return obj.serial <= this.snapshot ? s : this.olderState(obj)
  }

  write(obj: Obj): State {
    this.assertWritable()
    // The caller is about to change what this view sees.
    this.stamp = this.kernel.newStamp()
    let w = this.writes.get(obj)
    if (w !== undefined) return w
    const base = this.read(obj)
    w = base.clone()
    this.writes.set(obj, w)
    this.bases.set(obj, base)
    return w
  }

  create(): Obj {
    this.assertWritable()
    this.stamp = this.kernel.newStamp()
    const obj = this.image.allocate()
    this.writes.set(obj, new State())
    this.created.add(obj)
    return obj
  }

  /** Replace an object's whole state (undo restores an earlier revision this way). */
  restore(obj: Obj, slots: State): void {
    const w = this.write(obj)
    w.slots.clear()
    for (const [k, v] of slots.slots) w.slots.set(k, v)
    w.structChanged = true
    w.touched()
    this.structDirty = true
  }

  /** Put `state` in place as object `oid`, creating the object if the image has none by that oid (import). */
  install(oid: number, state: State): void {
    const obj = this.image.claim(oid)
    if (this.created.has(obj) || this.image.exists(obj)) {
      this.restore(obj, state)
      return
    }
    this.assertWritable()
    this.stamp = this.kernel.newStamp()
    const w = state.clone()
    w.structChanged = true
    this.writes.set(obj, w)
    this.created.add(obj)
    this.structDirty = true
  }

  /** The JS face of an object in this transaction. */
  proxy(obj: Obj): object {
    return this.surface.proxy(obj)
  }

  get root(): Record<string, any> { return this.surface.proxy(this.image.root) as Record<string, any> }
  get genesis(): Record<string, any> { return this.root.genesis as Record<string, any> }

  /** The object behind a proxy (or the handle itself). */
  objectOf(value: unknown): Obj {
    const obj = this.kernel.objectOf(value)
    if (obj === undefined) throw new UvmError('KERNEL_NOT_AN_OBJECT', 'expected a UVM object')
    return obj
  }

  /** The object with this oid, as a proxy; undefined when the image has no such object. */
  byOid(oid: number): Record<string, any> | undefined {
    const obj = this.image.handle(oid)
    if (!this.created.has(obj) && this.overlay?.has(obj) !== true && !this.image.exists(obj)) return undefined
    return this.surface.proxy(obj) as Record<string, any>
  }

  /** Explicit message send: `tx.send(obj, 'greet', 'Ada')`. */
  send(target: unknown, selector: string, ...args: unknown[]): unknown {
    return this.kernel.send(this, this.objectOf(target), selector, args)
  }

  savepoint(): Savepoint {
    this.assertWritable()
    this.surface.flush()
    const writes = cloneWrites(this.writes)
    const bases = new Map(this.bases)
    const created = new Set(this.created)
    const structDirty = this.structDirty
    return {
      rollback: () => {
        this.assertWritable()
        this.stamp = this.kernel.newStamp()
        this.writes = cloneWrites(writes)
        this.bases = new Map(bases)
        this.created = new Set(created)
        this.structDirty = structDirty
        this.surface.forgetTracked()
      },
    }
  }

  /**
   * Runs in commit() after the last write-back of tracked copies, on exactly the writes the commit
   * will store; throwing aborts. One definitive look (a read-only daemon's check), not a sample.
   */
  beforeCommit: ((tx: this) => void) | undefined = undefined

  async commit(): Promise<CommitInfo> {
    this.assertWritable()
    try {
      this.surface.flush()
      this.beforeCommit?.(this)
    } catch (e) {
      this.abort()
      throw e
    }
    this.status = 'committing'
    try {
      const info = await this.image.commitTransaction(this)
      this.finish('committed')
      return info
    } catch (e) {
      this.finish('aborted')
      throw e
    }
  }

  /** Drop every change; committed states were never touched, so memory is already as committed. */
  abort(): void {
    if (this.status === 'committed' || this.status === 'aborted') return
    this.finish('aborted')
  }

  private finish(status: TxStatus): void {
    this.status = status
    // An ended view reads the latest committed state (below): nothing may be remembered for it.
    this.stamp = 0
    this.writes = new Map()
    this.bases = new Map()
    this.created = new Set()
    this.older = undefined
    this.structDirty = false
    // Proxies may outlive the transaction (a REPL prints them): let them read the latest state.
    if (this.snapshot !== Infinity) this.image.viewEnded(this.snapshot)
    this.snapshot = Infinity
    this.surface.forgetTracked()
    this.surface.release()
  }

  private olderState(obj: Obj): State {
    const cached = this.older?.get(obj)
    if (cached !== undefined) return cached
    const s = this.image.loadAsOf(obj, this.snapshot)
    ;(this.older ??= new Map()).set(obj, s)
    return s
  }

  private assertWritable(): void {
    if (this.status !== 'active') {
      throw new UvmError('IMAGE_TX_FINISHED', `this transaction is ${this.status}; begin a new one to change the image`)
    }
  }
}

function cloneWrites(writes: Map<Obj, State>): Map<Obj, State> {
  const out = new Map<Obj, State>()
  for (const [o, s] of writes) {
    const c = s.clone()
    c.structChanged = s.structChanged
    out.set(o, c)
  }
  return out
}
