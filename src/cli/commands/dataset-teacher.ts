import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { actGlobals, genesisKnowledge, candidateLine, conversationOf, FileWriter, JUDGE_SCHEMA, judgePrompt, LineChecker, parseScores, readLines, SCENARIOS, scenarioChapters, SCORE_NAMES, ScratchImages, CANDIDATE_SCHEMA, teacherPrompt } from '../../dataset/index.js'
import type { LineResult, Stage } from '../../dataset/index.js'
import { ConversationLine, Curriculum, lineProblem } from '../../genesis/index.js'
import { LlmClient } from '../../jit/index.js'
import { intOption, parse } from '../args.js'
import { progressBar } from '../progress.js'
import type { Io } from '../usage.js'
import { UsageError } from '../usage.js'
import { scratchCapabilities } from './dataset-validate.js'

function client(url: string | undefined, flag: string, model: string | undefined, key: string | undefined, timeout: number | undefined): LlmClient {
  if (url === undefined || url === '') throw new UsageError(`${flag} URL is required: an OpenAI-compatible server (e.g. http://127.0.0.1:8000 for vLLM, http://127.0.0.1:11434 for Ollama)`, 'dataset')
  if (model === undefined || model === '') throw new UsageError('--model NAME is required', 'dataset')
  try {
    return new LlmClient({ url, model, ...(key !== undefined && key !== '' && { key }), ...(timeout !== undefined && { timeoutMs: timeout * 1000 }), maxTokens: 4096 })
  } catch (e) {
    throw new UsageError(`${flag}: ${(e as Error).message}`, 'dataset')
  }
}

async function outputTo(path: string | undefined): Promise<{ write(text: string): Promise<void>; close(): Promise<void> }> {
  if (path !== undefined) return FileWriter.open(path)
  return { write: async (t) => { process.stdout.write(t) }, close: async () => {} }
}

/** `uvm dataset generate`: seed 002's Phase 2, a teacher LLM expanding the curriculum, every candidate validated. */
export async function generateCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    teacher: { type: 'string' }, model: { type: 'string' }, key: { type: 'string' }, count: { type: 'string' }, chapter: { type: 'string' },
    out: { type: 'string' }, report: { type: 'string' }, examples: { type: 'string' }, timeout: { type: 'string' }, 'no-execute': { type: 'boolean' }, curriculum: { type: 'string' },
  }, 'dataset')
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`, 'dataset')
  const count = intOption(values.count, 'count', 'dataset', 1)
  if (count === undefined) throw new UsageError('--count N is required: how many candidates to ask the teacher for', 'dataset')
  const chapter = intOption(values.chapter, 'chapter', 'dataset', 1)
  if (chapter !== undefined && SCENARIOS[chapter] === undefined) throw new UsageError(`--chapter ${chapter}: the chapters with scenarios are ${scenarioChapters().join(', ')}`, 'dataset')
  const examples = intOption(values.examples, 'examples', 'dataset', 5) ?? 6
  if (examples > 10) throw new UsageError('--examples takes 5 to 10 golden conversations', 'dataset')
  const teacher = client(values.teacher, '--teacher', values.model, values.key ?? io.env.UVM_LLM_KEY, intOption(values.timeout, 'timeout', 'dataset', 1))
  const dir = values.curriculum ?? io.env.UVM_CURRICULUM
  const curriculum = Curriculum.load(dir === undefined ? undefined : resolve(dir))
  const execute = values['no-execute'] !== true
  const forgeDir = execute ? await mkdtemp(join(tmpdir(), 'uvm-dataset-forge-')) : undefined
  try {
    const scratch = execute ? await ScratchImages.open({ curriculum, capabilities: scratchCapabilities(forgeDir!) }) : undefined
    const checker = new LineChecker({ knowledge: scratch?.knowledge ?? await genesisKnowledge(curriculum), globals: actGlobals() })
    const out = await outputTo(values.out)
    const report = values.report !== undefined ? await FileWriter.open(values.report) : undefined
    const chapters = scenarioChapters(chapter)
    const failed: Partial<Record<Stage | 'teacher', number>> = {}
    const results: (LineResult & { chapter: number; task: string; examples: string[] })[] = []
    let accepted = 0
    const bar = progressBar(io)
    // The client keeps at most two requests in flight; asking for two at a time keeps it busy.
    let next = 0
    const one = async (): Promise<void> => {
      while (next < count) {
        const n = next++
        const ch = chapters[n % chapters.length]!
        const tasks = SCENARIOS[ch]!
        const task = tasks[Math.floor(n / chapters.length) % tasks.length]!
        const prompt = teacherPrompt(curriculum, ch, task, examples)
        let r: LineResult
        let text: string | undefined
        try {
          const reply = await teacher.structured(prompt.messages, { schema: CANDIDATE_SCHEMA, temperature: 0.8 })
          const c = candidateLine(reply.text, { chapter: ch, teacher: reply.model ?? teacher.model ?? values.model! })
          if ('error' in c) r = { line: n + 1, ok: false, stage: 'json', reason: c.error }
          else {
            text = c.text
            const checked = checker.check(c.text, n + 1)
            r = checked.result
            if (r.ok && scratch !== undefined) {
              const o = await scratch.run(conversationOf('generated', n + 1, checked.turns!), ch)
              if (!o.ok) r = { ...r, ok: false, stage: 'execute', reason: o.reason }
            }
          }
        } catch (e) {
          // The message names the server already ("the LLM server at … answered …"); the stage says it was the teacher.
          r = { line: n + 1, ok: false, reason: (e as Error).message }
          failed.teacher = (failed.teacher ?? 0) + 1
        }
        if (r.ok) { accepted++; await out.write(text! + '\n') } else if (r.stage !== undefined) failed[r.stage] = (failed[r.stage] ?? 0) + 1
        results.push({ ...r, chapter: ch, task, examples: prompt.examples })
        bar("generate", results.length, count)
      }
    }
    await Promise.all([one(), one()])
    bar.done()
    await out.close()
    const rate = (100 * accepted) / count
    const summary = { candidates: count, accepted, acceptanceRate: accepted / count, failed, teacher: values.teacher, model: values.model }
    if (report) {
      await report.write(JSON.stringify({ summary, candidates: results.sort((a, b) => a.line - b.line) }) + '\n')
      await report.close()
    }
    for (const r of results.filter((x) => !x.ok).slice(0, 20)) io.err(`candidate ${r.line} (chapter ${r.chapter}): ${r.stage ?? 'teacher'}: ${r.reason}`)
    const why = Object.entries(failed).map(([s, n]) => `${n} at ${s}`).join(', ')
    io.err(`generated ${count} candidate${count === 1 ? '' : 's'} with ${values.model}: ${accepted} accepted (${rate.toFixed(0)}%)${why ? `; rejected: ${why}` : ''}${values.out !== undefined ? `; kept in ${values.out}` : ''}`)
    return accepted > 0 ? 0 : 1
  } finally {
    if (forgeDir !== undefined) await rm(forgeDir, { recursive: true, force: true })
  }
}

/** `uvm dataset judge`: seed 002's LLM-as-a-judge, scores by rubric into the report, `--min-score` filters. */
export async function judgeCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { judge: { type: 'string' }, model: { type: 'string' }, key: { type: 'string' }, 'min-score': { type: 'string' }, out: { type: 'string' }, report: { type: 'string' }, timeout: { type: 'string' } }, 'dataset')
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing the file: uvm dataset judge FILE.jsonl --judge URL --model NAME' : `unexpected argument "${positionals[1]}"`, 'dataset')
  const min = values['min-score'] === undefined ? undefined : Number(values['min-score'])
  if (min !== undefined && !(min >= 1 && min <= 5)) throw new UsageError(`--min-score takes a score from 1 to 5, got "${values['min-score']}"`, 'dataset')
  const judge = client(values.judge, '--judge', values.model, values.key ?? io.env.UVM_LLM_KEY, intOption(values.timeout, 'timeout', 'dataset', 1))
  const file = resolve(positionals[0]!)
  // As generate and export: the kept lines go to --out, or to standard output; the summary to standard error.
  const out = await outputTo(values.out)
  const report = values.report !== undefined ? await FileWriter.open(values.report) : undefined
  let judged = 0, kept = 0, errors = 0
  const sums: Record<string, number> = {}
  await report?.write(`{"file":${JSON.stringify(file)},"judge":${JSON.stringify({ url: values.judge, model: values.model, minScore: min ?? null })},"lines":[\n`)
  let first = true
  try {
    for await (const l of readLines(file)) {
      let r: LineResult
      let line: Record<string, unknown> | undefined
      try {
        line = JSON.parse(l.text) as Record<string, unknown>
      } catch (e) {
        line = undefined
        r = { line: l.line, ok: false, stage: 'json', reason: `not JSON: ${(e as Error).message} (validate the file first: uvm dataset validate)` }
      }
      if (line !== undefined) {
        const shape = ConversationLine.safeParse(line)
        if (!shape.success) {
          const p = lineProblem(shape.error, line)
          r = { line: l.line, ok: false, stage: 'schema', reason: `${p.path !== '' ? p.path + ': ' : ''}${p.message} (validate the file first: uvm dataset validate)` }
          line = undefined
        }
      }
      if (line !== undefined) {
        try {
          const reply = await judge.structured(judgePrompt({ messages: line.messages }), { schema: JUDGE_SCHEMA, temperature: 0 })
          const s = parseScores(reply.text)
          if ('error' in s) r = { line: l.line, ok: false, reason: s.error }
          else {
            const scores = Object.fromEntries(SCORE_NAMES.map((k) => [k, s.scores[k]]))
            judged++
            for (const [k, v] of Object.entries(scores)) sums[k] = (sums[k] ?? 0) + v
            const pass = min === undefined || SCORE_NAMES.every((k) => s.scores[k] >= min)
            r = { line: l.line, ok: pass, scores, rationale: s.scores.rationale, ...(!pass && { reason: `below --min-score ${min}` }) }
            if (pass) {
              kept++
              await out.write(JSON.stringify({ ...line, meta: { ...(line.meta as object | undefined), judge: { model: reply.model ?? values.model, ...scores, rationale: s.scores.rationale } } }) + '\n')
            }
          }
        } catch (e) {
          r = { line: l.line, ok: false, reason: `the judge: ${(e as Error).message}` }
        }
      }
      if (r!.scores === undefined) { errors++; io.err(`line ${l.line}: ${r!.reason}`) }
      if (report) { await report.write((first ? '' : ',\n') + JSON.stringify(r!)); first = false }
    }
    const means = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, Number((v / Math.max(judged, 1)).toFixed(2))]))
    await report?.write(`\n],"summary":${JSON.stringify({ judged, kept, errors, means })}}\n`)
    io.err(`judged ${judged} conversation${judged === 1 ? '' : 's'} with ${values.model}: mean ${SCORE_NAMES.map((k) => `${k} ${means[k] ?? '-'}`).join(', ')}${min !== undefined ? `; ${kept} at or above ${min}` : ''}${errors > 0 ? `; ${errors} could not be judged` : ''}`)
    return errors > 0 ? 1 : 0
  } finally {
    await out.close()
    await report?.close()
  }
}
