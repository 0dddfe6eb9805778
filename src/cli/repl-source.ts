/**
 * Source work on a REPL input before it becomes an act: is it finished, is it valid, and the act it
 * becomes (the trailing expression returned; with a session scope, its top-level declarations kept).
 * acorn parses the input alone, as the body of an async function would be parsed: an error at the
 * very end of the input means it is unfinished; any other error is a syntax error, shown at once.
 */
import { Parser, type Node } from 'acorn'

// acorn's node union is too wide to narrow usefully here; fields are read by name.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyNode = Node & Record<string, any>

const OPTIONS = { ecmaVersion: 'latest', sourceType: 'script', allowAwaitOutsideFunction: true, allowReturnOutsideFunction: true, locations: true } as const

export type InputCheck =
  | { kind: 'complete'; program: AnyNode }
  | { kind: 'incomplete' }
  | { kind: 'error'; message: string; line: number; column: number }

/** Whether an input is a finished act, an unfinished one (more lines may complete it), or a syntax error (1-based line and column). */
export function checkInput(code: string): InputCheck {
  try {
    return { kind: 'complete', program: Parser.parse(code, OPTIONS) as AnyNode }
  } catch (e) {
    const err = e as { message: string; pos?: number; loc?: { line: number; column: number } }
    if (typeof err.pos !== 'number') throw e
    // A template literal or comment still open runs to the end of the input whatever its start.
    if (/^Unterminated (template|comment)/.test(err.message) || err.pos >= code.length) return { kind: 'incomplete' }
    return { kind: 'error', message: err.message.replace(/ \(\d+:\d+\)$/, ''), line: err.loc?.line ?? 1, column: (err.loc?.column ?? 0) + 1 }
  }
}

/** The line of `code` at `line`, with a caret under `column` (both 1-based), indented for a REPL answer. */
export function caret(code: string, line: number, column: number): string | undefined {
  const text = code.split(/\r\n|[\n\r\u2028\u2029]/)[line - 1]
  if (text === undefined) return undefined
  const col = Math.max(1, Math.min(column, text.length + 1))
  // Tabs stay tabs under the caret, so it lines up in any terminal.
  const pad = text.slice(0, col - 1).replace(/[^\t]/g, ' ')
  return `  ${text}\n  ${pad}^`
}

interface Edit { start: number; end: number; text: string }

/** An act made from an input by edits, and how a position in the act maps back to the input. */
export interface Prepared {
  code: string
  /** 1-based line and column in `code` to the same in the input. */
  toInput(line: number, column: number): { line: number; column: number }
  /** Names the act returns with its value (`[value, {name: value}]`); undefined: it returns its value alone. */
  captures?: string[]
  /** Top-level `function` declarations of the input, by name, as written (they are kept by source). */
  functions: Record<string, string>
  /** Other names it declares at top level. */
  declared: string[]
}

/**
 * The act for an input. Without a session (`names` undefined) the trailing expression statement is
 * returned. With one, `let`/`const` at top level become `var` (same length, so columns hold) so the
 * names live in the act's whole body, `class C` becomes `var C = class C`, and every return of the
 * act's own body (and its end) answers `[value, {each session name}]`: the REPL keeps the names for
 * the next input. `functions` are the session's function declarations, appended (they hoist).
 */
export function prepare(code: string, program: AnyNode, session?: { names: string[]; functions: Record<string, string> }): Prepared {
  const edits: Edit[] = []
  const body = program.body as AnyNode[]
  const last = body[body.length - 1]
  const functions: Record<string, string> = {}
  const declared: string[] = []
  // The statement's span, not its expression's: `(f)` has an expression that starts inside the parentheses.
  const expr = last?.type === 'ExpressionStatement' ? { start: last.start as number, end: code[last.end - 1] === ';' ? last.end - 1 : last.end as number } : undefined
  if (session === undefined) {
    if (expr) edits.push({ start: expr.start, end: expr.start, text: 'return (' }, { start: expr.end, end: expr.end, text: ')' })
    return finish(code, edits, { functions, declared })
  }
  for (const s of body) {
    if (s.type === 'VariableDeclaration') {
      if (s.kind !== 'var') edits.push({ start: s.start, end: s.start + s.kind.length, text: s.kind === 'let' ? 'var' : 'var  ' })
      for (const d of s.declarations as AnyNode[]) declared.push(...patternNames(d.id))
    } else if (s.type === 'FunctionDeclaration' && s.id) {
      functions[s.id.name as string] = code.slice(s.start, s.end)
    } else if (s.type === 'ClassDeclaration' && s.id) {
      edits.push({ start: s.start, end: s.start, text: `var ${s.id.name as string} = ` })
      declared.push(s.id.name as string)
    }
  }
  const names = [...new Set([...session.names, ...declared])].filter((n) => !(n in functions))
  const keep = `{${names.join(', ')}}`
  for (const r of ownReturns(program)) {
    if (r.argument) edits.push({ start: r.argument.start, end: r.argument.start, text: '[' }, { start: r.argument.end, end: r.argument.end, text: `, ${keep}]` })
    else edits.push({ start: r.start + 'return'.length, end: r.start + 'return'.length, text: ` [undefined, ${keep}]` })
  }
  if (expr) edits.push({ start: expr.start, end: expr.start, text: 'return [(' }, { start: expr.end, end: expr.end, text: `), ${keep}]` })
  // Kept function declarations hoist: appended after the input, they are there from its first line.
  const kept = Object.entries(session.functions).filter(([n]) => !(n in functions) && !declared.includes(n)).map(([, src]) => src)
  const tail = `\n;return [undefined, ${keep}]${kept.length ? '\n' + kept.join('\n') : ''}`
  edits.push({ start: code.length, end: code.length, text: tail })
  return finish(code, edits, { functions, declared, captures: names })
}

function finish(code: string, edits: Edit[], rest: Pick<Prepared, 'functions' | 'declared' | 'captures'>): Prepared {
  edits.sort((a, b) => a.start - b.start)
  let out = ''
  let at = 0
  // [offset in out, offset in code] at the start of each copied span.
  const spans: [number, number][] = []
  for (const e of edits) {
    spans.push([out.length, at])
    out += code.slice(at, e.start)
    // Inserted text maps to where it was inserted.
    spans.push([out.length, -e.start - 1])
    out += e.text
    at = e.end
  }
  spans.push([out.length, at])
  out += code.slice(at)
  const toInput = (line: number, column: number) => {
    const offset = offsetOf(out, line, column)
    let input = 0
    for (const [o, c] of spans) {
      if (o > offset) break
      input = c < 0 ? -c - 1 : c + (offset - o)
    }
    return positionOf(code, Math.min(input, code.length))
  }
  return { code: out, toInput, ...rest }
}

/** Return statements of the act's own body (not of functions inside it). */
function ownReturns(program: AnyNode): AnyNode[] {
  const out: AnyNode[] = []
  const stack: AnyNode[] = [...(program.body as AnyNode[])]
  while (stack.length > 0) {
    const n = stack.pop()!
    if (n.type === 'ReturnStatement') out.push(n)
    if (/Function/.test(n.type) || n.type === 'ClassBody' || n.type === 'ClassExpression' || n.type === 'ClassDeclaration') continue
    for (const v of Object.values(n)) {
      if (Array.isArray(v)) { for (const c of v) if (isNode(c)) stack.push(c) } else if (isNode(v)) stack.push(v)
    }
  }
  return out
}

function isNode(v: unknown): v is AnyNode {
  return v !== null && typeof v === 'object' && typeof (v as { type?: unknown }).type === 'string'
}

/** The input's top-level declarations (let, const, var, function, class), each with where its name is (1-based). */
export function topLevelDeclarations(program: AnyNode): { name: string; line: number; column: number }[] {
  const out: { name: string; line: number; column: number }[] = []
  const at = (n: AnyNode, name: string) => out.push({ name, line: n.loc!.start.line as number, column: (n.loc!.start.column as number) + 1 })
  for (const s of program.body as AnyNode[]) {
    if (s.type === 'VariableDeclaration') for (const d of s.declarations as AnyNode[]) for (const id of patternIds(d.id)) at(id, id.name as string)
    else if ((s.type === 'FunctionDeclaration' || s.type === 'ClassDeclaration') && s.id) at(s.id, s.id.name as string)
  }
  return out
}

function patternIds(p: AnyNode | null): AnyNode[] {
  if (p === null) return []
  switch (p.type) {
    case 'Identifier': return [p]
    case 'AssignmentPattern': return patternIds(p.left)
    case 'RestElement': return patternIds(p.argument)
    case 'ArrayPattern': return (p.elements as (AnyNode | null)[]).flatMap(patternIds)
    case 'ObjectPattern': return (p.properties as AnyNode[]).flatMap((q) => patternIds(q.type === 'RestElement' ? q : q.value))
    default: return []
  }
}

function patternNames(p: AnyNode | null): string[] {
  if (p === null) return []
  switch (p.type) {
    case 'Identifier': return [p.name as string]
    case 'AssignmentPattern': return patternNames(p.left)
    case 'RestElement': return patternNames(p.argument)
    case 'ArrayPattern': return (p.elements as (AnyNode | null)[]).flatMap(patternNames)
    case 'ObjectPattern': return (p.properties as AnyNode[]).flatMap((q) => patternNames(q.type === 'RestElement' ? q : q.value))
    default: return []
  }
}

function offsetOf(text: string, line: number, column: number): number {
  let at = 0
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', at)
    if (nl < 0) return text.length
    at = nl + 1
  }
  return Math.min(text.length, at + column - 1)
}

function positionOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n')
  return { line: before.length, column: before[before.length - 1]!.length + 1 }
}
