import { z } from 'zod'

/** Echoed in the reply so a client can match replies to requests. */
export const RequestId = z.union([z.string().max(256), z.number().int()]).describe('echoed in the reply')
export type RequestId = z.infer<typeof RequestId>

/** A reference to an existing object on the wire. */
export const Ref = z.object({ $ref: z.number().int().nonnegative() }).meta({ id: 'Ref', description: 'a reference to an existing object by oid' })
export type Ref = z.infer<typeof Ref>

/**
 * Which object a command acts on: a dotted path from the root
 * (`"genesis"`, `"genesis.prototypes.WorldMorph"`) or `{"$ref": oid}`.
 * Default: the Genesis Object.
 */
export const Target = z.union([
  z.string().min(1).max(1024).regex(/^[^.]+(\.[^.]+)*$/, 'a dotted path such as "genesis.prototypes.WorldMorph"'),
  Ref,
]).meta({ id: 'Target', description: 'a dotted path from the root, or {"$ref": oid}; default: the Genesis Object' })
export type Target = z.infer<typeof Target>

/** Fields every command may carry. `target_uuid` is the seeds' name for `target`. */
export const commandBase = {
  id: RequestId.optional(),
  target: Target.optional(),
  target_uuid: Target.optional().describe('alias of target (the seeds\' field name)'),
  debug: z.boolean().optional().describe('an error reply carries `stack`: the sandbox and host stack traces (`uvm --debug`)'),
}

/**
 * A value on the wire: plain data as is; an object as
 * `{"$ref": oid, "$print": "<WorldMorph #5>", "$slots": {...}}` (slots only
 * within the requested depth); a method as `{"$method": source}`.
 */
export const WireValue = z.unknown().meta({ id: 'WireValue', description: 'plain data; objects as {"$ref": oid, "$print", "$slots"?}; methods as {"$method": source}; in values the UVM sends, what JSON and MessagePack do not carry is tagged: {"$bigint": "10"}, {"$number": "NaN"}, {"$undefined": true}, {"$map": [[k, v], ...]}, {"$set": [...]}, {"$date": ISO}, {"$function": source}, {"$error": text}, {"$opaque": description} (docs/REPL.md)' })
export type WireValue = z.infer<typeof WireValue>
