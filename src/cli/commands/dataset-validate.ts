import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { LocalBackend } from '../../bridge/index.js'
import type { Backend } from '../../bridge/index.js'
import { standardCapabilities } from '../../daemon/index.js'
import { actGlobals, FileWriter, genesisKnowledge, PythonChecker, ScratchImages, STAGES, validateFile } from '../../dataset/index.js'
import type { CapabilityFactory, LineResult, Summary } from '../../dataset/index.js'
import { Curriculum } from '../../genesis/index.js'
import { intOption, parse } from '../args.js'
import { rateBar } from '../progress.js'
import type { Io } from '../usage.js'
import { UsageError } from '../usage.js'

/** Failures printed before the rest are only counted (the report holds them all). */
const SHOWN_FAILURES = 50

export const VALIDATE_OPTIONS = {
  execute: { type: 'boolean' },
  base: { type: 'string' },
  out: { type: 'string' },
  report: { type: 'string' },
  jobs: { type: 'string' },
  syntax: { type: 'string' },
  curriculum: { type: 'string' },
  json: { type: 'boolean' },
} as const

/** The scratch images' capabilities: the daemon's, with forge jobs in a folder thrown away afterwards. */
export function scratchCapabilities(forgeDir: string): CapabilityFactory {
  return (image, realm) => {
    let backend: Backend | undefined
    const caps = standardCapabilities(realm, image.kernel, () => backend!, { forgeDir })
    backend = new LocalBackend(image, realm)
    return caps()
  }
}

export async function validateCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, VALIDATE_OPTIONS, 'dataset')
  if (positionals.length === 0) throw new UsageError('missing the file: uvm dataset validate FILE.jsonl', 'dataset')
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}" (one file at a time)`, 'dataset')
  const file = resolve(positionals[0]!)
  const syntax = values.syntax ?? 'js'
  if (syntax !== 'js' && syntax !== 'python') throw new UsageError(`--syntax takes js or python, got "${syntax}"`, 'dataset')
  const jobs = intOption(values.jobs, 'jobs', 'dataset', 1) ?? availableParallelism()
  // Each worker is a thread with its own heap: past a few per core they only cost memory.
  if (jobs > 64) throw new UsageError(`--jobs takes 1 to 64 worker threads (this machine has ${availableParallelism()} cores), got ${jobs}`, 'dataset')
  for (const [flag, path] of [['--out', values.out], ['--report', values.report]] as const) {
    if (path !== undefined && resolve(path) === file) throw new UsageError(`${flag} ${path} is the input file: give another path`, 'dataset')
  }
  if (values.out !== undefined && values.report !== undefined && resolve(values.out) === resolve(values.report)) throw new UsageError('--out and --report name the same file: give each its own', 'dataset')
  if (values.execute === true && syntax === 'python') io.err('uvm dataset: --execute does not apply to --syntax python (the acts are Python, and this UVM runs JavaScript); stages 1-4 only')
  const execute = values.execute === true && syntax === 'js'
  const curriculumDir = values.curriculum ?? io.env.UVM_CURRICULUM
  const curriculum = Curriculum.load(curriculumDir === undefined ? undefined : resolve(curriculumDir))
  const forgeDir = execute ? await mkdtemp(join(tmpdir(), 'uvm-dataset-forge-')) : undefined
  let python: PythonChecker | undefined
  const writers: FileWriter[] = []
  try {
    const scratch = execute ? await ScratchImages.open({ base: values.base === undefined ? undefined : resolve(values.base), curriculum, capabilities: scratchCapabilities(forgeDir!) }) : undefined
    const knowledge = scratch?.knowledge ?? (values.base !== undefined ? (await ScratchImages.open({ base: resolve(values.base) })).knowledge : await genesisKnowledge(curriculum))
    if (syntax === 'python') python = await PythonChecker.start({ python: io.env.UVM_PYTHON ?? 'python3' })
    const out = values.out !== undefined ? await FileWriter.open(values.out) : undefined
    const report = values.report !== undefined ? await FileWriter.open(values.report) : undefined
    for (const w of [out, report]) if (w) writers.push(w)
    await report?.write(`{"file":${JSON.stringify(file)},"options":${JSON.stringify({ execute, syntax, jobs, base: values.base ?? (execute ? 'genesis' : 'genesis (static)') })},"lines":[\n`)
    let firstReported = true
    let shown = 0
    const bar = rateBar('validate')
    const onLine = async (r: LineResult, text: string) => {
      if (r.ok) await out?.write(text + '\n')
      else if (shown++ < SHOWN_FAILURES && values.json !== true) io.out(`line ${r.line}: ${r.stage}: ${r.reason}`)
      if (report) {
        await report.write((firstReported ? '' : ',\n') + JSON.stringify(r))
        firstReported = false
      }
    }
    let summary: Summary
    try {
      summary = await validateFile(file, { jobs, syntax, knowledge, globals: actGlobals(), python, execute: scratch, onLine, onProgress: bar })
    } finally {
      bar.done()
    }
    await report?.write(`\n],"summary":${JSON.stringify(summary)}}\n`)
    if (values.json === true) io.out(JSON.stringify(summary))
    else io.out(summaryText(summary, shown, scratch?.label))
    return summary.failed > 0 ? 1 : 0
  } finally {
    for (const w of writers) await w.close()
    await python?.close()
    if (forgeDir !== undefined) await rm(forgeDir, { recursive: true, force: true })
  }
}

/** The summary table, then one line of totals. */
export function summaryText(s: Summary, failuresSeen: number, base?: string): string {
  const rows = STAGES.filter((st) => s.stages[st] !== undefined).map((st) => `${st.padEnd(8)} ${String(s.stages[st]!.passed).padStart(8)} ${String(s.stages[st]!.failed).padStart(8)}`)
  const more = failuresSeen > SHOWN_FAILURES ? [`… and ${failuresSeen - SHOWN_FAILURES} more failures (--report FILE lists them all)`] : []
  const exec = s.execute ? `; execute: ${s.execute.conversations} conversations in ${s.execute.seconds.toFixed(1)} s (${s.execute.perSecond.toFixed(1)}/s) on ${base}` : ''
  return [
    ...more,
    `${'stage'.padEnd(8)} ${'passed'.padStart(8)} ${'failed'.padStart(8)}`,
    ...rows,
    `${s.read} lines read: ${s.passed} passed, ${s.failed} failed in ${s.seconds.toFixed(2)} s (${Math.round(s.linesPerSecond)} lines/s; ${s.codes.parsed} acts parsed, ${s.codes.cached} seen before)${exec}`,
  ].join('\n')
}
