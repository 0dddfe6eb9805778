import type { Attempt, ChatMessage } from './types.js'

/**
 * A retry's history: each failed attempt as the model's earlier answer (when
 * one was parsed) and then what went wrong with it, so that the model
 * corrects its own code rather than starting over blind. `first` numbers the
 * first attempt listed: the budget may drop older ones, and the numbers must
 * still say which attempt of `max` each was.
 */
export function attemptsPart(attempts: readonly Attempt[], max: number, first = 1): ChatMessage[] {
  return attempts.flatMap((a, i): ChatMessage[] => {
    const out: ChatMessage[] = []
    if (a.code !== undefined || a.explanation !== undefined) {
      out.push({ role: 'assistant', content: JSON.stringify({ ...(a.explanation !== undefined && { explanation: a.explanation }), ...(a.code !== undefined && { code: a.code }) }) })
    }
    out.push({ role: 'user', content: `Attempt ${first + i} of ${max} failed: ${a.error}\nFix it and answer again with one JSON object: {"explanation": …, "code": …}.` })
    return out
  })
}
