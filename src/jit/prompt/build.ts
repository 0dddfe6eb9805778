import { attemptsPart } from './attempts.js'
import type { Candidate } from './budget.js'
import { estimateChatTokens, fitBudget, largestFitting, truncateText } from './budget.js'
import { examplesPart } from './examples.js'
import { messagePart, userText } from './message.js'
import { RECEIVER_LEVELS, receiverPart } from './receiver.js'
import { systemPart } from './system.js'
import type { Attempt, ChatMessage, Example, MessageView, ReceiverView } from './types.js'

export const DEFAULT_BUDGET_TOKENS = 8000
/** What the last attempt keeps of its error (and explanation) once older attempts are dropped. */
const KEPT_ERROR_CHARS = 1000
/** Below this an error or a source says too little to act on: the budget is then simply too small. */
const MIN_KEPT_CHARS = 200

export interface PromptInput {
  receiver: ReceiverView
  message: MessageView
  examples: readonly Example[]
  attempts: readonly Attempt[]
  maxAttempts: number
  /** Default 8000. */
  budgetTokens?: number
  /** How to answer (the JSON shape): appended to the system part. */
  answerInstructions: string
  /** Overrides the UVM-JIT persona paragraph. */
  persona?: string
}

export interface Prompt {
  messages: ChatMessage[]
  /** estimateChatTokens(messages); above the budget only when the parts never cut exceed it alone. */
  estimatedTokens: number
  /** What was cut, least useful first, e.g. 'examples 3-4', 'receiver level 2'. */
  cut: string[]
}

/**
 * The whole prompt: system (persona, act API, rules, answer instructions),
 * the example pairs, the user message (receiver, then message), then the
 * failed attempts. To fit the budget it cuts the least useful first: examples
 * from the last down to none; receiver levels 1, 2, 3; older attempts (the
 * last kept, its error to 1,000 chars); finally the user message's receiver
 * text, and then the kept attempt's explanation, code and error. The system
 * part and the message part are never cut.
 */
export function buildPrompt(input: PromptInput): Prompt {
  const { messages, estimatedTokens, cut } = fitBudget(candidates(input), input.budgetTokens ?? DEFAULT_BUDGET_TOKENS)
  return { messages, estimatedTokens, cut }
}

interface Shape {
  examples: number
  level: number
  /** How many of the oldest attempts were dropped. */
  dropped: number
  /** The attempts kept, as they are said (possibly shortened). */
  attempts: readonly Attempt[]
  /** Characters of receiver text kept, when the user message is truncated. */
  receiverChars?: number
}

function* candidates(input: PromptInput): Generator<Candidate> {
  const budget = input.budgetTokens ?? DEFAULT_BUDGET_TOKENS
  const systemText = systemPart(input.persona !== undefined ? { persona: input.persona } : {})
  const system: ChatMessage = { role: 'system', content: input.answerInstructions === '' ? systemText : `${systemText}\n\n${input.answerInstructions}` }
  const message = messagePart(input.message)
  const receivers = new Map<number, string>()
  const receiverText = (level: number) => {
    let t = receivers.get(level)
    if (t === undefined) receivers.set(level, t = receiverPart(input.receiver, level))
    return t
  }
  const n = input.examples.length
  const m = input.attempts.length
  const say = (s: Shape): ChatMessage[] => {
    const receiver = s.receiverChars === undefined ? receiverText(s.level) : truncateText(receiverText(s.level), s.receiverChars)
    return [
      system,
      ...examplesPart(input.examples.slice(0, s.examples)),
      { role: 'user', content: userText(receiver, message) },
      ...attemptsPart(s.attempts, input.maxAttempts, s.dropped + 1),
    ]
  }
  const fits = (s: Shape) => estimateChatTokens(say(s)) <= budget
  const cuts: string[] = []
  const at = (s: Shape, ...more: string[]): Candidate => ({ messages: say(s), cut: [...cuts, ...more] })

  let shape: Shape = { examples: n, level: 0, dropped: 0, attempts: input.attempts }
  yield at(shape)

  for (let k = n - 1; k >= 0; k--) yield at(shape = { ...shape, examples: k }, range('example', k + 1, n))
  if (n > 0) cuts.push(range('example', 1, n))

  for (let level = 1; level <= RECEIVER_LEVELS; level++) yield at(shape = { ...shape, level }, `receiver level ${level}`)
  cuts.push(`receiver level ${RECEIVER_LEVELS}`)

  if (m > 0) {
    // Dropping oldest first: the last attempt's error is what the next answer must fix.
    const last = shortened(input.attempts[m - 1]!, KEPT_ERROR_CHARS)
    const lastCut = last === input.attempts[m - 1] ? [] : [`attempt ${m} error truncated`]
    for (let d = 1; d < m; d++) {
      yield at(shape = { ...shape, dropped: d, attempts: d === m - 1 ? [last] : input.attempts.slice(d) }, range('attempt', 1, d), ...(d === m - 1 ? lastCut : []))
    }
    if (m > 1) cuts.push(range('attempt', 1, m - 1))
    else if (lastCut.length > 0) yield at(shape = { ...shape, attempts: [last] }, ...lastCut)
    cuts.push(...lastCut)
  }

  // Finally the user message: its receiver text down to what fits, the message part whole.
  const full = receiverText(shape.level).length
  const firstLine = receiverText(shape.level).indexOf('\n')
  const minReceiver = firstLine < 0 ? full : firstLine
  if (full > minReceiver) {
    const chars = largestFitting(minReceiver, full, (c) => fits({ ...shape, receiverChars: c }))
    yield at(shape = { ...shape, receiverChars: chars }, 'user message truncated')
    cuts.push('user message truncated')
  }

  // Past that, only the kept attempt is left to shorten: its explanation (the code says what it did), its code, its error.
  if (m === 0) return
  if (shape.attempts[0]!.explanation !== undefined) {
    const { explanation: _, ...rest } = shape.attempts[0]!
    yield at(shape = { ...shape, attempts: [rest] }, `attempt ${m} explanation dropped`)
    cuts.push(`attempt ${m} explanation dropped`)
  }
  const attempt = shape.attempts[0]!
  if (attempt.code !== undefined && attempt.code.length > MIN_KEPT_CHARS) {
    const code = attempt.code
    const keep = largestFitting(MIN_KEPT_CHARS, code.length, (c) => fits({ ...shape, attempts: [{ ...attempt, code: truncateText(code, c) }] }))
    yield at(shape = { ...shape, attempts: [{ ...attempt, code: truncateText(code, keep) }] }, `attempt ${m} code truncated`)
    cuts.push(`attempt ${m} code truncated`)
  }
  const kept = shape.attempts[0]!
  if (kept.error.length > MIN_KEPT_CHARS) {
    const keep = largestFitting(MIN_KEPT_CHARS, kept.error.length, (c) => fits({ ...shape, attempts: [{ ...kept, error: truncateText(kept.error, c) }] }))
    yield at({ ...shape, attempts: [{ ...kept, error: truncateText(kept.error, keep) }] }, `attempt ${m} error truncated to ${keep} chars`)
  }
}

/** The attempt with its error and explanation cut to `chars` each; the same object when nothing needed cutting. */
function shortened(a: Attempt, chars: number): Attempt {
  const longExplanation = a.explanation !== undefined && a.explanation.length > chars
  if (a.error.length <= chars && !longExplanation) return a
  return { ...a, error: truncateText(a.error, chars), ...(longExplanation && { explanation: truncateText(a.explanation!, chars) }) }
}

function range(what: string, from: number, to: number): string {
  return from === to ? `${what} ${to}` : `${what}s ${from}-${to}`
}
