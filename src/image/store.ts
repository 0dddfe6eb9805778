import type { AbstractLevel } from 'abstract-level'
import { ImageInUse, UvmError } from '../errors.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LevelDb = AbstractLevel<any, string, Uint8Array>

/** A put or delete for one atomic commit. */
export type Op = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string }

/**
 * The image's storage, written against the abstract-level interface so that
 * classic-level (an image folder) and memory-level (scratch images) both run
 * it. Reads that a message send may need are synchronous (getSync): a proxy
 * trap cannot await.
 */
export class Store {
  private constructor(readonly db: LevelDb, readonly location: string) {}

  static async open(db: LevelDb, location: string): Promise<Store> {
    try {
      await db.open()
    } catch (e) {
      if (isLocked(e)) throw new ImageInUse(location)
      const cause = (e as { cause?: { message?: string; code?: string } }).cause
      // classic-level makes the folder first: a plain file in its place fails with mkdir's EEXIST.
      const why = cause?.code === 'EEXIST' ? 'it is a file, and an image is a folder (give another path)' : cause?.message ?? (e as Error).message
      throw new UvmError('IMAGE_BAD_FORMAT', `cannot open image ${location}: ${why}`, { path: location })
    }
    if (!(db.supports as { getSync?: boolean }).getSync) throw new UvmError('IMAGE_BAD_FORMAT', `the storage behind ${location} cannot read synchronously (getSync)`)
    return new Store(db, location)
  }

  getSync(key: string): Uint8Array | undefined {
    return this.db.getSync(key) ?? undefined
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return (await this.db.get(key)) ?? undefined
  }

  /** One atomic batch; `sync` makes it durable before the promise resolves. Uses the chained batch (the fast path). */
  async write(ops: readonly Op[], sync: boolean): Promise<void> {
    const batch = this.db.batch()
    for (const op of ops) {
      if (op.type === 'put') batch.put(op.key, op.value)
      else batch.del(op.key)
    }
    await batch.write(sync ? { sync: true } : {})
  }

  /** Entries in [gte, lt), in key order (or reverse), up to limit. */
  async *entries(range: { gte: string; lt: string; reverse?: boolean; limit?: number }): AsyncGenerator<[string, Uint8Array]> {
    const it = this.db.iterator({ gte: range.gte, lt: range.lt, reverse: range.reverse ?? false, limit: range.limit ?? -1 })
    try {
      for (;;) {
        const batch = await it.nextv(1000)
        if (batch.length === 0) return
        for (const entry of batch) yield entry as [string, Uint8Array]
      }
    } finally {
      await it.close()
    }
  }

  async *keys(range: { gte: string; lt: string }): AsyncGenerator<string> {
    const it = this.db.keys({ gte: range.gte, lt: range.lt })
    try {
      for (;;) {
        const batch = await it.nextv(1000)
        if (batch.length === 0) return
        yield* batch as string[]
      }
    } finally {
      await it.close()
    }
  }

  /** True when the database holds no key at all. */
  async isEmpty(): Promise<boolean> {
    const keys = await this.db.keys({ limit: 1 }).all()
    return keys.length === 0
  }

  async close(): Promise<void> {
    await this.db.close()
  }
}

function isLocked(e: unknown): boolean {
  for (let c: unknown = e; c; c = (c as { cause?: unknown }).cause) {
    if ((c as { code?: unknown }).code === 'LEVEL_LOCKED') return true
  }
  return false
}
