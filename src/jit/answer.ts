import { z } from 'zod'
import { UvmError } from '../errors.js'
import { declarativeCode, isDeclarativeAct, parseDeclarativeAct } from '../act/index.js'

/**
 * The seeds' `uvm_jit` content: what the LLM answers when the JIT asks it for
 * missing behaviour. Models are sloppy about the envelope (reasoning preambles,
 * markdown fences, prose around the object), so the parser here is forgiving
 * about the envelope and strict about the shape, and every failure says what
 * to fix: the message is shown to the LLM on the next attempt.
 */

function kindOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  const t = typeof value
  return t === 'object' ? 'an object' : `a ${t}`
}

const explanationField = z
  .string({
    error: (iss) => iss.input === undefined
      ? "the answer lacks 'explanation' (a non-empty string saying what the code does and why)"
      : `'explanation' must be a non-empty string, not ${kindOf(iss.input)}`,
  })
  .refine((s) => s.trim() !== '', { error: "'explanation' must be a non-empty string" })

const codeField = z.string({ error: (iss) => `'code' must be a string of JavaScript, not ${kindOf(iss.input)}` })
const actField = z.string({ error: (iss) => `'autopoietic_act' must be a string of JavaScript, not ${kindOf(iss.input)}` })

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The answer as it arrives: `autopoietic_act` (the seeds' other name) may stand in for `code`. */
const JitAnswerWire = z
  .object({ explanation: explanationField, code: codeField.optional(), autopoietic_act: actField.optional() })
  .refine((v) => v.code !== undefined || v.autopoietic_act !== undefined, {
    error: "the answer lacks 'code' (a string of JavaScript)",
    path: ['code'],
    // Report a missing code together with a bad explanation, so one retry can fix both.
    when: (payload) => isRecord(payload.value),
  })

/** The uvm_jit answer, normalised to `{explanation, code}`. */
export const JitAnswer = z.preprocess(
  // `code` wins over `autopoietic_act`: a stray second field must not fail an otherwise good answer.
  // A declarative act (seed 000's vocabulary) becomes the JavaScript the same runner runs.
  (v, ctx) => {
    if (isRecord(v) && 'code' in v) return { explanation: v.explanation, code: v.code }
    if (isRecord(v) && isDeclarativeAct(v.autopoietic_act)) {
      try {
        return { explanation: v.explanation, autopoietic_act: declarativeCode(parseDeclarativeAct(v.autopoietic_act)) }
      } catch (e) {
        ctx.issues.push({ code: 'custom', input: v.autopoietic_act, path: ['autopoietic_act'], message: (e as Error).message })
        return z.NEVER
      }
    }
    return v
  },
  JitAnswerWire,
).transform(({ explanation, code, autopoietic_act }) => ({ explanation, code: (code ?? autopoietic_act) as string }))
export type JitAnswer = z.output<typeof JitAnswer>

/**
 * What structured output asks of the server. Kept apart from `JitAnswer`: strict
 * mode (OpenAI, vLLM's guided decoding) wants every property required and
 * nothing beyond type constraints.
 */
const UvmJitWire = z.strictObject({ explanation: z.string(), code: z.string() })

/** How the client asks for structured output; `'prompt'` relies on the instructions alone. */
export const StructuredMode = z.enum(['json_schema', 'json_object', 'prompt'])
export type StructuredMode = z.infer<typeof StructuredMode>

export type JsonSchema = Record<string, unknown>

export interface JsonSchemaResponseFormat {
  type: 'json_schema'
  json_schema: { name: string; strict: boolean; schema: JsonSchema }
}
export type ResponseFormat = JsonSchemaResponseFormat | { type: 'json_object' }

/** The JSON Schema of the answer, as `response_format.json_schema.schema`. */
export function uvmJitJsonSchema(): JsonSchema {
  // `$schema` only adds bytes to every request and some OpenAI-compatible servers reject unknown keywords.
  const { $schema: _ignored, ...schema } = z.toJSONSchema(UvmJitWire) as JsonSchema
  return schema
}

/** The `response_format` of a chat request in that mode (`undefined`: send none). */
/** A structured-output schema other than the uvm_jit answer's (the dataset's teacher and judge ask for their own). */
export interface OutputSchema {
  name: string
  schema: JsonSchema
  /** OpenAI's strict mode wants every property required; a schema with optional fields says false. */
  strict?: boolean
}

export function responseFormat(mode: 'json_schema', schema?: OutputSchema): JsonSchemaResponseFormat
export function responseFormat(mode: 'json_object', schema?: OutputSchema): { type: 'json_object' }
export function responseFormat(mode: 'prompt', schema?: OutputSchema): undefined
export function responseFormat(mode: StructuredMode, schema?: OutputSchema): ResponseFormat | undefined
export function responseFormat(mode: StructuredMode, schema?: OutputSchema): ResponseFormat | undefined {
  switch (mode) {
    case 'json_schema': return { type: 'json_schema', json_schema: schema !== undefined ? { name: schema.name, strict: schema.strict ?? true, schema: schema.schema } : { name: 'uvm_jit', strict: true, schema: uvmJitJsonSchema() } }
    case 'json_object': return { type: 'json_object' }
    case 'prompt': return undefined
  }
}

/** Appended to every prompt: in `'prompt'` mode it is all the model has to go by, and it does no harm in the others. */
export const ANSWER_INSTRUCTIONS =
  'Answer with exactly one JSON object and nothing else (no prose, no markdown fences): ' +
  '{"explanation": "<what the code does and why, in a sentence or two>", "code": "<the JavaScript, as one JSON string>"}'

function badAnswer(message: string): UvmError {
  return new UvmError('JIT_BAD_ANSWER', message)
}

/** Reasoning and markdown around the answer, which models add whatever they are told. */
function stripEnvelope(text: string): string {
  let t = text
  const firstOpen = t.indexOf('<think>')
  const firstClose = t.indexOf('</think>')
  // Chat templates that open the reasoning themselves leave only the closing tag in the reply.
  if (firstClose !== -1 && (firstOpen === -1 || firstClose < firstOpen)) t = t.slice(firstClose + '</think>'.length)
  for (;;) {
    const open = t.indexOf('<think>')
    // A tag after the answer has begun is the answer's own text (an explanation may mention <think>).
    const firstBrace = t.indexOf('{')
    if (open === -1 || (firstBrace !== -1 && firstBrace < open)) break
    const close = t.indexOf('</think>', open)
    if (close !== -1) {
      t = t.slice(0, open) + t.slice(close + '</think>'.length)
      continue
    }
    // Unterminated: the reasoning runs to the JSON, best guessed as the first line that opens an object.
    const rest = t.slice(open + '<think>'.length)
    const line = /^[ \t]*\{/m.exec(rest)
    const brace = line ? line.index : rest.indexOf('{')
    t = t.slice(0, open) + (brace === -1 ? '' : rest.slice(brace))
  }
  // Only whole fence lines go: a JSON string cannot hold a raw newline, so such a line is never inside the answer.
  return t.replace(/^[ \t]*```[\w+-]*[ \t]*$/gm, '')
}

/** End (exclusive) of the object opening at `start`, honouring strings and escapes; -1 if it never closes. */
function objectEnd(text: string, start: number): number {
  let depth = 0
  let inString = false
  for (let i = start; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (c === '{') depth++
    else if (c === '}' && --depth === 0) return i + 1
  }
  return -1
}

/** Models often put raw newlines and tabs in strings (code especially); JSON wants them escaped. */
function escapeControlsInStrings(json: string): string {
  let out = ''
  let inString = false
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!
    if (inString) {
      if (c === '\\') { out += c + (json[i + 1] ?? ''); i++; continue }
      if (c === '"') inString = false
      else if (c < ' ') { out += c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`; continue }
    } else if (c === '"') inString = true
    out += c
  }
  return out
}

function jsonError(e: unknown, json: string): string {
  const message = e instanceof Error ? e.message : String(e)
  const at = /position (\d+)/.exec(message)
  if (!at) return `the JSON is not valid: ${message}`
  const pos = Number(at[1])
  const flat = (s: string): string => s.replace(/\s+/g, ' ')
  const before = flat(json.slice(Math.max(0, pos - 30), pos))
  const after = flat(json.slice(pos, pos + 30))
  return `the JSON is not valid: ${message}, counting from the '{' that opens the object (near: ${pos > 30 ? '…' : ''}${before}⟦here⟧${after}${pos + 30 < json.length ? '…' : ''})`
}

function tryParse(json: string): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(json) }
  } catch (e) {
    const repaired = escapeControlsInStrings(json)
    if (repaired !== json) {
      try { return { value: JSON.parse(repaired) } } catch { /* report the original's error: it is what the model wrote */ }
    }
    return { error: jsonError(e, json) }
  }
}

/** Past this many `{`, the reply is not an answer with a little prose around it. */
const MAX_CANDIDATES = 64

/**
 * The answer in an LLM's reply: the first JSON object in it (prose, `<think>`
 * reasoning and markdown fences around it are allowed) that is a valid
 * `{explanation, code}` (or `{explanation, autopoietic_act}`). Throws
 * `JIT_BAD_ANSWER` with a message meant for the LLM's next attempt.
 */
export function parseAnswer(text: string): JitAnswer {
  if (text.trim() === '') throw badAnswer('the reply is empty: answer with one JSON object {"explanation": …, "code": …}')
  let t = stripEnvelope(text)
  if (t.trim() === '') throw badAnswer('the reply holds only <think> reasoning and no JSON object: keep the reasoning short and end with the JSON answer')
  // A double-encoded answer (the object inside a JSON string) is still the model's answer.
  const outer = tryParse(t.trim())
  if ('value' in outer && typeof outer.value === 'string' && outer.value.includes('{')) t = outer.value

  let shapeError: string | undefined
  let parseError: string | undefined
  let topEnd = 0 // candidates inside an earlier top-level one are tried but their errors are not reported
  let from = 0
  for (let n = 0; n < MAX_CANDIDATES; n++) {
    const start = t.indexOf('{', from)
    if (start === -1) break
    from = start + 1
    const top = start >= topEnd
    const end = objectEnd(t, start)
    if (end === -1) {
      if (top) {
        parseError ??= "the JSON object never closes (a '}' is missing): the reply looks cut off; give a shorter answer"
        topEnd = t.length
      }
      continue
    }
    if (top) topEnd = end
    const parsed = tryParse(t.slice(start, end))
    if ('error' in parsed) {
      if (top) parseError ??= parsed.error
      continue
    }
    const checked = JitAnswer.safeParse(parsed.value)
    if (checked.success) return checked.data
    if (top) shapeError ??= checked.error.issues.map((i) => i.message).join('; ')
  }
  throw badAnswer(shapeError ?? parseError ?? 'the reply holds no JSON object: answer with one JSON object {"explanation": …, "code": …}')
}
