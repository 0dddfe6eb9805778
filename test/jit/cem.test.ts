/**
 * The Composite Entropy Metric (src/jit/cem.ts): each part on cases computed
 * by hand, the weighting and its renormalisation, weight validation, and the
 * idle loop's decision.
 */
import { describe, expect, it } from 'vitest'
import { ZodError } from 'zod'
import {
  CEM_WINDOW, CemWeights, DEFAULT_CEM_WEIGHTS, IDLE_STIMULUS, compositeEntropy, hCog, hRel, hSol, hStruc, idleStimulus, movingAverage, shouldInquire,
} from '../../src/jit/cem.js'

describe('hCog: normalised Shannon entropy of persona attribution', () => {
  it('is 0 for no cycles, one cycle, or one persona throughout', () => {
    expect(hCog([])).toBe(0)
    expect(hCog(['BRICK'])).toBe(0)
    expect(hCog(['BRICK', 'BRICK'])).toBe(0)
  })

  it('is 1 for a uniform attribution, over 2 or 4 personas', () => {
    expect(hCog(['BRICK', 'ROBIN'])).toBe(1)
    expect(hCog(['BRICK', 'ROBIN', 'ALFRED', 'BABS', 'BABS', 'ALFRED', 'ROBIN', 'BRICK'])).toBe(1)
  })

  it('3:1 over two personas is −(¾·log2 ¾ + ¼·log2 ¼) ≈ 0.8113', () => {
    expect(hCog(['BRICK', 'BRICK', 'BRICK', 'ROBIN'])).toBeCloseTo(0.811278, 6)
  })

  it('normalises by log2 of the labels possible when given (and larger than those seen)', () => {
    expect(hCog(['BRICK', 'ROBIN'], 4)).toBe(0.5)
    expect(hCog(['BRICK', 'ROBIN', 'ALFRED', 'BABS'], 2)).toBe(1)
  })

  it('looks at the last 100 cycles only', () => {
    const older = Array.from({ length: 50 }, () => 'ALFRED')
    const recent = Array.from({ length: CEM_WINDOW }, (_, i) => (i % 2 === 0 ? 'BRICK' : 'ROBIN'))
    expect(hCog([...older, ...recent])).toBe(1)
  })
})

describe('hSol: novelty of each act against the earlier ones', () => {
  it('no acts: 0; one act: 1', () => {
    expect(hSol([])).toBe(0)
    expect(hSol(['self.a = 1'])).toBe(1)
  })

  it('identical acts have novelty 0, whitespace aside', () => {
    expect(hSol(['self.a = 1', 'self.a = 1'])).toBe(0)
    expect(hSol(['self.a = 1', '  self.a   =\n\t1  '])).toBe(0)
    expect(hSol(['aaaa', 'aaa'])).toBe(0) // {aaa: 2} and {aaa: 1} point the same way
    expect(hSol(['ab', 'ab'])).toBe(0)
    expect(hSol(['', ' '])).toBe(0)
  })

  it('acts with no trigram in common have novelty 1', () => {
    expect(hSol(['aaaa', 'bbbb'])).toBe(1)
    expect(hSol(['', 'abc'])).toBe(1)
  })

  it('abcd then abce: {abc, bcd}·{abc, bce} = 1/(√2·√2), novelty 0.5', () => {
    expect(hSol(['abcd', 'abce'])).toBeCloseTo(0.5, 12)
  })

  it('is the mean over acts after the first, each against its nearest earlier act', () => {
    // abce: 0.5 against abcd; xyz: nothing in common with either, 1.
    expect(hSol(['abcd', 'abce', 'xyz'])).toBeCloseTo(0.75, 12)
    // abce against abcd (0.5); abcd again: 0.
    expect(hSol(['abcd', 'abce', 'abcd'])).toBeCloseTo(0.25, 12)
  })

  it('looks at the last 100 acts only', () => {
    expect(hSol(['zzzz', ...Array.from({ length: CEM_WINDOW }, () => 'abcd')])).toBe(0)
    expect(hSol(['zzzz', ...Array.from({ length: CEM_WINDOW - 1 }, () => 'abcd')])).toBeCloseTo(1 / 99, 12)
  })
})

describe('hStruc: 1 − 1/(1 + ln(1+slots/o) + ln(1+parentLinks/o) + ln(1+methods/o) + ln(1+maxDepth))', () => {
  const g = { objects: 2, slots: 2, parentLinks: 2, methods: 2, maxDepth: 1 }

  it('hand-computed: four ln 2 terms', () => {
    expect(hStruc(g)).toBeCloseTo(1 - 1 / (1 + 4 * Math.LN2), 12)
    expect(hStruc({ objects: 1, slots: Math.E - 1, parentLinks: 0, methods: 0, maxDepth: 0 })).toBeCloseTo(0.5, 12)
  })

  it('is 0 for an empty graph or one with no structure', () => {
    expect(hStruc({ objects: 0, slots: 10, parentLinks: 1, methods: 1, maxDepth: 1 })).toBe(0)
    expect(hStruc({ objects: 5, slots: 0, parentLinks: 0, methods: 0, maxDepth: 0 })).toBe(0)
  })

  it('grows with every kind of richness, and stays below 1', () => {
    for (const k of ['slots', 'parentLinks', 'methods', 'maxDepth'] as const) expect(hStruc({ ...g, [k]: g[k] + 1 })).toBeGreaterThan(hStruc(g))
    const huge = hStruc({ objects: 1, slots: 1e12, parentLinks: 1e12, methods: 1e12, maxDepth: 1e12 })
    expect(huge).toBeLessThan(1)
    expect(huge).toBeGreaterThan(0.99)
  })

  it('is per object: a graph twice as large with the same density and depth scores the same', () => {
    expect(hStruc({ objects: 4, slots: 4, parentLinks: 4, methods: 4, maxDepth: 1 })).toBeCloseTo(hStruc(g), 12)
  })

  it('reads negative or non-finite counts as 0', () => {
    expect(hStruc({ objects: 2, slots: -5, parentLinks: NaN, methods: Infinity, maxDepth: 1 })).toBeCloseTo(1 - 1 / (1 + Math.LN2), 12)
  })
})

describe('hRel: mean relevance score', () => {
  it('is undefined when nothing was scored', () => {
    expect(hRel([])).toBeUndefined()
    expect(hRel([NaN])).toBeUndefined()
  })

  it('is the mean, scores clamped to [0, 1], non-finite ones ignored', () => {
    expect(hRel([0.2, 0.4])).toBeCloseTo(0.3, 12)
    expect(hRel([1.5, -1])).toBe(0.5)
    expect(hRel([NaN, 1])).toBe(1)
  })

  it('looks at the last 100 scores only', () => {
    expect(hRel([...Array.from({ length: 50 }, () => 0), ...Array.from({ length: CEM_WINDOW }, () => 1)])).toBe(1)
  })
})

describe('compositeEntropy', () => {
  it('weighs the parts with the seeds\' defaults 0.5/0.25/0.2/0.05', () => {
    expect(DEFAULT_CEM_WEIGHTS).toEqual({ rel: 0.5, cog: 0.25, sol: 0.2, struc: 0.05 })
    const r = compositeEntropy({ rel: 0.4, cog: 0.8, sol: 0.5, struc: 1 })
    expect(r.cem).toBeCloseTo(0.5 * 0.4 + 0.25 * 0.8 + 0.2 * 0.5 + 0.05 * 1, 12)
    expect(r.weights).toEqual(DEFAULT_CEM_WEIGHTS)
    expect(r.parts).toEqual({ rel: 0.4, cog: 0.8, sol: 0.5, struc: 1 })
    expect(compositeEntropy({ rel: 1, cog: 0, sol: 0, struc: 0 }).cem).toBe(0.5)
  })

  it('without H_rel leaves its weight out and renormalises the others to sum to 1', () => {
    const r = compositeEntropy({ cog: 1, sol: 0, struc: 0 })
    expect(r.weights.rel).toBe(0)
    expect(r.weights.cog).toBeCloseTo(0.5, 12)
    expect(r.weights.sol).toBeCloseTo(0.4, 12)
    expect(r.weights.struc).toBeCloseTo(0.1, 12)
    expect(r.weights.cog + r.weights.sol + r.weights.struc).toBeCloseTo(1, 12)
    expect(r.cem).toBeCloseTo(0.5, 12)
    expect(r.parts.rel).toBeUndefined()
    expect(compositeEntropy({ rel: undefined, cog: 0.2, sol: 0.2, struc: 0.2 }).cem).toBeCloseTo(0.2, 12)
  })

  it('renormalises user weights that do not sum to 1', () => {
    const r = compositeEntropy({ rel: 0.5, cog: 0.5, sol: 0.5, struc: 0.5 }, { rel: 1, cog: 1, sol: 1, struc: 1 })
    expect(r.cem).toBeCloseTo(0.5, 12)
    expect(r.weights).toEqual({ rel: 0.25, cog: 0.25, sol: 0.25, struc: 0.25 })
    expect(compositeEntropy({ rel: 1, cog: 0, sol: 0, struc: 0 }, { rel: 3, cog: 1, sol: 0, struc: 0 }).cem).toBeCloseTo(0.75, 12)
  })

  it('is 0 when only relevance weighs and it was not measured', () => {
    expect(compositeEntropy({ cog: 1, sol: 1, struc: 1 }, { rel: 1, cog: 0, sol: 0, struc: 0 })).toEqual({ cem: 0, parts: { cog: 1, sol: 1, struc: 1 }, weights: { rel: 0, cog: 0, sol: 0, struc: 0 } })
  })

  it('clamps parts to [0, 1] and refuses non-finite ones and invalid weights', () => {
    expect(compositeEntropy({ rel: 2, cog: -1, sol: 0, struc: 0 }).cem).toBe(0.5)
    expect(() => compositeEntropy({ rel: NaN, cog: 0, sol: 0, struc: 0 })).toThrow(RangeError)
    expect(() => compositeEntropy({ cog: 0, sol: Infinity, struc: 0 })).toThrow(RangeError)
    expect(() => compositeEntropy({ cog: 0, sol: 0, struc: 0 }, { rel: -1, cog: 1, sol: 1, struc: 1 })).toThrow(ZodError)
  })
})

describe('CemWeights', () => {
  const ok = { rel: 0.5, cog: 0.25, sol: 0.2, struc: 0.05 }

  it('accepts non-negative finite weights, some of them zero', () => {
    expect(CemWeights.parse(ok)).toEqual(ok)
    expect(CemWeights.safeParse({ rel: 0, cog: 0, sol: 0, struc: 2 }).success).toBe(true)
  })

  it('rejects negative, NaN, infinite, all-zero, missing, unknown or non-numeric weights', () => {
    for (const bad of [
      { ...ok, cog: -0.1 },
      { ...ok, sol: NaN },
      { ...ok, struc: Infinity },
      { rel: 0, cog: 0, sol: 0, struc: 0 },
      { rel: 0.5, cog: 0.25, sol: 0.2 },
      { ...ok, struct: 0.05 },
      { ...ok, rel: '0.5' },
    ]) expect(CemWeights.safeParse(bad).success).toBe(false)
  })

  it('says why all-zero weights are refused', () => {
    const r = CemWeights.safeParse({ rel: 0, cog: 0, sol: 0, struc: 0 })
    expect(r.success).toBe(false)
    expect(r.error!.issues[0]!.message).toMatch(/at least one CEM weight/)
  })
})

describe('movingAverage', () => {
  it('is the mean of the last `window` values', () => {
    expect(movingAverage([1, 2, 3, 4], 2)).toBe(3.5)
    expect(movingAverage([1, 2, 3, 4], 10)).toBe(2.5)
    expect(movingAverage([1, 2, 3, 4], 2.9)).toBe(3.5)
  })

  it('skips non-finite values and is NaN with none left', () => {
    expect(movingAverage([1, NaN, 3], 2)).toBe(2)
    expect(movingAverage([], 5)).toBeNaN()
  })

  it('refuses a window below 1', () => {
    expect(() => movingAverage([1], 0)).toThrow(RangeError)
    expect(() => movingAverage([1], NaN)).toThrow(RangeError)
  })
})

describe('the Characterological Inquiry Loop', () => {
  it('shouldInquire: idle at least idleAfterMs and the moving average below the threshold', () => {
    const base = { idleMs: 60_000, idleAfterMs: 60_000, average: 0.2, threshold: 0.3 }
    expect(shouldInquire(base)).toBe(true)
    expect(shouldInquire({ ...base, idleMs: 59_999 })).toBe(false)
    expect(shouldInquire({ ...base, average: 0.3 })).toBe(false)
    expect(shouldInquire({ ...base, average: NaN })).toBe(false)
  })

  it('IDLE_STIMULUS is the seeds\' idle-state prompt: low CEM, diagnose the part, create a facet that raises it', () => {
    for (const phrase of ['Idle state', 'Composite Entropy Metric (CEM)', 'low', 'H_rel', 'H_cog', 'H_sol', 'H_struc', 'Structural complexity is low', "BRICK's Rogues' Gallery Protocol", 'new facet', 'live image', 'explanation']) {
      expect(IDLE_STIMULUS).toContain(phrase)
    }
  })

  it('idleStimulus appends what was measured', () => {
    const t = idleStimulus(compositeEntropy({ cog: 0.1, sol: 0.6, struc: 0.4 }), 0.3)
    expect(t.startsWith(IDLE_STIMULUS)).toBe(true)
    expect(t).toContain('Measured: CEM 0.33 (moving average 0.30); H_rel not measured (weight 0.00), H_cog 0.10 (weight 0.50), H_sol 0.60 (weight 0.40), H_struc 0.40 (weight 0.10).')
  })
})
