import { HardenedRealm } from '../act/index.js'
import type { Curriculum } from '../genesis/index.js'
import { Image } from '../image/index.js'
import { MemoryLevel } from 'memory-level'
import type { LevelDb } from '../image/index.js'
import { analyseAct } from './js-analysis.js'
import type { Knowledge } from './knowledge.js'
import { imageKnowledge, withCreated } from './knowledge.js'

/**
 * What stages 1-4 know of the default base, a fresh genesis image, without building it: a bare
 * image's objects, and every path the curriculum's acts create, read from their text. Building the
 * image (what `--execute` does) takes seconds; this takes milliseconds and names the same objects.
 */
export async function genesisKnowledge(curriculum: Curriculum): Promise<Knowledge> {
  const db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' }) as unknown as LevelDb
  const image = await Image.open(db, { realm: new HardenedRealm() })
  try {
    const created: string[] = []
    for (const c of curriculum.conversations) {
      for (const t of c.turns) {
        const a = analyseAct(t.code)
        if (a.ok) for (const p of a.creates) created.push(p.key)
      }
    }
    return withCreated(imageKnowledge(image), created)
  } finally {
    await image.close()
  }
}
