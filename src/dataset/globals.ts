import { runInNewContext } from 'node:vm'

/** What every act is bound to besides its capabilities (src/act's actBindings; print, console and sleep are the realm's globals), and `self` inside methods. */
const ACT_BINDINGS = ['root', 'genesis', 'prototypes', 'UvmObject', 'print', 'console', 'sleep', 'self']

/** The daemon's capabilities (src/daemon's standardCapabilities, and the JIT's llm). */
export const STANDARD_CAPABILITIES = ['bridge', 'forge', 'system', 'handoff', 'llm']

/**
 * Every name an act may use undeclared: its bindings, its capabilities, and the JavaScript globals a
 * fresh realm has (the hardened realm freezes the same intrinsics; it adds none).
 */
export function actGlobals(capabilities: readonly string[] = STANDARD_CAPABILITIES): string[] {
  const intrinsics = runInNewContext('Object.getOwnPropertyNames(globalThis)') as string[]
  return [...new Set([...ACT_BINDINGS, ...capabilities, ...intrinsics, 'globalThis', 'undefined', 'NaN', 'Infinity'])]
}
