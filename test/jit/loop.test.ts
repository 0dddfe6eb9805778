// The JIT loop in one process: a real image (memory-level and classic-level), the hardened realm, and a
// real HTTP server on loopback playing the LLM (test/support/fake-llm.ts), scripted per test.
import { describe, expect, it } from 'vitest'
import { openImage } from '../../src/index.js'
import type { Image } from '../../src/image/index.js'
import type { HardenedRealm } from '../../src/act/index.js'
import { setUpJit, type JitSetup } from '../../src/jit/index.js'
import type { JitEvent } from '../../src/covenant/index.js'
import { memoryDb, scratchImage } from '../support/images.js'
import { startFakeLlm, type FakeLlm, type Script } from '../support/fake-llm.js'
import { rejected, useCleanups } from '../support/uvm.js'

const AREA = { explanation: 'A rectangle answers its area as width times height; installed on the prototype so every rect has it.', code: "prototypes.Rect.setSlot('area', function () { return this.width * this.height })" }
const RECT = "prototypes.Rect = new UvmObject(); prototypes.Rect.width = 0; prototypes.Rect.height = 0; const r = prototypes.Rect.clone(); r.width = 3; r.height = 4; root.r = r"

const cleanup = useCleanups()

async function world(script: Script, opts: Parameters<typeof startFakeLlm>[1] = {}, cfg: Record<string, unknown> = {}): Promise<{ image: Image; realm: HardenedRealm; llm: FakeLlm; jit: JitSetup; events: JitEvent[] }> {
  const llm = await startFakeLlm(script, opts)
  const { image, realm } = await openImage(memoryDb())
  const jit = setUpJit(image, realm, { url: llm.url, ...cfg })
  const events: JitEvent[] = []
  jit.onEvent((e) => events.push(e))
  cleanup(async () => { jit.stop(); await image.close(); await llm.close() })
  await jit.run(RECT, {}, {})
  return { image, realm, llm, jit, events }
}

const send = 'return root.r.area()'

describe('the JIT loop', () => {
  it('compiles a missing method through the LLM, installs it in its own transaction, and answers the original send', async () => {
    const w = await world([{ answer: AREA }])
    const r = await w.jit.run(send, {}, { utterance: 'how big is r?' })
    expect(r.value).toBe(12)
    expect(r.cycles).toHaveLength(1)
    expect(r.cycles[0]!.explanation).toBe(AREA.explanation)
    // What the UVM sent.
    expect(w.llm.chatRequests).toHaveLength(1)
    const body = w.llm.chatRequests[0]!.body
    const text = body.messages.map((m: { content: string }) => m.content).join('\n')
    expect(text).toContain('area')
    expect(text).toContain('width')
    expect(text).toContain('how big is r?')
    expect(body.response_format.type).toBe('json_schema')
    expect(body.response_format.json_schema.name).toBe('uvm_jit')
    expect(body.response_format.json_schema.strict).toBe(true)
    // The method, and its provenance in the installing transaction.
    const rec = await w.image.transaction(r.cycles[0]!.tid)
    expect(rec!.ext.jit).toMatchObject({ selector: 'area', explanation: AREA.explanation, code: AREA.code, utterance: 'how big is r?', attempts: [] })
    expect((rec!.ext.jit as { usage: { promptTokens: number } }).usage.promptTokens).toBeGreaterThan(0)
    expect(rec!.user).toBe('uvm-jit')
    const tx = w.image.begin()
    const proto = tx.objectOf(tx.genesis.prototypes.Rect)
    expect(tx.read(proto).origins?.get('area')).toBe(r.cycles[0]!.tid)
    tx.abort()
    // A second send needs no LLM.
    expect((await w.jit.run(send, {}, {})).value).toBe(12)
    expect(w.llm.chatRequests).toHaveLength(1)
    expect(w.events.map((e) => e.phase)).toEqual(['started', 'compiled'])
  })

  it('retries with the error text: invalid JSON, then a syntax error, then an act that throws', async () => {
    const w = await world([
      { content: 'Sure! {"explanation": "x", "code": ' },
      { answer: { explanation: 'typo', code: "prototypes.Rect.setSlot('area', function () { return this.width * }" } },
      { answer: AREA },
    ], {}, { maxAttempts: 3 })
    const r = await w.jit.run(send, {}, {})
    expect(r.value).toBe(12)
    expect(r.cycles[0]!.attempts).toHaveLength(2)
    const second = w.llm.chatRequests[1]!.body.messages.map((m: { content: string }) => m.content).join('\n')
    expect(second).toMatch(/JSON/)
    const third = w.llm.chatRequests[2]!.body.messages.map((m: { content: string }) => m.content).join('\n')
    expect(third).toMatch(/Unexpected|SyntaxError|syntax/i)
    expect(w.events.map((e) => e.phase)).toEqual(['started', 'attempt_failed', 'attempt', 'attempt_failed', 'attempt', 'compiled'])
  })

  it('fenced JSON with a <think> preamble is accepted', async () => {
    const w = await world([{ content: '<think>the user wants area</think>\n```json\n' + JSON.stringify(AREA) + '\n```' }])
    expect((await w.jit.run(send, {}, {})).value).toBe(12)
  })

  it('a server that refuses json_schema gets json_object, remembered for the next cycle', async () => {
    const w = await world([{ answer: AREA }, { answer: { explanation: 'perimeter', code: "prototypes.Rect.setSlot('perimeter', function () { return 2 * (this.width + this.height) })" } }], { rejectJsonSchema: true })
    expect((await w.jit.run(send, {}, {})).value).toBe(12)
    expect((await w.jit.run('return root.r.perimeter()', {}, {})).value).toBe(14)
    const formats = w.llm.chatRequests.map((r) => r.body.response_format?.type)
    expect(formats).toEqual(['json_schema', 'json_object', 'json_object'])
  })

  it('an act that does not install the selector fails the attempt; always failing ends in does_not_understand listing each attempt', async () => {
    const w = await world([{ answer: { explanation: 'nothing', code: 'print("hi")' } }], {}, { maxAttempts: 2 })
    const e = await rejected(w.jit.run(send, {}, {}))
    expect(e.code).toBe('KERNEL_DOES_NOT_UNDERSTAND')
    expect(e.details.attempts).toHaveLength(2)
    expect(e.message).toMatch(/attempt 1: .*wrote nothing|still does not understand/)
    expect(w.events.at(-1)!.phase).toBe('failed')
  })

  it('two concurrent sends of one unknown selector make one LLM request', async () => {
    const w = await world([{ delayMs: 150, then: { answer: AREA } }])
    const [a, b] = await Promise.all([w.jit.run(send, {}, {}), w.jit.run(send, {}, {})])
    expect([a.value, b.value]).toEqual([12, 12])
    expect(w.llm.chatRequests).toHaveLength(1)
  })

  it('the sender aborts after the compile: the method stays, the sender\'s other writes are gone', async () => {
    const w = await world([{ answer: AREA }])
    const e = await rejected(w.jit.run('root.scribble = 1; const a = root.r.area(); throw new Error("after " + a)', {}, {}))
    expect(e.message).toBe('after 12')
    expect((await w.jit.run('return [root.scribble, root.r.area()]', {}, {})).value).toEqual([undefined, 12])
  })

  it('an act that catches the DNU is run again once compiled (nothing of the first run is kept)', async () => {
    const w = await world([{ answer: AREA }])
    const r = await w.jit.run('root.runs = (root.runs ?? 0) + 1; try { return root.r.area() } catch (e) { return "caught" }', {}, {})
    expect(r.value).toBe(12)
    expect((await w.jit.run('return root.runs', {}, {})).value).toBe(1)
  })

  it('a DNU raised during a compile fails that attempt and starts no other JIT', async () => {
    const w = await world([{ answer: { explanation: 'uses helper', code: "self.helper(); prototypes.Rect.setSlot('area', function () { return 1 })" } }], {}, { maxAttempts: 1 })
    const e = await rejected(w.jit.run(send, {}, {}))
    expect(e.code).toBe('KERNEL_DOES_NOT_UNDERSTAND')
    expect(e.details.attempts[0]).toMatch(/helper/)
    expect(w.llm.chatRequests).toHaveLength(1)
  })

  it('too slow: the request timeout fails the attempt', async () => {
    const w = await world([{ delayMs: 2000, then: { answer: AREA } }], {}, { maxAttempts: 1, timeoutMs: 200 })
    const e = await rejected(w.jit.run(send, {}, {}))
    expect(e.details.attempts[0]).toMatch(/JIT_LLM_TIMEOUT|did not answer/)
  })

  it('an intent slot compiles into a code method in the same slot on its first send', async () => {
    const w = await world([{ answer: { explanation: 'diagonal', code: "prototypes.Rect.setSlot('diagonal', function () { return Math.hypot(this.width, this.height) })" } }])
    await w.jit.run('prototypes.Rect.diagonal = { $intent: "the length of the diagonal" }', {}, {})
    expect((await w.jit.run('return root.r.diagonal()', {}, {})).value).toBe(5)
    const text = w.llm.chatRequests[0]!.body.messages.map((m: { content: string }) => m.content).join('\n')
    expect(text).toContain('the length of the diagonal')
  })

  it('with no LLM configured a DNU says how to configure one', async () => {
    const { image, realm } = await openImage(memoryDb())
    const jit = setUpJit(image, realm, {})
    cleanup(() => image.close())
    const e = await rejected(jit.run('return root.nothing()', {}, {}))
    expect(e.code).toBe('KERNEL_DOES_NOT_UNDERSTAND')
    expect(e.message).toMatch(/--llm-url/)
  })

  it('the method and its provenance survive a restart (classic-level)', async () => {
    const llm = await startFakeLlm([{ answer: AREA }])
    const s = await scratchImage('classic-level')
    cleanup(async () => { await s.dispose(); await llm.close() })
    const jit = setUpJit(s.image, (s.image.kernel.realm as HardenedRealm), { url: llm.url })
    await jit.run(RECT, {}, {})
    const r = await jit.run(send, {}, {})
    const image = await s.reopen()
    const tx = image.begin()
    const proto = tx.objectOf(tx.genesis.prototypes.Rect)
    expect(tx.read(proto).origins?.get('area')).toBe(r.cycles[0]!.tid)
    expect(tx.send(tx.root.r, 'area')).toBe(12)
    tx.abort()
    expect((await image.transaction(r.cycles[0]!.tid))!.ext.jit).toMatchObject({ selector: 'area' })
  })
})

describe('the JIT loop, further', () => {
  it('an object with its own doesNotUnderstand: keeps its behaviour: no LLM is asked', async () => {
    const w = await world([{ answer: AREA }])
    await w.jit.run("root.ghost = new UvmObject(); root.ghost.setSlot('doesNotUnderstand:', function (m) { return 'ghost heard ' + m.selector })", {}, {})
    expect((await w.jit.run('return root.ghost.boo()', {}, {})).value).toBe('ghost heard boo')
    expect(w.llm.chatRequests).toHaveLength(0)
  })

  it("the LLM's wait holds no lock: other acts commit to the same objects meanwhile, and the re-send sees them", async () => {
    const w = await world([{ delayMs: 600, then: { answer: AREA } }])
    const t0 = performance.now()
    const sending = w.jit.run(send, {}, {})
    await w.llm.waitForRequests(w.llm.requests.length + 1, 2000).catch(() => {})
    const other = await w.jit.run('root.r.width = 5; return root.r.width', {}, {})
    expect(other.value).toBe(5)
    expect(performance.now() - t0).toBeLessThan(500)
    expect((await sending).value).toBe(20)
  })

  it('asks with the configured max_tokens (default 1024) and a model (the first the server lists)', async () => {
    const w = await world([{ answer: AREA }])
    await w.jit.run(send, {}, {})
    expect(w.llm.chatRequests[0]!.body).toMatchObject({ max_tokens: 1024, model: 'fake-model' })
  })

  it('an intent slot must come to hold the method: a method installed elsewhere fails the attempt', async () => {
    const w = await world([{ answer: { explanation: 'on the clone', code: "self.setSlot('diagonal', function () { return 5 })" } }], {}, { maxAttempts: 1 })
    await w.jit.run('prototypes.Rect.diagonal = { $intent: "the length of the diagonal" }', {}, {})
    const e = await rejected(w.jit.run('return root.r.diagonal()', {}, {}))
    expect(e.details.attempts[0]).toMatch(/must come to hold the method compiled from its intent/)
    expect((await w.jit.run('return root.r.hasSlot("diagonal")', {}, {})).value).toBe(false)
  })

  it('an intent slot without an LLM says so', async () => {
    const { image, realm } = await openImage(memoryDb())
    const jit = setUpJit(image, realm, {})
    cleanup(() => image.close())
    await jit.run('genesis.wish = { $intent: "say hello" }', {}, {})
    const e = await rejected(jit.run('return genesis.wish()', {}, {}))
    expect(e.message).toMatch(/its slot 'wish' holds an intent, not code: no LLM is configured/)
    expect((await jit.run('return genesis.mirror().slots.find((s) => s.name === "wish")', {}, {})).value).toMatchObject({ kind: 'intent', intent: 'say hello' })
  })
})
