import { parseArgs } from 'node:util'
import type { ParseArgsConfig } from 'node:util'
import { UsageError } from './usage.js'
import { withHint } from './suggest.js'

type Options = NonNullable<ParseArgsConfig['options']>

/** A negative number (`-1`, `-0.5`, `-2e3`): a value, never a flag. */
const NEGATIVE = /^-(\d|\.\d)/
/** Stands in for a negative-number positional while parseArgs runs (it would read `-5` as a flag). */
const PLACEHOLDER = '\u0000uvm-negative-'

/** parseArgs with the help flag added and its errors turned into one clear line. */
export function parse<O extends Options>(argv: string[], options: O, command: string, positionals = true) {
  // `--depth -1` and `uvm set x -5`: parseArgs takes a leading dash for a flag. Give a
  // negative number to the option before it (so `--depth` can say what it wants), or keep it
  // as a positional (JSON values and send arguments may be negative).
  const valued = new Map<string, string>()
  for (const [name, o] of Object.entries(options)) {
    if (o.type !== 'string') continue
    valued.set(`--${name}`, `--${name}=`)
    if (o.short) valued.set(`-${o.short}`, `-${o.short}`)
  }
  const args: string[] = []
  const negatives: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--') {
      args.push(...argv.slice(i))
      break
    }
    const next = argv[i + 1]
    const joined = valued.get(a)
    if (joined !== undefined && next !== undefined && NEGATIVE.test(next)) {
      args.push(joined + next)
      i++
    } else if (NEGATIVE.test(a)) {
      args.push(PLACEHOLDER + negatives.length)
      negatives.push(a)
    } else {
      args.push(a)
    }
  }
  let parsed
  try {
    parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: positionals, strict: true })
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument.*$/s, '').replace(/\s*\n\s*/g, ' ')
      .replace(new RegExp(`${PLACEHOLDER}(\\d+)`, 'g'), (_m, n: string) => negatives[Number(n)]!)
    const unknown = /^Unknown option '(--[^'=]+)'/.exec(msg)?.[1]
    const text = `${msg} (see \`uvm ${command} --help\`)`
    throw new UsageError(unknown === undefined ? text : withHint(text, unknown, [...Object.keys(options), 'help'].map((n) => `--${n}`)), command)
  }
  const restore = (v: string) => (v.startsWith(PLACEHOLDER) ? negatives[Number(v.slice(PLACEHOLDER.length))]! : v)
  parsed.positionals = parsed.positionals.map(restore)
  return parsed
}

/** Digits only (`1e3`, `0x5`, `5.0` and ` 5` are typos, not numbers), and no larger than a double holds exactly. */
export function wholeNumber(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined
  const n = Number(text)
  return Number.isSafeInteger(n) ? n : undefined
}

/** A TID argument (`uvm undo TID`, `uvm show TID`). */
export function tidArgument(text: string | undefined, command: string): number {
  const tid = text === undefined ? undefined : wholeNumber(text)
  if (tid === undefined || tid < 1) throw new UsageError(`TID is a whole number ≥ 1 (see \`uvm history\`), got "${text ?? ''}"`, command)
  return tid
}

export function intOption(value: string | undefined, name: string, command: string, min = 0): number | undefined {
  if (value === undefined) return undefined
  const n = wholeNumber(value) ?? NaN
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} takes a whole number${min > 0 ? ` ≥ ${min}` : ''}, got "${value}"`, command)
  return n
}

/** `--chapters N` or `N-M` (1-based, inclusive); undefined: all. */
export function chapterRange(value: string | undefined, command: string): { from?: number; to?: number } {
  if (value === undefined) return {}
  const m = /^(\d+)(?:-(\d+))?$/.exec(value.trim())
  const from = m ? Number(m[1]) : NaN
  const to = m ? Number(m[2] ?? m[1]) : NaN
  if (!m || from < 1 || to < from) throw new UsageError(`--chapters takes a chapter or a range such as 1-3, got "${value}"`, command)
  return { from, to }
}
