// The REPL's source work (src/cli/repl-source.ts): finished, unfinished or wrong; the act an input becomes.
import { describe, expect, it } from 'vitest'
import { caret, checkInput, prepare } from '../../src/cli/repl-source.js'

const program = (code: string) => {
  const c = checkInput(code)
  if (c.kind !== 'complete') throw new Error(`not complete: ${JSON.stringify(c)}`)
  return c.program
}

describe('checkInput', () => {
  it('an error at the end of the input means unfinished; any other is a syntax error with its place', () => {
    for (const code of ['x =', 'if (a) {', 'f(1,', '`open', '/* open', 'const o = {\n  a: 1,']) expect(checkInput(code).kind, code).toBe('incomplete')
    expect(checkInput('x =\n1 }')).toEqual({ kind: 'error', message: 'Unexpected token', line: 2, column: 3 })
    expect(checkInput('return ()')).toMatchObject({ kind: 'error', line: 1, column: 9 })
    expect(checkInput('"unterminated')).toMatchObject({ kind: 'error' })
    for (const code of ['await 1', 'return 2', 'x = 1 // done', '({a: 1})']) expect(checkInput(code).kind, code).toBe('complete')
  })

  it('caret: the line, and a caret under the column (tabs kept)', () => {
    expect(caret('a\n\tb = )', 2, 6)).toBe('  \tb = )\n  \t    ^')
    expect(caret('x', 3, 1)).toBeUndefined()
  })
})

describe('prepare', () => {
  it('without a session: the trailing expression statement is returned, parentheses and all', () => {
    expect(prepare('(function f() {})', program('(function f() {})')).code).toBe('return ((function f() {}))')
    expect(prepare('x = 1; x + 1;', program('x = 1; x + 1;')).code).toBe('x = 1; return (x + 1);')
    expect(prepare('if (a) { 1 }', program('if (a) { 1 }')).code).toBe('if (a) { 1 }')
  })

  it('with a session: declarations become var, every own return answers the names, functions are kept by source', () => {
    const code = 'let q = 1\nconst [a] = [2]\nfunction sq(x) { return x * x }\nif (q) return q\nclass C {}\nq + a'
    const p = prepare(code, program(code), { names: ['old'], functions: { keep: 'function keep() { return 1 }' } })
    expect(p.declared).toEqual(['q', 'a', 'C'])
    expect(p.functions).toEqual({ sq: 'function sq(x) { return x * x }' })
    expect(p.captures).toEqual(['old', 'q', 'a', 'C'])
    expect(p.code).toBe([
      'var q = 1',
      'var   [a] = [2]',
      'function sq(x) { return x * x }', // its own return is the function's, not the act's
      'if (q) return [q, {old, q, a, C}]',
      'var C = class C {}',
      'return [(q + a), {old, q, a, C}]',
      ';return [undefined, {old, q, a, C}]',
      'function keep() { return 1 }',
    ].join('\n'))
  })

  it('maps a position in the act back to the input', () => {
    const code = 'let q = 1\nq + nope'
    const p = prepare(code, program(code), { names: [], functions: {} })
    // `nope` is at line 2, column 13 of the act (after `return [(`): column 5 of what was typed.
    expect(p.code.split('\n')[1]).toBe('return [(q + nope), {q}]')
    expect(p.toInput(2, 14)).toEqual({ line: 2, column: 5 })
    expect(p.toInput(1, 1)).toEqual({ line: 1, column: 1 })
  })
})
