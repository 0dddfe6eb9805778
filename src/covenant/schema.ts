import { z } from 'zod'
import { Command } from './commands.js'
import { Reply, UvmStateUpdateEvent } from './replies.js'
import { JIT_TOPIC, JitCycleEvent } from './jit.js'
import { DeclarativeAct } from './act.js'

export const PUB_TOPIC = 'uvm_state_update'

/** The covenant as one JSON Schema document, for clients in other languages. */
export function covenantJsonSchema(version: string): Record<string, unknown> {
  const opts = { io: 'input', unrepresentable: 'any' } as const
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'UVM Synaptic Bridge covenant',
    version,
    wire: {
      commands: 'ROUTER socket; the request is the last frame; MessagePack map, or JSON when the first byte is "{"',
      events: `PUB socket; frames [topic, payload]: topic "${PUB_TOPIC}" after every commit, topic "${JIT_TOPIC}" for every step of a JIT cycle; payload MessagePack`,
    },
    command: z.toJSONSchema(Command, opts),
    reply: z.toJSONSchema(Reply, { ...opts, io: 'output' }),
    event: z.toJSONSchema(UvmStateUpdateEvent, { ...opts, io: 'output' }),
    jit_event: z.toJSONSchema(JitCycleEvent, { ...opts, io: 'output' }),
    // A dataset's uvm_jit turn may carry this in place of JavaScript (seed 000's vocabulary).
    autopoietic_act: z.toJSONSchema(DeclarativeAct, opts),
  }
}
