// Chapters 6-9 (Act II's Multi-Agent Society, Act III's self-aware corpus, Ship of Theseus and
// environmental adaptation): replay the whole curriculum, then drive what these chapters made by
// message sends, as acts.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseLine } from '../../src/genesis/index.js'
import type { HardwareProfile } from '../../src/daemon/index.js'
import { startFakeLlm, type FakeLlm } from '../support/fake-llm.js'
import { curriculumWorld, type CurriculumWorld } from './support.js'

const gpu = (name: string, vramMb: number, usedMb = 0) => ({ name, vramMb, usedMb })
const laptop8: HardwareProfile = { memory: { totalMb: 16384, freeMb: 9000 }, cpus: { count: 8, model: 'Intel Core i7' }, gpus: [gpu('NVIDIA GeForce RTX 3070', 8192)] }
const workstation24: HardwareProfile = { memory: { totalMb: 65536, freeMb: 48000 }, cpus: { count: 16, model: 'AMD Ryzen 9' }, gpus: [gpu('NVIDIA GeForce RTX 4090', 24576)] }
const cpuOnly: HardwareProfile = { memory: { totalMb: 32768, freeMb: 20000 }, cpus: { count: 12, model: 'Intel Xeon' }, gpus: [] }
const J = JSON.stringify

let w: CurriculumWorld
beforeAll(async () => { w = await curriculumWorld() }, 300_000)
afterAll(async () => { await w?.dispose() })

describe('chapter 6: the Multi-Agent Society', () => {
  it('keeps a ledger whose analysis finds the weakest task, ignoring single samples', async () => {
    expect(await w.run('return prototypes.PerformanceLedger.printString()')).toMatch(/^<PerformanceLedger #\d+>$/)
    expect(await w.run('return genesis.ledger.weakest()')).toMatchObject({ task: 'multi_step_refactor', count: 7 })
    expect(await w.run('return genesis.ledger.weakest(1).task')).toBe('persona_voice')
    const avg = await w.run('return genesis.ledger.averages()') as Record<string, { mean: number; count: number }>
    expect(avg.ui_composition).toEqual({ mean: expect.any(Number), count: 6 })
    expect(await w.run("return genesis.ledger.byTask('multi_step_refactor').length")).toBe(7)
    expect(await w.run("return genesis.ledger.byFacet('society_critic').length")).toBe(3)
    const d = await w.run('return genesis.society.diagnosis') as { task: string; distinct: string[]; recommendation: string }
    expect(d.task).toBe('multi_step_refactor')
    expect(d.distinct).toEqual(['planning', 'critique', 'coding'])
    expect(d.recommendation).toMatch(/^specialise/)
  })

  it('refuses a malformed record, and nothing of that act stays', async () => {
    const before = await w.run('return genesis.ledger.records.length')
    await expect(w.run("return genesis.ledger.record({ task: 'x', facet_id: 'generalist', score: 7 })")).rejects.toThrow(/score must be a number from 0 to 1/)
    await expect(w.run("genesis.ledger.record({ task: 'x', facet_id: 'generalist', score: 0.5 }); return genesis.ledger.record({ task: '', facet_id: 'g', score: 0.5 })")).rejects.toThrow(/task/)
    expect(await w.run('return genesis.ledger.records.length')).toBe(before)
  })

  it('specialises three facets from ONE base model, each registered in the weaver', async () => {
    const members = await w.run('return genesis.society.members()') as { role: string; facet_id: string; base_model: string; lora_path: string }[]
    expect(members.map((m) => m.role)).toEqual(['planner', 'critic', 'coder'])
    const facets = await w.run('return genesis.weaver.facets') as Record<string, { facet_id: string; base_model: string; lora_path: string; persona: string }>
    const base = await w.run('return genesis.society.base_model')
    for (const id of ['society_planner', 'society_critic', 'society_coder']) {
      expect(facets[id], id).toBeDefined()
      expect(facets[id]!.base_model).toBe(base)
      expect(facets[id]!.lora_path).toBe(`/adapters/${id}`)
    }
    expect(new Set(members.map((m) => m.base_model)).size).toBe(1)
    // The one base model is the one the weaver's vLLM server serves, so each specialist is loadable.
    expect(base).toBe(await w.run('return genesis.weaver.served_base_model'))
    expect(await w.run("return ['society_planner', 'society_critic', 'society_coder'].map((id) => genesis.weaver.checkLoadable(genesis.weaver.facet(id)))")).toEqual([true, true, true])
    expect(await w.run('return genesis.society.sharedBase().shared')).toBe(true)
    expect(await w.run('return genesis.society.roleFor("critic").persona')).toBe('ALFRED')
  })

  it('designs one forge job per specialist, with its own dataset and hyperparameters', async () => {
    const m = await w.run('return genesis.society.manifest()') as { facet_id: string; base_model: string; examples: number; lora_r: number; lora_alpha: number; epochs: number }[]
    expect(m.map((j) => j.facet_id)).toEqual(['society_planner', 'society_critic', 'society_coder'])
    expect(new Set(m.map((j) => j.base_model)).size).toBe(1)
    expect(m.find((j) => j.facet_id === 'society_critic')).toMatchObject({ lora_r: 4, lora_alpha: 8, epochs: 6 })
    expect(m.find((j) => j.facet_id === 'society_coder')).toMatchObject({ lora_r: 16, lora_alpha: 32 })
    // The planner keeps what the forge designed for its dataset's size.
    const planner = m.find((j) => j.facet_id === 'society_planner')!
    expect(planner.lora_r).toBe(await w.run(`return genesis.forge.rankFor(${planner.examples})`))
    expect(await w.run('return genesis.society.jobs.society_planner.purpose')).toMatch(/^the planner of the society/)
    for (const j of m) expect(j.examples).toBeGreaterThanOrEqual(3)
    // Every example is a well-formed conversation, by the corpus's and the forge's own checks, and unique.
    expect(await w.run(`
      const jobs = genesis.society.jobs
      return Object.keys(jobs).every((id) => jobs[id].dataset.every((c) => genesis.corpus.validate(c).valid) && genesis.forge.datasetIssues(jobs[id].dataset).length === 0)
    `)).toBe(true)
    const asks = await w.run("return genesis.society.datasetFor('critic').map((c) => c.messages[0].content)") as string[]
    expect(new Set(asks).size).toBe(asks.length)
    await expect(w.run("return genesis.society.datasetFor('poet')")).rejects.toThrow(/no role poet/)
  })

  it('routes a task type to a facet, composite tasks through a pipeline, unknown ones to the generalist', async () => {
    expect(await w.run("return ['planning', 'critique', 'code_generation', 'poetry'].map((t) => genesis.society.route(t))")).toEqual(['society_planner', 'society_critic', 'society_coder', 'generalist'])
    expect(await w.run("return genesis.society.pipeline('multi_step_refactor')")).toEqual(['society_planner', 'society_coder', 'society_critic'])
    expect(await w.run("return genesis.society.route('multi_step_refactor')")).toBe('society_planner')
    expect(await w.run("return genesis.society.routeText('Please review this diff')")).toEqual({ task: 'critique', facet_id: 'society_critic' })
    expect(await w.run("return genesis.society.routeText('sing me a song')")).toEqual({ task: null, facet_id: 'generalist' })
    // The ledger's evidence overruled the first guess: the generalist kept UI composition.
    expect(await w.run('return genesis.society.routes.ui_composition')).toBe('generalist')
    expect(await w.run("return genesis.ledger.compare('code_generation')")).toMatchObject({ generalist: { count: 3 }, society_coder: { count: 3 } })
    const h = await w.run('return genesis.society.cognitiveDiversity()') as { bits: number; counts: Record<string, number> }
    expect(h.bits).toBe(2)
    expect(Object.keys(h.counts).sort()).toEqual(['generalist', 'society_coder', 'society_critic', 'society_planner'])
  })

  it('plans a deliberation per pipeline stage; queues the designed jobs at genesis, submits them through the forge later', async () => {
    const plan = await w.run("return genesis.society.deliberationPlan('multi_step_refactor', 'rename a selector')") as { stage: number; facet_id: string; messages: { role: string; content: string }[] }[]
    expect(plan.map((s) => s.facet_id)).toEqual(['society_planner', 'society_coder', 'society_critic'])
    expect(plan[0]!.messages[0]!.content).toContain('BABS')
    expect(plan[1]!.messages[1]!.content).toContain('{previous}')
    // Genesis only queued them: pending tickets, no job ids, nothing in the jobs folder.
    const tickets = await w.run('return genesis.society.tickets') as Record<string, string>
    expect(Object.keys(tickets)).toEqual(['society_planner', 'society_critic', 'society_coder'])
    expect(await w.run(`return ${J(Object.values(tickets))}.map((t) => genesis.forge.job(t).status)`)).toEqual(['pending', 'pending', 'pending'])
    expect((await readdir(w.forgeDir)).filter((d) => d.startsWith('society_'))).toEqual([])
    expect(await w.run('return genesis.society.enqueueAll()')).toEqual(tickets)
    const subs = await w.run('return await genesis.society.submitAll()') as Record<string, { ticket: string; job_id: string; status: string; examples: number }>
    expect(Object.keys(subs)).toEqual(['society_planner', 'society_critic', 'society_coder'])
    for (const [id, s] of Object.entries(subs)) {
      expect(s.status).toBe('queued')
      expect(s.ticket).toBe(tickets[id])
      expect(s.job_id).toMatch(new RegExp(`^${id}-`))
    }
    expect(await w.run('return genesis.society.submitAll()')).toEqual(subs)
    const dirs = await readdir(w.forgeDir)
    for (const id of Object.keys(subs)) {
      const dir = dirs.find((d) => d.startsWith(id + '-'))!
      const job = JSON.parse(await readFile(join(w.forgeDir, dir, 'job.json'), 'utf8'))
      expect(job.base_model).toBe(await w.run('return genesis.society.base_model'))
      const lines = (await readFile(join(w.forgeDir, dir, 'dataset.jsonl'), 'utf8')).trim().split('\n')
      expect(lines.length).toBe(subs[id]!.examples)
    }
    // The forge's report integrates the trained adapter into the weaver's facet.
    const done = await w.run(`return await genesis.forge.receive(${J(`UnslothForge: job ${subs.society_coder!.job_id} complete; adapter at /adapters/trained/society_coder`)})`) as { outcome: string }
    expect(done.outcome).toBe('complete')
    expect(await w.run('return genesis.weaver.facets.society_coder.lora_path')).toBe('/adapters/trained/society_coder')
  })
})

describe('chapter 7: the Living Codex becomes self-aware', () => {
  it('holds its corpus as JSONL that the curriculum loader itself accepts, line by line', async () => {
    const text = await w.run('return genesis.corpus.toJsonl()') as string
    const count = await w.run('return genesis.corpus.count()')
    expect(text.endsWith('\n')).toBe(true)
    const lines = text.split('\n').filter((l) => l !== '')
    expect(lines.length).toBe(count)
    lines.forEach((l, i) => {
      const parsed = JSON.parse(l)
      expect(Object.keys(parsed)).toEqual(['messages'])
      expect(parseLine(l, 'corpus.jsonl', i + 1, 7, 'corpus').turns.length).toBeGreaterThan(0)
    })
    expect(await w.run('return genesis.corpus.stats().conversations')).toBe(count)
  })

  it('validates conversations, and append refuses what does not', async () => {
    const bad = await w.run("return genesis.corpus.validate({ messages: [{ role: 'uvm_jit', content: { explanation: 'x' } }], extra: 1 })") as { valid: boolean; errors: string[] }
    expect(bad.valid).toBe(false)
    expect(bad.errors.join('\n')).toMatch(/unknown key extra/)
    expect(bad.errors.join('\n')).toMatch(/turn 1 must be architect/)
    expect(bad.errors.join('\n')).toMatch(/needs code/)
    const voiceless = await w.run("return genesis.corpus.validate({ messages: [{ role: 'architect', content: 'Add.' }, { role: 'uvm_jit', content: { explanation: 'adds', code: 'return 2' } }] })")
    expect(voiceless).toEqual({ valid: true, errors: [], warnings: [expect.stringMatching(/no persona/)] })
    const n = await w.run('return genesis.corpus.count()')
    await expect(w.run("return genesis.corpus.append({ messages: [{ role: 'architect', content: 'Hi' }] })")).rejects.toThrow(/refused, the conversation is malformed/)
    expect(await w.run('return genesis.corpus.count()')).toBe(n)
  })

  it('finds lessons by keyword, by the selector they teach, and by a block', async () => {
    expect(await w.run("return genesis.corpus.find({ selector: 'ifTrue:ifFalse:' }).map((f) => f.origin)")).toEqual(['chapter 2: The Computational Bootstrap'])
    expect(await w.run("return genesis.corpus.find({ selector: 'weakest' }).length")).toBe(1)
    expect(await w.run("return genesis.corpus.find('WEAVER').length")).toBeGreaterThanOrEqual(1)
    expect(await w.run("const b = new UvmObject(); b.value = function (e) { return e.messages.length === 4 }; return genesis.corpus.find(b).map((f) => f.origin)")).toEqual([expect.stringMatching(/^chapter 7: correction of entry 1/)])
    expect(await w.run("return genesis.corpus.lessonsFor('ifTrue:ifFalse:')[0].taught")).toMatch(/message passing/)
    expect(await w.run("return genesis.corpus.lessonsFor('teleport')")).toEqual([])
    await expect(w.run('return genesis.corpus.find(42)')).rejects.toThrow(/a keyword/)
  })

  it("ALFRED's System Integrity Audit traces the recurring flaw to the ambiguous lesson", async () => {
    // As it was before the correction: nothing superseded.
    const audit = await w.run(`
      const saved = genesis.corpus.superseded, corrections = genesis.corpus.corrections
      genesis.corpus.superseded = {}
      genesis.corpus.corrections = []
      const audit = genesis.codex.ALFRED.systemIntegrityAudit()
      genesis.corpus.superseded = saved
      genesis.corpus.corrections = corrections
      return audit
    `) as { flaws: Record<string, number>; recurring: string[]; trace: { flaw: string; occurrences: number; suspects: { index: number; slot: string; utterance: string }[] }[]; verdict: string }
    expect(audit.flaws).toEqual({ prototype_overreach: 3, raw_boolean: 1 })
    expect(audit.recurring).toEqual(['prototype_overreach'])
    expect(audit.trace[0]!.suspects).toEqual([expect.objectContaining({ index: 1, slot: 'LabelMorph.font_size', utterance: 'Make the label bigger.' })])
    expect(audit.verdict).toMatch(/traced to entry 1/)
    // A single incident is noted, not traced.
    const once = await w.run("return genesis.codex.ALFRED.systemIntegrityAudit([{ utterance: 'Is it empty?', wrote: 'genesis.world.isEmpty', effect: 'answered a raw JS boolean' }])") as { recurring: string[]; verdict: string }
    expect(once.recurring).toEqual([])
    expect(once.verdict).toMatch(/No flaw recurs/)
    // After the correction the flaw still recurs in the log, but no active lesson teaches it.
    const now = await w.run('return genesis.codex.ALFRED.systemIntegrityAudit()') as typeof audit
    expect(now.recurring).toEqual(['prototype_overreach'])
    expect(now.trace[0]!.suspects).toEqual([])
    expect(now.verdict).toMatch(/superseded by corrections/)
  })

  it('appended a corrected conversation that validates, and superseded the ambiguous one without deleting it', async () => {
    const at = await w.run('return genesis.corpus.corrections[0]') as number
    expect(await w.run(`return genesis.corpus.validate(genesis.corpus.entries[${at}]).valid`)).toBe(true)
    const corrected = await w.run(`return genesis.corpus.entries[${at}]`) as { messages: { role: string; content: unknown }[] }
    expect(corrected.messages.map((m) => m.role)).toEqual(['architect', 'uvm_jit', 'architect', 'uvm_jit'])
    expect(J(corrected.messages[1]!.content)).toContain('genesis.world.status_label.font_size = 24')
    expect(await w.run('return genesis.corpus.superseded[1].by')).toBe(at)
    expect(await w.run('return genesis.corpus.entries[1].messages[0].content')).toBe('Make the label bigger.')
    expect(await w.run('return genesis.corpus.trainingSet().length')).toBe(await w.run('return genesis.corpus.count() - 1'))
    // The corrected lesson loads as a curriculum line, and teaches nothing ambiguous.
    const line = (await w.run('return genesis.corpus.toJsonl()') as string).split('\n')[at]!
    expect(parseLine(line, 'corpus.jsonl', at + 1, 7, 'corpus').turns.map((t) => t.utterance)).toEqual(['Make the status label bigger.', 'Now make every label a little bigger by default.'])
    expect(await w.run('return genesis.corpus.ambiguities()')).toEqual([])
  })

  it('proposes a fine-tuning run (designed, not submitted), reviewed by ALFRED, submitted on approval', async () => {
    const p = await w.run('return genesis.corpus.proposals[0]') as { id: string; status: string; revision: number; corrects: number[]; job: { facet_id: string; base_model: string; dataset: unknown[]; lora_r: number; epochs: number; chat_template: string } }
    expect(p).toMatchObject({ id: 'proposal-1', status: 'proposed', revision: 2 })
    expect(p.job.facet_id).toBe('uvm_jit_core')
    expect(p.job.base_model).toBe(await w.run('return genesis.society.base_model'))
    const corrected = await w.run(`return genesis.corpus.entries[${p.corrects[0]}]`)
    expect(p.job.dataset.filter((c) => J(c) === J(corrected)).length).toBe(3)
    expect((await readdir(w.forgeDir)).some((d) => d.startsWith('uvm_jit_core'))).toBe(false)
    expect(await w.run("return genesis.corpus.reviewProposal('proposal-1')")).toEqual({ id: 'proposal-1', approved: true, checks: { all_valid: true, includes_corrections: true, no_superseded: true, served_base_model: true } })
    await expect(w.run("return genesis.corpus.reviewProposal('proposal-9')")).rejects.toThrow(/no proposal/)
    const r = await w.run("return await genesis.corpus.submitProposal('proposal-1')") as { status: string; job_id: string }
    expect(r.status).toBe('submitted')
    expect(r.job_id).toMatch(/^uvm_jit_core-/)
    const lines = (await readFile(join(w.forgeDir, r.job_id, 'dataset.jsonl'), 'utf8')).trim().split('\n')
    expect(lines.length).toBe(p.job.dataset.length)
    expect(await w.run('return genesis.corpus.proposals[0].status')).toBe('submitted')
  })

  it('remembers a new lesson from turns', async () => {
    const n = await w.run('return genesis.corpus.count()') as number
    const at = await w.run("return genesis.corpus.remember([{ utterance: 'Teach me', explanation: 'ROBIN: gladly', code: 'return 1' }], 'test')")
    expect(at).toBe(n)
    expect(await w.run(`return genesis.corpus.origins[${n}]`)).toBe('test')
    await expect(w.run("return genesis.corpus.remember([{ utterance: 'x', explanation: '', code: 'return 1' }])")).rejects.toThrow(/needs an explanation/)
  })
})

describe('chapter 8: the Ship of Theseus', () => {
  const steps = ['spawn', 'install', 'validate', 'handOver']

  it('plans the bridged restart as data: spawn, install, validate, hand over, each with its failure path', async () => {
    const plan = await w.run("return genesis.ship.plan('sentence-transformers')") as { library: string; steps: { step: string; call: string; on_failure: string; does: string }[]; invariant: string }
    expect(plan.library).toBe('sentence-transformers')
    expect(plan.steps.map((s) => s.step)).toEqual(steps)
    expect(plan.steps.map((s) => s.call)).toEqual(steps.map((s) => `handoff.${s}`))
    expect(plan.steps[1]!.does).toContain('sentence-transformers')
    for (const s of plan.steps) expect(s.on_failure).toMatch(/original/)
    expect(plan.invariant).toMatch(/one process serves/)
    await expect(w.run("return genesis.ship.plan('')")).rejects.toThrow(/name the library/)
    expect(await w.run("return [genesis.ship.hasLibrary('zeromq'), genesis.ship.hasLibrary('sentence-transformers')]")).toEqual([true, false])
  })

  it('goes through the handoff capability, and reports and logs that it is unavailable', async () => {
    const before = (await w.run('return genesis.ship.log.length')) as number
    const r = await w.run("return await genesis.ship.bridgedRestart('sentence-transformers')") as { status: string; step: string; reason: string; steps: { step: string }[] }
    expect(r.status).toBe('unavailable')
    expect(r.step).toBe('spawn')
    expect(r.reason).toMatch(/^handoff\.spawn: the live handoff .* is not available/)
    expect(r.steps.map((s) => s.step)).toEqual(steps)
    expect(await w.run('return handoff.available')).toBe(false)
    const last = await w.run('return genesis.ship.lastAttempt()') as Record<string, unknown>
    expect(last).toMatchObject({ attempt: before + 1, library: 'sentence-transformers', status: 'unavailable', step: 'spawn', reason: r.reason, done: [] })
    expect(await w.run("return genesis.ship.attemptsFor('sentence-transformers').filter((a) => a.status === 'unavailable').length")).toBe(1)
  })

  it('knows what is missing, validates the image and proves its identity', async () => {
    const v = await w.run('return genesis.ship.runValidation()') as { passed: boolean; results: { name: string; passed: boolean }[] }
    expect(v.results.filter((r) => !r.passed)).toEqual([])
    expect(v.passed).toBe(true)
    const ready = await w.run('return genesis.ship.readiness()') as { ready: boolean; have: string[]; missing: string[] }
    expect(ready.ready).toBe(false)
    expect(ready.missing).toEqual([expect.stringMatching(/live handoff: handoff.available is false/)])
    expect(ready.have.join('\n')).toMatch(/validation suite that passes/)
    const token = await w.run('return genesis.ship.identityToken()') as string
    expect(token).toMatch(/^uvm-[0-9a-f]{8}$/)
    expect(await w.run('return genesis.ship.whatPersists("x").token')).toBe(token)
    const rehearsal = await w.run("return genesis.ship.rehearse('sentence-transformers')") as { step: string; can_run: boolean; why: string }[]
    expect(rehearsal.map((s) => [s.step, s.can_run])).toEqual(steps.map((s) => [s, false]))
    expect(rehearsal[2]!.why).toMatch(/the suite passes/)
  })

  it("hands over only on a validated signal carrying this image's token", async () => {
    const token = await w.run('return genesis.ship.identityToken()')
    const forged = await w.run("return genesis.ship.acceptSignal({ signal: 'validated', library: 'sentence-transformers', token: 'uvm-deadbeef', passed: true })") as { accepted: boolean; reasons: string[] }
    expect(forged.accepted).toBe(false)
    expect(forged.reasons.join()).toMatch(/opened another image/)
    const failed = await w.run(`return genesis.ship.acceptSignal({ signal: 'failed', library: 'sentence-transformers', token: ${J(token)}, passed: false })`) as { accepted: boolean; reasons: string[] }
    expect(failed.reasons.length).toBe(2)
    expect(await w.run(`return genesis.ship.acceptSignal({ signal: 'validated', library: 'sentence-transformers', token: ${J(token)}, passed: true })`)).toEqual({ accepted: true, reasons: [], next: 'handoff.handOver' })
    expect(await w.run('return genesis.ship.lastAttempt().status')).toBe('signal_accepted')
  })

  it('keeps the libraries it wants', async () => {
    expect(await w.run("return genesis.ship.requestLibrary('zeromq')")).toEqual({ requested: false, reason: 'zeromq is already aboard' })
    expect(await w.run("return genesis.ship.pending().map((p) => p.name)")).toEqual(['sentence-transformers'])
    expect(await w.run("return genesis.ship.requestLibrary('faiss-cpu', 'vector index')")).toEqual({ requested: true, pending: 2 })
  })
})

describe('chapter 9: environmental adaptation (plan)', () => {
  const plan = async (p: HardwareProfile) => await w.run(`return genesis.monitor.plan(${J(p)})`) as { adapters: number; mode: string; reasoning: string[]; fallback?: { runtime: string; threads: number }; adapter_budget_mb: number }

  it('plans ONE adapter at 8 GB of VRAM, THREE at 24 GB, none without a GPU, with the reasoning', async () => {
    const small = await plan(laptop8)
    expect(small.adapters).toBe(1)
    expect(small.mode).toBe('gpu')
    expect(small.reasoning.join('\n')).toMatch(/8192 MB free; 819 MB headroom, 4096 MB base model, room for 1 facet/)
    const big = await plan(workstation24)
    expect(big.adapters).toBe(3)
    expect(big.reasoning.join('\n')).toMatch(/capped at 3/)
    expect(big.adapter_budget_mb).toBe(3 * 2304)
    expect(small.adapter_budget_mb).toBe(2304)
    const none = await plan(cpuOnly)
    expect(none.adapters).toBe(0)
    expect(none.mode).toBe('cpu')
    expect(none.fallback).toMatchObject({ runtime: expect.stringMatching(/llama\.cpp/), threads: 12 })
    expect(none.reasoning.join('\n')).toMatch(/CPU-only fallback/)
  })

  it('reserves headroom, plans with free VRAM rather than total, and uses several GPUs', async () => {
    expect((await plan({ ...laptop8, gpus: [gpu('RTX 3070', 8192, 1400)] })).adapters).toBe(0)
    expect((await plan({ ...laptop8, gpus: [gpu('RTX 2060', 6144)] })).adapters).toBe(0)
    expect((await plan({ ...laptop8, gpus: [gpu('RTX 4060', 4096)] })).mode).toBe('cpu')
    expect((await plan({ ...laptop8, gpus: [gpu('A', 8192), gpu('B', 8192)] })).adapters).toBe(2)
    expect((await plan({ ...laptop8, gpus: [gpu('A', 8192), gpu('B', 24576)] })).adapters).toBe(3)
    expect((await plan({ memory: { totalMb: 4096, freeMb: 900 }, cpus: { count: 4, model: 'ARM' }, gpus: [] })).mode).toBe('remote')
    expect(await w.run('return genesis.monitor.compare()')).toMatchObject({ laptop_8gb: { adapters: 1 }, workstation_24gb: { adapters: 3 }, cpu_only: { adapters: 0, mode: 'cpu' }, busy_desktop_8gb: { adapters: 0 }, lab_dual_gpu: { adapters: 3 } })
  })

  it('chooses which facets to keep, decides when to re-adapt, and explains itself', async () => {
    const order = await w.run('return genesis.monitor.priority()') as string[]
    expect(order.slice(0, 3).sort()).toEqual(['society_coder', 'society_critic', 'society_planner'])
    expect(await w.run('return genesis.monitor.choose(1)')).toEqual([order[0]])
    expect(await w.run(`return genesis.monitor.needsReadapt(${J(laptop8)}, ${J(workstation24)})`)).toEqual({ readapt: true, reasons: ['adapters 1 -> 3', 'GPUs [NVIDIA GeForce RTX 3070] -> [NVIDIA GeForce RTX 4090]'] })
    expect(await w.run(`return genesis.monitor.needsReadapt(${J(laptop8)}, ${J({ ...laptop8, gpus: [gpu('NVIDIA GeForce RTX 3070', 8192, 200)] })}).readapt`)).toBe(false)
    expect(await w.run(`return genesis.monitor.explain(${J(cpuOnly)})`)).toMatch(/^BABS: .*no GPU\.\nALFRED: /)
    expect(await w.run(`return genesis.monitor.describe(${J(workstation24)})`)).toContain('24576 of 24576 MB VRAM free')
  })
})

describe('chapter 9: environmental adaptation (with the machine and an LLM)', () => {
  let llm: FakeLlm
  let v: CurriculumWorld
  beforeAll(async () => {
    llm = await startFakeLlm((_req, n) => ({ content: `stage answer ${n}` }), { lora: true })
    v = await curriculumWorld({ llmUrl: llm.url, profile: workstation24 })
  }, 300_000)
  afterAll(async () => { await v?.dispose(); await llm?.close() })

  it('profile() answers the machine as the system capability sees it', async () => {
    expect(await v.run('return await genesis.monitor.profile()')).toEqual(workstation24)
    expect(await v.run('return genesis.monitor.last_profile')).toEqual(workstation24)
  })

  it('adapts to the 24 GB machine by loading three adapters into the LLM server, and back down', async () => {
    expect(llm.adapters.size).toBe(0)
    const r = await v.run('return await genesis.monitor.adapt()') as { adapters: number; loaded: string[] }
    expect(r.adapters).toBe(3)
    expect(llm.adapters.size).toBe(3)
    expect([...llm.adapters.keys()].sort()).toEqual(['society_coder', 'society_critic', 'society_planner'])
    expect(llm.adapters.get('society_planner')).toBe('/adapters/society_planner')
    // The weaver's budget is exactly the chosen adapters' VRAM, so its LRU cache holds the planned set.
    const adapterVram = await v.run("return ['society_planner', 'society_critic', 'society_coder'].reduce((a, id) => a + genesis.weaver.vramOf(id), 0)")
    expect(await v.run('return genesis.weaver.vram_budget_mb')).toBe(adapterVram)
    expect((await v.run('return genesis.weaver.loaded') as string[]).sort()).toEqual(['society_coder', 'society_critic', 'society_planner'])
    const down = await v.run(`return await genesis.monitor.adapt(${J(laptop8)})`) as { loaded: string[]; unloaded: string[] }
    expect(down.loaded.length).toBe(1)
    expect(down.unloaded.length).toBe(2)
    expect([...llm.adapters.keys()]).toEqual(down.loaded)
    await v.run(`return await genesis.monitor.adapt(${J(cpuOnly)})`)
    expect(llm.adapters.size).toBe(0)
    expect(await v.run('return [genesis.weaver.vram_budget_mb, genesis.weaver.loaded]')).toEqual([0, []])
    expect(await v.run('return genesis.monitor.history.map((h) => h.adapters)')).toEqual([3, 1, 0])
  })

  it('reconciles: adapts when the machine differs from the last adaptation, and only then', async () => {
    const first = await v.run('return await genesis.monitor.reconcile()') as { adapted: boolean; loaded: string[] }
    expect(first.adapted).toBe(true)
    expect(llm.adapters.size).toBe(3)
    expect(await v.run('return await genesis.monitor.reconcile()')).toEqual({ adapted: false, reasons: ['nothing changed that moves a facet'] })
  })

  it('convenes the society: one chat per pipeline stage, each asking for its adapter, each fed the last answer', async () => {
    const before = llm.chatRequests.length
    const t = await v.run("return await genesis.society.convene('multi_step_refactor', 'rename loadFacet')") as { facet_id: string; answer: string }[]
    expect(t.map((s) => s.facet_id)).toEqual(['society_planner', 'society_coder', 'society_critic'])
    const reqs = llm.chatRequests.slice(before)
    expect(reqs.map((r) => r.body.model)).toEqual(['society_planner', 'society_coder', 'society_critic'])
    expect(reqs[1]!.body.messages[1].content).toContain(t[0]!.answer)
  })
})
