import type { Image, Transaction } from '../image/index.js'
import { ancestry, isParentSlot, Obj } from '../kernel/index.js'

/**
 * What the logic stage knows of the base image, in a form that crosses to worker threads: the slot
 * names each object answers (its own and its ancestors'), by the path it was first reached at, and
 * paths known to be created without knowing their slots (what the curriculum's acts make).
 */
export interface Knowledge {
  objects: Record<string, string[]>
  created: string[]
}

/** The same, ready to answer: see `pathExists`. */
export interface KnowledgeIndex {
  objects: Map<string, Set<string>>
  created: Set<string>
}

export function indexKnowledge(k: Knowledge): KnowledgeIndex {
  return { objects: new Map(Object.entries(k.objects).map(([p, s]) => [p, new Set(s)])), created: new Set(k.created) }
}

/**
 * Whether `key` (rooted at `root`) names something. Beyond what is known (an object the walk did not
 * open, data, or anything under a path an act created) the answer is yes: the heuristic rejects only a
 * step that surely fails, a slot an explored object does not answer.
 */
export function pathExists(k: KnowledgeIndex, key: string, createdHere?: ReadonlySet<string>): boolean {
  const segments = key.split('.')
  let cur = segments[0]!
  for (let i = 1; i < segments.length; i++) {
    if (k.created.has(cur) || createdHere?.has(cur)) return true
    const slots = k.objects.get(cur)
    const next = `${cur}.${segments[i]}`
    if (slots === undefined) return true
    if (!slots.has(segments[i]!) && !k.created.has(next) && !createdHere?.has(next)) return false
    cur = next
  }
  return true
}

/** The closest object the walk knows on the way to `key`, and the slot it lacks (for the message). */
export function missingStep(k: KnowledgeIndex, key: string): { at: string; slot: string } | undefined {
  const segments = key.split('.')
  let cur = segments[0]!
  for (let i = 1; i < segments.length; i++) {
    const slots = k.objects.get(cur)
    if (slots === undefined) return undefined
    if (!slots.has(segments[i]!)) return { at: cur, slot: segments[i]! }
    cur = `${cur}.${segments[i]}`
  }
  return undefined
}

const MAX_OBJECTS = 20_000
const MAX_DEPTH = 8

/** Walk the image from the lobby, breadth first, each object once (at its shortest path), to a bound. */
function walkGraph(image: Image, visit: (path: string, obj: Obj, tx: Transaction) => void): void {
  const tx = image.begin({ description: 'dataset: read the image' })
  try {
    const seen = new Set<number>()
    let frontier: [string, Obj][] = [['root', image.root]]
    for (let depth = 0; depth <= MAX_DEPTH && frontier.length > 0 && seen.size < MAX_OBJECTS; depth++) {
      const next: [string, Obj][] = []
      for (const [path, obj] of frontier) {
        if (seen.has(obj.oid) || seen.size >= MAX_OBJECTS) continue
        seen.add(obj.oid)
        visit(path, obj, tx)
        for (const [name, value] of tx.read(obj).slots) {
          if (value instanceof Obj && !isParentSlot(name) && /^[A-Za-z_$][\w$]*$/.test(name)) next.push([`${path}.${name}`, value])
        }
      }
      frontier = next
    }
  } finally {
    tx.abort()
  }
}

/** The base image as the logic stage knows it: the slots each object answers, by path. */
export function imageKnowledge(image: Image): Knowledge {
  const objects: Record<string, string[]> = {}
  walkGraph(image, (path, obj, tx) => {
    const names = new Set<string>()
    for (const o of ancestry(tx, obj)) for (const name of tx.read(o).slots.keys()) names.add(name)
    objects[path] = [...names]
  })
  return { objects, created: [] }
}

/** The shortest path from the lobby to each object it reaches (`root.genesis.prototypes.Rect`). */
export function objectPaths(image: Image): Map<number, string> {
  const out = new Map<number, string>()
  walkGraph(image, (path, obj) => { out.set(obj.oid, path) })
  return out
}

/** Knowledge of a base plus paths acts are known to create (the curriculum's, read statically). */
export function withCreated(base: Knowledge, created: Iterable<string>): Knowledge {
  return { objects: base.objects, created: [...new Set([...base.created, ...created])] }
}
