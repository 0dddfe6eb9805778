/**
 * Source work for the sandbox, done with acorn before anything reaches V8:
 * deciding which form a method source has, rewriting it into one strict
 * function expression, and refusing module syntax (`import()`, `import.meta`).
 *
 * Every text handed to V8 is a *compile body* (see `BODY_HEAD`) that acorn has
 * parsed and whose shape was checked: exactly one parenthesised function
 * expression is returned, nothing else. Source that tries to close the
 * wrapper early (`}) ; evil(); (function () {`) fails that check, so the
 * wrapper call that yields the function never runs user code.
 *
 * Positions are 1-based line and 1-based column (UTF-16 units), like V8 stack
 * traces and editors. Lines always match the original source; columns match
 * too except on the line(s) holding a rewritten function header.
 */
import { parse, type Node, type Options } from 'acorn'
import { children, instrument, RESERVED_PREFIX, type Instrumented } from './instrument.js'

/** Line 1 of every compile body; user text starts on line 2, so compile with lineOffset -1. */
export const BODY_HEAD = '"use strict"; return ('

const OPTIONS: Options = {
  ecmaVersion: 'latest',
  sourceType: 'script',
  allowReturnOutsideFunction: true,
  // Lets `import.meta` and `import x from` parse so they are refused as ACT_FORBIDDEN, not as syntax errors.
  allowImportExportEverywhere: true,
  preserveParens: true,
  locations: true,
}

/** A problem located in the user's source (1-based line and column). */
export class SourceProblem extends Error {
  constructor(message: string, readonly line: number, readonly column: number, readonly forbidden = false) {
    super(message)
  }
}

// acorn's node types are a union too wide to narrow usefully here; the shape checks below read fields by name.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyNode = Node & Record<string, any>

interface AcornError { message: string; pos: number; loc?: { line: number; column: number } }

function isAcornError(e: unknown): e is AcornError {
  return e instanceof Error && typeof (e as unknown as AcornError).pos === 'number'
}

const LINE_BREAK = /\r\n|[\n\r\u2028\u2029]/

/** Map a position in a compile body (user text from body line 2) to the user's source, clamped into it. */
export function toSource(source: string, bodyLine: number, bodyColumn0: number): { line: number; column: number } {
  const lines = source.split(LINE_BREAK)
  const line = bodyLine - 1
  if (line < 1) return { line: 1, column: 1 }
  if (line > lines.length) return { line: lines.length, column: lines[lines.length - 1]!.length + 1 }
  return { line, column: Math.min(bodyColumn0, lines[line - 1]!.length) + 1 }
}

function refuseModuleSyntax(program: AnyNode, source: string): void {
  const stack = [program]
  while (stack.length > 0) {
    const n = stack.pop()!
    let why: string | undefined
    let forbidden = true
    if (n.type === 'ImportExpression') why = 'import() is not available in the sandbox'
    else if (n.type === 'MetaProperty' && n.meta?.name === 'import') why = 'import.meta is not available in the sandbox'
    else if (n.type === 'ImportDeclaration') why = 'import declarations are not available in the sandbox'
    else if (n.type.startsWith('Export')) { why = "'export' is only valid in a module"; forbidden = false }
    else if (n.type === 'Identifier' && typeof n.name === 'string' && n.name.startsWith(RESERVED_PREFIX)) why = `names starting with '${RESERVED_PREFIX}' are reserved for the UVM`
    if (why !== undefined) {
      const { line, column } = toSource(source, n.loc?.start.line ?? 2, n.loc?.start.column ?? 0)
      throw new SourceProblem(why, line, column, forbidden)
    }
    stack.push(...children(n))
  }
}

/**
 * Parse a compile body and return its program, or throw: the body must be
 * exactly `BODY_HEAD` + one function expression + `)`, free of module syntax.
 */
function checkBody(body: string, source: string): AnyNode {
  const parsed = tryParse(body, source)
  if ('problem' in parsed) throw parsed.problem
  const { program } = parsed
  const fn = returnedExpression(program, body)
  if (fn?.type !== 'FunctionExpression') {
    throw new SourceProblem('source does not form a single function (unbalanced braces or parentheses?)', 1, 1)
  }
  refuseModuleSyntax(program, source)
  return program
}

/** The expression inside our own `return ( ... )`, when the program is exactly that. */
function returnedExpression(program: AnyNode, body: string): AnyNode | undefined {
  const [directive, ret] = program.body as AnyNode[]
  if (program.body.length !== 2 || directive?.directive !== 'use strict' || ret?.type !== 'ReturnStatement') return undefined
  const paren = ret.argument as AnyNode | null
  if (paren?.type !== 'ParenthesizedExpression' || paren.start !== BODY_HEAD.length - 1 || paren.end !== body.length) return undefined
  return paren.expression as AnyNode
}

function tryParse(body: string, source: string): { program: AnyNode } | { problem: SourceProblem; pos: number } {
  try {
    return { program: parse(body, OPTIONS) as AnyNode }
  } catch (e) {
    if (!isAcornError(e)) throw e
    const { line, column } = toSource(source, e.loc?.line ?? 2, e.loc?.column ?? 0)
    return { problem: new SourceProblem(e.message.replace(/ \(\d+:\d+\)$/, ''), line, column), pos: e.pos }
  }
}

const KEEP_LINES = /[^\n\r\u2028\u2029]/g
const NEWLINES = /\r\n|[\n\r\u2028\u2029]/g

function newlines(text: string): string {
  return '\n'.repeat(text.match(NEWLINES)?.length ?? 0)
}

/** Binding identifiers declared by a parameter pattern. */
function boundNames(p: AnyNode | null, out: AnyNode[] = []): AnyNode[] {
  if (p === null) return out
  switch (p.type) {
    case 'Identifier': out.push(p); break
    case 'AssignmentPattern': boundNames(p.left, out); break
    case 'RestElement': boundNames(p.argument, out); break
    case 'ArrayPattern': for (const e of p.elements) boundNames(e, out); break
    case 'ObjectPattern': for (const q of p.properties) boundNames(q.type === 'RestElement' ? q : q.value, out); break
  }
  return out
}

function refuseSelfParam(fn: AnyNode, source: string): void {
  for (const param of fn.params as AnyNode[]) {
    for (const id of boundNames(param)) {
      if (id.name === 'self') {
        const { line, column } = toSource(source, id.loc?.start.line ?? 2, id.loc?.start.column ?? 0)
        throw new SourceProblem("a parameter may not be named 'self': the receiver is passed as 'self' in front of the arguments", line, column)
      }
    }
  }
}

/** Index of the `(` opening the parameter list, scanning past keywords, the name and comments. */
function paramParen(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text[i]
    if (c === '(') return i
    if (c === '/' && text[i + 1] === '*') i = text.indexOf('*/', i + 2) + 1
    else if (c === '/' && text[i + 1] === '/') { while (i < text.length && !LINE_BREAK.test(text[i]!)) i++ }
  }
  return -1
}

function withSelf(paramsCount: number): string {
  return paramsCount > 0 ? 'self, ' : 'self'
}

/** Rewrite a function expression or arrow found in `text` to `function (self, ...)`, keeping its lines. */
function rewriteFunction(text: string, fn: AnyNode): string {
  const params = fn.params as AnyNode[]
  if (fn.type === 'FunctionExpression') {
    const open = paramParen(text, fn.start)
    return text.slice(fn.start, open + 1) + withSelf(params.length) + text.slice(open + 1, fn.end)
  }
  // Arrow: a method needs `this`, so it becomes an ordinary function; `x => e` becomes `{ return (e) }`.
  const body = fn.body as AnyNode
  const header = text.slice(fn.start, body.start)
  const paramText = params.length > 0 ? text.slice(params[0]!.start, params[params.length - 1]!.end) : ''
  const head = `${fn.async ? 'async ' : ''}function (self${paramText ? ', ' + paramText : ''}) ` +
    '\n'.repeat(Math.max(0, newlines(header).length - newlines(paramText).length))
  const rest = text.slice(body.start, body.end)
  return head + (fn.expression ? `{ return (${rest}) }` : rest)
}

/** Rewrite `async *name(params) { ... }` (an object-literal method) to `async function* (self, params) { ... }`. */
function rewriteMethod(text: string, prop: AnyNode): string {
  const fn = prop.value as AnyNode
  const open = text[fn.start] === '(' ? fn.start : paramParen(text, fn.start)
  const head = `${fn.async ? 'async ' : ''}function${fn.generator ? '*' : ''} ` + newlines(text.slice(prop.start, open))
  return head + '(' + withSelf((fn.params as AnyNode[]).length) + text.slice(open + 1, fn.end)
}

function unwrapParens(n: AnyNode | undefined): AnyNode | undefined {
  while (n?.type === 'ParenthesizedExpression') n = n.expression as AnyNode
  return n
}

/** Whether a function body awaits at its own top level (not inside nested functions). */
function awaitsAtTopLevel(fn: AnyNode): boolean {
  const stack = [fn.body as AnyNode]
  while (stack.length > 0) {
    const n = stack.pop()!
    if (n.type === 'AwaitExpression' || (n.type === 'ForOfStatement' && n.await)) return true
    if (/Function/.test(n.type) || n.type === 'ClassBody') continue
    stack.push(...children(n))
  }
  return false
}

/**
 * The compile body for a method source: a function expression, an arrow, a
 * method shorthand, or else a bare body of `function (self, ...args)` (async
 * when it awaits at top level). Throws `SourceProblem`.
 */
export function methodBody(source: string): Instrumented {
  const user = BODY_HEAD.length + 1
  const failures: { problem: SourceProblem; pos: number }[] = []
  // Text before the function inside the user's source (trivia, redundant parens): blanked, lines kept.
  const lead = (end: number, sourceStart: number) => source.slice(0, end - sourceStart).replace(KEEP_LINES, ' ')

  const asExpression = BODY_HEAD + '\n' + source + '\n)'
  const expr = tryParse(asExpression, source)
  if ('program' in expr) {
    const fn = unwrapParens(returnedExpression(expr.program, asExpression))
    if (fn?.type === 'FunctionExpression' || fn?.type === 'ArrowFunctionExpression') {
      refuseSelfParam(fn, source)
      return finish(source, lead(fn.start, user) + rewriteFunction(asExpression, fn))
    }
  } else failures.push({ problem: expr.problem, pos: expr.pos - user })

  const asMethod = BODY_HEAD + '{\n' + source + '\n})'
  const method = tryParse(asMethod, source)
  if ('program' in method) {
    const obj = returnedExpression(method.program, asMethod)
    const prop = obj?.type === 'ObjectExpression' && obj.properties.length === 1 ? obj.properties[0] as AnyNode : undefined
    if (prop?.type === 'Property' && prop.method && prop.kind === 'init') {
      refuseSelfParam(prop.value, source)
      return finish(source, lead(prop.start, user + 1) + rewriteMethod(asMethod, prop))
    }
  } else failures.push({ problem: method.problem, pos: method.pos - user - 1 })

  for (const async of [true, false]) {
    const head = `${BODY_HEAD}${async ? 'async ' : ''}function (self, ...args) {`
    const asBody = head + '\n' + source + '\n})'
    const body = tryParse(asBody, source)
    if ('program' in body) {
      const fn = returnedExpression(body.program, asBody)
      if (fn?.type === 'FunctionExpression' && (!async || awaitsAtTopLevel(fn))) {
        refuseModuleSyntax(body.program, source)
        return instrument(asBody, body.program, true)
      }
    } else failures.push({ problem: body.problem, pos: body.pos - head.length - 1 })
  }
  // No form fits: report the parse that got furthest into the source; ties go to the earlier form.
  let best = failures[0]!
  for (const f of failures) if (f.pos > best.pos) best = f
  throw best.problem
}

function finish(source: string, fnText: string): Instrumented {
  const body = BODY_HEAD + '\n' + fnText + '\n)'
  return instrument(body, checkBody(body, source), true)
}

const RESERVED = new Set(('break case catch class const continue debugger default delete do else enum export extends false ' +
  'finally for function if import in instanceof new null return super switch this throw true try typeof var void while ' +
  'with yield let static implements interface package private protected public await eval arguments').split(' '))
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

/** The compile body for an act: the body of `async function (<names>)`. Throws `SourceProblem`, or TypeError for a bad name. */
export function actBody(code: string, names: readonly string[]): Instrumented {
  for (const n of names) {
    if (!IDENTIFIER.test(n) || RESERVED.has(n)) throw new TypeError(`act binding name '${n}' is not a usable identifier`)
  }
  const body = `${BODY_HEAD}async function (${names.join(', ')}) {\n${code}\n})`
  return instrument(body, checkBody(body, code))
}

/**
 * The act's syntax tree, checked exactly as `actBody` checks it before anything runs (a dataset
 * validator reads names and paths from it). The act's body is the function's body; positions are of
 * the compile body: `toSource` maps them to the act's lines. Throws `SourceProblem`.
 */
export function actProgram(code: string): { program: AnyNode; body: AnyNode[] } {
  const text = `${BODY_HEAD}async function () {\n${code}\n})`
  const program = checkBody(text, code)
  const fn = returnedExpression(program, text)!
  return { program, body: (fn.body as AnyNode).body as AnyNode[] }
}

/** Where V8 put a compile-time SyntaxError, from the `file:line` + caret header node adds to its stack. */
export function v8SyntaxPosition(stack: string, source: string, column?: Instrumented['column']): { line: number; column: number } {
  const [where, , carets] = stack.split('\n')
  const line = Number(/:(-?\d+)$/.exec(where ?? '')?.[1])
  const caret = Math.max(carets?.indexOf('^') ?? -1, 0)
  if (!Number.isInteger(line)) return { line: 1, column: 1 }
  // The header's line already has lineOffset -1 applied: it is a source line. V8 points into the
  // compiled text: take the checkpoints and call marks inserted on that line out of its column.
  return toSource(source, line + 1, column === undefined ? caret : column(line + 1, caret + 1) - 1)
}

/**
 * The source line at a 1-based (line, column) with a caret under the column, as compilers show a
 * syntax error. Tabs before the column are kept, so the caret lines up; a long line is cut around it.
 */
export function excerpt(source: string, line: number, column: number): string | undefined {
  const text = source.split(LINE_BREAK)[line - 1]
  if (text === undefined || !Number.isInteger(column) || column < 1) return undefined
  const at = Math.min(column - 1, text.length)
  const from = Math.max(0, at - 60)
  const to = Math.min(text.length, at + 60)
  const shown = (from > 0 ? '…' : '') + text.slice(from, to) + (to < text.length ? '…' : '')
  const pad = (from > 0 ? ' ' : '') + text.slice(from, at).replace(/[^\t]/g, ' ')
  return `${shown}\n${pad}^`
}
