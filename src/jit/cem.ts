/**
 * The Composite Entropy Metric (seed 000, Act II: the Autotelic Drive), the
 * quantity the system's prime directive asks it to raise:
 *
 *   CEM = w_rel·H_rel + w_cog·H_cog + w_sol·H_sol + w_struc·H_struc
 *
 * Every part is in [0, 1], and so is the CEM (the weights are renormalised to
 * sum to 1). Windows: each history-based part looks at the last 100 entries
 * (CEM_WINDOW), so the metric follows what the system does now, not what it
 * did once.
 *
 * H_rel (relevance): the mean of the relevance scores the JIT recorded, each
 *   clamped to [0, 1], over the last 100 finite scores. Undefined when there
 *   are none: nothing was measured, which is not the same as irrelevance.
 *
 * H_cog (cognitive diversity): the Shannon entropy of persona/facet
 *   attribution (BRICK, ROBIN, ALFRED, BABS, or any facet label) over the last
 *   100 cycles, normalised:
 *     p_i = n_i / N  for each distinct label i in the window (N entries),
 *     H_cog = −Σ p_i·log2 p_i / log2(max(2, k)),
 *   where k is the number of distinct labels in the window, or the number of
 *   labels possible when the caller knows it (and it is larger). With k from
 *   the window this is Pielou's evenness: 0 when one label did everything, 1
 *   when the labels present shared the work equally. Empty: 0.
 *
 * H_sol (solution novelty): how unlike earlier acts each act is. An act's
 *   code is whitespace-normalised (trimmed, every whitespace run made one
 *   space) and turned into a vector counting its character trigrams (code
 *   points; a code shorter than 3 is one gram of itself; empty code is the
 *   empty vector). Over the last 100 acts a_0..a_{n−1}:
 *     novelty_i = 1 − max_{j<i} cos(v_i, v_j)    for i ≥ 1,
 *     H_sol = mean of novelty_i over i = 1..n−1,
 *   with cos of two empty vectors 1 (the same nothing) and of one empty and
 *   one not 0. One act: 1 (a first act repeats nothing). No acts: 0 (no
 *   solutions, no diversity of solutions).
 *
 * H_struc (structural complexity of the live image): from a census of the
 *   graph (objects; slots of every kind; parent links, i.e. parent slots
 *   holding an object; method slots; maxDepth, the longest delegation chain
 *   from any object, 0 when nothing delegates):
 *     x = ln(1 + slots/objects) + ln(1 + parentLinks/objects)
 *       + ln(1 + methods/objects) + ln(1 + maxDepth),
 *     H_struc = 1 − 1/(1 + x)   (= x/(1 + x), in [0, 1)).
 *   Non-decreasing in slots, parentLinks, methods and maxDepth; per object,
 *   so a graph and a copy of it twice as large score the same, and growth
 *   counts only when it adds structure. No objects (or counts that are
 *   negative or not finite, read as 0): 0.
 *
 * Weights default to w_rel 0.5, w_cog 0.25, w_sol 0.2, w_struc 0.05. When
 * H_rel is undefined its weight is left out and the others are renormalised
 * to sum to 1; should they all be 0, the CEM is 0 (nothing that counts was
 * measured).
 *
 * The Characterological Inquiry Loop runs when the system has been idle for
 * at least idleAfterMs and the moving average of the CEM (the mean of its
 * last `window` finite values) is below a threshold: it then sends
 * IDLE_STIMULUS, the seeds' "idle state" prompt.
 */
import { z } from 'zod'

/** How many recent entries each history-based part looks at. */
export const CEM_WINDOW = 100

const weight = z.number().nonnegative()

/** User-set CEM weights: non-negative finite numbers, not all zero. */
export const CemWeights = z.strictObject({ rel: weight, cog: weight, sol: weight, struc: weight })
  .refine((w) => w.rel + w.cog + w.sol + w.struc > 0, { message: 'at least one CEM weight must be above 0' })
export type CemWeights = z.infer<typeof CemWeights>

export const DEFAULT_CEM_WEIGHTS: Readonly<CemWeights> = Object.freeze({ rel: 0.5, cog: 0.25, sol: 0.2, struc: 0.05 })

export interface CemParts { rel?: number | undefined; cog: number; sol: number; struc: number }

export interface CemResult {
  cem: number
  parts: CemParts
  /** The weights used: renormalised to sum to 1, rel 0 when it was not measured. */
  weights: CemWeights
}

export interface GraphCensus { objects: number; slots: number; parentLinks: number; methods: number; maxDepth: number }

export function hRel(scores: readonly number[]): number | undefined {
  const recent = scores.filter(Number.isFinite).slice(-CEM_WINDOW)
  if (recent.length === 0) return undefined
  return recent.reduce((sum, s) => sum + clamp01(s), 0) / recent.length
}

/** `possible`: how many labels there could be (e.g. the personas known), when the caller knows. */
export function hCog(personas: readonly string[], possible?: number): number {
  const recent = personas.slice(-CEM_WINDOW)
  if (recent.length === 0) return 0
  const counts = new Map<string, number>()
  for (const p of recent) counts.set(p, (counts.get(p) ?? 0) + 1)
  let h = 0
  for (const c of counts.values()) {
    const p = c / recent.length
    h -= p * Math.log2(p)
  }
  const k = Math.max(2, counts.size, possible !== undefined && Number.isFinite(possible) ? Math.floor(possible) : 0)
  return clamp01(h / Math.log2(k))
}

export function hSol(acts: readonly string[]): number {
  const recent = acts.slice(-CEM_WINDOW)
  if (recent.length === 0) return 0
  if (recent.length === 1) return 1
  const vectors = recent.map(trigrams)
  let sum = 0
  for (let i = 1; i < vectors.length; i++) {
    let nearest = 0
    for (let j = 0; j < i && nearest < 1; j++) nearest = Math.max(nearest, cosine(vectors[i]!, vectors[j]!))
    sum += 1 - nearest
  }
  return clamp01(sum / (vectors.length - 1))
}

export function hStruc(graph: GraphCensus): number {
  const objects = count(graph.objects)
  if (objects === 0) return 0
  const x = Math.log1p(count(graph.slots) / objects) + Math.log1p(count(graph.parentLinks) / objects)
    + Math.log1p(count(graph.methods) / objects) + Math.log1p(count(graph.maxDepth))
  return 1 - 1 / (1 + x)
}

/** Throws a ZodError for invalid weights, a RangeError for a part that is not a finite number. */
export function compositeEntropy(parts: CemParts, weights: CemWeights = DEFAULT_CEM_WEIGHTS): CemResult {
  const w = CemWeights.parse(weights)
  for (const [name, v] of Object.entries(parts)) {
    if (v !== undefined && !Number.isFinite(v)) throw new RangeError(`CEM part '${name}' must be a finite number, got ${String(v)}`)
  }
  const rel = parts.rel === undefined ? undefined : clamp01(parts.rel)
  const p: CemParts = { ...(rel !== undefined && { rel }), cog: clamp01(parts.cog), sol: clamp01(parts.sol), struc: clamp01(parts.struc) }
  const total = (rel === undefined ? 0 : w.rel) + w.cog + w.sol + w.struc
  if (total === 0) return { cem: 0, parts: p, weights: { rel: 0, cog: 0, sol: 0, struc: 0 } }
  const eff: CemWeights = { rel: rel === undefined ? 0 : w.rel / total, cog: w.cog / total, sol: w.sol / total, struc: w.struc / total }
  const cem = eff.rel * (rel ?? 0) + eff.cog * p.cog + eff.sol * p.sol + eff.struc * p.struc
  return { cem: clamp01(cem), parts: p, weights: eff }
}

/** The mean of the last `window` finite values; NaN when there are none (no measurement yet). */
export function movingAverage(values: readonly number[], window: number): number {
  if (!(window >= 1)) throw new RangeError(`a moving average needs a window of at least 1, got ${window}`)
  const recent = values.filter(Number.isFinite).slice(-Math.floor(window))
  if (recent.length === 0) return NaN
  return recent.reduce((a, b) => a + b, 0) / recent.length
}

/** Whether the idle loop should stimulate an inquiry: idle long enough, and entropy measured and low. */
export function shouldInquire(s: { idleMs: number; idleAfterMs: number; average: number; threshold: number }): boolean {
  return s.idleMs >= s.idleAfterMs && Number.isFinite(s.average) && s.average < s.threshold
}

/**
 * The seeds' stimulus for the Characterological Inquiry Loop: an "idle state"
 * prompt saying the CEM is low, asking the system to diagnose which part is
 * low and to create, inside the live image, a new facet or behaviour that
 * raises it.
 */
export const IDLE_STIMULUS = [
  'Idle state. No Architect has spoken for a while, and the Composite Entropy Metric (CEM) has fallen low: the system is repeating itself.',
  'Diagnose which part of the CEM is lowest: H_rel (how relevant your acts were to the Architect\'s intent), H_cog (how diverse the personas and facets that acted were: BRICK, ROBIN, ALFRED, BABS), H_sol (how novel your solutions were) or H_struc (how rich the structure of the live image is). Name it plainly, e.g. "Structural complexity is low".',
  'Then invoke the persona protocol that answers it (e.g. BRICK\'s Rogues\' Gallery Protocol) and create a new facet or behaviour that raises it, by an autopoietic act in the live image: clone a prototype and set its slots, and change nothing the Architect relies on.',
  'In explanation, say what you diagnosed and why the new facet raises it; in code, the act.',
].join('\n')

/** IDLE_STIMULUS with the measurement it answers, so that the diagnosis starts from the numbers. */
export function idleStimulus(result: CemResult, average?: number): string {
  const f = (v: number) => v.toFixed(2)
  const part = (label: string, v: number | undefined, w: number) => `${label} ${v === undefined ? 'not measured' : f(v)} (weight ${f(w)})`
  const { parts: p, weights: w } = result
  const avg = average !== undefined && Number.isFinite(average) ? ` (moving average ${f(average)})` : ''
  return `${IDLE_STIMULUS}\nMeasured: CEM ${f(result.cem)}${avg}; ${part('H_rel', p.rel, w.rel)}, ${part('H_cog', p.cog, w.cog)}, ${part('H_sol', p.sol, w.sol)}, ${part('H_struc', p.struc, w.struc)}.`
}

function trigrams(code: string): Map<string, number> {
  const chars = Array.from(code.trim().replace(/\s+/g, ' '))
  const v = new Map<string, number>()
  if (chars.length === 0) return v
  if (chars.length < 3) return v.set(chars.join(''), 1)
  for (let i = 0; i + 3 <= chars.length; i++) {
    const g = chars[i]! + chars[i + 1]! + chars[i + 2]!
    v.set(g, (v.get(g) ?? 0) + 1)
  }
  return v
}

function cosine(a: Map<string, number>, b: Map<string, number>): number {
  if (a.size === 0 || b.size === 0) return a.size === b.size ? 1 : 0
  const [small, large] = a.size <= b.size ? [a, b] : [b, a]
  let dot = 0
  for (const [g, n] of small) dot += n * (large.get(g) ?? 0)
  if (dot === 0) return 0
  // One square root of the product, not a product of roots: for counts, parallel vectors then give exactly 1.
  return Math.min(1, dot / Math.sqrt(squaredNorm(a) * squaredNorm(b)))
}

function squaredNorm(v: Map<string, number>): number {
  let s = 0
  for (const n of v.values()) s += n * n
  return s
}

function count(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x
}
