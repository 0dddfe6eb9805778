/**
 * CPU-limit checkpoints woven into sandbox source.
 *
 * node's own CPU limit (`runInContext` with `timeout`) starts and stops a
 * watchdog thread on every entry: about 30 µs, which is 99% of the cost of a
 * host calling a method. Instead every function entry and every loop iteration
 * of sandbox code calls `TICK()`, a realm function that compares the process
 * clock (clock.ts: a double in shared memory, advanced by a worker thread) with
 * the running entry's deadline; past it, the host confirms and the checkpoint
 * throws `ACT_TIMEOUT`, again at every later checkpoint of that entry. Code
 * that runs long must loop or call, so it meets a checkpoint; the native work
 * between two checkpoints is bounded by its input (and regular expressions by
 * V8's backtrack limit, see realm.ts).
 *
 * Insertions never add a line break, so line numbers stay exact; columns on a
 * line that received an insertion are mapped back by `column()`.
 */
import { parse, type Node } from 'acorn'

/** The checkpoint's name in compiled code: a compile parameter, unreachable from user source (parse.ts refuses `__uvm` names). */
export const TICK = '__uvm_tick'
/**
 * The call mark's name (a compile parameter too): `a.b(x)` is compiled as `__uvm_call(a, "b").b(x)`
 * (`a[k](x)` as `__uvm_call(a)[k](x)`), which tells the proxy of `a` that the `b` about to be read is
 * called. A graph object's missing slot then reads as `undefined`, as in JS, and only a call of it
 * sends doesNotUnderstand:.
 */
export const CALL_MARK = '__uvm_call'
export const RESERVED_PREFIX = '__uvm'
/**
 * The send trace's hook (a compile parameter): a method's body is compiled inside
 * `try { … } catch (__uvm_e) { throw __uvm_unwind(__uvm_e, self) }`, so an error leaving a method
 * notes the receiver it left (V8's stack frames carry no receiver in strict code). Nothing runs
 * unless something is thrown.
 */
export const UNWIND = '__uvm_unwind'
const CAUGHT = '__uvm_e'
const GUARD_OPEN = 'try {'
const GUARD_CLOSE = `} catch (${CAUGHT}) { throw ${UNWIND}(${CAUGHT}, self) }`

const CALL = `${TICK}();`
// The three shapes of insertion are told apart when they are taken out again (`uninstrument`).
const WRAP_OPEN = `{${TICK}(0);`
const ARROW_OPEN = `(${TICK}(), `

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyNode = Node & Record<string, any>

interface Insertion {
  pos: number
  text: string
  /** Closers go before openers at one position, inner closers first, outer openers first. */
  closer: boolean
  depth: number
  /** After everything else at its position (the guard's end, which an empty body puts where its start is). */
  last?: boolean
  line: number
  column: number
}

export interface Instrumented {
  text: string
  /** The 1-based column in the original text of a 1-based (line, column) of the instrumented text; lines are body lines. */
  column(line: number, column: number): number
  /**
   * Whether a 1-based (line, column) of the original text (body lines) lies inside a function nested
   * in the compiled one: a stack frame there is a block of the method or act, not its own frame.
   */
  nested(line: number, column: number): boolean
}

/** The function a compile body returns: `"use strict"; return (function …)`. */
function returnedFunction(program: AnyNode): AnyNode | undefined {
  let n = (program.body as AnyNode[])[1]?.argument as AnyNode | undefined
  while (n?.type === 'ParenthesizedExpression') n = n.expression as AnyNode
  return n !== undefined && FUNCTION.has(n.type) ? n : undefined
}

const FUNCTION = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression'])
const LOOP = new Set(['ForStatement', 'ForInStatement', 'ForOfStatement', 'WhileStatement', 'DoWhileStatement'])

/**
 * Weave checkpoints into `text`, whose parse is `program` (acorn, with locations). `guard`: the
 * returned function is a method, whose body gets the send trace's hook (UNWIND).
 */
export function instrument(text: string, program: AnyNode, guard = false): Instrumented {
  const out: Insertion[] = []
  const top = returnedFunction(program)
  /** [start line, start column, end line, end column] (1-based line, 0-based column) of every function but the compiled one. */
  const inner: [number, number, number, number][] = []
  const at = (node: AnyNode, where: 'start' | 'end', offset: number, ins: string, closer: boolean, depth: number) => {
    const loc = node.loc![where]
    out.push({ pos: node[where] + offset, text: ins, closer, depth, line: loc.line, column: loc.column + offset })
  }
  /** A checkpoint at the top of a statement that runs repeatedly: a block gets a call, anything else becomes a block. */
  const statement = (body: AnyNode, depth: number) => {
    if (body.type === 'BlockStatement') at(body, 'start', 1, CALL, false, depth)
    else { at(body, 'start', 0, WRAP_OPEN, false, depth); at(body, 'end', 0, '}', true, depth) }
  }
  const walk = (node: AnyNode, depth: number) => {
    if (FUNCTION.has(node.type)) {
      const body = node.body as AnyNode
      if (body.type === 'BlockStatement') at(body, 'start', 1, CALL, false, depth)
      else { at(body, 'start', 0, ARROW_OPEN, false, depth); at(body, 'end', 0, ')', true, depth) }
      if (node !== top) inner.push([node.loc!.start.line, node.loc!.start.column, node.loc!.end.line, node.loc!.end.column])
      else if (guard && body.type === 'BlockStatement') {
        // After the checkpoint (a stable sort keeps it first), and after every inner closer at the end.
        at(body, 'start', 1, GUARD_OPEN, false, depth)
        at(body, 'end', -1, GUARD_CLOSE, true, depth)
        out[out.length - 1]!.last = true
      }
    } else if (LOOP.has(node.type)) {
      statement(node.body as AnyNode, depth)
    } else if (node.type === 'CallExpression' && !node.optional && node.callee.type === 'MemberExpression' &&
      node.callee.object.type !== 'Super' && node.callee.property.type !== 'PrivateIdentifier') {
      // `a.b(x)` and `a[k](x)`, not `a.b?.(x)` (which asks for undefined when there is no b).
      // A computed key is not evaluated twice: its mark names no property.
      const callee = node.callee as AnyNode
      at(callee.object, 'start', 0, `${CALL_MARK}(`, false, depth)
      at(callee.object, 'end', 0, callee.computed ? ')' : `, ${JSON.stringify(callee.property.name)})`, true, depth)
    }
    for (const child of children(node)) walk(child, depth + 1)
  }
  walk(program, 0)
  out.sort((a, b) => a.pos - b.pos || Number(a.last === true) - Number(b.last === true) || (a.closer === b.closer ? (a.closer ? b.depth - a.depth : a.depth - b.depth) : a.closer ? -1 : 1))

  let result = ''
  let last = 0
  const shifts = new Map<number, { from: number; length: number }[]>()
  let shiftOnLine = 0
  let lineOf = -1
  for (const ins of out) {
    result += text.slice(last, ins.pos) + ins.text
    last = ins.pos
    if (ins.line !== lineOf) { lineOf = ins.line; shiftOnLine = 0 }
    // Where the inserted text starts in the instrumented line (0-based), and how long it is.
    const list = shifts.get(ins.line) ?? []
    list.push({ from: ins.column + shiftOnLine, length: ins.text.length })
    shifts.set(ins.line, list)
    shiftOnLine += ins.text.length
  }
  result += text.slice(last)
  return {
    text: result,
    column(line, column) {
      let c = column - 1
      let minus = 0
      for (const s of shifts.get(line) ?? []) {
        if (s.from + s.length <= c) minus += s.length
        else if (s.from <= c) { minus += c - s.from; break }
      }
      return c - minus + 1
    },
    nested(line, column) {
      const c = column - 1
      return inner.some(([l1, c1, l2, c2]) => (line > l1 || (line === l1 && c >= c1)) && (line < l2 || (line === l2 && c < c2)))
    },
  }
}

/**
 * The user's text of a function compiled with checkpoints: what `Function.prototype.toString` gives,
 * minus every insertion. User source never names `__uvm…`, so every tick call found is one of ours.
 */
export function uninstrument(fnText: string): string {
  if (!fnText.includes(TICK) && !fnText.includes(CALL_MARK)) return fnText
  let program: AnyNode | undefined
  // A function expression reads as `(text)`; a method's text (`toString() {…}`, `get x() {…}`) only
  // inside an object literal, `({text})`.
  let open = '('
  let close = ')'
  for (const [o, c] of [['(', ')'], ['({', '})']] as const) {
    try {
      program = parse(`${o}${fnText}${c}`, { ecmaVersion: 'latest', sourceType: 'script', preserveParens: true, allowReturnOutsideFunction: true }) as AnyNode
      open = o
      close = c
      break
    } catch { /* the next shape */ }
  }
  if (program === undefined) return fnText
  const cuts: [number, number][] = []
  const isTick = (n: AnyNode | undefined): boolean =>
    n?.type === 'CallExpression' && n.callee.type === 'Identifier' && n.callee.name === TICK
  const visit = (n: AnyNode) => {
    if (n.type === 'TryStatement' && n.handler?.param?.type === 'Identifier' && n.handler.param.name === CAUGHT) {
      // The send trace's guard around a method body: the try's braces and its whole handler go.
      const block = n.block as AnyNode
      cuts.push([n.start, block.start + 1]); cuts.push([block.end - 1, n.end])
      for (const c of children(block)) visit(c)
      return
    }
    if (n.type === 'BlockStatement') {
      const first = n.body[0] as AnyNode | undefined
      if (first?.type === 'ExpressionStatement' && isTick(first.expression)) {
        if (first.expression.arguments.length === 1) { cuts.push([n.start, first.end]); cuts.push([n.end - 1, n.end]) }
        else cuts.push([first.start, first.end])
      }
    } else if (n.type === 'ParenthesizedExpression' && n.expression.type === 'SequenceExpression' && isTick(n.expression.expressions[0])) {
      const rest = n.expression.expressions[1] as AnyNode
      cuts.push([n.start, rest.start]); cuts.push([n.end - 1, n.end])
    } else if (n.type === 'CallExpression' && n.callee.type === 'Identifier' && n.callee.name === CALL_MARK && n.arguments.length >= 1) {
      const object = n.arguments[0] as AnyNode
      cuts.push([n.start, object.start]); cuts.push([object.end, n.end])
    }
    for (const c of children(n)) visit(c)
  }
  visit(program)
  cuts.sort((a, b) => a[0] - b[0])
  const wrapped = `${open}${fnText}${close}`
  let out = ''
  let last = open.length // skip what was added above
  for (const [from, to] of cuts) { out += wrapped.slice(last, from); last = to }
  return out + wrapped.slice(last, open.length + fnText.length)
}

export function children(node: AnyNode): AnyNode[] {
  const out: AnyNode[] = []
  for (const key of Object.keys(node)) {
    if (key === 'loc') continue
    const v: unknown = node[key]
    if (Array.isArray(v)) { for (const x of v) if (isNode(x)) out.push(x) }
    else if (isNode(v)) out.push(v)
  }
  return out
}

function isNode(v: unknown): v is AnyNode {
  return typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string'
}
