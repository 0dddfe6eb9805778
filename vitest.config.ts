import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native addons (classic-level, zeromq) and child processes are happier in forks than in worker threads.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // vitest's own report, then one plain `N passed, N failed` line that CI can count.
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
})
