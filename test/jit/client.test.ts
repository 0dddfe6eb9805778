import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, it, expect, afterEach } from 'vitest'
import { UvmError } from '../../src/errors.js'
import { parseAnswer, uvmJitJsonSchema } from '../../src/jit/answer.js'
import { LlmClient, LORA_NOT_ENABLED } from '../../src/jit/client.js'
import type { ChatMessage } from '../../src/jit/client.js'
import { startFakeLlm } from '../support/fake-llm.js'
import type { FakeLlm, FakeLlmOptions, Script } from '../support/fake-llm.js'

const open: FakeLlm[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((llm) => llm.close()))
})

async function fake(script?: Script, options?: FakeLlmOptions): Promise<FakeLlm> {
  const llm = await startFakeLlm(script, options)
  open.push(llm)
  return llm
}

async function failure(p: Promise<unknown>): Promise<UvmError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(UvmError)
    return e as UvmError
  }
  expect.fail('expected a rejection, but the promise resolved')
}

/** A port nothing listens on: one the OS just handed out and we closed again. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

const ask: ChatMessage[] = [{ role: 'system', content: 'you are the JIT' }, { role: 'user', content: 'implement area' }]
const good = { explanation: 'the area is width times height', code: 'return this.width * this.height' }

describe('LlmClient construction', () => {
  it('normalises the server URL', () => {
    expect(new LlmClient({ url: 'http://127.0.0.1:8000' }).server).toBe('http://127.0.0.1:8000')
    expect(new LlmClient({ url: 'http://127.0.0.1:8000/' }).server).toBe('http://127.0.0.1:8000')
    expect(new LlmClient({ url: 'http://127.0.0.1:8000/v1' }).server).toBe('http://127.0.0.1:8000')
    expect(new LlmClient({ url: 'https://example.test/llm/v1/' }).server).toBe('https://example.test/llm')
    expect(new LlmClient({ url: 'http://user:pa55word@127.0.0.1:8000/v1' }).server).toBe('http://127.0.0.1:8000')
  })

  it('refuses a URL that is not http(s)', () => {
    for (const url of ['ftp://127.0.0.1:8000', 'not a url', 'file:///tmp/x']) {
      let error: unknown
      try { new LlmClient({ url }) } catch (e) { error = e }
      expect(error).toBeInstanceOf(UvmError)
      expect((error as UvmError).code).toBe('JIT_LLM_ERROR')
      expect((error as UvmError).message).toMatch(/http/)
    }
  })

  it('refuses bad options', () => {
    expect(() => new LlmClient({ url: 'http://127.0.0.1:1', maxInFlight: 0 })).toThrow(/maxInFlight/)
  })
})

describe('LlmClient.chat against the fake LLM', () => {
  it('returns the text, model, usage and time of a valid answer', async () => {
    const llm = await fake([{ answer: good }])
    const client = new LlmClient({ url: llm.url, model: 'm1', temperature: 0.2 })
    const r = await client.chat(ask)
    expect(parseAnswer(r.text)).toEqual(good)
    expect(r.model).toBe('m1')
    expect(r.usage.promptTokens).toBeGreaterThan(0)
    expect(r.usage.completionTokens).toBeGreaterThan(0)
    expect(r.ms).toBeGreaterThanOrEqual(0)
    const sent = llm.chatRequests[0]!
    expect(sent.method).toBe('POST')
    expect(sent.body).toMatchObject({ model: 'm1', messages: ask, max_tokens: 1024, temperature: 0.2 })
    expect(sent.body.response_format).toBeUndefined()
  })

  it('uses the first listed model when none is configured, looked up once', async () => {
    const llm = await fake([{ answer: good }], { models: ['qwen', 'other'] })
    const client = new LlmClient({ url: `${llm.url}/v1/` })
    expect(client.model).toBeUndefined()
    await client.chat(ask)
    await client.chat(ask)
    expect(client.model).toBe('qwen')
    expect(llm.chatRequests.map((r) => r.body.model)).toEqual(['qwen', 'qwen'])
    expect(llm.requests.filter((r) => r.path === '/v1/models')).toHaveLength(1)
  })

  it('sends no model when the server cannot list models', async () => {
    const llm = await fake([{ answer: good }], { routes: { 'GET /v1/models': { status: 404, body: { detail: 'Not Found' } } } })
    const client = new LlmClient({ url: llm.url })
    await client.chat(ask)
    await client.chat(ask)
    expect(llm.chatRequests[0]!.body).not.toHaveProperty('model')
    expect(llm.requests.filter((r) => r.path === '/v1/models')).toHaveLength(1)
  })

  it('hands back invalid JSON for parseAnswer to refuse', async () => {
    const llm = await fake([{ content: '{"explanation": "oops", code: return 1}' }])
    const r = await new LlmClient({ url: llm.url }).chat(ask)
    expect(() => parseAnswer(r.text)).toThrow(/^the JSON is not valid/)
  })

  it('carries a fenced answer with a <think> preamble through', async () => {
    const llm = await fake([{ content: `<think>\nArea? width * height.\n</think>\n\`\`\`json\n${JSON.stringify(good, null, 2)}\n\`\`\`` }])
    const r = await new LlmClient({ url: llm.url }).chat(ask)
    expect(parseAnswer(r.text)).toEqual(good)
  })

  it('carries prose around the JSON and autopoietic_act through', async () => {
    const llm = await fake([{ content: `Of course. ${JSON.stringify({ explanation: good.explanation, autopoietic_act: good.code })} Anything else?` }])
    const r = await new LlmClient({ url: llm.url }).chat(ask)
    expect(parseAnswer(r.text)).toEqual(good)
  })

  it('refuses answers that lack keys, precisely', async () => {
    const llm = await fake([{ answer: { explanation: 'no code' } }, { answer: { code: 'return 1' } }, { answer: { explanation: '', code: 'x' } }])
    const client = new LlmClient({ url: llm.url })
    const texts = [(await client.chat(ask)).text, (await client.chat(ask)).text, (await client.chat(ask)).text]
    const messages = texts.map((t) => {
      try { parseAnswer(t) } catch (e) { return (e as UvmError).message }
      return 'accepted'
    })
    expect(messages[0]).toBe("the answer lacks 'code' (a string of JavaScript)")
    expect(messages[1]).toMatch(/^the answer lacks 'explanation'/)
    expect(messages[2]).toBe("'explanation' must be a non-empty string")
  })

  it('does not trust a 200: the body must be a completion with string content', async () => {
    const llm = await fake([
      { status: 200, body: 'hello, not json' },
      { status: 200, body: { choices: [] } },
      { content: null, reasoningContent: 'thinking and thinking', finishReason: 'length' },
      { content: null },
    ])
    const client = new LlmClient({ url: llm.url, model: 'm' })
    const notJson = await failure(client.chat(ask))
    expect(notJson.code).toBe('JIT_LLM_ERROR')
    expect(notJson.message).toMatch(/not JSON: hello, not json/)
    const noChoices = await failure(client.chat(ask))
    expect(noChoices.code).toBe('JIT_LLM_ERROR')
    expect(noChoices.message).toMatch(/choices\[0\]\.message/)
    const onlyReasoning = await failure(client.chat(ask))
    expect(onlyReasoning.code).toBe('JIT_BAD_ANSWER')
    expect(onlyReasoning.message).toMatch(/reasoning_content.*finish_reason: length/)
    const noContent = await failure(client.chat(ask))
    expect(noContent.code).toBe('JIT_BAD_ANSWER')
    expect(noContent.message).toMatch(/no content/)
  })
})

describe('LlmClient.structured: the response_format ladder', () => {
  it('sends the strict uvm_jit json_schema first', async () => {
    const llm = await fake([{ answer: good }])
    const client = new LlmClient({ url: llm.url })
    const r = await client.structured(ask)
    expect(r.mode).toBe('json_schema')
    expect(client.mode).toBe('json_schema')
    expect(llm.chatRequests[0]!.body.response_format).toEqual({
      type: 'json_schema',
      json_schema: {
        name: 'uvm_jit',
        strict: true,
        schema: {
          type: 'object',
          properties: { explanation: { type: 'string' }, code: { type: 'string' } },
          required: ['explanation', 'code'],
          additionalProperties: false,
        },
      },
    })
    expect(llm.chatRequests[0]!.body.response_format.json_schema.schema).toEqual(uvmJitJsonSchema())
  })

  it('steps down to json_object on a 400, and remembers it', async () => {
    const llm = await fake([{ answer: good }], { rejectJsonSchema: true })
    const client = new LlmClient({ url: llm.url })
    expect(client.mode).toBeUndefined()
    const r = await client.structured(ask)
    expect(r.mode).toBe('json_object')
    expect(parseAnswer(r.text)).toEqual(good)
    await client.structured(ask)
    expect(llm.chatRequests.map((q) => q.body.response_format?.type)).toEqual(['json_schema', 'json_object', 'json_object'])
  })

  it('steps down to prompt-only when json_object is refused too, and starts there next time', async () => {
    const llm = await fake([{ answer: good }], { rejectJsonSchema: true, rejectJsonObject: true })
    const client = new LlmClient({ url: llm.url })
    const r = await client.structured(ask)
    expect(r.mode).toBe('prompt')
    expect(client.mode).toBe('prompt')
    expect(llm.chatRequests[0]!.body.response_format.type).toBe('json_schema')
    expect(llm.chatRequests[1]!.body.response_format).toEqual({ type: 'json_object' })
    expect(llm.chatRequests[2]!.body).not.toHaveProperty('response_format')
    await client.structured(ask)
    expect(llm.chatRequests).toHaveLength(4)
    expect(llm.chatRequests[3]!.body).not.toHaveProperty('response_format')
  })

  it('steps down on 422 and 501 as on 400', async () => {
    const llm = await fake([{ status: 422, body: { detail: 'bad' } }, { status: 501, body: 'no' }, { answer: good }])
    const r = await new LlmClient({ url: llm.url }).structured(ask)
    expect(r.mode).toBe('prompt')
  })

  it('throws other errors as they are, without stepping down or remembering', async () => {
    const llm = await fake([{ status: 500, body: 'engine died' }])
    const client = new LlmClient({ url: llm.url })
    const e = await failure(client.structured(ask))
    expect(e.code).toBe('JIT_LLM_ERROR')
    expect(e.details.status).toBe(500)
    expect(llm.chatRequests).toHaveLength(1)
    expect(client.mode).toBeUndefined()
  })

  it('throws the last refusal when even prompt-only is refused', async () => {
    const llm = await fake([{ status: 400, body: { error: { message: 'context too long' } } }])
    const client = new LlmClient({ url: llm.url })
    const e = await failure(client.structured(ask))
    expect(e.message).toMatch(/400.*context too long/)
    expect(llm.chatRequests).toHaveLength(3)
    expect(client.mode).toBeUndefined()
  })
})

describe('LlmClient limits and failures', () => {
  it('has at most maxInFlight requests at the server at once, served in order', async () => {
    const llm = await fake((req) => ({ delayMs: 200, then: { content: JSON.stringify({ explanation: 'n', code: String(req.body.messages[0].content) }) } }))
    const client = new LlmClient({ url: llm.url, model: 'm' })
    expect(client.maxInFlight).toBe(2)
    const started = performance.now()
    const replies = await Promise.all([0, 1, 2, 3, 4].map((i) => client.chat([{ role: 'user', content: `#${i}` }])))
    expect(llm.peakInFlight).toBe(2)
    expect(performance.now() - started).toBeGreaterThanOrEqual(550)
    expect(llm.chatRequests.map((r) => r.body.messages[0].content)).toEqual(['#0', '#1', '#2', '#3', '#4'])
    expect(replies.map((r) => parseAnswer(r.text).code)).toEqual(['#0', '#1', '#2', '#3', '#4'])
  })

  it('times out a slow server', async () => {
    const llm = await fake([{ delayMs: 1500, then: { answer: good } }])
    const client = new LlmClient({ url: llm.url, model: 'm', timeoutMs: 100 })
    const started = performance.now()
    const e = await failure(client.chat(ask))
    expect(e.code).toBe('JIT_LLM_TIMEOUT')
    expect(e.message).toContain(`the LLM server at ${llm.url} did not answer within 100 ms`)
    expect(e.retryable).toBe(true)
    expect(performance.now() - started).toBeLessThan(1000)
  })

  it('names the server and the cause when nothing listens', async () => {
    const port = await closedPort()
    const e = await failure(new LlmClient({ url: `http://127.0.0.1:${port}`, model: 'm' }).chat(ask))
    expect(e.code).toBe('JIT_LLM_ERROR')
    expect(e.message).toContain(`http://127.0.0.1:${port}`)
    expect(e.message).toMatch(/ECONNREFUSED/)
  })

  it('reports a dropped connection', async () => {
    const llm = await fake([{ hangUp: true }])
    const e = await failure(new LlmClient({ url: llm.url, model: 'm' }).chat(ask))
    expect(e.code).toBe('JIT_LLM_ERROR')
    expect(e.message).toContain(llm.url)
  })

  it('gives the status and the start of the body of an HTTP error', async () => {
    const llm = await fake([{ status: 500, body: `CUDA out of memory ${'x'.repeat(1000)}` }])
    const e = await failure(new LlmClient({ url: llm.url, model: 'm' }).chat(ask))
    expect(e.code).toBe('JIT_LLM_ERROR')
    expect(e.details.status).toBe(500)
    expect(e.message).toMatch(/HTTP 500.*CUDA out of memory/)
    expect(e.message.length).toBeLessThan(500)
  })

  it('sends the key as a Bearer token and shows it nowhere', async () => {
    const key = 'sk-secret-123'
    // A server that echoes what it was sent, as some proxies do in their errors.
    const llm = await fake((req) => ({ status: 401, body: { error: { message: `invalid key: ${req.headers.authorization}` } } }))
    const client = new LlmClient({ url: llm.url, key, model: 'm' })
    const e = await failure(client.chat(ask))
    expect(llm.chatRequests[0]!.headers.authorization).toBe(`Bearer ${key}`)
    expect(e.details.status).toBe(401)
    expect(e.message).toMatch(/401/)
    for (const text of [e.message, JSON.stringify(e), JSON.stringify(e.details), e.stack ?? '', JSON.stringify(client), String(client), JSON.stringify(await client.probe())]) {
      expect(text).not.toContain(key)
    }
  })

  it('turns credentials in the URL into Basic auth and hides them too', async () => {
    const llm = await fake([{ status: 403, body: 'forbidden for bob:hunter22' }])
    const client = new LlmClient({ url: llm.url.replace('//', '//bob:hunter22@'), model: 'm' })
    const e = await failure(client.chat(ask))
    expect(llm.chatRequests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('bob:hunter22').toString('base64')}`)
    expect(e.message).not.toContain('hunter22')
    expect(client.server).not.toContain('hunter22')
    expect(JSON.stringify(client)).not.toContain('hunter22')
  })
})

describe('LlmClient models and LoRA adapters', () => {
  it('lists models', async () => {
    const llm = await fake([], { models: ['base', 'second'] })
    expect(await new LlmClient({ url: llm.url }).models()).toEqual(['base', 'second'])
  })

  it('loads and unloads an adapter', async () => {
    const llm = await fake([], { lora: true })
    const client = new LlmClient({ url: llm.url })
    expect(await client.loadAdapter('facet', '/adapters/facet')).toMatch(/^Success: LoRA adapter 'facet' added/)
    expect(llm.requests.at(-1)!.body).toEqual({ lora_name: 'facet', lora_path: '/adapters/facet' })
    expect(await client.models()).toEqual(['fake-model', 'facet'])
    expect(await client.unloadAdapter('facet')).toMatch(/removed successfully/)
    expect(llm.requests.at(-1)!.body).toEqual({ lora_name: 'facet' })
    const unknown = await failure(client.unloadAdapter('facet'))
    expect(unknown.code).toBe('JIT_LLM_ERROR')
    expect(unknown.message).toMatch(/400.*cannot be found/)
  })

  it('says how to enable runtime LoRA when the endpoints are missing', async () => {
    const llm = await fake([], { lora: false })
    const client = new LlmClient({ url: llm.url })
    for (const p of [client.loadAdapter('facet', '/a'), client.unloadAdapter('facet')]) {
      const e = await failure(p)
      expect(e.code).toBe('JIT_LLM_NOT_FOUND')
      expect(e.message).toContain('VLLM_ALLOW_RUNTIME_LORA_UPDATING=True')
    }
  })

  it("takes vLLM's own 404 (an adapter it does not have) for an error of the adapter, not of the endpoint", async () => {
    const llm = await fake([], { routes: { 'POST /v1/unload_lora_adapter': { status: 404, body: { object: 'error', message: "The lora adapter 'x' cannot be found.", type: 'NotFoundError', code: 404 } } } })
    const e = await failure(new LlmClient({ url: llm.url }).unloadAdapter('x'))
    expect(e.code).toBe('JIT_LLM_ERROR')
    expect(e.message).toContain("The lora adapter 'x' cannot be found.")
  })
})

describe('LlmClient.probe', () => {
  it('reports a good server', async () => {
    const llm = await fake([{ answer: { explanation: 'ok', code: 'return 1' } }], { lora: true, rejectJsonSchema: true })
    const client = new LlmClient({ url: llm.url })
    const report = await client.probe()
    expect(report).toMatchObject({ server: llm.url, models: ['fake-model'], mode: 'json_object', lora: 'available' })
    expect(report.roundTripMs).toBeGreaterThanOrEqual(0)
    expect(parseAnswer(report.reply!)).toEqual({ explanation: 'ok', code: 'return 1' })
    expect(client.mode).toBe('json_object')
    expect(llm.requests.find((r) => r.path === '/v1/unload_lora_adapter')!.body).toEqual({ lora_name: 'uvm-probe-nonexistent' })
  })

  it('reports a server without runtime LoRA', async () => {
    const llm = await fake([{ answer: { explanation: 'ok', code: 'return 1' } }])
    expect((await new LlmClient({ url: llm.url }).probe()).lora).toBe(LORA_NOT_ENABLED)
  })

  it('reports a real vLLM (404 NotFoundError for an unknown adapter) as having LoRA', async () => {
    const llm = await fake([{ answer: { explanation: 'ok', code: 'return 1' } }], { routes: { 'POST /v1/unload_lora_adapter': { status: 404, body: { object: 'error', message: "The lora adapter 'uvm-probe-nonexistent' cannot be found.", type: 'NotFoundError', code: 404 } } } })
    expect((await new LlmClient({ url: llm.url }).probe()).lora).toBe('available')
  })

  it('does not throw for a server that is down', async () => {
    const port = await closedPort()
    const report = await new LlmClient({ url: `http://127.0.0.1:${port}/v1` }).probe()
    expect(report.server).toBe(`http://127.0.0.1:${port}`)
    expect(report.roundTripMs).toBeUndefined()
    for (const field of [report.models, report.mode, report.lora]) {
      expect(field).toEqual({ error: expect.stringMatching(/could not be reached.*ECONNREFUSED/) })
    }
  })
})

describe('fake LLM', () => {
  it('records requests and waits for them', async () => {
    const llm = await fake([{ answer: good }])
    const client = new LlmClient({ url: llm.url, model: 'm' })
    const pending = client.chat(ask)
    const seen = await llm.waitForRequests(1)
    expect(seen[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions', body: { model: 'm' } })
    expect(seen[0]!.headers['content-type']).toBe('application/json')
    await expect(llm.waitForRequests(5, 50)).rejects.toThrow(/within 50 ms/)
    expect(parseAnswer((await pending).text)).toEqual(good)
  })

  it('repeats the last step when the script runs out', async () => {
    const llm = await fake([{ answer: good }, { status: 503, body: 'busy' }])
    const client = new LlmClient({ url: llm.url, model: 'm' })
    await client.chat(ask)
    for (let i = 0; i < 3; i++) expect((await failure(client.chat(ask))).details.status).toBe(503)
  })
})
