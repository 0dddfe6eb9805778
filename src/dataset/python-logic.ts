import type { Turn } from '../genesis/index.js'
import type { PythonCheck, PythonChecker } from './python.js'
import type { LineResult } from './result.js'

/** What the seeds' Python acts use without defining it (seed 002's bootstrap namespace). */
export const PYTHON_SEED_GLOBALS = ['genesis_object', 'UvmObject', 'root', 'connection', 'transaction', 'self']

/**
 * Stages 3 and 4 of a line in the seeds' Python form: each act through Python's own `ast.parse` (the
 * one long-lived checker), then the seed's heuristics: a name read or an object modified was defined
 * by this turn or an earlier one, is a builtin, or is one of the seed's globals.
 */
export async function checkPythonLine(line: number, turns: readonly Turn[], python: PythonChecker, cache: Map<string, Promise<PythonCheck>>, codes: { parsed: number; cached: number }): Promise<LineResult> {
  const checks = turns.map((t) => {
    let p = cache.get(t.code)
    if (p !== undefined) codes.cached++
    else {
      codes.parsed++
      p = python.check(t.code)
      cache.set(t.code, p)
      if (cache.size > 20_000) cache.delete(cache.keys().next().value!)
    }
    return p
  })
  const answers = await Promise.all(checks)
  const defined = new Set<string>([...python.builtins, ...PYTHON_SEED_GLOBALS])
  for (let t = 0; t < answers.length; t++) {
    const a = answers[t]!
    if (!a.ok) return { line, ok: false, stage: 'syntax', turn: t + 1, reason: `turn ${t + 1} (line ${a.line}, column ${a.column}): ${a.message}` }
  }
  for (let t = 0; t < answers.length; t++) {
    const a = answers[t] as PythonCheck & { ok: true }
    const here = new Set([...defined, ...a.defined])
    const used = a.used.find((u) => !here.has(u.name))
    if (used !== undefined) return { line, ok: false, stage: 'logic', turn: t + 1, reason: `turn ${t + 1} (line ${used.line}, column ${used.column}): '${used.name}' is not defined by this turn or an earlier one, and is not a builtin or a seed global (${PYTHON_SEED_GLOBALS.join(', ')})` }
    const mod = a.modified.find((m) => !here.has(m.name))
    if (mod !== undefined) return { line, ok: false, stage: 'logic', turn: t + 1, reason: `turn ${t + 1} (line ${mod.line}, column ${mod.column}): '${mod.name}' is modified but no earlier turn created it` }
    for (const d of a.defined) defined.add(d)
  }
  return { line, ok: true, turns: turns.length }
}
