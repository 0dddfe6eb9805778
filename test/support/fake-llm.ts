import { createServer } from 'node:http'
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A real HTTP server on 127.0.0.1 that speaks enough of the OpenAI
 * chat-completions protocol (and vLLM's LoRA endpoints) to stand in for the
 * LLM in every JIT test. Each chat request consumes one scripted step.
 *
 *   const llm = await startFakeLlm([{ answer: { explanation: 'adds', code: 'return 1' } }])
 *   const client = new LlmClient({ url: llm.url })
 *   ...
 *   await llm.close()
 */

export interface FakeAnswer {
  explanation?: unknown
  code?: unknown
  autopoietic_act?: unknown
  [key: string]: unknown
}

export type Step =
  /** 200 with `JSON.stringify(answer)` as the message content. */
  | { answer: FakeAnswer }
  /** 200 with this raw content (fenced JSON, a `<think>` preamble, invalid JSON…); `null` content needs `reasoningContent` or nothing. */
  | { content: string | null; reasoningContent?: string; finishReason?: string }
  /** An HTTP answer with this status; a string body is sent as text, anything else as JSON. */
  | { status: number; body?: string | object }
  /** The step `then`, after a delay (to exceed a client's timeout, or to overlap requests). */
  | { delayMs: number; then: Step }
  /** The connection is destroyed without an answer. */
  | { hangUp: true }

export interface FakeRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  /** Parsed JSON, or the raw text when it is not JSON (`undefined` when empty). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any
}

/** `n` counts chat requests that consumed a step, from 0. */
export type Script = Step[] | ((req: FakeRequest, n: number) => Step)

export interface FakeLlmOptions {
  /** Answer 400 to any chat request with `response_format.type === 'json_schema'`, without consuming a step. */
  rejectJsonSchema?: boolean
  /** Likewise for `json_object`. */
  rejectJsonObject?: boolean
  /** What `GET /v1/models` lists (default `['fake-model']`); loaded LoRA adapters are listed after them. */
  models?: string[]
  /** Serve vLLM's runtime LoRA endpoints (default false: they 404, as in a vLLM started without VLLM_ALLOW_RUNTIME_LORA_UPDATING). */
  lora?: boolean
  /** Fixed answers for other routes, keyed `'METHOD /path'`; they win over the built-in ones. */
  routes?: Record<string, { status: number; body?: string | object }>
}

export interface FakeLlm {
  /** e.g. `http://127.0.0.1:40123` (no `/v1`). */
  readonly url: string
  /** Every request, in arrival order (recorded as soon as its body has arrived). */
  readonly requests: FakeRequest[]
  /** Only `POST /v1/chat/completions`, including those refused by `rejectJsonSchema`/`rejectJsonObject`. */
  readonly chatRequests: FakeRequest[]
  /** Requests being answered right now, and the most there ever were at once. */
  readonly inFlight: number
  readonly peakInFlight: number
  /** LoRA adapters loaded through `/v1/load_lora_adapter`, by name → path. */
  readonly adapters: Map<string, string>
  /** Resolves once `n` requests have arrived; rejects after `timeoutMs` (default 2000). */
  waitForRequests(n: number, timeoutMs?: number): Promise<FakeRequest[]>
  close(): Promise<void>
}

function tokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4))
}

function send(res: ServerResponse, status: number, body: string | object | undefined): void {
  if (res.destroyed) return
  const isText = typeof body === 'string' || body === undefined
  const payload = isText ? (body ?? '') : JSON.stringify(body)
  res.writeHead(status, { 'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json' })
  res.end(payload)
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

export async function startFakeLlm(script: Script = [], options: FakeLlmOptions = {}): Promise<FakeLlm> {
  const models = options.models ?? ['fake-model']
  const requests: FakeRequest[] = []
  const chatRequests: FakeRequest[] = []
  const adapters = new Map<string, string>()
  const timers = new Set<NodeJS.Timeout>()
  const waiters = new Set<() => void>()
  let steps = 0
  let inFlight = 0
  let peakInFlight = 0

  const nextStep = (req: FakeRequest): Step => {
    const n = steps++
    if (typeof script === 'function') return script(req, n)
    // The last step repeats, so one step scripts "always this".
    const step = script[Math.min(n, script.length - 1)]
    return step ?? { answer: { explanation: 'the fake LLM has no script', code: 'return undefined' } }
  }

  const completion = (req: FakeRequest, message: Record<string, unknown>, finishReason: string): object => {
    const prompt = Array.isArray(req.body?.messages)
      ? (req.body.messages as Array<{ content?: unknown }>).map((m) => String(m.content ?? '')).join('\n')
      : ''
    const text = typeof message.content === 'string' ? message.content : String(message.reasoning_content ?? '')
    const promptTokens = tokens(prompt)
    const completionTokens = tokens(text)
    return {
      id: `chatcmpl-fake-${steps}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: typeof req.body?.model === 'string' ? req.body.model : models[0] ?? 'fake-model',
      choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finishReason }],
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    }
  }

  const play = (step: Step, req: FakeRequest, res: ServerResponse, done: () => void): void => {
    if ('delayMs' in step) {
      const timer = setTimeout(() => {
        timers.delete(timer)
        play(step.then, req, res, done)
      }, step.delayMs)
      timers.add(timer)
      // A client that gave up (timeout) frees its slot at once, as a real server's would.
      res.once('close', () => {
        if (timers.delete(timer)) {
          clearTimeout(timer)
          done()
        }
      })
      return
    }
    if ('hangUp' in step) res.socket?.destroy()
    else if ('answer' in step) send(res, 200, completion(req, { content: JSON.stringify(step.answer) }, 'stop'))
    else if ('content' in step) {
      send(res, 200, completion(req, {
        content: step.content,
        ...(step.reasoningContent !== undefined && { reasoning_content: step.reasoningContent }),
      }, step.finishReason ?? 'stop'))
    } else send(res, step.status, step.body)
    done()
  }

  const chat = (req: FakeRequest, res: ServerResponse, done: () => void): void => {
    chatRequests.push(req)
    const format = req.body?.response_format?.type
    if ((format === 'json_schema' && options.rejectJsonSchema) || (format === 'json_object' && options.rejectJsonObject)) {
      send(res, 400, { error: { message: `${format} not supported`, type: 'BadRequestError', code: 400 } })
      return done()
    }
    play(nextStep(req), req, res, done)
  }

  const lora = (req: FakeRequest, res: ServerResponse): void => {
    const name = req.body?.lora_name
    if (typeof name !== 'string' || name === '') {
      return send(res, 400, { object: 'error', message: "'lora_name' must be provided.", type: 'InvalidUserInput', code: 400 })
    }
    if (req.path === '/v1/load_lora_adapter') {
      if (adapters.has(name)) return send(res, 400, { object: 'error', message: `The lora adapter '${name}' has already been loaded.`, type: 'InvalidUserInput', code: 400 })
      adapters.set(name, String(req.body?.lora_path ?? ''))
      return send(res, 200, `Success: LoRA adapter '${name}' added successfully.`)
    }
    if (!adapters.delete(name)) return send(res, 400, { object: 'error', message: `The lora adapter '${name}' cannot be found.`, type: 'NotFoundError', code: 400 })
    send(res, 200, `Success: LoRA adapter '${name}' removed successfully.`)
  }

  const server = createServer((incoming, res) => {
    inFlight++
    peakInFlight = Math.max(peakInFlight, inFlight)
    let finished = false
    const done = (): void => {
      if (finished) return
      finished = true
      inFlight--
    }
    res.once('close', done)
    void readBody(incoming).then((body) => {
      const path = (incoming.url ?? '/').split('?')[0]!
      const req: FakeRequest = { method: incoming.method ?? 'GET', path, headers: incoming.headers, body }
      requests.push(req)
      for (const wake of waiters) wake()
      const route = options.routes?.[`${req.method} ${path}`]
      if (route) send(res, route.status, route.body)
      else if (req.method === 'POST' && path === '/v1/chat/completions') return chat(req, res, done)
      else if (req.method === 'GET' && path === '/v1/models') {
        send(res, 200, { object: 'list', data: [...models, ...adapters.keys()].map((id) => ({ id, object: 'model', owned_by: 'fake' })) })
      } else if (req.method === 'POST' && (path === '/v1/load_lora_adapter' || path === '/v1/unload_lora_adapter') && options.lora) lora(req, res)
      else send(res, 404, { detail: 'Not Found' })
      done()
    }, () => {
      res.socket?.destroy()
      done()
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    chatRequests,
    adapters,
    get inFlight() { return inFlight },
    get peakInFlight() { return peakInFlight },
    waitForRequests(n, timeoutMs = 2000) {
      return new Promise((resolve, reject) => {
        if (requests.length >= n) return resolve(requests)
        const timer = setTimeout(() => {
          waiters.delete(wake)
          reject(new Error(`the fake LLM got ${requests.length} requests within ${timeoutMs} ms, not ${n}`))
        }, timeoutMs)
        const wake = (): void => {
          if (requests.length < n) return
          clearTimeout(timer)
          waiters.delete(wake)
          resolve(requests)
        }
        waiters.add(wake)
      })
    },
    close() {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      return new Promise<void>((resolve) => {
        server.close(() => resolve())
        // Keep-alive sockets (fetch pools them) would hold close() open otherwise.
        server.closeAllConnections()
      })
    },
  }
}
