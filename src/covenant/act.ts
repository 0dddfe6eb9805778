/**
 * Declarative autopoietic acts: seed 000's vocabulary. A dataset's `uvm_jit` turn may carry, instead
 * of a string of JavaScript, a structured `autopoietic_act` object such as
 * `{"action": "ADD_SLOT", "target": "prototypes.Dog", "slot": "name", "value": "Rex"}`. The act folder
 * compiles a validated one into an ordinary JavaScript act (src/act/declarative.ts); this file is the
 * one definition of the vocabulary, and its JSON Schema documents it (covenantJsonSchema).
 */
import { z } from 'zod'

/** The names of the declarative actions, in the order the vocabulary lists them. */
export const DECLARATIVE_ACTIONS = ['ADD_SLOT', 'MODIFY_SLOT', 'CLONE_PROTOTYPE', 'COMPOSITE_ACTION', 'INITIATE_FINETUNE_JOB'] as const

/** Limits of a declarative act (checked before anything of it is compiled). */
export const DECLARATIVE_LIMITS = {
  /** COMPOSITE_ACTIONs inside one another, the outermost counting 1. */
  compositeDepth: 16,
  /** Sub-actions of one COMPOSITE_ACTION. */
  subActions: 1000,
  /** Arrays and objects inside one another within a value, the value itself counting 1. */
  valueDepth: 64,
  /** Arrays and objects inside one another anywhere in the act (bounds the work before the fine checks). */
  totalDepth: 16 * 2 + 64 + 8,
} as const

/** INITIATE_FINETUNE_JOB's defaults (seed 000, chapter 5: UnslothForge). */
export const FINETUNE_DEFAULTS = { chat_template: 'chatml', lora_r: 16, lora_alpha: 32, epochs: 3 } as const

/** Path segments that would reach JavaScript machinery rather than slots. */
const REFUSED_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype'])

/** A dotted path from one of the act's bindings to an object of the graph (or a value inside one). */
export const ActPath = z.string()
  .max(1024)
  .regex(/^(root|genesis|prototypes)(\.[A-Za-z_$][\w$]*)*$/, 'a path is a dotted name starting at root, genesis or prototypes, such as "prototypes.Dog" or "genesis.prototypes.Morph"')
  .superRefine((path, ctx) => {
    const bad = path.split('.').find((s) => REFUSED_SEGMENTS.has(s))
    if (bad !== undefined) ctx.addIssue({ code: 'custom', message: `the path segment '${bad}' is refused (__proto__, constructor and prototype name JavaScript machinery, not slots)` })
  })
  .describe('a dotted path from root, genesis or prototypes (genesis.prototypes), such as "prototypes.Dog"; resolved one slot at a time, own or inherited')
export type ActPath = z.infer<typeof ActPath>

/** A slot name; a trailing `*` marks a parent slot (`parent*`), which delegates. */
export const ActSlotName = z.string()
  .max(256)
  .regex(/^[A-Za-z_$][\w$]*\*?$/, 'a slot name is an identifier, with a trailing * for a parent slot such as "parent*"')
  .refine((s) => s !== '__proto__', "the slot name '__proto__' is refused")
  .describe('a slot name: an identifier; a trailing * marks a parent slot (parent*), through which the object delegates')
export type ActSlotName = z.infer<typeof ActSlotName>

/** `{"$ref": path}`: the object of the graph the path reaches. */
export const ActValueRef = z.strictObject({
  $ref: ActPath.describe('the path of an object of the graph; the value holds that object itself (a reference), not a copy'),
}).describe('a reference to an object of the graph: {"$ref": path}, alone in its object')
export type ActValueRef = z.infer<typeof ActValueRef>

const REF_KEY_MESSAGE = 'the key "$ref" marks a reference: {"$ref": path} alone in its object, the path a string such as "prototypes.Dog"'

/** How many arrays and objects sit inside one another in `v` (0 for a scalar); stops counting past `limit`. */
function nesting(v: unknown, limit: number): number {
  let deepest = 0
  const stack: Array<[unknown, number]> = [[v, 1]]
  while (stack.length > 0) {
    const [x, d] = stack.pop()!
    if (x === null || typeof x !== 'object') continue
    if (d > deepest) deepest = d
    if (deepest > limit) return deepest
    for (const child of Object.values(x)) stack.push([child, d + 1])
  }
  return deepest
}

/** Finite numbers only (zod 4 refuses NaN and the infinities). */
const JsonScalar = [z.null(), z.boolean(), z.number(), z.string()] as const

/** JSON, without references (what a fine-tuning dataset holds). */
const Json: z.ZodType<z.core.util.JSONType> = z.lazy(() => z.union([
  ...JsonScalar,
  z.array(Json),
  z.record(z.string(), Json),
])).meta({ id: 'DeclarativeJson', description: 'a JSON value: null, boolean, finite number, string, array, object' })

/**
 * A slot's value: any JSON value (null, boolean, finite number, string, arrays, plain objects, no key
 * `__proto__`), with `{"$ref": path}` for an object of the graph anywhere inside.
 */
export const ActValue: z.ZodType<z.core.util.JSONType> = z.lazy(() => z.union([
  ...JsonScalar,
  z.array(ActValue),
  // Tried before the plain object: `{"$ref": ...}` is a reference or wrong, never plain data.
  ActValueRef,
  z.record(z.string(), ActValue).refine((o) => !Object.hasOwn(o, '$ref'), { message: REF_KEY_MESSAGE, abort: true }),
]).refine((v) => nesting(v, DECLARATIVE_LIMITS.valueDepth) <= DECLARATIVE_LIMITS.valueDepth, `a value nests arrays and objects ${DECLARATIVE_LIMITS.valueDepth} deep at most`),
).meta({ id: 'DeclarativeValue', description: 'a JSON value (null, boolean, finite number, string, array, object; no key "__proto__"), or {"$ref": path} for an object of the graph, anywhere inside' })
export type ActValue = z.infer<typeof ActValue>

const slotFields = {
  target: ActPath.describe('the object whose slot this is'),
  slot: ActSlotName,
  value: ActValue.optional().describe('the slot\'s new value (exactly one of value and method)'),
  method: z.string().min(1).max(1 << 20).optional()
    .describe('the slot\'s new method: the source of one function expression or arrow function, such as "function () { return \'woof\' }" (exactly one of value and method); `this` is the receiver'),
}

const oneOf = (a: { value?: unknown; method?: unknown }) => (a.value === undefined) !== (a.method === undefined)
const ONE_OF = { message: 'give exactly one of value and method', path: ['value'] }

const AddSlot = z.strictObject({
  action: z.literal('ADD_SLOT').describe('add a slot the target does not itself hold (it may inherit one of that name: the new slot overrides it)'),
  ...slotFields,
}).refine(oneOf, ONE_OF).describe('ADD_SLOT: add a slot the target does not itself hold; fails when it does (use MODIFY_SLOT). Answers the target')

const ModifySlot = z.strictObject({
  action: z.literal('MODIFY_SLOT').describe('change a slot the target holds or inherits (an inherited one is overridden on the target)'),
  ...slotFields,
}).refine(oneOf, ONE_OF).describe('MODIFY_SLOT: change a slot the target holds or inherits (an inherited one gets overridden on the target); fails when it responds to no such slot (use ADD_SLOT). Answers the target')

const ClonePrototype = z.strictObject({
  action: z.literal('CLONE_PROTOTYPE').describe('clone a prototype and store the clone'),
  prototype: ActPath.describe('the object to clone: the clone delegates to it through its parent* slot'),
  name: ActPath.refine((p) => p.includes('.'), 'name is where the clone is stored: a path with at least two segments, such as "prototypes.Button"')
    .describe('where the clone is stored: the last segment is the slot, set on the object the rest of the path reaches ("prototypes.Button" sets the slot Button of prototypes)'),
  slots: z.record(ActSlotName, ActValue).optional().describe('slots set on the clone (its differences from the prototype)'),
}).describe('CLONE_PROTOTYPE: clone prototype (the clone delegates to it), set slots on the clone, store it at name. Answers the clone')

const InitiateFinetuneJob = z.strictObject({
  action: z.literal('INITIATE_FINETUNE_JOB').describe('hand a fine-tuning job to UnslothForge through the forge capability'),
  facet_id: z.string().min(1).max(128).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only (it names a folder)').describe('the facet (persona) the adapter is for; it names the job\'s folder'),
  base_model: z.string().min(1).max(1024).describe('the model the LoRA adapter is trained on, such as "unsloth/Llama-3.2-1B-Instruct"'),
  dataset: z.array(z.record(z.string(), Json)).min(1).max(100_000).describe('the training conversations, each an object in the seeds\' JSONL format ({"messages": [...]})'),
  chat_template: z.string().min(1).max(256).optional().describe(`the chat template (default "${FINETUNE_DEFAULTS.chat_template}")`),
  lora_r: z.number().int().positive().optional().describe(`LoRA rank (default ${FINETUNE_DEFAULTS.lora_r})`),
  lora_alpha: z.number().int().positive().optional().describe(`LoRA alpha (default ${FINETUNE_DEFAULTS.lora_alpha})`),
  epochs: z.number().int().positive().optional().describe(`training epochs (default ${FINETUNE_DEFAULTS.epochs})`),
}).describe('INITIATE_FINETUNE_JOB: submit a fine-tuning job through the forge capability (needs uvm boot --forge-dir DIR or --forge-url URL). Answers the forge\'s receipt {job_id, status, ...}')

const CompositeAction = z.strictObject({
  action: z.literal('COMPOSITE_ACTION').describe('several actions as one act'),
  get sub_actions() {
    return z.array(DeclarativeActShape).min(1).max(DECLARATIVE_LIMITS.subActions)
      .describe(`the actions, run in order in one act and one transaction: when one fails, none of them persists (at most ${DECLARATIVE_LIMITS.subActions}; COMPOSITE_ACTIONs nest ${DECLARATIVE_LIMITS.compositeDepth} deep at most)`)
  },
}).describe('COMPOSITE_ACTION: sub_actions in order, all in one transaction (a failing one undoes them all). Answers the last one\'s answer')

const DeclarativeActShape = z.discriminatedUnion('action', [AddSlot, ModifySlot, ClonePrototype, CompositeAction, InitiateFinetuneJob], {
  error: (iss) => {
    const vocabulary = `one of ${DECLARATIVE_ACTIONS.join(', ')}`
    // The raw issue: a value that is no object at all comes as invalid_type (wider than the declared type).
    const code: string | undefined = (iss as { code?: string }).code
    if (code === 'invalid_type') return `an action is an object such as {"action": "ADD_SLOT", "target": "prototypes.Dog", "slot": "name", "value": "Rex"}`
    if (code !== 'invalid_union') return undefined
    const action = iss.input !== null && typeof iss.input === 'object' ? (iss.input as Record<string, unknown>).action : undefined
    if (action === undefined) return `an action needs "action": ${vocabulary}`
    return `unknown action ${typeof action === 'string' ? JSON.stringify(action.slice(0, 64)) : `of type ${typeof action}`}: the vocabulary is ${vocabulary.slice(7)}`
  },
})
  .meta({ id: 'DeclarativeAct', description: `one action: ${DECLARATIVE_ACTIONS.join(', ')}` })

/**
 * What the structure may not hold, found in one iterative walk before zod's recursive parse runs (so
 * that a hostile depth cannot exhaust the stack): keys named `__proto__` anywhere (zod's records would
 * drop them silently), too much nesting, and COMPOSITE_ACTIONs nested past the limit.
 */
function structuralProblem(input: unknown): { path: PropertyKey[]; message: string } | undefined {
  const stack: Array<{ v: unknown; path: PropertyKey[]; composites: number }> = [{ v: input, path: [], composites: 0 }]
  while (stack.length > 0) {
    const { v, path, composites } = stack.pop()!
    if (v === null || typeof v !== 'object') continue
    if (path.length >= DECLARATIVE_LIMITS.totalDepth) return { path, message: `the act nests arrays and objects more than ${DECLARATIVE_LIMITS.totalDepth} deep` }
    const isComposite = !Array.isArray(v) && Object.hasOwn(v, 'action') && (v as Record<string, unknown>).action === 'COMPOSITE_ACTION'
    const depth = composites + (isComposite ? 1 : 0)
    if (depth > DECLARATIVE_LIMITS.compositeDepth) return { path, message: `COMPOSITE_ACTIONs nest ${DECLARATIVE_LIMITS.compositeDepth} deep at most` }
    const keys = Object.keys(v)
    if (!Array.isArray(v) && keys.includes('__proto__')) return { path: [...path, '__proto__'], message: "the key '__proto__' is refused (it would set an object's prototype)" }
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]!
      stack.push({ v: (v as Record<string, unknown>)[k], path: [...path, Array.isArray(v) ? Number(k) : k], composites: depth })
    }
  }
  return undefined
}

/**
 * A declarative autopoietic act: ADD_SLOT, MODIFY_SLOT, CLONE_PROTOTYPE, COMPOSITE_ACTION (nesting
 * the others) or INITIATE_FINETUNE_JOB, discriminated by `action`. Every variant is strict: an
 * unknown key is an error, not ignored.
 */
export const DeclarativeAct = z.preprocess((input, ctx) => {
  const problem = structuralProblem(input)
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path, input })
  return input
}, DeclarativeActShape).describe(
  'a declarative autopoietic act (seed 000\'s vocabulary), compiled into one JavaScript act and run in one transaction: ' +
  DECLARATIVE_ACTIONS.join(', '),
)
export type DeclarativeAct = z.infer<typeof DeclarativeAct>
export type DeclarativeAction = DeclarativeAct['action']
