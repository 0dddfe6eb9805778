// The autotelic drive: the idle loop, with a fake clock and the fake LLM.
import { describe, expect, it } from 'vitest'
import { openImage } from '../../src/index.js'
import { IdleLoop, INQUIRY_SELECTOR, Jit, LlmClient, imageCem } from '../../src/jit/index.js'
import { memoryDb } from '../support/images.js'
import { startFakeLlm } from '../support/fake-llm.js'
import { useCleanups } from '../support/uvm.js'

const cleanup = useCleanups()

const FACET = { explanation: 'Structural complexity is low: BRICK adds a Cartographer facet that maps the image.', code: "prototypes.Cartographer = new UvmObject(); prototypes.Cartographer.setSlot('map', function () { return this.slotNames() })" }

/** An image with a JIT on a fake LLM that answers FACET. */
async function idleWorld() {
  const llm = await startFakeLlm([{ answer: FACET }])
  const { image, realm } = await openImage(memoryDb())
  cleanup(async () => { await image.close(); await llm.close() })
  return { llm, image, jit: new Jit(image, realm, { client: new LlmClient({ url: llm.url }) }) }
}

describe('the idle loop (Characterological Inquiry Loop)', () => {
  it('inquires only when idle long enough and the CEM moving average is below the threshold; the cycle is recorded', async () => {
    const { llm, image, jit } = await idleWorld()
    let now = 1_000_000
    const inquiries: unknown[] = []
    const loop = new IdleLoop(jit, image, { idleAfterMs: 60_000, threshold: 0.9, window: 3, now: () => now, onInquiry: (r, e) => inquiries.push(r ?? e) })

    // Not idle yet: the metric is sampled, nothing is sent.
    expect(await loop.tick()).toBeUndefined()
    now += 30_000
    expect(await loop.tick()).toBeUndefined()
    expect(llm.chatRequests).toHaveLength(0)

    // A request resets the idle time.
    now += 40_000
    loop.activity()
    now += 30_000
    expect(await loop.tick()).toBeUndefined()

    // Idle 60 s, CEM low: one inquiry through the JIT, with the seeds' stimulus and the measurement.
    now += 30_000
    const cycle = await loop.tick()
    expect(cycle).toBeDefined()
    expect(cycle!.selector).toBe(INQUIRY_SELECTOR)
    const prompt = llm.chatRequests[0]!.body.messages.map((m: { content: string }) => m.content).join('\n')
    expect(prompt).toMatch(/Idle state/)
    expect(prompt).toMatch(/Measured: CEM \d\.\d\d/)
    const rec = await image.transaction(cycle!.tid)
    expect(rec!.ext.jit).toMatchObject({ selector: INQUIRY_SELECTOR, explanation: FACET.explanation })
    expect(rec!.ext.intent).toMatch(/Idle state/)
    expect(inquiries).toHaveLength(1)

    // One inquiry per idle period: right after it, nothing.
    expect(await loop.tick()).toBeUndefined()
    expect(llm.chatRequests).toHaveLength(1)
    // The cycle counts in the metric.
    expect((await imageCem(image)).cycles).toBe(1)
  })

  it('a CEM above the threshold never inquires', async () => {
    const { llm, image, jit } = await idleWorld()
    let now = 0
    const loop = new IdleLoop(jit, image, { idleAfterMs: 1000, threshold: 0, now: () => now })
    now += 10_000
    expect(await loop.tick()).toBeUndefined()
    expect(llm.chatRequests).toHaveLength(0)
  })

  it('the weights live in the image and can be changed there', async () => {
    const { image, realm } = await openImage(memoryDb())
    cleanup(() => image.close())
    const before = await imageCem(image)
    expect(before.weights).toEqual({ cog: 0.25 / 0.5, sol: 0.2 / 0.5, struc: 0.05 / 0.5, rel: 0 })
    await image.transact((tx) => { tx.genesis.cemWeights = { rel: 0, cog: 0, sol: 0, struc: 1 } })
    const after = await imageCem(image)
    expect(after.weights.struc).toBe(1)
    expect(after.cem).toBeCloseTo(after.parts.struc)
    void realm
  })
})
