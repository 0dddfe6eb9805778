// Chapter 3, "The Emergent Mind": the CognitiveWeaver's registry of LoRA facets, its LRU of loaded
// adapters under a VRAM budget (through vLLM's runtime LoRA API, here a fake LLM server), requests
// that pick an adapter by name, and method slots holding intents that the JIT compiles on first send.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CurriculumWorld } from './support.js'
import { curriculumWorld } from './support.js'
import type { FakeLlm, FakeRequest, Step } from '../support/fake-llm.js'
import { startFakeLlm } from '../support/fake-llm.js'

const BASE = 'meta-llama/Llama-3.1-8B-Instruct'
const FACETS = ['brick', 'robin', 'alfred', 'babs']

/** The JIT's answers for the intent slots, chosen by the selector its request is about. */
const COMPILED: Record<string, { explanation: string; code: string }> = {
  summarizeFacets: {
    explanation: 'BABS: the intent asks for one line per facet, so I compile it into a method in the same slot of the CognitiveWeaver.',
    code: `prototypes.CognitiveWeaver.setSlot('summarizeFacets', function () {
  return this.facetIds().map((id) => { const f = this.facet(id); return id + ': ' + f.persona + ' on ' + f.base_model })
})`,
  },
  servedFacets: {
    explanation: 'BRICK: the server lists its models, loaded adapters among them; I keep the registered ones.',
    code: `prototypes.CognitiveWeaver.setSlot('servedFacets', async function () {
  const served = await this.capability('llm').models()
  return this.facetIds().filter((id) => served.includes(id))
})`,
  },
}

/** The fake server's chat answers: a request naming a facet as its model is a facet speaking; any other is the JIT. */
function script(req: FakeRequest): Step {
  const model = req.body?.model
  if (typeof model === 'string' && FACETS.includes(model)) return { content: `${model.toUpperCase()} speaking` }
  const last = String(req.body?.messages?.at(-1)?.content ?? '')
  const selector = /^The message sent: (\S+)$/m.exec(last)?.[1]
  const answer = selector === undefined ? undefined : COMPILED[selector]
  return answer ? { answer } : { answer: { explanation: 'nothing scripted', code: 'return undefined' } }
}

let llm: FakeLlm
let w: CurriculumWorld
beforeAll(async () => {
  llm = await startFakeLlm((req) => script(req), { lora: true })
  w = await curriculumWorld({ to: 3, llmUrl: llm.url })
})
afterAll(async () => {
  await w?.dispose()
  await llm?.close()
})

/** The LoRA requests the fake server got since `from`, as `load name` / `unload name`. */
const loraCalls = (from: number) => llm.requests.slice(from)
  .filter((r) => r.path === '/v1/load_lora_adapter' || r.path === '/v1/unload_lora_adapter')
  .map((r) => `${r.path === '/v1/load_lora_adapter' ? 'load' : 'unload'} ${r.body.lora_name}`)

/** Back to nothing loaded, the default budget and zeroed stats (the server agrees). */
async function reset(): Promise<void> {
  await w.run(`await genesis.weaver.unloadAll(); genesis.weaver.removeSlot('vram_budget_mb'); genesis.weaver.stats = { loads: 0, evictions: 0, hits: 0 }`)
  expect([...llm.adapters.keys()]).toEqual([])
}

describe('chapter 3: the registry', () => {
  it('holds the four facets of the Codex on one base model', async () => {
    expect(await w.run(`return genesis.weaver.facetIds()`)).toEqual(FACETS)
    expect(await w.run(`return genesis.weaver.facets.robin`)).toEqual({ facet_id: 'robin', base_model: BASE, lora_path: '/adapters/robin', persona: 'ROBIN' })
    expect(await w.run(`return genesis.weaver.facet('babs').vram_mb`)).toBe(1024)
    expect(await w.run(`return [genesis.weaver.printString().startsWith('<CognitiveWeaver #'), genesis.weaver.parents()[0] === prototypes.CognitiveWeaver, genesis.weaver.hasSlot('facets')]`)).toEqual([true, true, true])
  })

  it('facetFor finds by persona, ignoring case; facet refuses an unknown id', async () => {
    expect(await w.run(`return [genesis.weaver.facetFor('alfred').facet_id, genesis.weaver.facetFor('BaBs').lora_path, genesis.weaver.facetFor('JOKER')]`)).toEqual(['alfred', '/adapters/babs', null])
    await expect(w.run(`return genesis.weaver.facet('joker')`)).rejects.toThrow(/no facet 'joker' is registered \(known: brick, robin, alfred, babs\)/)
  })

  it('registerFacet refuses incomplete facets and keeps only known fields', async () => {
    await expect(w.run(`return genesis.weaver.registerFacet({ facet_id: 'x', base_model: 'b' })`)).rejects.toThrow(/needs lora_path/)
    await expect(w.run(`return genesis.weaver.registerFacet({ facet_id: 'x', base_model: 'b', lora_path: '/p', vram_mb: -4 })`)).rejects.toThrow(/vram_mb/)
    expect(await w.run(`const weaver = prototypes.CognitiveWeaver.clone(); weaver.facets = {}
      weaver.registerFacet({ facet_id: 'joker', base_model: 'b', lora_path: '/adapters/joker', extra: 1, vram_mb: 256 })
      return weaver.facets`)).toEqual({ joker: { facet_id: 'joker', base_model: 'b', lora_path: '/adapters/joker', persona: 'JOKER', vram_mb: 256 } })
  })
})

describe('chapter 3: loading adapters (vLLM runtime LoRA)', () => {
  it('loadFacet loads through /v1/load_lora_adapter and records it', async () => {
    await reset()
    const from = llm.requests.length
    expect(await w.run(`return await genesis.weaver.loadFacet('brick')`)).toEqual({ facet_id: 'brick', loaded: true, evicted: [] })
    const load = llm.requests.slice(from).find((r) => r.path === '/v1/load_lora_adapter')!
    expect(load.method).toBe('POST')
    expect(load.body).toEqual({ lora_name: 'brick', lora_path: '/adapters/brick' })
    expect(llm.adapters.get('brick')).toBe('/adapters/brick')
    expect(await w.run(`return [genesis.weaver.loaded, genesis.weaver.vramInUse(), genesis.weaver.vramFree(), genesis.weaver.isLoaded('brick') === prototypes.True, genesis.weaver.isLoaded('robin') === prototypes.False]`))
      .toEqual([['brick'], 512, 1536, true, true])
  })

  it('loading an already loaded facet touches it: no request, most recent last', async () => {
    await reset()
    await w.run(`for (const id of ['brick', 'robin', 'alfred']) await genesis.weaver.loadFacet(id)`)
    const from = llm.requests.length
    expect(await w.run(`return await genesis.weaver.loadFacet('brick')`)).toEqual({ facet_id: 'brick', loaded: false, evicted: [] })
    expect(loraCalls(from)).toEqual([])
    expect(await w.run(`return [genesis.weaver.loaded, genesis.weaver.stats]`)).toEqual([['robin', 'alfred', 'brick'], { loads: 3, evictions: 0, hits: 1 }])
  })

  it('loading past the VRAM budget unloads the least recently used first', async () => {
    await reset()
    await w.run(`for (const id of ['brick', 'robin', 'alfred']) await genesis.weaver.loadFacet(id); await genesis.weaver.loadFacet('brick')`)
    const from = llm.requests.length
    // babs needs 1024 MB; 1536 are in use of 2048: robin, the least recently used, goes (not brick, just touched).
    expect(await w.run(`return await genesis.weaver.loadFacet('babs')`)).toEqual({ facet_id: 'babs', loaded: true, evicted: ['robin'] })
    expect(loraCalls(from)).toEqual(['unload robin', 'load babs'])
    expect([...llm.adapters.keys()].sort()).toEqual(['alfred', 'babs', 'brick'])
    expect(await w.run(`return [genesis.weaver.loaded, genesis.weaver.vramInUse()]`)).toEqual([['alfred', 'brick', 'babs'], 2048])
    // robin again: 512 more needs two evictions in LRU order? alfred (512) is enough.
    expect(await w.run(`return (await genesis.weaver.loadFacet('robin')).evicted`)).toEqual(['alfred'])
    expect(await w.run(`return [genesis.weaver.loaded, genesis.weaver.stats, genesis.weaver.hitRate()]`)).toEqual([['brick', 'babs', 'robin'], { loads: 5, evictions: 2, hits: 1 }, 1 / 6])
    expect([...llm.adapters.keys()].sort()).toEqual(['babs', 'brick', 'robin'])
  })

  it('a facet bigger than the budget, or on another base model, is refused before anything is evicted', async () => {
    await reset()
    await w.run(`await genesis.weaver.loadFacet('brick')
      genesis.weaver.registerFacet({ facet_id: 'giant', base_model: '${BASE}', lora_path: '/adapters/giant', vram_mb: 4096 })
      genesis.weaver.registerFacet({ facet_id: 'stray', base_model: 'mistralai/Mistral-7B-Instruct-v0.3', lora_path: '/adapters/stray' })`)
    const from = llm.requests.length
    await expect(w.run(`return await genesis.weaver.loadFacet('giant')`)).rejects.toThrow(/needs 4096 MB, more than the whole VRAM budget of 2048 MB/)
    await expect(w.run(`return await genesis.weaver.loadFacet('stray')`)).rejects.toThrow(/trained on mistralai\/Mistral-7B-Instruct-v0.3, but the server serves meta-llama/)
    expect(loraCalls(from)).toEqual([])
    expect(await w.run(`const out = genesis.weaver.loaded; await genesis.weaver.forgetFacet('giant'); await genesis.weaver.forgetFacet('stray'); return [out, genesis.weaver.facetIds()]`)).toEqual([['brick'], FACETS])
  })

  it('unloadFacet unloads through /v1/unload_lora_adapter; twice is harmless', async () => {
    await reset()
    await w.run(`await genesis.weaver.loadFacet('alfred'); await genesis.weaver.loadFacet('babs')`)
    const from = llm.requests.length
    expect(await w.run(`return await genesis.weaver.unloadFacet('alfred')`)).toBe(true)
    expect(await w.run(`return await genesis.weaver.unloadFacet('alfred')`)).toBe(false)
    expect(loraCalls(from)).toEqual(['unload alfred'])
    expect([...llm.adapters.keys()]).toEqual(['babs'])
    expect(await w.run(`return genesis.weaver.status()`)).toEqual({ vram_budget_mb: 2048, used_mb: 1024, free_mb: 1024, loaded: [{ facet_id: 'babs', vram_mb: 1024 }] })
  })

  it('setVramBudget evicts down to the new budget, least recently used first', async () => {
    await reset()
    await w.run(`await genesis.weaver.warmUp(['brick', 'robin', 'alfred'])`)
    expect(await w.run(`return await genesis.weaver.setVramBudget(1024)`)).toEqual({ vram_budget_mb: 1024, evicted: ['brick'] })
    expect(await w.run(`return await genesis.weaver.setVramBudget(600)`)).toEqual({ vram_budget_mb: 600, evicted: ['robin'] })
    expect(await w.run(`return [genesis.weaver.loaded, prototypes.CognitiveWeaver.vram_budget_mb]`)).toEqual([['alfred'], 2048])
    expect([...llm.adapters.keys()]).toEqual(['alfred'])
    // warmUp past the budget keeps only what fits, the latest last.
    expect(await w.run(`return await genesis.weaver.warmUp(['brick', 'robin'])`)).toEqual(['robin'])
  })

  it('replaceAdapter swaps a loaded facet to its retrained adapter in place', async () => {
    await reset()
    await w.run(`await genesis.weaver.warmUp(['robin', 'brick'])`)
    const from = llm.requests.length
    expect(await w.run(`return await genesis.weaver.replaceAdapter('robin', '/adapters/robin-v2')`)).toEqual({ facet_id: 'robin', lora_path: '/adapters/robin-v2', swapped: true })
    expect(loraCalls(from)).toEqual(['unload robin', 'load robin'])
    expect(llm.adapters.get('robin')).toBe('/adapters/robin-v2')
    expect(await w.run(`const order = genesis.weaver.loaded; await genesis.weaver.replaceAdapter('robin', '/adapters/robin'); return order`)).toEqual(['robin', 'brick'])
    expect(llm.adapters.get('robin')).toBe('/adapters/robin')
  })

  it('reconciles with a server that disagrees (already loaded, cannot be found)', async () => {
    await reset()
    // The server holds alfred although the image does not know it (a restart).
    await fetch(`${llm.url}/v1/load_lora_adapter`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lora_name: 'alfred', lora_path: '/adapters/alfred' }) })
    expect(await w.run(`return (await genesis.weaver.loadFacet('alfred')).loaded`)).toBe(true)
    expect(await w.run(`return genesis.weaver.loaded`)).toEqual(['alfred'])
    // The server lost it: unloading still succeeds and the image forgets it.
    await fetch(`${llm.url}/v1/unload_lora_adapter`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lora_name: 'alfred' }) })
    expect(await w.run(`return [await genesis.weaver.unloadFacet('alfred'), genesis.weaver.loaded]`)).toEqual([true, []])
  })
})

describe('chapter 3: asking a facet', () => {
  it('ask loads the facet and sends the chat with model = facet_id', async () => {
    await reset()
    const from = llm.chatRequests.length
    expect(await w.run(`return await genesis.weaver.ask('robin', [{ role: 'user', content: 'How are you?' }])`)).toEqual({ facet_id: 'robin', model: 'robin', text: 'ROBIN speaking' })
    const chats = llm.chatRequests.slice(from)
    expect(chats).toHaveLength(1)
    expect(chats[0]!.body.model).toBe('robin')
    expect(chats[0]!.body.messages).toEqual([{ role: 'user', content: 'How are you?' }])
    expect(llm.adapters.has('robin')).toBe(true)
    // ...and asking again touches, does not reload.
    const loads = loraCalls(0).length
    await w.run(`await genesis.weaver.ask('robin', [{ role: 'user', content: 'Again?' }])`)
    expect(loraCalls(0).length).toBe(loads)
  })

  it('askPersona finds the facet and speaks as the persona', async () => {
    const from = llm.chatRequests.length
    expect(await w.run(`return (await genesis.weaver.askPersona('BRICK', 'Status?')).text`)).toBe('BRICK speaking')
    const [chat] = llm.chatRequests.slice(from)
    expect(chat!.body.model).toBe('brick')
    expect(chat!.body.messages[0]).toEqual({ role: 'system', content: 'You are BRICK, a persona of BAT OS. Answer in your own voice.' })
    expect(chat!.body.messages[1]).toEqual({ role: 'user', content: 'Status?' })
    await expect(w.run(`return await genesis.weaver.askPersona('JOKER', 'hi')`)).rejects.toThrow(/no facet embodies the persona 'JOKER'/)
  })
})

describe('chapter 3: intent slots, compiled by the JIT on first send', () => {
  it('holds intents, not methods, after the replay', async () => {
    expect(await w.run(`return genesis.weaver.pendingIntents().map((p) => p.selector)`)).toEqual(expect.arrayContaining(['summarizeFacets', 'servedFacets', 'loadoutFor']))
    expect(await w.run(`return prototypes.CognitiveWeaver.mirror().slots.find((s) => s.name === 'summarizeFacets')`)).toMatchObject({ kind: 'intent', intent: expect.stringMatching(/one-line summary of each registered facet/) })
  })

  it('summarizeFacets is compiled through the LLM once; the second send needs no request', async () => {
    const before = llm.chatRequests.length
    const expected = FACETS.map((id) => `${id}: ${id.toUpperCase()} on ${BASE}`)
    expect(await w.run(`return genesis.weaver.summarizeFacets()`)).toEqual(expected)
    const jitRequests = llm.chatRequests.slice(before)
    expect(jitRequests).toHaveLength(1)
    expect(JSON.stringify(jitRequests[0]!.body.messages)).toContain('one-line summary of each registered facet')
    // The method replaced the intent in the same slot of the same object.
    expect(await w.run(`const s = prototypes.CognitiveWeaver.mirror().slots.find((s) => s.name === 'summarizeFacets'); return [s.kind, s.holder === prototypes.CognitiveWeaver.mirror().oid, genesis.weaver.hasSlot('summarizeFacets')]`)).toEqual(['method', true, false])
    expect(await w.run(`return genesis.weaver.summarizeFacets()`)).toEqual(expected)
    expect(llm.chatRequests.length).toBe(before + 1)
    expect(await w.run(`return genesis.weaver.pendingIntents().map((p) => p.selector)`)).not.toContain('summarizeFacets')
  })

  it('servedFacets compiles into a method that asks the server which adapters it serves', async () => {
    await reset()
    await w.run(`await genesis.weaver.warmUp(['babs', 'brick'])`)
    const before = llm.chatRequests.length
    expect(await w.run(`return await genesis.weaver.servedFacets()`)).toEqual(['brick', 'babs'])
    expect(llm.chatRequests.length).toBe(before + 1)
    await w.run(`await genesis.weaver.unloadFacet('babs')`)
    expect(await w.run(`return await genesis.weaver.servedFacets()`)).toEqual(['brick'])
    expect(llm.chatRequests.length).toBe(before + 1)
  })
})

describe('chapter 3 without an LLM', () => {
  let bare: CurriculumWorld
  beforeAll(async () => { bare = await curriculumWorld({ to: 3 }) })
  afterAll(async () => { await bare?.dispose() })

  it('an intent slot fails with does_not_understand saying it holds an intent', async () => {
    const e = await bare.run(`return genesis.weaver.summarizeFacets()`).then(() => undefined, (err: unknown) => err as { code?: string; message: string })
    expect(e?.code).toBe('KERNEL_DOES_NOT_UNDERSTAND')
    expect(e?.message).toMatch(/does not understand 'summarizeFacets' \(its slot 'summarizeFacets' holds an intent, not code/)
    // Every intent slot answers so, whatever its arguments.
    await expect(bare.run(`return genesis.weaver.loadoutFor(['BRICK'])`)).rejects.toThrow(/'loadoutFor' holds an intent, not code/)
    // The slot still holds the intent.
    expect(await bare.run(`return genesis.weaver.pendingIntents().map((p) => p.selector)`)).toEqual(expect.arrayContaining(['summarizeFacets', 'loadoutFor']))
  })

  it('the registry works without a server; loading needs the llm capability', async () => {
    expect(await bare.run(`return genesis.weaver.facetFor('ROBIN').lora_path`)).toBe('/adapters/robin')
    await expect(bare.run(`return await genesis.weaver.loadFacet('robin')`)).rejects.toThrow(/capability 'llm'/)
    expect(await bare.run(`return genesis.weaver.loaded`)).toEqual([])
  })
})
