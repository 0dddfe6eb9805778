/**
 * Reading the covenant's wire values (src/bridge/values.ts WireWriter): objects as
 * {$ref, $print, $slots?}, methods as {$method}, primitives as {$primitive}, and tagged data.
 * Pure functions, no DOM: the parts of the page a unit check can reach.
 */
export interface WireObject {
  $ref: number
  $print?: string
  $slots?: Record<string, unknown>
  /** A paged get_full_state's count of all the target's own slots. */
  $slot_count?: number
}

export function isRef(v: unknown): v is WireObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as WireObject).$ref === 'number'
}

/** A long array sent a page at a time (get_full_state's `elements_limit`): its first elements and how many it has. */
export interface ArrayPage { $array: unknown[]; $length: number; $offset?: number }

export function isArrayPage(v: unknown): v is ArrayPage {
  return typeof v === 'object' && v !== null && Array.isArray((v as ArrayPage).$array) && typeof (v as ArrayPage).$length === 'number'
}

export function isMethod(v: unknown): v is { $method: string } {
  return typeof v === 'object' && v !== null && typeof (v as { $method?: unknown }).$method === 'string'
}

/** Every expanded object in a reply, by oid (WireWriter expands each object once per reply). */
export function indexObjects(v: unknown, into: Map<number, WireObject> = new Map()): Map<number, WireObject> {
  const stack: unknown[] = [v]
  while (stack.length > 0) {
    const x = stack.pop()
    if (x === null || typeof x !== 'object') continue
    if (Array.isArray(x)) {
      stack.push(...x)
      continue
    }
    if (isRef(x) && x.$slots !== undefined) {
      if (!into.has(x.$ref)) into.set(x.$ref, x)
      stack.push(...Object.values(x.$slots))
      continue
    }
    stack.push(...Object.values(x))
  }
  return into
}

/** The slot kinds Self's outliner shows: parent, method, primitive, reference, data. */
export function slotKind(name: string, v: unknown): 'parent' | 'method' | 'primitive' | 'reference' | 'data' {
  if (name.endsWith('*')) return 'parent'
  if (isMethod(v)) return 'method'
  if (typeof v === 'object' && v !== null && typeof (v as { $primitive?: unknown }).$primitive === 'string') return 'primitive'
  if (isRef(v)) return 'reference'
  return 'data'
}

/** A parent slot's value as oids (a parent slot holds one object, or an array of them). */
export function parentRefs(v: unknown): number[] {
  if (isRef(v)) return [v.$ref]
  if (Array.isArray(v)) return v.filter(isRef).map((r) => r.$ref)
  return []
}

/** A short plain-text rendering of a wire value, for a slot's row. */
export function brief(v: unknown, max = 120): string {
  let s: string
  if (isRef(v)) s = v.$print ?? `#${v.$ref}`
  else if (isMethod(v)) s = 'method: ' + v.$method.split('\n')[0]
  else if (v === undefined) s = 'undefined'
  else {
    try {
      s = JSON.stringify(v, (_k, x) => (isRef(x) ? x.$print ?? `#${x.$ref}` : x)) ?? String(v)
    } catch {
      s = String(v)
    }
  }
  return s.length > max ? s.slice(0, max - 1) + '…' : s
}

/** A [r, g, b, a] color in 0..1 (Kivy's convention, the morphs' own) as CSS. */
export function cssColor(c: unknown): string | undefined {
  if (!Array.isArray(c) || c.length < 3 || !c.slice(0, 4).every((x) => typeof x === 'number')) return undefined
  const [r, g, b, a = 1] = c as number[]
  const byte = (x: number) => Math.round(Math.max(0, Math.min(1, x)) * 255)
  return `rgba(${byte(r!)}, ${byte(g!)}, ${byte(b!)}, ${Math.max(0, Math.min(1, a))})`
}

/** Light text on a dark fill, dark text on a light one. */
export function textColorFor(c: unknown): string {
  if (!Array.isArray(c) || c.length < 3) return '#eee'
  const [r, g, b, a = 1] = c as number[]
  if (a < 0.3) return '#e8e8ee'
  const lum = 0.2126 * r! + 0.7152 * g! + 0.0722 * b!
  return lum > 0.55 ? '#111' : '#f2f2f6'
}

/** Parse a slot value typed in the inspector: JSON when it parses, else the text as a string. */
export function parseTyped(text: string): unknown {
  const t = text.trim()
  if (t === '') return ''
  try {
    return JSON.parse(t)
  } catch {
    return text
  }
}

/** A page of a long list: the items from offset, at most limit. */
export function page<T>(items: readonly T[], offset: number, limit: number): { items: T[]; more: number } {
  const slice = items.slice(offset, offset + limit)
  return { items: slice, more: Math.max(0, items.length - offset - slice.length) }
}
