import { actProgram, SourceProblem, toSource } from '../act/index.js'

/** A place in an act's source: 1-based line and column, as the realm reports them. */
export interface Place {
  line: number
  column: number
}

/** A graph path an act names: `display` as written (`prototypes.Dog`), `key` rooted at the lobby (`root.genesis.prototypes.Dog`). */
export interface PathUse extends Place {
  key: string
  display: string
  /** Source offset: a write counts as "earlier" for a use that starts after it. */
  at: number
}

/** What the logic stage needs to know of one act, from its syntax tree alone (so it is cached by text). */
export type ActAnalysis =
  | {
    ok: true
    /** Identifiers read that nothing in the act declares (first use of each). */
    free: (Place & { name: string })[]
    /** Names the act declares anywhere (var, let, const, function, class, parameters, catch). */
    declared: string[]
    /** Graph paths the act creates: `P.x = v`, `P.setSlot('x', v)`. */
    creates: PathUse[]
    /** Graph paths the act uses as objects: the receiver of a write, a method call, a delete or an update. */
    objects: PathUse[]
  }
  | { ok: false; code: 'ACT_SYNTAX' | 'ACT_FORBIDDEN'; message: string; line: number; column: number }

// acorn's node union is too wide to narrow usefully; fields are read by name, as in src/act.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyNode = Record<string, any> & { type: string; start: number; end: number }

/** The act bindings that name the graph, and what each is rooted at. */
const GRAPH_ROOTS: Record<string, string> = { root: 'root', genesis: 'root.genesis', prototypes: 'root.genesis.prototypes' }

/** Normalise a rooted path so that `genesis.x`, `root.genesis.x` and `prototypes.y`, `genesis.prototypes.y` meet. */
function rootKey(base: string, segments: readonly string[]): string {
  return [GRAPH_ROOTS[base] ?? base, ...segments].join('.')
}

const SKIP_KEYS = new Set(['type', 'start', 'end', 'loc', 'range', 'raw', 'value', 'regex', 'bigint'])

/**
 * Read an act's names and graph paths. The realm's own check (`actProgram`, acorn with the sandbox's
 * refusals) decides syntax, so this stage fails exactly the acts the realm would refuse.
 *
 * Scopes are flattened: a name declared anywhere in the act counts as declared everywhere in it. That
 * can miss an undefined name (a `let` used outside its block), never invent one: the heuristic only
 * rejects what would surely fail.
 */
export function analyseAct(code: string): ActAnalysis {
  let body: AnyNode[]
  try {
    body = actProgram(code).body as AnyNode[]
  } catch (e) {
    if (!(e instanceof SourceProblem)) throw e
    return { ok: false, code: e.forbidden ? 'ACT_FORBIDDEN' : 'ACT_SYNTAX', message: e.message, line: e.line, column: e.column }
  }
  const place = (n: AnyNode): Place => toSource(code, n.loc.start.line, n.loc.start.column)
  const declared = new Set<string>()
  const refs: { name: string; node: AnyNode }[] = []
  /** Locals bound once to a graph path (`const m = prototypes.Morph`): their member chains are paths too. */
  const aliases = new Map<string, { base: string; segments: string[] } | null>()
  const creates: PathUse[] = []
  const objects: PathUse[] = []

  const bind = (p: AnyNode | null): void => {
    if (p === null) return
    switch (p.type) {
      case 'Identifier': declared.add(p.name); break
      case 'AssignmentPattern': bind(p.left); visit(p.right); break
      case 'RestElement': bind(p.argument); break
      case 'ArrayPattern': for (const e of p.elements) bind(e); break
      case 'ObjectPattern':
        for (const q of p.properties) {
          if (q.type === 'RestElement') bind(q.argument)
          else { if (q.computed) visit(q.key); bind(q.value) }
        }
        break
      default: visit(p) // a member expression as an assignment target: `[a.b] = ...`
    }
  }

  /** A member chain rooted at a graph binding (or an alias of one), as far as it is static. */
  const pathOf = (n: AnyNode): { base: string; segments: string[] } | undefined => {
    if (n.type === 'Identifier') {
      if (n.name in GRAPH_ROOTS && !declared.has(n.name)) return { base: n.name, segments: [] }
      const alias = aliases.get(n.name)
      return alias === null || alias === undefined ? undefined : { base: alias.base, segments: [...alias.segments] }
    }
    if (n.type === 'ParenthesizedExpression') return pathOf(n.expression)
    if (n.type !== 'MemberExpression' || n.optional) return undefined
    const key = memberKey(n)
    if (key === undefined) return undefined
    const inner = pathOf(n.object)
    return inner === undefined ? undefined : { base: inner.base, segments: [...inner.segments, key] }
  }
  const use = (list: PathUse[], p: { base: string; segments: string[] }, at: AnyNode) => {
    list.push({ key: rootKey(p.base, p.segments), display: [p.base, ...p.segments].join('.'), at: at.start, ...place(at) })
  }
  /** `P.x` as a target: P is used as an object, and P.x is created. */
  const target = (member: AnyNode, creating: boolean) => {
    const obj = pathOf(member.object)
    if (obj === undefined) return
    if (obj.segments.length > 0 || aliases.has(member.object.name)) use(objects, obj, member)
    const key = memberKey(member)
    if (creating && key !== undefined) use(creates, { base: obj.base, segments: [...obj.segments, key] }, member)
  }

  function visit(n: AnyNode | null | undefined): void {
    if (n === null || n === undefined || typeof n.type !== 'string') return
    switch (n.type) {
      case 'Identifier':
        refs.push({ name: n.name, node: n })
        return
      case 'VariableDeclarator':
        bind(n.id)
        if (n.id.type === 'Identifier') {
          const p = n.init ? pathOf(n.init) : undefined
          aliases.set(n.id.name, aliases.has(n.id.name) || p === undefined ? null : p)
        }
        visit(n.init)
        return
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        if (n.id) declared.add(n.id.name)
        for (const p of n.params) bind(p)
        visit(n.body)
        return
      case 'ClassDeclaration':
      case 'ClassExpression':
        if (n.id) declared.add(n.id.name)
        visit(n.superClass)
        visit(n.body)
        return
      case 'CatchClause':
        bind(n.param)
        visit(n.body)
        return
      case 'MemberExpression':
        visit(n.object)
        if (n.computed) visit(n.property)
        return
      case 'Property':
      case 'MethodDefinition':
      case 'PropertyDefinition':
        if (n.computed) visit(n.key)
        visit(n.value)
        return
      case 'LabeledStatement':
        visit(n.body)
        return
      case 'BreakStatement':
      case 'ContinueStatement':
      case 'MetaProperty':
        return
      case 'AssignmentExpression':
        if (n.left.type === 'MemberExpression') {
          target(n.left, true)
          visit(n.left)
        } else if (n.left.type === 'Identifier') {
          aliases.set(n.left.name, null)
          visit(n.left)
        } else bind(n.left)
        visit(n.right)
        return
      case 'UpdateExpression':
        if (n.argument.type === 'MemberExpression') target(n.argument, false)
        else if (n.argument.type === 'Identifier') aliases.set(n.argument.name, null)
        visit(n.argument)
        return
      case 'UnaryExpression':
        if (n.operator === 'delete' && n.argument.type === 'MemberExpression') target(n.argument, false)
        visit(n.argument)
        return
      case 'CallExpression': {
        const callee = n.callee.type === 'ParenthesizedExpression' ? n.callee.expression : n.callee
        if (callee.type === 'MemberExpression' && !callee.optional && !n.optional) {
          const obj = pathOf(callee.object)
          if (obj !== undefined && (obj.segments.length > 0 || aliases.has(callee.object.name))) use(objects, obj, callee)
          const arg = n.arguments[0]
          if (obj !== undefined && memberKey(callee) === 'setSlot' && arg?.type === 'Literal' && typeof arg.value === 'string') {
            use(creates, { base: obj.base, segments: [...obj.segments, arg.value] }, callee)
          }
        }
        visit(n.callee)
        for (const a of n.arguments) visit(a)
        return
      }
    }
    for (const k in n) {
      if (SKIP_KEYS.has(k)) continue
      const v = n[k]
      if (Array.isArray(v)) for (const c of v) visit(c)
      else if (v !== null && typeof v === 'object' && typeof v.type === 'string') visit(v)
    }
  }

  for (const s of body) visit(s)
  const free: (Place & { name: string })[] = []
  const seen = new Set<string>()
  for (const r of refs) {
    if (declared.has(r.name) || seen.has(r.name)) continue
    seen.add(r.name)
    free.push({ name: r.name, ...place(r.node) })
  }
  return { ok: true, free, declared: [...declared], creates, objects }
}

/** The static key of `a.b` or `a['b']`; undefined for a computed one. */
function memberKey(n: AnyNode): string | undefined {
  if (!n.computed && n.property.type === 'Identifier') return n.property.name
  if (n.computed && n.property.type === 'Literal' && (typeof n.property.value === 'string' || typeof n.property.value === 'number')) return String(n.property.value)
  return undefined
}
