import type { Io } from './usage.js'

export interface Palette {
  red(t: string): string
  green(t: string): string
  yellow(t: string): string
  cyan(t: string): string
  bold(t: string): string
  dim(t: string): string
}

const sgr = (open: number, close: number) => (t: string) => `\x1b[${open}m${t}\x1b[${close}m`
const ON: Palette = { red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39), cyan: sgr(36, 39), bold: sgr(1, 22), dim: sgr(2, 22) }
const same = (t: string) => t
export const PLAIN: Palette = { red: same, green: same, yellow: same, cyan: same, bold: same, dim: same }

/**
 * Whether to colour a stream: FORCE_COLOR wins (0 or false: never; anything else: always), as in
 * Node itself; then NO_COLOR (any non-empty value: never, no-color.org) and TERM=dumb; else only on a
 * terminal, so piped output stays plain.
 */
export function colourWanted(env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  const force = env.FORCE_COLOR
  if (force !== undefined) return !['0', 'false'].includes(force.trim().toLowerCase())
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.TERM === 'dumb') return false
  return isTTY
}

/** The palette for standard output or standard error: plain text when that stream gets no colour. */
export function paint(io: Io, stream: 'out' | 'err'): Palette {
  return io.colour?.[stream] === true ? ON : PLAIN
}
