import { parseArgs } from 'node:util'
import type { ParseArgsConfig } from 'node:util'
import { UsageError } from './usage.js'

type Options = NonNullable<ParseArgsConfig['options']>

/** parseArgs with the help flag added and its errors turned into one clear line. */
export function parse<O extends Options>(argv: string[], options: O, command: string, positionals = true) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: positionals, strict: true })
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument.*$/s, '').replace(/\s*\n\s*/g, ' ')
    throw new UsageError(`${msg} (see \`uvm ${command} --help\`)`, command)
  }
}

export function intOption(value: string | undefined, name: string, command: string, min = 0): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} takes a whole number${min > 0 ? ` ≥ ${min}` : ''}, got "${value}"`, command)
  return n
}
