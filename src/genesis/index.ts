/** Genesis: the seeds' Grand Narrative as executable JSONL, its replay, and the curriculum JIT (the offline default). */
export { Curriculum, GENESIS_DIR, parseLine } from './curriculum.js'
export { ConversationLine, ArchitectTurn, JitTurn, JitContent } from './format.js'
export type { Conversation, Turn } from './format.js'
export { installedSelectors } from './teaches.js'
export { replayConversation, replayCurriculum, replayedConversations } from './replay.js'
export type { ReplayOptions, CurriculumProgress, TurnRecord } from './replay.js'
export { CurriculumCompiler } from './curriculum-jit.js'
export { ExampleIndex, words } from './retrieval.js'
