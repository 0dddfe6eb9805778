import type { ChatMessage } from './types.js'

/**
 * A rough count, not a tokenizer: the JIT talks to whatever model the
 * Architect points it at, and no one tokenizer fits them all. English prose
 * and code run near four characters a token; budgets should leave a margin.
 */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4)
}

/** Chat templates wrap every message in role markers, and the reply is primed with one more. */
export const MESSAGE_OVERHEAD_TOKENS = 4
export const REPLY_PRIMING_TOKENS = 3

export function estimateChatTokens(messages: readonly ChatMessage[]): number {
  let n = REPLY_PRIMING_TOKENS
  for (const m of messages) n += estimateTokens(m.content) + MESSAGE_OVERHEAD_TOKENS
  return n
}

/**
 * `text` cut to at most `maxChars` characters, its head kept and the cut
 * marked, so that the model knows something is missing rather than taking
 * the head for the whole.
 */
export function truncateText(text: string, maxChars: number, what = 'chars'): string {
  if (text.length <= maxChars) return text
  // The marker is sized for the largest count it could show, so the result never exceeds maxChars.
  const room = maxChars - marker(text.length, what).length
  if (room <= 0) return text.slice(0, Math.max(0, maxChars))
  return text.slice(0, room) + marker(text.length - room, what)
}

function marker(cut: number, what: string): string {
  return `\n… [${cut} more ${what} cut]`
}

/** One way of saying the prompt, and what had to be cut to say it so. */
export interface Candidate { messages: ChatMessage[]; cut: string[] }

export interface Fitted extends Candidate { estimatedTokens: number; fits: boolean }

/**
 * The first candidate that fits `budgetTokens`, or the last one when none
 * does. Candidates come least cut first; an iterable, so that a caller can
 * make the expensive ones only when the cheaper cuts were not enough.
 */
export function fitBudget(candidates: Iterable<Candidate>, budgetTokens: number): Fitted {
  let last: Fitted | undefined
  for (const c of candidates) {
    const estimatedTokens = estimateChatTokens(c.messages)
    last = { ...c, estimatedTokens, fits: estimatedTokens <= budgetTokens }
    if (last.fits) return last
  }
  if (last === undefined) throw new RangeError('fitBudget needs at least one candidate')
  return last
}

/**
 * The largest n in [min, max] for which `fits(n)` holds, or `min` when none
 * does, in O(log(max − min)) tries: `fits` must be (nearly) monotone, true
 * for small n and false past some point, as a truncation length is.
 */
export function largestFitting(min: number, max: number, fits: (n: number) => boolean): number {
  if (fits(max)) return max
  let lo = min
  let hi = max
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    if (fits(mid)) lo = mid
    else hi = mid - 1
  }
  return lo
}
