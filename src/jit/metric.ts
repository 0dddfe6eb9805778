import type { Image } from '../image/index.js'
import type { Obj } from '../kernel/index.js'
import { Method, Obj as ObjClass, isParentSlot } from '../kernel/index.js'
import { CemWeights, DEFAULT_CEM_WEIGHTS, compositeEntropy, hCog, hRel, hSol, hStruc } from './cem.js'

/** The cycles the metric looks at, and how far back in the history it looks for them. */
const CYCLES = 100
const SCAN_LIMIT = 5000
/** Objects the structural part visits (from the root, breadth first): a sample past this. */
const GRAPH_LIMIT = 20_000

/** Where the image keeps the CEM's weights: a data slot of the Genesis Object. */
export const WEIGHTS_SLOT = 'cemWeights'

export interface ImageCem {
  cem: number
  parts: { rel?: number; cog: number; sol: number; struc: number }
  weights: { rel: number; cog: number; sol: number; struc: number }
  cycles: number
}

/** The image's Composite Entropy Metric (definitions: src/jit/cem.ts, docs/JIT.md). */
export async function imageCem(image: Image): Promise<ImageCem> {
  const facets: string[] = []
  const acts: string[] = []
  const scores: number[] = []
  for (const rec of await image.transactions({ limit: SCAN_LIMIT })) {
    const jit = rec.ext.jit as { facet?: unknown; code?: unknown; relevance?: unknown } | undefined
    if (jit === null || typeof jit !== 'object') continue
    if (typeof jit.facet === 'string') facets.push(jit.facet)
    if (typeof jit.code === 'string') acts.push(jit.code)
    if (typeof jit.relevance === 'number') scores.push(jit.relevance)
    if (acts.length >= CYCLES) break
  }
  // Newest first from the history; the metric reads them in the order they happened.
  facets.reverse(); acts.reverse(); scores.reverse()
  const { graph, weights } = readImage(image)
  const rel = hRel(scores)
  const result = compositeEntropy({ ...(rel !== undefined && { rel }), cog: hCog(facets), sol: hSol(acts), struc: hStruc(graph) }, weights)
  return { cem: result.cem, parts: result.parts, weights: result.weights, cycles: acts.length }
}

/** The longest chain of parent links from any visited object (a cycle counts each object once). */
function longestDelegation(parents: ReadonlyMap<Obj, readonly Obj[]>): number {
  const depth = new Map<Obj, number>()
  const onPath = new Set<Obj>()
  const visit = (o: Obj): number => {
    const known = depth.get(o)
    if (known !== undefined) return known
    if (onPath.has(o)) return 0
    onPath.add(o)
    let d = 0
    for (const p of parents.get(o) ?? []) d = Math.max(d, 1 + visit(p))
    onPath.delete(o)
    depth.set(o, d)
    return d
  }
  let max = 0
  for (const o of parents.keys()) max = Math.max(max, visit(o))
  return max
}

function readImage(image: Image): { graph: Parameters<typeof hStruc>[0]; weights: CemWeights } {
  const tx = image.begin()
  try {
    const genesis = tx.objectOf(tx.genesis)
    const stored = tx.read(genesis).slots.get(WEIGHTS_SLOT)
    const parsed = CemWeights.safeParse(stored === undefined ? undefined : { ...(stored as object) })
    const graph = { objects: 0, slots: 0, parentLinks: 0, methods: 0, maxDepth: 0 }
    const seen = new Set<Obj>([image.root])
    const queue: Obj[] = [image.root]
    const parents = new Map<Obj, Obj[]>()
    for (let i = 0; i < queue.length && graph.objects < GRAPH_LIMIT; i++) {
      const obj = queue[i]!
      graph.objects++
      const mine: Obj[] = []
      for (const [name, value] of tx.read(obj).slots) {
        graph.slots++
        if (value instanceof Method) graph.methods++
        if (!(value instanceof ObjClass)) continue
        if (isParentSlot(name)) { graph.parentLinks++; mine.push(value) }
        if (!seen.has(value)) { seen.add(value); queue.push(value) }
      }
      parents.set(obj, mine)
    }
    graph.maxDepth = longestDelegation(parents)
    return { graph, weights: parsed.success ? parsed.data : DEFAULT_CEM_WEIGHTS }
  } finally {
    tx.abort()
  }
}
