import { ConversationLine, lineProblem, turnOf } from '../genesis/index.js'
import type { Turn } from '../genesis/index.js'
import { UvmError } from '../errors.js'
import type { ActAnalysis } from './js-analysis.js'
import { analyseAct } from './js-analysis.js'
import type { Knowledge, KnowledgeIndex } from './knowledge.js'
import { indexKnowledge, missingStep, pathExists } from './knowledge.js'
import type { LineResult } from './result.js'
import { shownPath } from './result.js'

export type SyntaxMode = 'js' | 'python'

export interface LineCheckerOptions {
  knowledge: Knowledge
  /** Names an act may use without declaring them: the act bindings, the capabilities, the realm's intrinsics. */
  globals: readonly string[]
  syntax?: SyntaxMode
  /** Code strings whose analysis is kept (a code seen before is not parsed again). */
  cacheSize?: number
}

/** A line after stages 1-4 (1-2 with `--syntax python`): its result, and its turns when it passed. */
export interface CheckedLine {
  result: LineResult
  turns?: Turn[]
  /** `meta.chapter`, when the line says which chapter it belongs to. */
  chapter?: number
}

/**
 * Stages 1-4 for one line at a time, with no I/O: the same object runs in each worker thread and,
 * for a handful of lines (generate's candidates), in the caller's own thread.
 */
export class LineChecker {
  readonly #knowledge: KnowledgeIndex
  readonly #globals: ReadonlySet<string>
  readonly #syntax: SyntaxMode
  readonly #cache = new Map<string, ActAnalysis>()
  readonly #cacheSize: number
  /** Code strings parsed, and code strings answered from the cache. */
  readonly codes = { parsed: 0, cached: 0 }

  constructor(opts: LineCheckerOptions) {
    this.#knowledge = indexKnowledge(opts.knowledge)
    this.#globals = new Set(opts.globals)
    this.#syntax = opts.syntax ?? 'js'
    this.#cacheSize = opts.cacheSize ?? 20_000
  }

  check(text: string, line: number): CheckedLine {
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (e) {
      return fail(line, 'json', `not JSON: ${(e as Error).message}`)
    }
    let parsed: ReturnType<typeof ConversationLine.safeParse>
    try {
      parsed = ConversationLine.safeParse(json)
    } catch (e) {
      return fail(line, 'schema', `the line cannot be checked: ${(e as Error).message}`)
    }
    if (!parsed.success) {
      const p = lineProblem(parsed.error, json)
      return fail(line, 'schema', `${p.path !== '' ? p.path + ': ' : ''}${p.message}`)
    }
    const messages = parsed.data.messages
    const turns: Turn[] = []
    for (let i = 0; i + 1 < messages.length; i += 2) {
      const a = messages[i]!, j = messages[i + 1]!
      if (a.role !== 'architect' || j.role !== 'uvm_jit') continue
      try {
        turns.push(turnOf(a.content, j.content))
      } catch (e) {
        // A declarative act the schema accepts but that cannot become code (a method that is not one function).
        if (e instanceof UvmError && e.code === 'DATASET_BAD_ACT') return fail(line, 'schema', `messages.${i + 1}.content.autopoietic_act: ${e.message}`)
        throw e
      }
    }
    const chapter = parsed.data.meta?.chapter
    const ok = (): CheckedLine => ({ result: { line, ok: true, turns: turns.length }, turns, ...(chapter !== undefined && { chapter }) })
    if (this.#syntax === 'python') return ok()
    const analyses: (ActAnalysis & { ok: true })[] = []
    for (let t = 0; t < turns.length; t++) {
      const a = this.#analyse(turns[t]!.code)
      if (!a.ok) return fail(line, 'syntax', `turn ${t + 1} (line ${a.line}, column ${a.column}): ${a.message}`, t + 1)
      analyses.push(a)
    }
    const why = this.#logic(analyses)
    if (why !== undefined) return fail(line, 'logic', why.message, why.turn)
    return ok()
  }

  #analyse(code: string): ActAnalysis {
    const hit = this.#cache.get(code)
    if (hit !== undefined) {
      this.codes.cached++
      return hit
    }
    this.codes.parsed++
    let a: ActAnalysis
    try {
      a = analyseAct(code)
    } catch (e) {
      // acorn recurses: an act nested past the stack cannot be parsed (nor run); a line's failure, not the run's.
      a = { ok: false, code: 'ACT_SYNTAX', message: `the act cannot be parsed: ${(e as Error).message}`, line: 1, column: 1 }
    }
    this.#cache.set(code, a)
    if (this.#cache.size > this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value!)
    return a
  }

  /** Stage 4: every name is declared, a global or a capability; every object used was made earlier, or is in the base. */
  #logic(analyses: readonly (ActAnalysis & { ok: true })[]): { turn: number; message: string } | undefined {
    const created = new Set<string>()
    const declaredIn = new Map<string, number>()
    for (let t = 0; t < analyses.length; t++) {
      const a = analyses[t]!
      for (const f of a.free) {
        if (this.#globals.has(f.name)) continue
        const earlier = declaredIn.get(f.name)
        const hint = earlier !== undefined
          ? `: turn ${earlier} declared it, but every act has its own scope (reach what it made through the graph, e.g. prototypes.${f.name})`
          : `: not declared in this act, and not an act binding (root, genesis, prototypes, UvmObject, print), a capability or a JavaScript global`
        return { turn: t + 1, message: `turn ${t + 1} (line ${f.line}, column ${f.column}): '${f.name}' is not defined${hint}` }
      }
      const here = new Set<string>()
      let next = 0
      const creates = [...a.creates].sort((x, y) => x.at - y.at)
      for (const o of [...a.objects].sort((x, y) => x.at - y.at)) {
        while (next < creates.length && creates[next]!.at < o.at) here.add(creates[next++]!.key)
        if (created.has(o.key) || here.has(o.key)) continue
        if (pathExists(this.#knowledge, o.key, unionView(created, here))) continue
        const step = missingStep(this.#knowledge, o.key)
        const base = step === undefined ? '' : `, and the base image's ${shownPath(step.at)} has no slot '${step.slot}'`
        return { turn: t + 1, message: `turn ${t + 1} (line ${o.line}, column ${o.column}): ${o.display} does not exist: no earlier turn makes it${base}` }
      }
      for (const c of a.creates) created.add(c.key)
      for (const d of a.declared) if (!declaredIn.has(d)) declaredIn.set(d, t + 1)
    }
    return undefined
  }
}

function fail(line: number, stage: LineResult['stage'], reason: string, turn?: number): CheckedLine {
  return { result: { line, ok: false, stage, reason: printable(reason), ...(turn !== undefined && { turn }) } }
}

/** A reason quotes the line (acorn names the character it stopped at): control characters are shown escaped, one line of text. */
function printable(reason: string): string {
  // eslint-disable-next-line no-control-regex
  return reason.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Two sets read as one, without copying (pathExists asks `has` only). */
function unionView(a: ReadonlySet<string>, b: ReadonlySet<string>): ReadonlySet<string> {
  return { has: (k: string) => a.has(k) || b.has(k) } as ReadonlySet<string>
}
