/** The API covenant: the one definition of the Synaptic Bridge's wire. Types are inferred from these schemas. */
export * from './common.js'
export * from './commands.js'
export * from './replies.js'
export * from './jit.js'
export { covenantJsonSchema, PUB_TOPIC } from './schema.js'
export * from './act.js'
