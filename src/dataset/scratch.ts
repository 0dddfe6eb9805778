import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import { HardenedRealm } from '../act/index.js'
import { UvmError } from '../errors.js'
import { Curriculum, replayConversation } from '../genesis/index.js'
import type { Conversation, Turn } from '../genesis/index.js'
import { Image } from '../image/index.js'
import type { LevelDb } from '../image/index.js'
import type { Knowledge } from './knowledge.js'
import { imageKnowledge } from './knowledge.js'

/** The capabilities an act of the base image is granted (the CLI passes the daemon's). */
export type CapabilityFactory = (image: Image, realm: HardenedRealm) => Record<string, unknown>

export interface ScratchOptions {
  /** An image folder to copy; default: a fresh genesis image, built in memory from the curriculum. */
  base?: string | undefined
  curriculum?: Curriculum | undefined
  capabilities?: CapabilityFactory | undefined
  cpuTimeoutMs?: number | undefined
  wallTimeoutMs?: number | undefined
  actMemoryMb?: number | undefined
}

export type ScratchOutcome = { ok: true } | { ok: false; reason: string; turn?: number }

type Entry = [string, Uint8Array]

/**
 * Stage 5: each conversation replays into its own scratch copy of the base image (ZODB's DemoStorage
 * idea: the base is read, never written), so no conversation sees another's changes, and the base
 * folder given by `--base` is opened only to be copied.
 */
export class ScratchImages {
  /** The base's records: the whole of it, and for the genesis base each curriculum conversation's "just before". */
  readonly #entries: Entry[]
  readonly #before: Map<string, Entry[]>
  readonly #throughChapter: Map<number, Entry[]>
  readonly #realm: HardenedRealm
  readonly #opts: ScratchOptions
  /** What the logic stage may know of the base: the real image's objects and slots. */
  readonly knowledge: Knowledge
  /** Where the base came from, for the summary. */
  readonly label: string

  private constructor(entries: Entry[], before: Map<string, Entry[]>, throughChapter: Map<number, Entry[]>, realm: HardenedRealm, knowledge: Knowledge, label: string, opts: ScratchOptions) {
    this.#entries = entries
    this.#before = before
    this.#throughChapter = throughChapter
    this.#realm = realm
    this.knowledge = knowledge
    this.label = label
    this.#opts = opts
  }

  static async open(opts: ScratchOptions = {}): Promise<ScratchImages> {
    // The daemon's default act memory: a dataset's act that hoards fails its line, not the run.
    const realm = new HardenedRealm({ cpuTimeoutMs: opts.cpuTimeoutMs, wallTimeoutMs: opts.wallTimeoutMs, actMemoryMb: opts.actMemoryMb ?? 256 })
    let entries: Entry[]
    let label: string
    const before = new Map<string, Entry[]>()
    const throughChapter = new Map<number, Entry[]>()
    if (opts.base !== undefined) {
      entries = await copyFolder(opts.base)
      label = opts.base
    } else {
      // The genesis image, built conversation by conversation, keeping the image as each one found it:
      // a curriculum conversation is replayed where it belongs, not on top of its own outcome.
      const db = memoryDb()
      const image = await Image.open(db, { realm })
      try {
        const curriculum = opts.curriculum ?? Curriculum.load()
        const list = curriculum.conversations
        for (let i = 0; i < list.length; i++) {
          const c = list[i]!
          const snapshot = await readAll(db)
          before.set(turnsKey(c.turns), snapshot)
          if (i > 0 && list[i - 1]!.chapter !== c.chapter) throughChapter.set(list[i - 1]!.chapter, snapshot)
          await replayConversation(image, realm, c, { capabilities: opts.capabilities?.(image, realm) })
        }
        entries = await readAll(db)
        if (list.length > 0) throughChapter.set(list.at(-1)!.chapter, entries)
      } finally {
        await image.close()
      }
      label = 'a fresh genesis image (in memory)'
    }
    const probe = await openCopy(entries, realm).catch((e: unknown) => {
      throw new UvmError('DATASET_BAD_FILE', `--base ${label}: ${(e as Error).message.replace(/^a memory image /, '')}`, { path: label })
    })
    try {
      return new ScratchImages(entries, before, throughChapter, realm, imageKnowledge(probe), label, opts)
    } finally {
      await probe.close()
    }
  }

  /**
   * Replay one conversation into a fresh copy of the base; every act must succeed within its limits.
   * On the genesis base a curriculum conversation finds the image as it stood before it, and one
   * marked `meta.chapter` K the image through chapter K; any other, the whole of it.
   */
  async run(c: Conversation, chapter?: number): Promise<ScratchOutcome> {
    const entries = this.#before.get(turnsKey(c.turns)) ?? (chapter !== undefined ? this.#throughChapter.get(chapter) : undefined) ?? this.#entries
    const image = await openCopy(entries, this.#realm)
    try {
      await replayConversation(image, this.#realm, c, {
        capabilities: this.#opts.capabilities?.(image, this.#realm),
        cpuTimeoutMs: this.#opts.cpuTimeoutMs,
        wallTimeoutMs: this.#opts.wallTimeoutMs,
        keepOnFailure: true,
      })
      return { ok: true }
    } catch (e) {
      const turn = (e as UvmError).details?.turn
      // replayConversation names the conversation, the turn and its words; the file and line are ours to give.
      const reason = (e as Error).message.replace(/^[^,]*, turn/, 'turn')
      return { ok: false, reason, ...(typeof turn === 'number' && { turn }) }
    } finally {
      await image.close()
    }
  }
}

/** A conversation's identity for finding it in the curriculum: its turns, whatever file holds them. */
function turnsKey(turns: readonly Turn[]): string {
  return JSON.stringify(turns.map((t) => [t.utterance, t.explanation, t.code]))
}

function memoryDb(): LevelDb {
  return new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' }) as unknown as LevelDb
}

async function readAll(db: LevelDb): Promise<Entry[]> {
  const out: Entry[] = []
  for await (const [k, v] of db.iterator()) out.push([k as string, v as Uint8Array])
  return out
}

async function openCopy(entries: readonly Entry[], realm: HardenedRealm): Promise<Image> {
  const db = memoryDb()
  await db.open()
  await db.batch(entries.map(([key, value]) => ({ type: 'put' as const, key, value })))
  return Image.open(db, { realm })
}

/** Every record of an image folder, read and closed again: the folder is never written. */
async function copyFolder(path: string): Promise<Entry[]> {
  if (!existsSync(path)) throw new UvmError('DATASET_BAD_FILE', `--base ${path}: no such image folder`, { path })
  if (!statSync(path).isDirectory()) throw new UvmError('DATASET_BAD_FILE', `--base ${path}: a file, not an image folder`, { path })
  // LevelDB writes LOCK and LOG into any folder it is asked to open, even to refuse it: look before opening.
  if (!existsSync(join(path, 'CURRENT'))) throw new UvmError('DATASET_BAD_FILE', `--base ${path}: not an image folder (it holds no LevelDB image: no CURRENT file)`, { path })
  const db = new ClassicLevel<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view', createIfMissing: false })
  try {
    await db.open()
  } catch (e) {
    const locked = JSON.stringify(e, Object.getOwnPropertyNames(e)).includes('LEVEL_LOCKED') || /lock/i.test(String((e as { cause?: unknown }).cause))
    throw new UvmError('DATASET_BAD_FILE', locked
      ? `--base ${path}: the image is in use (a daemon holds it); stop it, or validate against a copy (uvm export, then uvm import into another folder)`
      : `--base ${path}: not an image folder (${(e as { cause?: Error }).cause?.message ?? (e as Error).message})`, { path })
  }
  try {
    const entries = await readAll(db as unknown as LevelDb)
    if (entries.length === 0) throw new UvmError('DATASET_BAD_FILE', `--base ${path}: an empty folder, not an image`, { path })
    return entries
  } finally {
    await db.close()
  }
}
