import { z } from 'zod'
import { UvmError } from '../errors.js'
import { ANSWER_INSTRUCTIONS, StructuredMode, responseFormat } from './answer.js'
import type { OutputSchema } from './answer.js'

export { StructuredMode } from './answer.js'

/**
 * A client of an OpenAI-compatible chat-completions server (vLLM, llama.cpp,
 * Ollama, OpenAI itself). It trusts nothing the server says: every reply is
 * checked before the JIT sees it, and every failure names the server and what
 * went wrong, without ever showing the API key.
 */

const LlmClientOptions = z.object({
  /** The server's base, e.g. `http://127.0.0.1:8000` or `http://127.0.0.1:8000/v1`. */
  url: z.string().min(1),
  /** Default: the first model the server lists. */
  model: z.string().min(1).optional(),
  /** Sent as `Authorization: Bearer <key>`, and nowhere else. */
  key: z.string().optional(),
  maxInFlight: z.number().int().min(1).default(2),
  timeoutMs: z.number().positive().default(60_000),
  maxTokens: z.number().int().min(1).default(1024),
  temperature: z.number().min(0).optional(),
})
export type LlmClientOptions = z.input<typeof LlmClientOptions>

export const ChatMessage = z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() })
export type ChatMessage = z.infer<typeof ChatMessage>

export interface ChatOptions {
  model?: string
  maxTokens?: number
  temperature?: number
  /** Sent as `response_format` (see `responseFormat()` in answer.ts). */
  responseFormat?: object
  signal?: AbortSignal
}

export interface ChatResult {
  text: string
  /** The model the server says answered (else the one asked for). */
  model: string | undefined
  usage: { promptTokens?: number; completionTokens?: number }
  /** The HTTP round trip that produced `text`, not the time spent queued behind other requests. */
  ms: number
  /** `'length'` means the reply was cut at max tokens. */
  finishReason?: string
}

export type StructuredResult = ChatResult & { mode: StructuredMode }

export const LORA_NOT_ENABLED = 'not enabled (start vLLM with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True)'

export interface ProbeReport {
  server: string
  models: string[] | { error: string }
  mode: StructuredMode | { error: string }
  roundTripMs: number | undefined
  reply?: string
  lora: 'available' | typeof LORA_NOT_ENABLED | { error: string }
}

const ModelList = z.object({ data: z.array(z.object({ id: z.string() })) })

const Completion = z.object({
  model: z.string().optional().catch(undefined),
  choices: z.array(z.object({
    message: z.object({ content: z.unknown().optional(), reasoning_content: z.unknown().optional() }),
    finish_reason: z.string().nullish().catch(undefined),
  })).min(1),
  // Usage is a nicety: a server that gets it wrong still answered.
  usage: z.object({ prompt_tokens: z.number().optional(), completion_tokens: z.number().optional() }).nullish().catch(undefined),
})

/** Answers that mean "this server does not do that response_format", the only reason to step down the ladder. */
const REFUSES_FORMAT = new Set([400, 422, 501])

const LORA_ENDPOINTS = new Set(['/v1/load_lora_adapter', '/v1/unload_lora_adapter'])

/** FIFO: the JIT's requests are answered in the order they were made. */
class Gate {
  #free: number
  readonly #waiting: Array<() => void> = []

  constructor(size: number) {
    this.#free = size
  }

  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted()
    if (this.#free > 0) {
      this.#free--
      return this.#releaser()
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.#waiting.indexOf(grant)
        if (i !== -1) this.#waiting.splice(i, 1)
        reject(signal!.reason)
      }
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      this.#waiting.push(grant)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
    return this.#releaser()
  }

  #releaser(): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.#waiting.shift()
      // The slot passes straight to the next caller, so a newcomer cannot overtake the queue.
      if (next) next()
      else this.#free++
    }
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//***@')
}

/** The message an OpenAI-style error body carries (`{message}` from vLLM, `{error: {message}}` from OpenAI), if any. */
function errorMessageOf(body: string): string | undefined {
  try {
    const v: unknown = JSON.parse(body)
    if (typeof v !== 'object' || v === null) return undefined
    const o = v as { message?: unknown; error?: { message?: unknown } }
    if (typeof o.message === 'string') return o.message
    if (typeof o.error === 'object' && o.error !== null && typeof o.error.message === 'string') return o.error.message
  } catch { /* not JSON */ }
  return undefined
}

function causeOf(e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string; errors?: Array<{ message?: string }> } }
  const cause = err.cause
  if (cause) return cause.message || cause.errors?.[0]?.message || cause.code || err.message || String(e)
  return err.message || String(e)
}

interface SendOptions {
  signal?: AbortSignal | undefined
}

export class LlmClient {
  /** The server's base URL, without credentials and without `/v1`. */
  readonly server: string
  readonly maxInFlight: number
  readonly timeoutMs: number
  readonly maxTokens: number
  readonly temperature: number | undefined
  readonly #model: string | undefined
  readonly #authorization: string | undefined
  /** Everything secret that could come back in a server's error body. */
  readonly #secrets: string[] = []
  readonly #gate: Gate
  #mode: StructuredMode | undefined
  #found: string | undefined
  #finding: Promise<string | undefined> | undefined

  constructor(options: LlmClientOptions) {
    const parsed = LlmClientOptions.safeParse(options)
    if (!parsed.success) {
      throw new UvmError('JIT_LLM_ERROR', `bad LLM client options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
    }
    const o = parsed.data
    let url: URL
    try {
      url = new URL(o.url)
    } catch {
      throw new UvmError('JIT_LLM_ERROR', `the LLM server URL ${JSON.stringify(redactUrl(o.url))} is not a URL: give one like http://127.0.0.1:8000`)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UvmError('JIT_LLM_ERROR', `the LLM server URL must be http:// or https://, not ${url.protocol}//… (give one like http://127.0.0.1:8000)`)
    }
    if (url.username || url.password) {
      // fetch refuses URLs with credentials; they become Basic auth, used only when there is no key.
      const user = decodeURIComponent(url.username)
      const pass = decodeURIComponent(url.password)
      const basic = Buffer.from(`${user}:${pass}`).toString('base64')
      this.#secrets.push(basic, `${user}:${pass}`, url.username, url.password)
      if (!o.key) this.#authorization = `Basic ${basic}`
    }
    if (o.key) {
      this.#authorization = `Bearer ${o.key}`
      this.#secrets.push(o.key)
    }
    const path = url.pathname.replace(/\/+$/, '')
    this.server = url.origin + (path.endsWith('/v1') ? path.slice(0, -'/v1'.length) : path)
    this.#model = o.model
    this.maxInFlight = o.maxInFlight
    this.timeoutMs = o.timeoutMs
    this.maxTokens = o.maxTokens
    this.temperature = o.temperature
    this.#gate = new Gate(o.maxInFlight)
    // Longest first, so that a secret containing another is replaced whole.
    this.#secrets = this.#secrets.filter((s) => s.length >= 3).sort((a, b) => b.length - a.length)
  }

  /** The model asked for: the configured one, else the one the server listed first (once looked up). */
  get model(): string | undefined {
    return this.#model ?? this.#found
  }

  /** The structured-output mode this server was last seen to accept; `undefined` until a `structured()` call succeeds. */
  get mode(): StructuredMode | undefined {
    return this.#mode
  }

  toString(): string {
    return `LlmClient(${this.server})`
  }

  toJSON(): Record<string, unknown> {
    return { server: this.server, model: this.model, mode: this.#mode, maxInFlight: this.maxInFlight, timeoutMs: this.timeoutMs, maxTokens: this.maxTokens }
  }

  async chat(messages: ChatMessage[], opts: ChatOptions = {}): Promise<ChatResult> {
    const model = opts.model ?? await this.#defaultModel(opts.signal)
    const temperature = opts.temperature ?? this.temperature
    const body = {
      ...(model !== undefined && { model }),
      messages,
      max_tokens: opts.maxTokens ?? this.maxTokens,
      ...(temperature !== undefined && { temperature }),
      ...(opts.responseFormat !== undefined && { response_format: opts.responseFormat }),
    }
    const { text, ms } = await this.#send('POST', '/v1/chat/completions', body, { signal: opts.signal })
    return this.#completion(text, ms, model)
  }

  /**
   * A chat that asks for the uvm_jit answer as structured output, stepping down
   * json_schema → json_object → prompt-only while the server refuses the format
   * (400, 422, 501), and starting next time from the mode that worked.
   */
  async structured(messages: ChatMessage[], opts: Omit<ChatOptions, 'responseFormat'> & { schema?: OutputSchema } = {}): Promise<StructuredResult> {
    const ladder = StructuredMode.options
    for (let i = ladder.indexOf(this.#mode ?? 'json_schema'); ; i++) {
      const mode = ladder[i]!
      try {
        const { schema, ...chat } = opts
        const result = await this.chat(messages, { ...chat, responseFormat: responseFormat(mode, schema) })
        this.#mode = mode
        return { ...result, mode }
      } catch (e) {
        const status = e instanceof UvmError && e.code === 'JIT_LLM_ERROR' ? e.details.status : undefined
        if (i < ladder.length - 1 && typeof status === 'number' && REFUSES_FORMAT.has(status)) continue
        throw e
      }
    }
  }

  async models(): Promise<string[]> {
    return this.#models()
  }

  /** Returns the server's reply text (vLLM: `Success: LoRA adapter '…' added successfully.`). */
  async loadAdapter(name: string, path: string): Promise<string> {
    return (await this.#send('POST', '/v1/load_lora_adapter', { lora_name: name, lora_path: path })).text
  }

  async unloadAdapter(name: string): Promise<string> {
    return (await this.#send('POST', '/v1/unload_lora_adapter', { lora_name: name })).text
  }

  /** What `uvm llm check` shows. Never throws for a server that is down or wrong: each failure lands in its field. */
  async probe(): Promise<ProbeReport> {
    const message = (e: unknown): { error: string } => ({ error: e instanceof Error ? e.message : String(e) })
    let models: ProbeReport['models']
    try {
      const ids = await this.#models()
      models = ids
      if (this.#model === undefined && this.#found === undefined && ids[0] !== undefined) this.#found = ids[0]
    } catch (e) {
      models = message(e)
    }
    const roundTrip = this.structured([
      { role: 'system', content: ANSWER_INSTRUCTIONS },
      { role: 'user', content: 'This is a connectivity check. Answer with exactly {"explanation":"ok","code":"return 1"}' },
    ]).then(
      (r) => ({ mode: r.mode, roundTripMs: Math.round(r.ms), reply: r.text.length > 200 ? `${r.text.slice(0, 200)}…` : r.text }),
      (e: unknown) => ({ mode: message(e), roundTripMs: undefined }),
    )
    const lora = this.unloadAdapter('uvm-probe-nonexistent').then(
      (): ProbeReport['lora'] => 'available',
      (e: unknown): ProbeReport['lora'] => {
        if (e instanceof UvmError && e.code === 'JIT_LLM_NOT_FOUND') return LORA_NOT_ENABLED
        const status = e instanceof UvmError ? e.details.status : undefined
        // Any other HTTP answer (vLLM: 400 or 404 "cannot be found" as JSON) comes from the endpoint itself.
        if (typeof status === 'number' && status !== 401 && status !== 403) return 'available'
        return message(e)
      },
    )
    const [trip, loraState] = await Promise.all([roundTrip, lora])
    return { server: this.server, models, ...trip, lora: loraState }
  }

  async #models(signal?: AbortSignal): Promise<string[]> {
    const { text } = await this.#send('GET', '/v1/models', undefined, { signal })
    const list = ModelList.safeParse(this.#json(text, 'GET /v1/models'))
    if (!list.success) throw this.#protocolError('GET /v1/models', 'not a model list ({"data": [{"id": …}]})', text)
    return list.data.data.map((m) => m.id)
  }

  /** Looked up once; a server that answered (even with an error) is not asked again, one that was unreachable is. */
  async #defaultModel(signal?: AbortSignal): Promise<string | undefined> {
    if (this.#model !== undefined) return this.#model
    if (this.#found !== undefined) return this.#found
    this.#finding ??= this.#models(signal).then(
      (ids) => (this.#found = ids[0]),
      (e: unknown) => {
        const answered = e instanceof UvmError && (typeof e.details.status === 'number' || e.details.protocol === true)
        if (!answered) this.#finding = undefined
        return undefined
      },
    )
    return this.#finding
  }

  #completion(text: string, ms: number, asked: string | undefined): ChatResult {
    const where = 'POST /v1/chat/completions'
    const parsed = Completion.safeParse(this.#json(text, where))
    if (!parsed.success) throw this.#protocolError(where, 'no choices[0].message in it', text)
    const { choices: [choice], usage, model } = parsed.data
    const { content, reasoning_content: reasoning } = choice!.message
    const finishReason = choice!.finish_reason ?? undefined
    if (typeof content !== 'string') {
      if (content != null) throw this.#protocolError(where, `choices[0].message.content is ${Array.isArray(content) ? 'an array' : typeof content}, not a string`, text)
      throw new UvmError('JIT_BAD_ANSWER', typeof reasoning === 'string'
        ? `the model only reasoned (reasoning_content) and gave no content${finishReason ? ` (finish_reason: ${finishReason})` : ''}: it likely spent its max tokens thinking; answer sooner, with the JSON object`
        : `the reply has no content${finishReason ? ` (finish_reason: ${finishReason})` : ''}`)
    }
    return {
      text: content,
      model: model ?? asked,
      usage: {
        ...(usage?.prompt_tokens !== undefined && { promptTokens: usage.prompt_tokens }),
        ...(usage?.completion_tokens !== undefined && { completionTokens: usage.completion_tokens }),
      },
      ms,
      ...(finishReason !== undefined && { finishReason }),
    }
  }

  #json(text: string, where: string): unknown {
    try {
      return JSON.parse(text)
    } catch {
      throw this.#protocolError(where, 'the body is not JSON', text)
    }
  }

  #protocolError(where: string, what: string, body: string): UvmError {
    return new UvmError('JIT_LLM_ERROR', `the LLM server at ${this.server} answered ${where} with 200 but ${what}: ${this.#excerpt(body) || '(empty body)'}`, { protocol: true })
  }

  #excerpt(body: string): string {
    const flat = this.#scrub(body).replace(/\s+/g, ' ').trim()
    return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat
  }

  #scrub(text: string): string {
    let out = text
    for (const secret of this.#secrets) out = out.split(secret).join('***')
    return out
  }

  async #send(method: 'GET' | 'POST', endpoint: string, body: unknown, { signal }: SendOptions = {}): Promise<{ text: string; ms: number }> {
    const release = await this.#gate.acquire(signal)
    const controller = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort()
    }, this.timeoutMs)
    const onAbort = (): void => controller.abort(signal!.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    const headers: Record<string, string> = { accept: 'application/json' }
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (this.#authorization) headers.authorization = this.#authorization
    const started = performance.now()
    try {
      const res = await fetch(this.server + endpoint, {
        method,
        headers,
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: controller.signal,
      })
      // Read under the same timeout: a server can send headers promptly and then stall.
      const text = await res.text()
      if (!res.ok) throw this.#httpError(method, endpoint, res.status, res.statusText, text)
      return { text, ms: performance.now() - started }
    } catch (e) {
      if (e instanceof UvmError) throw e
      if (timedOut) throw new UvmError('JIT_LLM_TIMEOUT', `the LLM server at ${this.server} did not answer within ${this.timeoutMs} ms (${method} ${endpoint})`, { endpoint }, true)
      if (signal?.aborted) throw signal.reason
      throw new UvmError('JIT_LLM_ERROR', `the LLM server at ${this.server} could not be reached (${method} ${endpoint}): ${this.#scrub(causeOf(e))}`, { endpoint }, true)
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      release()
    }
  }

  #httpError(method: string, endpoint: string, status: number, statusText: string, body: string): UvmError {
    // vLLM's own 404s (an adapter it does not have) carry a message; a route that is not there does not.
    if (status === 404 && LORA_ENDPOINTS.has(endpoint) && errorMessageOf(body) === undefined) {
      return new UvmError('JIT_LLM_NOT_FOUND',
        `the LLM server at ${this.server} has no ${endpoint} (HTTP 404): vLLM answers it only when started with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True (and --enable-lora)`,
        { status, endpoint })
    }
    const hint = status === 401 || status === 403 ? ' (is the API key right?)'
      : status === 404 ? ` (is ${this.server} the base URL of an OpenAI-compatible server?)`
        : ''
    const excerpt = this.#excerpt(body)
    return new UvmError('JIT_LLM_ERROR',
      `the LLM server at ${this.server} answered ${method} ${endpoint} with HTTP ${status}${statusText ? ` ${statusText}` : ''}${hint}${excerpt ? `: ${excerpt}` : ''}`,
      { status, endpoint },
      status === 408 || status === 429 || status >= 500)
  }
}
