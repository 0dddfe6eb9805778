import type { Target } from '../covenant/index.js'

/** What completion reads: an object's own slots, as get_full_state answers them. */
export type SlotReader = (target: Target) => Promise<unknown>

/** How many objects of a delegation chain completion reads at most (a chain longer than this is a bug). */
const MAX_ANCESTRY = 32

/** The names a line may end in besides slot names: what every act has in scope. */
const GLOBALS = ['root', 'genesis', 'prototypes', 'print', 'UvmObject']

/**
 * Completions for the end of a REPL line: dot-commands (`.ins` → `.inspect`), names in scope (the
 * act's own and the session's), and slot names of the object a dotted path ends at, with every
 * slot it inherits through its parent* slots, as a send would find them.
 */
export async function complete(read: SlotReader, line: string, scope: { commands: string[]; names: string[]; refs: Record<string, number> }): Promise<[string[], string]> {
  const command = /^\s*\.(\w*)$/.exec(line)
  if (command) {
    const word = line.trimStart()
    return [scope.commands.filter((c) => c.startsWith(command[1]!)).map((c) => '.' + c).sort(), word]
  }
  const m = /([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\.?([\w$]*)$/.exec(line)
  if (!m) return [[], line]
  const word = m[0]
  const dot = word.lastIndexOf('.')
  if (dot < 0) return [[...new Set([...GLOBALS, ...scope.names])].filter((n) => n.startsWith(word)).sort(), word]
  const path = word.slice(0, dot)
  const prefix = word.slice(dot + 1)
  const target = targetOf(path, scope.refs)
  if (target === undefined) return [[], word]
  const names = await slotNames(read, target)
  const hits = [...names].filter((n) => n.startsWith(prefix) && /^[A-Za-z_$][\w$]*$/.test(n)).sort()
  return [hits.map((n) => word.slice(0, dot + 1) + n), word]
}

/** A dotted path of the act's scope as a target: `prototypes.Dog` is `genesis.prototypes.Dog`; a session name holding an object starts at that object. */
function targetOf(path: string, refs: Record<string, number>): Target | undefined {
  const [head, ...rest] = path.split('.')
  if (head === 'root') return rest.length ? rest.join('.') : 'root'
  if (head === 'genesis') return path
  if (head === 'prototypes') return ['genesis', 'prototypes', ...rest].join('.')
  const oid = refs[head!]
  if (oid === undefined) return undefined
  // A path below a session object: walk it one slot at a time (targets are paths from the root).
  return rest.length ? undefined : { $ref: oid }
}

/** The slot names an object answers: its own, then each parent*'s, depth first, as lookup searches them. */
async function slotNames(read: SlotReader, target: Target): Promise<Set<string>> {
  const names = new Set<string>()
  const seen = new Set<number>()
  const queue: Target[] = [target]
  while (queue.length > 0 && seen.size < MAX_ANCESTRY) {
    const state = await read(queue.shift()!) as { $ref?: number; $slots?: Record<string, unknown> }
    if (typeof state?.$ref !== 'number' || seen.has(state.$ref)) continue
    seen.add(state.$ref)
    const parents: Target[] = []
    for (const [name, value] of Object.entries(state.$slots ?? {})) {
      if (name.endsWith('*') && name.length > 1) {
        const ref = (value as { $ref?: unknown } | null)?.$ref
        if (typeof ref === 'number') parents.push({ $ref: ref })
      } else names.add(name)
    }
    queue.unshift(...parents)
  }
  return names
}
