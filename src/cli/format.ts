import type { TraceFrame } from '../covenant/index.js'

/**
 * A send trace as one line, innermost first: `<Shape #5> area (line 2, column 10) ← <Genesis #2> act (line 1, column 8)`.
 * A frame repeated in a row (a runaway recursion) is shown once, with how often: `… ×19`.
 */
export function traceText(trace: readonly TraceFrame[]): string {
  const out: { text: string; times: number }[] = []
  for (const f of trace) {
    const who = f.receiver_print !== undefined ? `${f.receiver_print} ` : ''
    const where = f.line !== undefined ? ` (line ${f.line}, column ${f.column})` : ''
    const text = `${f.block ? '[] in ' : ''}${who}${f.selector}${where}`
    const last = out[out.length - 1]
    if (last?.text === text) last.times++
    else out.push({ text, times: 1 })
  }
  return out.map((f) => (f.times > 1 ? `${f.text} ×${f.times}` : f.text)).join(' ← ')
}

/** Below an error's line: the syntax error's line with its caret, the send trace, and with --debug the stacks. */
export function errorDetailLines(error: { excerpt?: string | undefined; trace?: TraceFrame[] | undefined; stack?: string | undefined }, debug: boolean): string[] {
  const out: string[] = []
  if (error.excerpt !== undefined) out.push(...error.excerpt.split('\n').map((l) => `  ${l}`))
  // The act's frame alone says no more than the error's own position.
  if (error.trace !== undefined && error.trace.some((f) => f.act !== true)) out.push(`  ${traceText(error.trace)}`)
  if (debug && error.stack !== undefined) out.push(error.stack)
  return out
}

/**
 * Human text for values as they come over the wire: objects as
 * `<WorldMorph #4>` (with their slots, one per line, as deep as the reply expanded them),
 * methods as their source, data as JSON-like text.
 */
export function formatValue(v: unknown, indent = ''): string {
  if (isObjectRef(v)) {
    const head = String(v.$print ?? `<Object #${v.$ref}>`)
    const slots = v.$slots
    if (!slots || typeof slots !== 'object') return head
    const names = Object.keys(slots)
    if (names.length === 0) return head + ' {}'
    const width = Math.min(24, Math.max(...names.map((n) => n.length)))
    const lines = names.map((n) => `${indent}  ${n.padEnd(width)}  ${formatSlot((slots as Record<string, unknown>)[n], indent + '  ')}`)
    return `${head} {\n${lines.join('\n')}\n${indent}}`
  }
  return formatData(v)
}

function formatSlot(v: unknown, indent: string): string {
  // Expanded deeper (`uvm state --depth 2`): its slots too, indented under it.
  if (isObjectRef(v)) return v.$slots && typeof v.$slots === 'object' ? formatValue(v, indent) : String(v.$print ?? `<Object #${v.$ref}>`)
  if (isTagged(v, '$method')) {
    const src = String(v.$method)
    const lines = src.split('\n')
    return lines.length === 1 ? `method ${src}` : `method ${lines[0]}\n${lines.slice(1).map((l) => indent + '  ' + l).join('\n')}`
  }
  if (isTagged(v, '$primitive')) return `primitive ${String(v.$primitive)}`
  return formatData(v)
}

function formatData(v: unknown): string {
  if (v === undefined) return 'undefined'
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'bigint') return `${v}n`
  if (v instanceof Uint8Array) return `<${v.length} bytes>`
  if (Array.isArray(v)) return `[${v.map(formatSlotInline).join(', ')}]`
  if (v !== null && typeof v === 'object') {
    if (isTagged(v, '$bigint')) return `${String(v.$bigint)}n`
    if (isTagged(v, '$bytes')) return `<${Buffer.from(String(v.$bytes), 'base64').length} bytes>`
    return `{${Object.keys(v).map((k) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${formatSlotInline((v as Record<string, unknown>)[k])}`).join(', ')}}`
  }
  return String(v)
}

function formatSlotInline(v: unknown): string {
  if (isObjectRef(v)) return String(v.$print ?? `<Object #${v.$ref}>`)
  if (isTagged(v, '$method')) return '<method>'
  return formatData(v)
}

function isObjectRef(v: unknown): v is { $ref: number; $print?: unknown; $slots?: unknown } {
  return v !== null && typeof v === 'object' && typeof (v as { $ref?: unknown }).$ref === 'number'
}

function isTagged<K extends string>(v: unknown, key: K): v is Record<K, unknown> {
  return v !== null && typeof v === 'object' && key in (v as object)
}
