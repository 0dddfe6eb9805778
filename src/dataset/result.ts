/** The stages a line goes through, in order; a line stops at its first failure. */
export const STAGES = ['json', 'schema', 'syntax', 'logic', 'execute'] as const
export type Stage = (typeof STAGES)[number]

/** What validation says of one line (blank lines are not counted). */
export interface LineResult {
  /** 1-based line number in the file. */
  line: number
  ok: boolean
  /** The stage it failed at. */
  stage?: Stage
  /** What is wrong, specifically enough to fix it. */
  reason?: string
  /** The turn (1-based act) the failure is in, when it is in one. */
  turn?: number
  /** Acts in the conversation, when it got that far. */
  turns?: number
  /** Judge scores, when judged, and the judge's reasons for them. */
  scores?: Record<string, number>
  rationale?: string
}

export interface StageCount {
  passed: number
  failed: number
}

/** The run's totals: every line read, and at each stage how many passed and failed it. */
export interface Summary {
  file: string
  read: number
  passed: number
  failed: number
  stages: Partial<Record<Stage, StageCount>>
  seconds: number
  linesPerSecond: number
  /** Act strings parsed, and those answered from the cache (a code seen before is not parsed again). */
  codes: { parsed: number; cached: number }
  /** Stage 5's own rate, when it ran. */
  execute?: { conversations: number; seconds: number; perSecond: number }
}

/** `root.genesis.prototypes.Dog` as an act writes it: `prototypes.Dog`. */
export function shownPath(key: string): string {
  return key.replace(/^root\.genesis\.prototypes(?=\.|$)/, 'prototypes').replace(/^root\.genesis(?=\.|$)/, 'genesis')
}

/** Count a result into the per-stage totals: it passed every stage before its failure (or all that ran). */
export function countResult(stages: Partial<Record<Stage, StageCount>>, r: LineResult, ran: readonly Stage[]): void {
  for (const s of ran) {
    const c = (stages[s] ??= { passed: 0, failed: 0 })
    if (r.ok || s !== r.stage) c.passed++
    else { c.failed++; return }
  }
}
