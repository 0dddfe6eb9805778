/** Acts: LLM-emitted code run in a hardened node:vm realm against the live graph, one transaction each. */
export { HardenedRealm } from './realm.js'
export { clock } from './clock.js'
export type { Clock } from './clock.js'
export type { HardenedRealmOptions, RealmActOptions } from './realm.js'
export { runAct, actBindings, formatValue } from './run.js'
export type { ActOptions, ActResult } from './run.js'
export { ActError } from './act-error.js'
export { Output } from './output.js'
