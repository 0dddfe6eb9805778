/**
 * Declarative autopoietic acts (seed 000's vocabulary: ADD_SLOT, MODIFY_SLOT, CLONE_PROTOTYPE,
 * COMPOSITE_ACTION, INITIATE_FINETUNE_JOB; the schema is src/covenant/act.ts) compiled into one
 * ordinary JavaScript act: the same runner, sandbox and transaction as code acts, and the generated
 * text is what the transaction record keeps as the act's source, so it is written to be read.
 *
 * Nothing of the act's data is ever spliced into code unquoted: paths and slot names are checked
 * again here and emitted as JSON string literals used with bracket access, values as JSON-like
 * literals, and a method's text only after acorn showed it is exactly one function expression.
 */
import { parse } from 'acorn'
import type { Node } from 'acorn'
import { UvmError } from '../errors.js'
import { ActPath, ActSlotName, DECLARATIVE_ACTIONS, DECLARATIVE_LIMITS, DeclarativeAct, FINETUNE_DEFAULTS } from '../covenant/index.js'
import type { DeclarativeAct as DeclarativeActType } from '../covenant/index.js'

/** Whether `value` looks like a declarative act (a plain object with a string `action`), valid or not. */
export function isDeclarativeAct(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return false
  const action = Object.getOwnPropertyDescriptor(value, 'action')
  return action !== undefined && 'value' in action && typeof action.value === 'string'
}

/**
 * Validate a declarative act (the schema, then what only compiling shows: each method's shape).
 * Throws UvmError('DATASET_BAD_ACT') naming the first problem's place, e.g.
 * `autopoietic_act.sub_actions.1.action: ...`.
 */
export function parseDeclarativeAct(value: unknown): DeclarativeActType {
  const parsed = DeclarativeAct.safeParse(value)
  if (!parsed.success) {
    const { path, message } = firstIssue(parsed.error.issues)
    throw bad(place('autopoietic_act', path), message)
  }
  new Compiler('autopoietic_act').act(parsed.data, 'autopoietic_act', 0, '')
  return parsed.data
}

/**
 * One JavaScript act doing what the validated declarative act says; `runAct` runs it like any other
 * act (one transaction: a failing sub-action undoes every one). Its value is the act's answer: the
 * target (ADD_SLOT, MODIFY_SLOT), the clone (CLONE_PROTOTYPE), the forge's receipt
 * (INITIATE_FINETUNE_JOB), the last sub-action's (COMPOSITE_ACTION). Throws
 * UvmError('DATASET_BAD_ACT') for anything that is not of the vocabulary.
 */
export function declarativeCode(act: DeclarativeActType): string {
  const c = new Compiler('')
  const body = c.act(act, '', 0, '')
  const lines = [`// autopoietic_act: ${act.action}, compiled from its declarative form`]
  if (c.usesPaths) lines.push(...HELPERS)
  lines.push('let result', ...body, 'return result')
  return lines.join('\n') + '\n'
}

/**
 * Declared inside every act that resolves a path: one slot a step, by bracket access, an own or
 * inherited slot of a graph object (respondsTo) or an own key of plain data, and every missing step
 * named. (Names starting with `__uvm` are the sandbox's: these are plain.)
 */
const HELPERS = [
  'const resolvePath = (action, path) => {',
  "  const names = path.split('.')",
  '  let value = { root, genesis, prototypes }[names[0]]',
  '  for (let i = 1; i < names.length; i++) {',
  '    const name = names[i]',
  "    const held = value !== null && typeof value === 'object' &&",
  "      (typeof value.respondsTo === 'function' ? value.respondsTo(name) : Object.hasOwn(value, name))",
  "    if (!held) throw new Error(`${action}: ${path} does not exist (no slot '${name}' on ${names.slice(0, i).join('.')})`)",
  '    value = value[name]',
  '  }',
  '  return value',
  '}',
  'const objectAt = (action, path) => {',
  '  const value = resolvePath(action, path)',
  "  if (value === null || typeof value !== 'object' || typeof value.hasSlot !== 'function') {",
  "    throw new Error(`${action}: ${path} is not an object of the graph (it is ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value})`)",
  '  }',
  '  return value',
  '}',
]

const FORGE_MISSING = 'INITIATE_FINETUNE_JOB needs the forge capability (uvm boot --forge-dir DIR or --forge-url URL)'

const q = (s: string): string => JSON.stringify(s)

function bad(where: string, message: string): UvmError {
  return new UvmError('DATASET_BAD_ACT', `${where === '' ? '' : `${where}: `}${message}`, { path: where })
}

function place(where: string, path: ReadonlyArray<PropertyKey>): string {
  return [where, ...path.map(String)].filter((s) => s !== '').join('.')
}

function at(where: string, key: string | number): string {
  return where === '' ? String(key) : `${where}.${key}`
}

interface Issue { path: ReadonlyArray<PropertyKey>; message: string; code?: string; errors?: ReadonlyArray<ReadonlyArray<Issue>>; issues?: ReadonlyArray<Issue> }

/**
 * The issue worth reporting: zod reports a value that fits no branch of a union as one
 * `invalid_union` issue; the branch that got furthest (not a mere type mismatch at its root) says
 * what is wrong.
 */
function firstIssue(issues: ReadonlyArray<Issue>, prefix: ReadonlyArray<PropertyKey> = []): { path: PropertyKey[]; message: string } {
  const issue = issues[0]!
  const path = [...prefix, ...issue.path]
  if (issue.code === 'invalid_union' && issue.errors !== undefined && issue.errors.length > 0) {
    const telling = issue.errors.filter((branch) => branch.length > 0 && !branch.every((i) => i.code === 'invalid_type' && i.path.length === 0))
    if (telling.length > 0) {
      // The branch whose first issue lies deepest got furthest.
      const best = telling.reduce((a, b) => (b[0]!.path.length > a[0]!.path.length ? b : a))
      return firstIssue(best, path)
    }
    return { path, message: 'not a JSON value (null, boolean, finite number, string, array, object) nor {"$ref": path}' }
  }
  // A record key that failed its schema (a slot name of CLONE_PROTOTYPE's slots): say why.
  if (issue.code === 'invalid_key' && issue.issues !== undefined && issue.issues.length > 0) return { path, message: issue.issues[0]!.message }
  return { path, message: issue.message }
}

// acorn's node types are a union too wide to narrow usefully here; the checks read fields by name.
type AnyNode = Node & Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

/** Why `source` is not exactly one function expression or arrow function, or undefined when it is. */
export function functionSourceProblem(source: string): string | undefined {
  return methodExpression(source).problem
}

/**
 * The method's text as it stands in the act, `(<source>)`, checked by acorn exactly as emitted: one
 * parenthesised function or arrow function expression and nothing else, so no text can close the
 * parenthesis early and run code of its own in the act. (With a newline before the closing
 * parenthesis when the source ends in a line comment, which would otherwise swallow it.)
 */
function methodExpression(source: string): { text: string; problem?: string } {
  const plain = `(${source})`
  if (shapeProblem(plain) === undefined) return { text: plain }
  const text = `(${source}\n)`
  const problem = shapeProblem(text)
  return problem === undefined ? { text } : { text, problem }
}

function shapeProblem(text: string): string | undefined {
  let program: AnyNode
  try {
    program = parse(text, { ecmaVersion: 'latest', sourceType: 'script', preserveParens: true }) as AnyNode
  } catch (e) {
    return `it does not parse (${(e as Error).message.replace(/ \(\d+:\d+\)$/, '')})`
  }
  const body = program.body as AnyNode[]
  if (body.length !== 1) return `it holds ${body.length} statements`
  const statement = body[0]!
  let expression = statement.type === 'ExpressionStatement' ? statement.expression as AnyNode : undefined
  if (expression === undefined || expression.type !== 'ParenthesizedExpression' || expression.start !== 0 || expression.end !== text.length) {
    return 'it is more than one expression'
  }
  while (expression.type === 'ParenthesizedExpression') expression = expression.expression as AnyNode
  if (expression.type !== 'FunctionExpression' && expression.type !== 'ArrowFunctionExpression') {
    return `it is ${/^[AEIOU]/.test(expression.type) ? 'an' : 'a'} ${expression.type}`
  }
  return undefined
}

function snippet(s: string): string {
  return q(s.length > 80 ? `${s.slice(0, 77)}...` : s)
}

/** One act's statements; `where` is the place inside the act ('' at its top), for error messages. */
class Compiler {
  usesPaths = false
  constructor(readonly root: string) {}

  act(act: DeclarativeActType, where: string, composites: number, indent: string): string[] {
    if (act === null || typeof act !== 'object') throw bad(where, 'an action is an object with an "action" field')
    const label = where === this.root ? act.action : `${act.action} (${where.slice(this.root === '' ? 0 : this.root.length + 1)})`
    switch (act.action) {
      case 'ADD_SLOT':
      case 'MODIFY_SLOT': {
        const target = this.path(act.target, at(where, 'target'))
        const slot = this.slotName(act.slot, at(where, 'slot'))
        const assigned = this.assigned(act, where, label)
        const check = act.action === 'ADD_SLOT'
          ? `if (target.hasSlot(${q(slot)})) throw new Error(${q(`${label}: ${target} already has a slot '${slot}' (use MODIFY_SLOT to change it)`)})`
          : `if (!target.respondsTo(${q(slot)})) throw new Error(${q(`${label}: ${target} has no slot '${slot}', own or inherited (use ADD_SLOT to add it)`)})`
        return this.group(indent, `${act.action} ${target}.${slot}`, [
          `const target = objectAt(${q(label)}, ${q(target)})`,
          check,
          `target[${q(slot)}] = ${assigned}`,
          'result = target',
        ])
      }
      case 'CLONE_PROTOTYPE': {
        const prototype = this.path(act.prototype, at(where, 'prototype'))
        const name = this.path(act.name, at(where, 'name'))
        const cut = name.lastIndexOf('.')
        if (cut < 0) throw bad(at(where, 'name'), 'name is where the clone is stored: a path with at least two segments, such as "prototypes.Button"')
        const holder = name.slice(0, cut)
        const slot = name.slice(cut + 1)
        const slots = act.slots ?? {}
        if (slots === null || typeof slots !== 'object' || Array.isArray(slots)) throw bad(at(where, 'slots'), 'slots is an object of slot names and values')
        const sets = Object.keys(slots).map((k) => {
          const key = this.slotName(k, at(at(where, 'slots'), k))
          return `clone[${q(key)}] = ${this.value(slots[k], at(at(where, 'slots'), k), label, 1)}`
        })
        return this.group(indent, `${act.action} ${prototype} as ${name}`, [
          `const prototype = objectAt(${q(label)}, ${q(prototype)})`,
          `const holder = objectAt(${q(label)}, ${q(holder)})`,
          'const clone = prototype.clone()',
          ...sets,
          `holder[${q(slot)}] = clone`,
          'result = clone',
        ])
      }
      case 'COMPOSITE_ACTION': {
        const depth = composites + 1
        if (depth > DECLARATIVE_LIMITS.compositeDepth) throw bad(where, `COMPOSITE_ACTIONs nest ${DECLARATIVE_LIMITS.compositeDepth} deep at most`)
        const subs: unknown = act.sub_actions
        if (!Array.isArray(subs) || subs.length < 1 || subs.length > DECLARATIVE_LIMITS.subActions) {
          throw bad(at(where, 'sub_actions'), `sub_actions is an array of 1 to ${DECLARATIVE_LIMITS.subActions} actions`)
        }
        const lines = [`${indent}// ${act.action}: ${subs.length} sub-action${subs.length === 1 ? '' : 's'}, one transaction`]
        subs.forEach((sub: DeclarativeActType, i) => lines.push(...this.act(sub, at(at(where, 'sub_actions'), i), depth, indent)))
        return lines
      }
      case 'INITIATE_FINETUNE_JOB': {
        const facet = String(act.facet_id)
        if (!/^[A-Za-z0-9_.-]+$/.test(facet)) throw bad(at(where, 'facet_id'), 'letters, digits, _ . - only (it names a folder)')
        if (typeof act.base_model !== 'string' || act.base_model === '') throw bad(at(where, 'base_model'), 'base_model is a non-empty string')
        if (!Array.isArray(act.dataset) || act.dataset.length === 0) throw bad(at(where, 'dataset'), 'dataset is a non-empty array of conversations')
        const count = (v: unknown, field: string, fallback: number): string => {
          const n = v ?? fallback
          if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0) throw bad(at(where, field), `${field} is a positive integer`)
          return String(n)
        }
        const template = act.chat_template ?? FINETUNE_DEFAULTS.chat_template
        if (typeof template !== 'string' || template === '') throw bad(at(where, 'chat_template'), 'chat_template is a non-empty string')
        const dataset = act.dataset.map((c, i) => {
          if (c === null || typeof c !== 'object' || Array.isArray(c)) throw bad(at(at(where, 'dataset'), i), 'a conversation is an object')
          return this.value(c, at(at(where, 'dataset'), i), label, 1, false)
        })
        return this.group(indent, `${act.action} ${facet}`, [
          `if (typeof forge === 'undefined') throw new Error(${q(FORGE_MISSING)})`,
          'result = await forge.submit({',
          `  facet_id: ${q(facet)},`,
          `  base_model: ${q(act.base_model)},`,
          `  chat_template: ${q(template)},`,
          `  lora_r: ${count(act.lora_r, 'lora_r', FINETUNE_DEFAULTS.lora_r)},`,
          `  lora_alpha: ${count(act.lora_alpha, 'lora_alpha', FINETUNE_DEFAULTS.lora_alpha)},`,
          `  epochs: ${count(act.epochs, 'epochs', FINETUNE_DEFAULTS.epochs)},`,
          `  dataset: [${dataset.join(', ')}],`,
          '})',
        ])
      }
      default: {
        const action: unknown = (act as { action?: unknown }).action
        throw bad(at(where, 'action'), `unknown action ${typeof action === 'string' ? snippet(action) : String(action)} (the vocabulary: ${DECLARATIVE_ACTIONS.join(', ')})`)
      }
    }
  }

  /** A commented block: its own scope, so every action may name its `target`. */
  private group(indent: string, title: string, statements: string[]): string[] {
    return [`${indent}// ${title}`, `${indent}{`, ...statements.map((s) => `${indent}  ${s}`), `${indent}}`]
  }

  private path(path: unknown, where: string): string {
    const checked = ActPath.safeParse(path)
    if (!checked.success) throw bad(where, checked.error.issues[0]!.message)
    this.usesPaths = true
    return checked.data
  }

  private slotName(name: unknown, where: string): string {
    const checked = ActSlotName.safeParse(name)
    if (!checked.success) throw bad(where, checked.error.issues[0]!.message)
    return checked.data
  }

  /** What ADD_SLOT and MODIFY_SLOT store: a method's text, in parentheses, or a value. */
  private assigned(act: { value?: unknown; method?: unknown }, where: string, label: string): string {
    const hasValue = act.value !== undefined
    const hasMethod = act.method !== undefined
    if (hasValue === hasMethod) throw bad(at(where, 'value'), 'give exactly one of value and method')
    if (hasValue) return this.value(act.value, at(where, 'value'), label, 1)
    if (typeof act.method !== 'string') throw bad(at(where, 'method'), 'a method is the source text of one function expression')
    const { text, problem } = methodExpression(act.method)
    if (problem !== undefined) throw bad(at(where, 'method'), `not one function expression: ${problem}: ${snippet(act.method)}`)
    return text
  }

  /**
   * A value as a JavaScript expression: JSON-like literals, `{"$ref": path}` as the object the path
   * reaches. An object with an own `__proto__` key (the schema refuses those; this is the second
   * line) goes through JSON.parse, which makes it an own data property rather than a prototype.
   */
  private value(v: unknown, where: string, label: string, depth: number, refs = true): string {
    if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v)
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw bad(where, `numbers are finite, not ${v}`)
      return Object.is(v, -0) ? '-0' : JSON.stringify(v)
    }
    if (typeof v === 'object' && depth > DECLARATIVE_LIMITS.valueDepth) throw bad(where, `a value nests arrays and objects ${DECLARATIVE_LIMITS.valueDepth} deep at most`)
    if (Array.isArray(v)) return `[${v.map((x, i) => this.value(x, at(where, i), label, depth + 1, refs)).join(', ')}]`
    if (typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
      const keys = Object.keys(v)
      if (refs && Object.hasOwn(v, '$ref')) {
        const ref = (v as Record<string, unknown>).$ref
        if (keys.length !== 1) throw bad(where, '{"$ref": path} stands alone in its object')
        const path = this.path(ref, at(where, '$ref'))
        return `objectAt(${q(label)}, ${q(path)})`
      }
      if (Object.hasOwn(v, '__proto__')) {
        if (refs && containsRef(v)) throw bad(at(where, '__proto__'), "the key '__proto__' is refused (it would set an object's prototype)")
        let json: string
        try { json = JSON.stringify(v) } catch (e) { throw bad(where, `not JSON: ${(e as Error).message}`) }
        // Check the whole subtree the same way (finite numbers, plain data, depth).
        this.value(JSON.parse(json, (k, x: unknown) => (k === '__proto__' ? undefined : x)), where, label, depth, false)
        return `JSON.parse(${q(json)})`
      }
      if (keys.length === 0) return '{}'
      return `{ ${keys.map((k) => `${q(k)}: ${this.value((v as Record<string, unknown>)[k], at(where, k), label, depth + 1, refs)}`).join(', ')} }`
    }
    throw bad(where, `not a JSON value: ${typeof v}`)
  }
}

function containsRef(v: unknown): boolean {
  const stack = [v]
  while (stack.length > 0) {
    const x = stack.pop()
    if (x === null || typeof x !== 'object') continue
    if (!Array.isArray(x) && Object.hasOwn(x, '$ref')) return true
    stack.push(...Object.values(x))
  }
  return false
}
