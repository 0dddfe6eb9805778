// The whole Grand Narrative: it replays, it is big enough, it holds the seeds' own examples, and
// replaying it twice gives the same object graph up to oids and times.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Image, Transaction } from '../../src/image/index.js'
import { Method, Obj, Primitive } from '../../src/kernel/index.js'
import type { Curriculum } from '../../src/genesis/index.js'
import { curriculumWorld, type CurriculumWorld } from './support.js'

/** The graph reachable from the root, with oids replaced by the order a walk first meets each object. */
function canonical(image: Image): string[] {
  const tx: Transaction = image.begin()
  try {
    const index = new Map<Obj, number>([[image.root, 0]])
    const queue: Obj[] = [image.root]
    const out: string[] = []
    const show = (v: unknown): unknown => {
      if (v instanceof Obj) {
        if (!index.has(v)) { index.set(v, queue.length); queue.push(v) }
        return `#${index.get(v)}`
      }
      if (v instanceof Method) return { method: v.source }
      if (v instanceof Primitive) return { primitive: v.name }
      if (v instanceof Uint8Array) return { bytes: [...v] }
      if (typeof v === 'bigint') return { bigint: String(v) }
      if (Array.isArray(v)) return v.map(show)
      if (v !== null && typeof v === 'object') return Object.fromEntries(Object.keys(v).map((k) => [k, show((v as Record<string, unknown>)[k])]))
      return v
    }
    for (let i = 0; i < queue.length; i++) {
      const slots = [...tx.read(queue[i]!).slots].map(([k, v]) => [k, show(v)])
      out.push(JSON.stringify(slots))
    }
    return out
  } finally {
    tx.abort()
  }
}

let a: CurriculumWorld
let b: CurriculumWorld
let curriculum: Curriculum
beforeAll(async () => {
  a = await curriculumWorld()
  b = await curriculumWorld()
  curriculum = a.curriculum
}, 300_000)
afterAll(async () => { await a?.dispose(); await b?.dispose() })

describe('the Grand Narrative', () => {
  it('has nine chapters and at least 150 conversations, most of them multi-turn somewhere in each chapter', () => {
    const chapters = new Set(curriculum.conversations.map((c) => c.chapter))
    expect([...chapters].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(curriculum.conversations.length).toBeGreaterThanOrEqual(150)
    for (const n of chapters) expect(curriculum.chapters(n, n).some((c) => c.turns.length > 1), `chapter ${n} has a multi-turn conversation`).toBe(true)
  })

  it('holds the seeds\' own examples, translated', () => {
    const text = curriculum.conversations.flatMap((c) => c.turns.map((t) => t.code)).join('\n')
    expect(curriculum.teaching('display_yourself')!.id).toBe('01-first-conversation.jsonl:1')
    expect(text).toContain('commit_button')
    expect(text).toMatch(/font_size\s*=\s*24|'font_size',\s*24/)
    expect(text).toContain('create_method')
  })

  it('replays into an image whose history is the narrative: every turn a transaction with its utterance and explanation', async () => {
    const turns = curriculum.conversations.reduce((n, c) => n + c.turns.length, 0)
    const recs = (await a.image.transactions()).filter((t) => t.ext.curriculum !== undefined)
    expect(recs.length).toBeLessThanOrEqual(turns)
    expect(recs.length).toBeGreaterThan(turns * 0.9)
    for (const r of recs) {
      expect(typeof r.ext.intent).toBe('string')
      expect(typeof r.ext.explanation).toBe('string')
    }
  })

  it('is deterministic: two replays give the same object graph, up to oids and times', () => {
    const ga = canonical(a.image)
    const gb = canonical(b.image)
    expect(ga.length).toBeGreaterThan(50)
    expect(gb).toEqual(ga)
  })

  it('leaves the chapters\' objects answering sends', async () => {
    expect(await a.run('return typeof genesis.display_yourself()')).toBe('object')
    for (const name of ['WorldMorph', 'UvmMorph', 'ButtonMorph', 'LabelMorph', 'TextInputMorph', 'True', 'False', 'Nil', 'Block', 'CognitiveWeaver', 'AlchemicalCrucible', 'AtomicSwap', 'UnslothForge', 'PerformanceLedger', 'TrainingCorpus', 'ShipOfTheseus', 'SystemMonitor', 'Persona']) {
      expect(await a.run(`return prototypes.hasSlot(${JSON.stringify(name)})`), name).toBe(true)
    }
    expect(await a.run('return ["BRICK", "ROBIN", "ALFRED", "BABS"].map((p) => genesis.codex.hasSlot(p))')).toEqual([true, true, true, true])
  })
})
