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
    const text = f.cut ? '… more frames not recorded' : `${f.block ? '[] in ' : ''}${who}${f.selector}${where}`
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
 * methods as their source, data as JSON-like text, and what the wire tags (src/bridge/values.ts:
 * Maps, Sets, Dates, BigInts, undefined, functions) as JavaScript would show it.
 */
export interface FormatOptions {
  /** Elements and slots shown per array, map or object before the rest is counted (default 100; Infinity for all). */
  limit?: number
  /** How to see the rest, in the note after a cut (default `--all`). */
  more?: string
  /** ANSI colours (a terminal without NO_COLOR). */
  color?: boolean
}

const LIMIT = 100

export function formatValue(v: unknown, opts: FormatOptions = {}): string {
  return new Formatter(opts).value(v, '')
}

const STYLE = { string: 32, number: 33, ref: 36, dim: 90 } as const

class Formatter {
  private readonly limit: number
  private readonly more: string
  constructor(private readonly opts: FormatOptions) {
    this.limit = opts.limit ?? LIMIT
    this.more = opts.more ?? '--all'
  }

  private paint(kind: keyof typeof STYLE, text: string): string {
    return this.opts.color === true ? `\x1b[${STYLE[kind]}m${text}\x1b[39m` : text
  }

  private note(rest: number): string {
    return this.paint('dim', `… ${rest.toLocaleString('en-US')} more (${this.more})`)
  }

  value(v: unknown, indent: string): string {
    if (isObjectRef(v)) {
      const head = this.paint('ref', String(v.$print ?? `<Object #${v.$ref}>`))
      const slots = v.$slots
      if (!slots || typeof slots !== 'object') return head
      const all = Object.keys(slots)
      if (all.length === 0) return head + ' {}'
      const names = all.slice(0, this.limit)
      const width = Math.min(24, Math.max(...names.map((n) => n.length)))
      const lines = names.map((n) => `${indent}  ${n.padEnd(width)}  ${this.slot((slots as Record<string, unknown>)[n], indent + '  ')}`)
      if (all.length > names.length) lines.push(`${indent}  ${this.note(all.length - names.length)}`)
      return `${head} {\n${lines.join('\n')}\n${indent}}`
    }
    // A method on its own: its source as written.
    if (isTagged(v, '$method')) return `method ${String(v.$method)}`
    return this.data(v)
  }

  private method(src: string, indent: string): string {
    const lines = src.split('\n')
    return lines.length === 1 ? `method ${src}` : `method ${lines[0]}\n${lines.slice(1).map((l) => indent + '  ' + l).join('\n')}`
  }

  private slot(v: unknown, indent: string): string {
    // Expanded deeper (`uvm state --depth 2`): its slots too, indented under it.
    if (isObjectRef(v)) return v.$slots && typeof v.$slots === 'object' ? this.value(v, indent) : this.paint('ref', String(v.$print ?? `<Object #${v.$ref}>`))
    if (isTagged(v, '$method')) return this.method(String(v.$method), indent)
    return this.data(v)
  }

  private inline(v: unknown): string {
    if (isObjectRef(v)) return this.paint('ref', String(v.$print ?? `<Object #${v.$ref}>`))
    if (isTagged(v, '$method')) return `<method: ${firstLine(String(v.$method))}>`
    return this.data(v)
  }

  private list(items: unknown[], show: (x: unknown) => string): string {
    const shown = items.slice(0, this.limit).map(show)
    if (items.length > shown.length) shown.push(this.note(items.length - shown.length))
    return shown.join(', ')
  }

  private data(v: unknown): string {
    if (v === undefined) return this.paint('dim', 'undefined')
    if (v === null) return this.paint('dim', 'null')
    if (typeof v === 'string') return this.paint('string', JSON.stringify(v))
    if (typeof v === 'bigint') return this.paint('number', `${v}n`)
    if (typeof v === 'number' || typeof v === 'boolean') return this.paint('number', String(v))
    if (v instanceof Uint8Array) return `<${v.length} bytes>`
    if (Array.isArray(v)) return `[${this.list(v, (x) => this.inline(x))}]`
    if (typeof v === 'object') {
      const tag = this.tagged(v as Record<string, unknown>)
      if (tag !== undefined) return tag
      const keys = Object.keys(v)
      return `{${this.list(keys, (k) => `${/^[A-Za-z_$][\w$]*$/.test(k as string) ? k as string : JSON.stringify(k)}: ${this.inline((v as Record<string, unknown>)[k as string])}`)}}`
    }
    return String(v)
  }

  /** A tagged wire value as JavaScript shows it; undefined when `v` is plain data. */
  private tagged(v: Record<string, unknown>): string | undefined {
    const keys = Object.keys(v)
    if (keys.length !== 1) return undefined
    const x = v[keys[0]!]
    switch (keys[0]) {
      case '$bigint': return this.paint('number', `${String(x)}n`)
      case '$number': return this.paint('number', String(x))
      case '$undefined': return this.paint('dim', 'undefined')
      case '$bytes': return `<${Buffer.from(String(x), 'base64').length} bytes>`
      case '$primitive': return `<primitive ${String(x)}>`
      case '$function': return `<function: ${firstLine(String(x)) || '?'}>`
      case '$error': return `<${String(x)}>`
      case '$opaque': return `<${String(x)}>`
      case '$date': return `Date ${String(x)}`
      case '$set': return Array.isArray(x) ? `Set {${this.list(x, (y) => this.inline(y))}}` : undefined
      case '$map': return Array.isArray(x) ? `Map {${this.list(x, (e) => Array.isArray(e) ? `${this.inline(e[0])} => ${this.inline(e[1])}` : '?')}}` : undefined
    }
    return undefined
  }
}

export function firstLine(text: string): string {
  const lines = text.trim().split('\n')
  const line = lines[0]!.trimEnd()
  const cut = line.length > 80 ? line.slice(0, 79) + '…' : line
  return lines.length > 1 && cut === line ? cut + ' …' : cut
}

function isObjectRef(v: unknown): v is { $ref: number; $print?: unknown; $slots?: unknown } {
  return v !== null && typeof v === 'object' && typeof (v as { $ref?: unknown }).$ref === 'number'
}

function isTagged<K extends string>(v: unknown, key: K): v is Record<K, unknown> {
  return v !== null && typeof v === 'object' && key in (v as object)
}

/**
 * Text from the image (a transaction's description or user) as one line a terminal shows as it is:
 * control characters (a newline, ESC, NUL) are written escaped, never to the terminal.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
