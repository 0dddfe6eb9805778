import { Obj } from './obj.js'

/**
 * What a send needed that no slot gave, recorded on a view whose act a compiler stands behind
 * (Heap.deferMissing): the JIT compiles it once the act has ended, and runs the act again.
 * `args` are the message's arguments as storable values (objects by handle, data frozen), or
 * undefined where an argument could not be kept.
 */
export interface Need {
  kind: 'selector' | 'intent'
  receiver: Obj
  selector: string
  args: readonly unknown[]
  /** kind 'intent': the object whose slot holds `{"$intent": …}`, and its text. */
  holder?: Obj | undefined
  intent?: string | undefined
}

/** A slot value that is an intent (`{"$intent": "…"}`): natural language to be compiled into a method on first send. */
export function intentOf(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array || value instanceof Obj) return undefined
  // Stored data maps are the kernel's own frozen null-prototype copies: reading them runs no code.
  const text = (value as Record<string, unknown>).$intent
  return typeof text === 'string' && Object.keys(value).length === 1 ? text : undefined
}
