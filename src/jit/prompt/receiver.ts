import { truncateText } from './budget.js'
import type { ReceiverView, SlotInfo } from './types.js'

/** Deepest level: what the budget may ask for. */
export const RECEIVER_LEVELS = 3

/** Printed values are meant to be short already; this only guards the prompt against one that is not. */
const VALUE_CHARS = 300
/** Level 1 keeps the sources the model most likely imitates: the nearest ones. */
const LEVEL1_SOURCES = 2
const LEVEL1_LINES = 20
/** A minified one-line method is long without being many lines. */
const LEVEL1_SOURCE_CHARS = LEVEL1_LINES * 120
const LEVEL2_PARENT_SLOTS = 30

/**
 * The receiver as the model reads it. Level 0 is everything the view holds;
 * each level after it is shorter, for the budget:
 * 1: sources of the first two methods only, each to ~20 lines;
 * 2: no sources, parents' slot names capped at 30 each;
 * 3: the print string and the own slot names.
 */
export function receiverPart(view: ReceiverView, level = 0): string {
  const lines = [`The receiver: ${view.print}`]
  if (level >= 3) {
    lines.push(`Its own slots: ${view.slots.length === 0 ? '(none)' : view.slots.map((s) => s.name).join(', ')}`)
    return lines.join('\n')
  }
  lines.push(view.slots.length === 0 ? 'Its own slots: (none)' : 'Its own slots:')
  for (const s of view.slots) lines.push(`  ${slotLine(s)}`)
  lines.push(view.parents.length === 0 ? 'Its parents: (none)' : 'Its parents, in lookup order:')
  for (const p of view.parents) lines.push(`  ${p.print}: ${names(p.slots, level >= 2 ? LEVEL2_PARENT_SLOTS : Infinity)}`)
  if (view.methods.length === 0) return lines.join('\n')
  const withSource = level === 0 ? view.methods.length : level === 1 ? LEVEL1_SOURCES : 0
  if (withSource > 0) lines.push('Methods nearby:')
  view.methods.slice(0, withSource).forEach((m) => {
    lines.push(`  ${m.name} on ${m.holder}:`)
    lines.push(indent(level === 0 ? m.source : shortSource(m.source)))
  })
  const rest = view.methods.slice(withSource)
  if (rest.length > 0) lines.push(`${withSource > 0 ? 'More methods' : 'Methods nearby'} (sources left out): ${rest.map((m) => `${m.name} on ${m.holder}`).join(', ')}`)
  return lines.join('\n')
}

function slotLine(s: SlotInfo): string {
  if (s.value === undefined) return `${s.name} (${s.kind})`
  const value = truncateText(s.value, VALUE_CHARS)
  return s.kind === 'parent' || s.kind === 'reference' ? `${s.name} (${s.kind}) → ${value}` : `${s.name} (${s.kind}) = ${value}`
}

function names(slots: string[], cap: number): string {
  if (slots.length === 0) return '(no slots)'
  const shown = slots.slice(0, cap).join(', ')
  return slots.length > cap ? `${shown}, … and ${slots.length - cap} more` : shown
}

function shortSource(source: string): string {
  const lines = source.split('\n')
  const head = lines.length > LEVEL1_LINES ? `${lines.slice(0, LEVEL1_LINES).join('\n')}\n… (${lines.length - LEVEL1_LINES} more lines)` : source
  return truncateText(head, LEVEL1_SOURCE_CHARS)
}

function indent(text: string): string {
  return text.split('\n').map((l) => `    ${l}`).join('\n')
}
