import type { Reporter, TestModule } from 'vitest/node'

/**
 * One plain closing line after vitest's own summary: `tests: N passed, N failed, N skipped`.
 * CI machines read that form of line in any language's output to count what ran; vitest's own
 * summary is a table they do not read. A module that failed to load counts as one failure.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0
    let failed = 0
    let skipped = 0
    for (const m of testModules) {
      if (m.state() === 'failed' && m.children.size === 0) failed++
      for (const t of m.children.allTests()) {
        const state = t.result().state
        if (state === 'passed') passed++
        else if (state === 'failed') failed++
        else skipped++
      }
    }
    const errors = unhandledErrors.length > 0 ? `\nunhandled errors: ${unhandledErrors.length}` : ''
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped${errors}\n`)
  }
}
