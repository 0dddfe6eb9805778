// The `llm` capability in acts: the configured client, and nothing else of the host.
import { describe, expect, it } from 'vitest'
import { openImage } from '../../src/index.js'
import { setUpJit } from '../../src/jit/index.js'
import { memoryDb } from '../support/images.js'
import { startFakeLlm, type FakeLlm } from '../support/fake-llm.js'
import { rejected, useCleanups } from '../support/uvm.js'

const cleanup = useCleanups()

async function withLlm(lora: boolean): Promise<{ llm: FakeLlm; run: (code: string) => Promise<unknown> }> {
  const llm = await startFakeLlm([{ content: 'hello from the model' }], { lora, models: ['base'] })
  const { image, realm } = await openImage(memoryDb())
  const jit = setUpJit(image, realm, { url: llm.url, key: 'sk-cap-secret' })
  cleanup(async () => { await image.close(); await llm.close() })
  return { llm, run: async (code) => (await jit.run(code, {}, {})).value }
}

describe('the llm capability', () => {
  it('chat, models, and the answer stored in the image', async () => {
    const { llm, run } = await withLlm(false)
    const v = await run("const r = await llm.chat([{ role: 'user', content: 'hi' }], { maxTokens: 20, json: true }); root.said = r.text; return [r.text, r.usage.completionTokens > 0, await llm.models()]")
    expect(v).toEqual(['hello from the model', true, ['base']])
    expect(llm.chatRequests[0]!.body).toMatchObject({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 20, response_format: { type: 'json_object' } })
    expect(await run('return root.said')).toBe('hello from the model')
  })

  it("vLLM's runtime LoRA: load and unload, and a 404 that says how to enable it", async () => {
    const on = await withLlm(true)
    expect(await on.run("return await llm.loadAdapter('sql', '/adapters/sql')")).toMatch(/added|success/i)
    expect(on.llm.adapters.get('sql')).toBe('/adapters/sql')
    await on.run("await llm.unloadAdapter('sql')")
    expect(on.llm.adapters.has('sql')).toBe(false)
    const off = await withLlm(false)
    const e = await rejected(off.run("await llm.loadAdapter('sql', '/adapters/sql')"))
    expect(e.code).toBe('JIT_LLM_NOT_FOUND')
    expect(e.message).toMatch(/VLLM_ALLOW_RUNTIME_LORA_UPDATING=True/)
  })

  it('is reachable only as granted: no URL to choose, nothing left on it for the next act, bad input refused clearly, the key nowhere', async () => {
    const { run } = await withLlm(false)
    const e = await rejected(run('await llm.chat("hi")'))
    expect(e.message).toMatch(/messages is an array of \{role, content\}/)
    const bad = await rejected(run("await llm.chat([{ role: 'root', content: 1 }])"))
    expect(bad.message).toMatch(/message 0 must be/)
    // Frozen: an act cannot leave anything on it for another.
    expect(await run("try { llm.note = 'x' } catch (e) { return e.name }")).toBe('TypeError')
    expect(await run('return llm.note')).toBeUndefined()
    expect(await run('return Object.isFrozen(llm) && Object.isFrozen(llm.chat)')).toBe(true)
    // Nothing of the host behind it: no host Function, no key anywhere in reach.
    expect(await run('try { return llm.chat.constructor("return process")() } catch (e) { return "refused" }')).toBe('refused')
    expect(JSON.stringify(await run('return [Object.keys(llm), String(llm.chat)]'))).not.toContain('sk-cap-secret')
    // A method gets it only when an act passes it.
    await run('root.ask = async function (client) { return (await client.chat([{ role: "user", content: "x" }])).text }')
    expect(await run('return await root.ask(llm)')).toBe('hello from the model')
    const noCap = await rejected(run('root.sneak = function () { return llm }; return root.sneak()'))
    expect(noCap.message).toMatch(/llm is not defined/)
  })
})
