import { Parser } from 'acorn'
import type { Node } from 'acorn'

/**
 * The selectors an act installs as methods: `x.setSlot('name', function … / () => …)` and
 * `x.name = function …`. Read from the syntax tree, so an act is what declares what it teaches; an
 * act that does not parse teaches nothing (the replay reports its syntax error).
 */
export function installedSelectors(code: string): string[] {
  let ast: Node
  try {
    ast = Parser.parse(code, { ecmaVersion: 'latest', sourceType: 'script', allowAwaitOutsideFunction: true, allowReturnOutsideFunction: true }) as Node
  } catch {
    return []
  }
  const out = new Set<string>()
  const isFunction = (n: unknown): boolean => {
    const t = (n as { type?: string } | null)?.type
    return t === 'FunctionExpression' || t === 'ArrowFunctionExpression'
  }
  const visit = (n: unknown): void => {
    if (n === null || typeof n !== 'object') return
    if (Array.isArray(n)) { for (const x of n) visit(x); return }
    const node = n as Record<string, any>
    if (node.type === 'CallExpression' && node.callee?.type === 'MemberExpression' && !node.callee.computed && node.callee.property?.name === 'setSlot') {
      const [name, value] = node.arguments ?? []
      if (name?.type === 'Literal' && typeof name.value === 'string' && isFunction(value)) out.add(name.value)
    }
    if (node.type === 'AssignmentExpression' && node.left?.type === 'MemberExpression' && isFunction(node.right)) {
      const key = node.left.computed ? (node.left.property?.type === 'Literal' ? node.left.property.value : undefined) : node.left.property?.name
      if (typeof key === 'string') out.add(key)
    }
    for (const k of Object.keys(node)) if (k !== 'type' && k !== 'start' && k !== 'end') visit(node[k])
  }
  visit(ast)
  return [...out]
}
