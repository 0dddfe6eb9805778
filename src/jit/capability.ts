import type { HardenedRealm } from '../act/index.js'
import { UvmError } from '../errors.js'
import { arrayLength, ownValue, shapeOf } from '../kernel/index.js'
import { realmData, serviceObject } from '../act/index.js'
import type { LlmClient } from './client.js'

const ROLES = new Set(['system', 'user', 'assistant'])

/**
 * The `llm` capability: the configured client, granted to an act by name (never ambient; a method
 * gets it only when an act passes it). Only that one server is reachable through it: requests name
 * no URL. What the act hands in is read by descriptor (no getter of it runs on the host); what
 * comes back is made in the realm.
 */
export function llmCapability(realm: HardenedRealm, client: LlmClient): Record<string, unknown> {
  return serviceObject(realm, {
    chat: ([messages, opts]) => client.chat(readMessages(messages), readOptions(opts)).then((r) => realmData(realm, { text: r.text, model: r.model ?? null, usage: r.usage, ms: Math.round(r.ms) })),
    models: () => client.models().then((m) => realmData(realm, m)),
    loadAdapter: ([name, path]) => client.loadAdapter(text(name, 'the adapter name'), text(path, 'the adapter path')),
    unloadAdapter: ([name]) => client.unloadAdapter(text(name, 'the adapter name')),
  })
}

function text(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new UvmError('JIT_LLM_ERROR', `${what} must be a non-empty string`)
  return v
}

function readMessages(v: unknown): { role: 'system' | 'user' | 'assistant'; content: string }[] {
  if (v === null || typeof v !== 'object' || shapeOf(v) !== 'array') throw new UvmError('JIT_LLM_ERROR', 'llm.chat(messages): messages is an array of {role, content}')
  const out: { role: 'system' | 'user' | 'assistant'; content: string }[] = []
  for (let i = 0; i < Math.min(arrayLength(v), 1000); i++) {
    const m = ownValue(v, i)
    const role = m !== null && typeof m === 'object' ? ownValue(m, 'role') : undefined
    const content = m !== null && typeof m === 'object' ? ownValue(m, 'content') : undefined
    if (typeof role !== 'string' || !ROLES.has(role) || typeof content !== 'string') throw new UvmError('JIT_LLM_ERROR', `llm.chat(messages): message ${i} must be {role: 'system' | 'user' | 'assistant', content: string}`)
    out.push({ role: role as 'system' | 'user' | 'assistant', content })
  }
  return out
}

function readOptions(v: unknown): { model?: string; maxTokens?: number; temperature?: number; responseFormat?: object } {
  if (v === undefined || v === null) return {}
  if (typeof v !== 'object') throw new UvmError('JIT_LLM_ERROR', 'llm.chat(messages, opts): opts is {model?, maxTokens?, temperature?, json?}')
  const model = ownValue(v, 'model'), maxTokens = ownValue(v, 'maxTokens'), temperature = ownValue(v, 'temperature'), json = ownValue(v, 'json')
  return {
    ...(typeof model === 'string' && { model }),
    ...(typeof maxTokens === 'number' && Number.isInteger(maxTokens) && maxTokens > 0 && { maxTokens }),
    ...(typeof temperature === 'number' && Number.isFinite(temperature) && { temperature }),
    ...(json === true && { responseFormat: { type: 'json_object' } }),
  }
}
