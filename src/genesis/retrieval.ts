import type { Need } from '../kernel/index.js'
import type { Example } from '../jit/index.js'
import type { Curriculum } from './curriculum.js'
import { installedSelectors } from './teaches.js'

const K1 = 1.2
const B = 0.75

/** Words of a text, a selector or code: camelCase and snake_case split, lower-cased. */
export function words(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 1)
}

/**
 * The curriculum's turns as few-shot examples for the LLM's JIT, ranked by BM25 over each turn's
 * architect utterance and the selectors its act installs (counted twice: the selector is what a DNU
 * names) against the message's selector, the Architect's words and the receiver's prototype name.
 */
export class ExampleIndex {
  private readonly docs: { example: Example; terms: Map<string, number>; length: number }[] = []
  private readonly df = new Map<string, number>()
  private readonly avgLength: number

  constructor(curriculum: Curriculum) {
    for (const c of curriculum.conversations) {
      for (const t of c.turns) {
        const selectors = installedSelectors(t.code)
        const tokens = [...words(t.utterance), ...selectors.flatMap((s) => [...words(s), ...words(s)])]
        const terms = new Map<string, number>()
        for (const w of tokens) terms.set(w, (terms.get(w) ?? 0) + 1)
        for (const w of terms.keys()) this.df.set(w, (this.df.get(w) ?? 0) + 1)
        this.docs.push({ example: { architect: t.utterance, explanation: t.explanation, code: t.code }, terms, length: tokens.length })
      }
    }
    this.avgLength = this.docs.reduce((a, d) => a + d.length, 0) / Math.max(1, this.docs.length)
  }

  /** The `k` best examples for a query (ties keep curriculum order). */
  search(query: string, k = 3): Example[] {
    const q = [...new Set(words(query))]
    const n = this.docs.length
    const scored = this.docs.map((d, i) => {
      let score = 0
      for (const w of q) {
        const f = d.terms.get(w)
        if (f === undefined) continue
        const df = this.df.get(w)!
        const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5))
        score += idf * (f * (K1 + 1)) / (f + K1 * (1 - B + B * d.length / this.avgLength))
      }
      return { score, i }
    })
    return scored.filter((s) => s.score > 0).sort((a, b) => b.score - a.score || a.i - b.i).slice(0, k).map((s) => this.docs[s.i]!.example)
  }

  /** Examples for a JIT prompt: the message's selector and the Architect's words. */
  forNeed(need: Need, utterance?: string, k = 3): Example[] {
    return this.search(`${need.selector} ${need.selector} ${need.intent ?? ''} ${utterance ?? ''}`, k)
  }
}
