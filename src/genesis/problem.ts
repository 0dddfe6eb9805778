import type { z } from 'zod'
import { isDeclarativeAct, parseDeclarativeAct } from '../act/index.js'

/** The first problem of a line, as a person reads it: where (a path such as `messages.2.role`) and what. */
export interface LineProblem {
  path: string
  message: string
}

const WHERE_KEYS: [RegExp, string][] = [
  [/^$/, "a line holds 'messages' and, optionally, 'meta'"],
  [/^messages\.\d+$/, "a turn holds 'role' and 'content'"],
  [/^messages\.\d+\.content$/, "uvm_jit content holds 'explanation' and 'code' (or 'autopoietic_act')"],
]

/** Turn zod's first issue on a conversation line into a message naming the path and what to fix. */
export function lineProblem(error: z.ZodError, input: unknown): LineProblem {
  const order = roleOrder(input)
  if (order !== undefined) return order
  const issue = error.issues[0]!
  const path = issue.path.map(String).join('.')
  const at = (p: PropertyKey[]) => p.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), input)
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!
    const hint = WHERE_KEYS.find(([re]) => re.test(path))?.[1]
    return { path: path === '' ? key : `${path}.${key}`, message: `unknown key '${key}'${hint ? ` (${hint})` : ''}` }
  }
  if (issue.code === 'invalid_union' && 'discriminator' in issue && issue.discriminator === 'role') {
    const role = at(issue.path)
    return { path, message: role === undefined ? "the turn has no 'role' (architect or uvm_jit)" : `unknown role ${JSON.stringify(role)} (roles are architect and uvm_jit)` }
  }
  if (issue.code === 'invalid_type' && issue.path.length === 0) return { path, message: 'a line is one JSON object: {"messages": [...]}' }
  if (issue.code === 'invalid_type' && /^messages\.\d+$/.test(path)) return { path, message: `turn ${Number(issue.path[1]) + 1} must be an object {"role", "content"}` }
  if (issue.code === 'invalid_type' && path === 'messages' && at(['messages']) === undefined) return { path, message: "the line has no 'messages' (an array of turns)" }
  if (issue.code === 'invalid_type' && /^messages\.\d+\.content$/.test(path) && (at(issue.path.slice(0, -1)) as { role?: unknown })?.role === 'uvm_jit') {
    return { path, message: 'uvm_jit content must be an object {"explanation", "code"}' }
  }
  if (path.endsWith('.autopoietic_act')) {
    const act = at(issue.path)
    if (isDeclarativeAct(act)) {
      try {
        parseDeclarativeAct(act)
      } catch (e) {
        return { path, message: (e as Error).message.replace(/^autopoietic_act\.?/, '').replace(/^: /, '') || (e as Error).message }
      }
    }
  }
  return { path, message: issue.message }
}

/** Roles out of order are the line's real problem, whatever else its turns get wrong. */
function roleOrder(input: unknown): LineProblem | undefined {
  const messages = (input as { messages?: unknown } | null)?.messages
  if (!Array.isArray(messages)) return undefined
  for (let i = 0; i < messages.length; i++) {
    const role = (messages[i] as { role?: unknown } | null)?.role
    const want = i % 2 === 0 ? 'architect' : 'uvm_jit'
    if ((role === 'architect' || role === 'uvm_jit') && role !== want) return { path: `messages.${i}.role`, message: `turn ${i + 1} must be ${want}: roles alternate, starting with architect` }
  }
  return undefined
}
