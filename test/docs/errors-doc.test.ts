// Error codes are listed in one place (src/errors.ts) and documented in docs/errors.md: keep them in step.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ErrorCodes } from '../../src/errors.js'

describe('docs/errors.md', () => {
  it('documents every error code, and no code that does not exist', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')
    const documented = [...doc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1])
    expect(documented.sort()).toEqual(Object.keys(ErrorCodes).sort())
  })
})
