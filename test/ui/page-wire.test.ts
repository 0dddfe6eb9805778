/** The page's pure parts (src/ui/page/wire.ts): reading the covenant's wire values, no browser needed. */
import { describe, expect, it } from 'vitest'
import { phaseText } from '../../src/ui/page/panels.js'
import { brief, cssColor, indexObjects, page, parentRefs, parseTyped, slotKind, textColorFor } from '../../src/ui/page/wire.js'

describe('the page reads wire values', () => {
  it('indexes every expanded object of a reply once, by oid', () => {
    const child = { $ref: 5, $print: '<ButtonMorph #5>', $slots: { label: 'Go', 'parent*': { $ref: 3, $print: '<ButtonMorph #3>' } } }
    const state = { $ref: 4, $print: '<WorldMorph #4>', $slots: { children: [child, { $ref: 5, $print: '<ButtonMorph #5>' }] } }
    const m = indexObjects(state)
    expect([...m.keys()].sort()).toEqual([4, 5])
    expect(m.get(5)!.$slots!.label).toBe('Go')
  })

  it('names slot kinds as the outliner shows them', () => {
    expect(slotKind('parent*', { $ref: 1 })).toBe('parent')
    expect(slotKind('press', { $method: 'function () {}' })).toBe('method')
    expect(slotKind('clone', { $primitive: 'clone' })).toBe('primitive')
    expect(slotKind('owner', { $ref: 2, $print: '<World #2>' })).toBe('reference')
    expect(slotKind('bounds', { x: 1 })).toBe('data')
    expect(parentRefs([{ $ref: 1 }, { $ref: 2 }])).toEqual([1, 2])
    expect(parentRefs('no')).toEqual([])
  })

  it('draws colors as the morphs keep them ([r, g, b, a] in 0..1) and picks readable text', () => {
    expect(cssColor([1, 0.5, 0, 1])).toBe('rgba(255, 128, 0, 1)')
    expect(cssColor([0, 0, 0])).toBe('rgba(0, 0, 0, 1)')
    expect(cssColor('red')).toBeUndefined()
    expect(textColorFor([0.95, 0.95, 0.95, 1])).toBe('#111')
    expect(textColorFor([0.1, 0.1, 0.1, 1])).toBe('#f2f2f6')
  })

  it('reads typed values as JSON when they parse, else as text', () => {
    expect(parseTyped('24')).toBe(24)
    expect(parseTyped('[0.2, 0.6, 0.3, 1]')).toEqual([0.2, 0.6, 0.3, 1])
    expect(parseTyped('Commit Transaction')).toBe('Commit Transaction')
    expect(parseTyped('"quoted"')).toBe('quoted')
  })

  it('pages a long list and briefs values', () => {
    const items = Array.from({ length: 450 }, (_, i) => i)
    expect(page(items, 400, 200)).toEqual({ items: items.slice(400), more: 0 })
    expect(page(items, 0, 200).more).toBe(250)
    expect(brief({ $ref: 3, $print: '<Morph #3>' })).toBe('<Morph #3>')
    expect(brief({ a: { $ref: 3, $print: '<Morph #3>' } })).toBe('{"a":"<Morph #3>"}')
    expect(brief('x'.repeat(500), 10)).toHaveLength(10)
  })
})

describe('the JIT log says each phase', () => {
  const base = { event: 'jit_cycle', cycle: 'c1', selector: 'fly', receiver: 2, print: '<Genesis #2>', attempt: 2, max_attempts: 3 }
  it('in progress, each failed attempt with its reason, and the explanation on success', () => {
    expect(phaseText({ ...base, phase: 'started', attempt: 1 })).toBe('compiling… attempt 1/3')
    expect(phaseText({ ...base, phase: 'attempt_failed', reason: 'SyntaxError: Unexpected token (line 2)' })).toBe('attempt 2/3 failed: SyntaxError: Unexpected token (line 2)')
    expect(phaseText({ ...base, phase: 'compiled', tid: 9, ms: 12.4, explanation: 'BRICK: flight.' })).toBe('compiled (transaction 9, 12 ms): BRICK: flight.')
    expect(phaseText({ ...base, phase: 'failed', reason: 'out of attempts' })).toBe('failed: out of attempts')
  })
})
