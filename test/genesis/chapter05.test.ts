// Chapter 5, the Characterological Inquiry Loop: replay chapters 1-5, then drive the InquiryLoop and the
// UnslothForge by message sends: the runtime's own idle stimulus is read and diagnosed, jobs are designed,
// submitted through the forge capability (files outside the image) and integrated into the CognitiveWeaver.
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compositeEntropy, idleStimulus, IDLE_STIMULUS } from '../../src/jit/cem.js'
import { startFakeLlm, type FakeLlm } from '../support/fake-llm.js'
import { curriculumWorld, type CurriculumWorld } from './support.js'

interface Job { facet_id: string; base_model: string; dataset: { messages: { role: string; content: unknown }[] }[]; chat_template: string; lora_r: number; lora_alpha: number; epochs: number; persona: string | null }
interface Ledger { ticket: string; job_id: string | null; facet_id: string; status: string; examples: number; where: string | null; lora_path: string | null; reason?: string; retried_by?: string }

const J = JSON.stringify
let w: CurriculumWorld
beforeAll(async () => { w = await curriculumWorld({ to: 5 }) }, 300_000)
afterAll(async () => { await w?.dispose() })

/** A job spec is complete and every conversation of its dataset alternates architect / uvm_jit in the seeds' format. */
function expectValidJob(job: Job, facetId: string) {
  expect(Object.keys(job)).toEqual(expect.arrayContaining(['facet_id', 'base_model', 'dataset', 'chat_template', 'lora_r', 'lora_alpha', 'epochs']))
  expect(job.facet_id).toBe(facetId)
  expect(job.base_model).toBe('meta-llama/Llama-3.1-8B-Instruct')
  expect(job.chat_template).toBe('chatml')
  for (const k of ['lora_r', 'lora_alpha', 'epochs'] as const) expect(Number.isInteger(job[k]) && job[k] > 0, k).toBe(true)
  expect(job.lora_alpha).toBe(2 * job.lora_r)
  expect(job.dataset.length).toBeGreaterThan(0)
  for (const c of job.dataset) {
    expect(Object.keys(c)).toEqual(['messages'])
    expect(c.messages.length % 2).toBe(0)
    c.messages.forEach((m, i) => {
      expect(m.role).toBe(i % 2 === 0 ? 'architect' : 'uvm_jit')
      if (m.role === 'architect') expect(typeof m.content).toBe('string')
      else {
        const k = m.content as { explanation: string; code: string }
        expect(typeof k.explanation).toBe('string')
        expect(typeof k.code).toBe('string')
        expect(k.explanation.length).toBeGreaterThan(0)
        expect(k.code.length).toBeGreaterThan(0)
      }
    })
  }
}

const sampleDataset = [
  { messages: [{ role: 'architect', content: 'Structural complexity is low: the labels are all one kind.' }, { role: 'uvm_jit', content: { explanation: 'BRICK: a new kind of label, by cloning.', code: "const K = prototypes.LabelMorph.clone()\nprototypes.NoteLabelMorph = K\nreturn K.printString()" } }] },
  { messages: [{ role: 'architect', content: 'And a second one.' }, { role: 'uvm_jit', content: { explanation: 'BRICK: one more.', code: 'return 2' } }, { role: 'architect', content: 'Thanks.' }, { role: 'uvm_jit', content: { explanation: 'ROBIN: you are welcome!', code: 'return 3' } }] },
]

describe('chapter 5: UnslothForge', () => {
  it('designs a valid job spec from a facet and a dataset, on the base model the weaver serves', async () => {
    expect(await w.run('return [prototypes.UnslothForge.printString(), genesis.forge.parents()[0] === prototypes.UnslothForge]')).toEqual([expect.stringMatching(/^<UnslothForge #\d+>$/), true])
    const job = await w.run(`return genesis.forge.designJob({ facet_id: 'test_facet', persona: 'BRICK', purpose: 'a test' }, ${J(sampleDataset)})`) as Job
    expectValidJob(job, 'test_facet')
    expect(job).toMatchObject({ lora_r: 8, lora_alpha: 16, epochs: 4, persona: 'BRICK' })
    expect(job.dataset).toEqual(sampleDataset)
    // The prototype designs too (chapters 6 and 7 use it directly), and rank follows the dataset's size.
    expect(await w.run('return [prototypes.UnslothForge.rankFor(8), prototypes.UnslothForge.rankFor(9), prototypes.UnslothForge.rankFor(65), prototypes.UnslothForge.epochsFor(100)]')).toEqual([8, 16, 32, 3])
    const other = await w.run(`return prototypes.UnslothForge.designJob({ facet_id: 'x', base_model: 'other/base' }, ${J(sampleDataset)})`) as Job
    expect(other.base_model).toBe('other/base')
  })

  it('refuses a facet id that cannot name a folder, and a dataset not in the seeds\' format, naming the problems', async () => {
    await expect(w.run(`return genesis.forge.designJob({ facet_id: '../escape' }, ${J(sampleDataset)})`)).rejects.toThrow(/letters, digits, _ \. - only/)
    await expect(w.run("return genesis.forge.designJob({ facet_id: 'x' }, [])")).rejects.toThrow(/non-empty list of conversations/)
    const issues = await w.run(`return genesis.forge.datasetIssues([
      { messages: [{ role: 'uvm_jit', content: 'done' }, { role: 'architect', content: 'Make a button.' }] },
      { messages: [{ role: 'architect', content: 'x' }, { role: 'uvm_jit', content: { explanation: 'e', code: 'c', extra: 1 } }], note: 'x' },
      { messages: [{ role: 'architect', content: '' }, { role: 'uvm_jit', content: { explanation: 'e' } }, { role: 'architect', content: 'dangling' }] }
    ])`) as string[]
    expect(issues).toEqual([
      'conversation 1, message 1 must be architect, not uvm_jit',
      'conversation 1, message 2 must be uvm_jit, not architect',
      'conversation 1, message 2: a uvm_jit answer is {explanation, code}, not string',
      'conversation 2 has unknown keys note',
      'conversation 2, message 2 has unknown keys extra',
      'conversation 3 ends with an architect turn that nothing answers',
      'conversation 3, message 1: an architect says something (a non-empty string)',
      'conversation 3, message 2: the code is missing',
    ])
    await expect(w.run(`return genesis.forge.designJob({ facet_id: 'x' }, [{ messages: [{ role: 'uvm_jit', content: 'done' }, { role: 'architect', content: 'Make a button.' }] }])`)).rejects.toThrow(/not trainable: conversation 1, message 1 must be architect/)
  })

  it('submit writes job.json and dataset.jsonl into the forge folder and records the job in the ledger', async () => {
    const before = (await w.run('return genesis.forge.jobs.length')) as number
    const r = await w.run(`return await genesis.forge.submit(genesis.forge.designJob({ facet_id: 'test_facet', persona: 'BRICK', purpose: 'a test' }, ${J(sampleDataset)}))`) as { job_id: string; status: string; examples: number; facet_id: string; ticket: string; where: string }
    expect(r).toMatchObject({ status: 'queued', examples: 2, facet_id: 'test_facet', ticket: `ticket-${before + 1}` })
    expect(r.job_id).toMatch(/^test_facet-[0-9a-f]{8}$/)
    expect(r.where).toBe(join(w.forgeDir, r.job_id))
    const job = JSON.parse(await readFile(join(w.forgeDir, r.job_id, 'job.json'), 'utf8'))
    expect(job).toMatchObject({ job_id: r.job_id, facet_id: 'test_facet', base_model: 'meta-llama/Llama-3.1-8B-Instruct', chat_template: 'chatml', lora_r: 8, lora_alpha: 16, epochs: 4, dataset: 'dataset.jsonl', examples: 2 })
    const lines = (await readFile(join(w.forgeDir, r.job_id, 'dataset.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l))
    expect(lines).toEqual(sampleDataset)
    const rec = await w.run(`return genesis.forge.job(${J(r.job_id)})`) as Ledger
    expect(rec).toMatchObject({ ticket: r.ticket, job_id: r.job_id, facet_id: 'test_facet', status: 'queued', examples: 2, where: r.where })
    // Whichever forge object is asked, one ledger.
    expect(await w.run(`return prototypes.UnslothForge.job(${J(r.job_id)}).ticket`)).toBe(r.ticket)
    expect(await w.run('return prototypes.UnslothForge.hasSlot("jobs") && prototypes.UnslothForge.jobs.length')).toBe(0)
    // A malformed job never reaches the capability.
    await expect(w.run("return await genesis.forge.submit({ facet_id: 'x', dataset: [] })")).rejects.toThrow(/cannot be trained/)
  })

  it('the replay only queued its jobs; flush hands the pending one to the forge, under its own ticket', async () => {
    const pending = await w.run('return genesis.forge.pending()') as { ticket: string; facet_id: string; examples: number }[]
    expect(pending).toEqual([{ ticket: 'ticket-6', facet_id: 'brick_rogues_gallery_v2', examples: 3 }])
    const sent = await w.run('return await genesis.forge.flush()') as { job_id: string; ticket: string; status: string }[]
    expect(sent).toHaveLength(1)
    expect(sent[0]).toMatchObject({ ticket: 'ticket-6', status: 'queued' })
    expect(await w.run('return genesis.forge.pending()')).toEqual([])
    const dirs = await readdir(w.forgeDir)
    expect(dirs).toContain(sent[0]!.job_id)
    const job = JSON.parse(await readFile(join(w.forgeDir, sent[0]!.job_id, 'job.json'), 'utf8'))
    expect(job).toMatchObject({ facet_id: 'brick_rogues_gallery_v2', persona: 'BRICK', examples: 3 })
    expect(await w.run(`return genesis.forge.job('ticket-6').job_id`)).toBe(sent[0]!.job_id)
    // The report names the real id: the adapter joins the weaver.
    const done = await w.run(`return await genesis.forge.receive(${J(`UnslothForge: job ${sent[0]!.job_id} complete; adapter at /adapters/brick_rogues_gallery_v2`)})`) as { outcome: string; facet: object }
    expect(done).toEqual({ outcome: 'complete', job_id: sent[0]!.job_id, facet: { facet_id: 'brick_rogues_gallery_v2', base_model: 'meta-llama/Llama-3.1-8B-Instruct', lora_path: '/adapters/brick_rogues_gallery_v2', persona: 'BRICK' } })
    await expect(w.run(`return await genesis.forge.receive(${J(`UnslothForge: job ${sent[0]!.job_id} complete; adapter at /adapters/again`)})`)).rejects.toThrow(/already integrated/)
    await expect(w.run("return await genesis.forge.receive('UnslothForge: job nobody-12345678 complete; adapter at /adapters/nobody')")).rejects.toThrow(/knows no job nobody-12345678/)
    await expect(w.run("return genesis.forge.parseReport('the forge is on fire')")).rejects.toThrow(/not a forge report/)
  })
})

describe('chapter 5: the inquiry loop reads the idle stimulus', () => {
  it('parses the runtime\'s own stimulus and names the lowest part, with the persona protocol that answers it', async () => {
    const text = idleStimulus(compositeEntropy({ rel: 0.5, cog: 0.3, sol: 0.6, struc: 0.1 }), 0.3)
    expect(text.startsWith(IDLE_STIMULUS)).toBe(true)
    const m = await w.run(`return genesis.inquiry.parseMeasurement(${J(text)})`) as { cem: number; average: number; parts: Record<string, number | null>; weights: Record<string, number> }
    expect(m.parts).toEqual({ rel: 0.5, cog: 0.3, sol: 0.6, struc: 0.1 })
    expect(m.weights).toEqual({ rel: 0.5, cog: 0.25, sol: 0.2, struc: 0.05 })
    expect(m.average).toBe(0.3)
    expect(m.cem).toBe(Number(compositeEntropy({ rel: 0.5, cog: 0.3, sol: 0.6, struc: 0.1 }).cem.toFixed(2)))
    expect(await w.run(`return genesis.inquiry.diagnose(genesis.inquiry.parseMeasurement(${J(text)}))`)).toEqual({
      part: 'struc', value: 0.1, diagnosis: 'Structural complexity is low (H_struc 0.10)', persona: 'BRICK', protocol: "Rogues' Gallery Protocol", remedy: 'a facet that builds specialised prototypes by cloning',
    })
    const cases: [Record<string, number | undefined>, string, string][] = [
      [{ rel: undefined, cog: 0.2, sol: 0.5, struc: 0.6 }, 'Cognitive diversity is low (H_cog 0.20)', 'ROBIN'],
      [{ rel: 0.7, cog: 0.6, sol: 0.05, struc: 0.4 }, 'Solution novelty is low (H_sol 0.05)', 'BABS'],
      [{ rel: 0.1, cog: 0.6, sol: 0.5, struc: 0.4 }, 'Relevance is low (H_rel 0.10)', 'ALFRED'],
    ]
    for (const [parts, diagnosis, persona] of cases) {
      const t = idleStimulus(compositeEntropy({ cog: parts.cog!, sol: parts.sol!, struc: parts.struc!, ...(parts.rel !== undefined && { rel: parts.rel }) }))
      expect(await w.run(`return genesis.inquiry.diagnose(genesis.inquiry.parseMeasurement(${J(t)}))`), diagnosis).toMatchObject({ diagnosis, persona })
    }
    // Not measured is not low.
    expect(await w.run(`return genesis.inquiry.parseMeasurement(${J(idleStimulus(compositeEntropy({ cog: 0.2, sol: 0.5, struc: 0.6 })))}).parts.rel`)).toBeNull()
    await expect(w.run("return genesis.inquiry.parseMeasurement('Idle state.')")).rejects.toThrow(/no "Measured:" line/)
  })

  it('journals every inquiry, designing only when the lowest part is below the healthy line', async () => {
    const n = await w.run('return genesis.inquiry.journal.length') as number
    const healthy = await w.run(`return genesis.inquiry.inquire(${J(idleStimulus(compositeEntropy({ rel: 0.7, cog: 0.6, sol: 0.5, struc: 0.55 }), 0.4))})`)
    expect(healthy).toMatchObject({ n: n + 1, part: 'sol', action: 'observe' })
    const low = await w.run(`return genesis.inquiry.cycle(${J(idleStimulus(compositeEntropy({ rel: 0.3, cog: 0.12, sol: 0.5, struc: 0.55 }), 0.3))})`) as { action: string; facet_id: string; ticket: string; examples: number; diagnosis: string }
    expect(low).toMatchObject({ action: 'design', diagnosis: 'Cognitive diversity is low (H_cog 0.12)', facet_id: 'robin_resonance_v2', examples: 2 })
    expect(await w.run(`return genesis.forge.job(${J(low.ticket)}).status`)).toBe('pending')
    expectValidJob(await w.run('return genesis.inquiry.designs.robin_resonance_v2.job') as Job, 'robin_resonance_v2')
    expect(await w.run(`return genesis.inquiry.cycle(${J(idleStimulus(compositeEntropy({ rel: 0.9, cog: 0.8, sol: 0.7, struc: 0.6 })))})`)).toMatchObject({ action: 'observe' })
    expect(await w.run('return genesis.inquiry.journal.length')).toBe(n + 3)
  })
})

describe('chapter 5: the conversations designed, queued and integrated their facets', () => {
  const handMade = ['brick_rogues_gallery', 'robin_resonance', 'babs_tangent', 'alfred_relevance']

  it('designed four different facets, each with its own small dataset in the seeds\' format', async () => {
    const designs = await w.run('return genesis.inquiry.designs') as Record<string, { persona: string; answers: string; status: string; examples: number; job: Job }>
    for (const id of handMade) {
      expectValidJob(designs[id]!.job, id)
      expect(designs[id]!.status, id).toBe('integrated')
      expect(designs[id]!.job.dataset.length, id).toBeGreaterThanOrEqual(2)
      expect(designs[id]!.job.dataset.length, id).toBeLessThanOrEqual(5)
    }
    expect(handMade.map((id) => designs[id]!.answers)).toEqual([
      'Structural complexity is low (H_struc 0.12)', 'Cognitive diversity is low (H_cog 0.14)', 'Solution novelty is low (H_sol 0.09)', 'Relevance is low (H_rel 0.18)',
    ])
    expect(handMade.map((id) => designs[id]!.persona)).toEqual(['BRICK', 'ROBIN', 'BABS', 'ALFRED'])
    // Different data for each facet; the BABS facet was refined from two conversations to four.
    const firstAsks = handMade.map((id) => designs[id]!.job.dataset[0]!.messages[0]!.content)
    expect(new Set(firstAsks).size).toBe(4)
    expect(designs.babs_tangent!.job.dataset).toHaveLength(4)
    // The rank rule came between the BABS and the ALFRED designs.
    expect(designs.brick_rogues_gallery!.job.lora_r).toBe(16)
    expect(designs.alfred_relevance!.job).toMatchObject({ lora_r: 8, lora_alpha: 16, epochs: 4 })
  })

  it('registered every completed adapter with the CognitiveWeaver (chapter 3)', async () => {
    const facets = await w.run('return genesis.weaver.facets') as Record<string, { facet_id: string; base_model: string; lora_path: string; persona: string }>
    const personas = { brick_rogues_gallery: 'BRICK', robin_resonance: 'ROBIN', babs_tangent: 'BABS', alfred_relevance: 'ALFRED' } as Record<string, string>
    for (const id of handMade) expect(facets[id], id).toEqual({ facet_id: id, base_model: 'meta-llama/Llama-3.1-8B-Instruct', lora_path: `/adapters/${id}`, persona: personas[id] })
    // Chapter 3's own facets are still there, and the weaver can find the new ones its own way.
    expect(facets.brick).toBeDefined()
    expect(await w.run("return genesis.weaver.facet('babs_tangent').lora_path")).toBe('/adapters/babs_tangent')
    expect(await w.run('return genesis.forge.integration().ok')).toBe(true)
  })

  it('keeps the whole story in the ledger: ids from the reports, the failure and its retry', async () => {
    const jobs = await w.run('return genesis.forge.ledger().jobs') as Ledger[]
    const byTicket = Object.fromEntries(jobs.map((j) => [j.ticket, j]))
    expect(byTicket['ticket-1']).toMatchObject({ facet_id: 'brick_rogues_gallery', job_id: 'brick_rogues_gallery-5e0c1a7f', status: 'complete', lora_path: '/adapters/brick_rogues_gallery' })
    expect(byTicket['ticket-2']).toMatchObject({ facet_id: 'robin_resonance', job_id: 'robin_resonance-9b2d4c10', status: 'complete' })
    expect(byTicket['ticket-4']).toMatchObject({ facet_id: 'alfred_relevance', job_id: 'alfred_relevance-3c4d5e6f', status: 'failed', retried_by: 'ticket-5' })
    expect(byTicket['ticket-4']!.reason).toMatch(/^CUDA out of memory at step 112/)
    expect(byTicket['ticket-5']).toMatchObject({ facet_id: 'alfred_relevance', job_id: 'alfred_relevance-7d8e9f01', status: 'complete' })
    expect(await w.run("return genesis.forge.job('ticket-5').spec")).toMatchObject({ batch_size: 1, gradient_accumulation_steps: 4, max_seq_length: 2048, lora_r: 8 })
    await expect(w.run("return genesis.forge.retry('brick_rogues_gallery-5e0c1a7f')")).rejects.toThrow(/is not a failed job/)
    const history = await w.run('return genesis.inquiry.history()') as string[]
    expect(history.slice(0, 6)).toEqual([
      '#1 CEM 0.33 (average 0.31): Structural complexity is low (H_struc 0.12) -> brick_rogues_gallery (BRICK, integrated)',
      '#2 CEM 0.29 (average 0.32): Cognitive diversity is low (H_cog 0.14) -> robin_resonance (ROBIN, integrated)',
      '#3 CEM 0.37 (average 0.34): Solution novelty is low (H_sol 0.09) -> babs_tangent (BABS, integrated)',
      '#4 CEM 0.30 (average 0.30): Relevance is low (H_rel 0.18) -> alfred_relevance (ALFRED, integrated)',
      '#5 CEM 0.58 (average 0.43): Solution novelty is low (H_sol 0.52) -> observed; nothing designed',
      '#6 CEM 0.36 (average 0.36): Structural complexity is low (H_struc 0.16) -> brick_rogues_gallery_v2 (BRICK, queued)',
    ])
    const status = await w.run('return genesis.forge.status()') as { counts: Record<string, number> }
    expect(status.counts.failed).toBe(1)
  })

  it('the conversations\' stimuli are the runtime\'s idle stimulus, with a Measured line the loop reads', async () => {
    const stimuli = w.curriculum.chapters(5, 5).flatMap((c) => c.turns.map((t) => t.utterance)).filter((u) => u.startsWith('Idle state.'))
    expect(stimuli.length).toBeGreaterThanOrEqual(6)
    for (const s of stimuli) {
      expect(s.startsWith(IDLE_STIMULUS + '\nMeasured: CEM ')).toBe(true)
      const m = await w.run(`return genesis.inquiry.parseMeasurement(${J(s)})`) as { cem: number; parts: Record<string, number | null>; weights: Record<string, number> }
      // The CEM in each stimulus is the one the runtime's formula gives for its parts.
      const p = m.parts
      const r = compositeEntropy({ cog: p.cog!, sol: p.sol!, struc: p.struc!, ...(p.rel !== null && { rel: p.rel! }) })
      expect(m.cem).toBe(Number(r.cem.toFixed(2)))
    }
  })
})

describe('chapter 5: datasets written by a model (with an LLM)', () => {
  let llm: FakeLlm
  let v: CurriculumWorld
  const good = { messages: [{ role: 'architect', content: 'Solution novelty is low: try something new.' }, { role: 'uvm_jit', content: { explanation: 'BABS: a tangent.', code: 'return 1' } }] }
  beforeAll(async () => {
    llm = await startFakeLlm([
      { content: [J(good), '{"messages": [{"role": "uvm_jit", "content": "oops"}]}', 'not json at all', '{broken'].join('\n') },
      { content: 'I would rather not.' },
    ])
    v = await curriculumWorld({ to: 5, llmUrl: llm.url })
  }, 300_000)
  afterAll(async () => { await v?.dispose(); await llm?.close() })

  it('keeps only the well-formed conversations, and falls back on the templates when none are', async () => {
    const r = await v.run("return await genesis.inquiry.synthesizeWithModel('sol', 3)") as { source: string; dataset: unknown[]; dropped: string[] }
    expect(r.source).toBe('model')
    expect(r.dataset).toEqual([good])
    expect(r.dropped).toHaveLength(2)
    expect(r.dropped[0]).toMatch(/needs messages/)
    expect(r.dropped[1]).toMatch(/^not JSON/)
    expect(llm.chatRequests).toHaveLength(1)
    expect(J(llm.chatRequests[0]!.body.messages)).toContain('BABS')
    const f = await v.run("return await genesis.inquiry.synthesizeWithModel('struc', 2)") as { source: string; dataset: { messages: unknown[] }[] }
    expect(f.source).toBe('templates')
    expect(f.dataset).toHaveLength(2)
    expect(await v.run(`return genesis.forge.datasetIssues(${J(f.dataset)})`)).toEqual([])
  })
})
