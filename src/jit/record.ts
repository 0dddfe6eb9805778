export type { JitCycleRecord, JitEvent } from '../covenant/index.js'
