import type { ConversationLine } from '../genesis/index.js'

export const EXPORT_FORMATS = ['uvm', 'openai', 'sharegpt'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

/** An OpenAI chat fine-tuning line: only `messages`, each only `role` and `content` (both strings). */
export interface OpenAiLine {
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[]
}

/** A ShareGPT line, as axolotl's and unsloth's sharegpt loaders read it. */
export interface ShareGptLine {
  conversations: { from: 'system' | 'human' | 'gpt'; value: string }[]
}

/** The uvm_jit answer as the model should learn to write it: one JSON object, as a string. */
function answerText(content: Extract<ConversationLine['messages'][number], { role: 'uvm_jit' }>['content']): string {
  const act = content.code !== undefined ? { code: content.code } : { autopoietic_act: content.autopoietic_act }
  return JSON.stringify({ explanation: content.explanation, ...act })
}

/** The seeds' schema as chat messages: the persona as the system turn, the Architect as user, the JIT as assistant. */
export function toOpenAi(line: ConversationLine, system: string): OpenAiLine {
  return {
    messages: [
      { role: 'system', content: system },
      ...line.messages.map((m) => (m.role === 'architect' ? { role: 'user' as const, content: m.content } : { role: 'assistant' as const, content: answerText(m.content) })),
    ],
  }
}

export function toShareGpt(line: ConversationLine, system: string): ShareGptLine {
  return {
    conversations: [
      { from: 'system', value: system },
      ...line.messages.map((m) => (m.role === 'architect' ? { from: 'human' as const, value: m.content } : { from: 'gpt' as const, value: answerText(m.content) })),
    ],
  }
}

/** One exported line in the chosen format. */
export function formatLine(line: ConversationLine, format: ExportFormat, system: string): unknown {
  return format === 'openai' ? toOpenAi(line, system) : format === 'sharegpt' ? toShareGpt(line, system) : line
}
