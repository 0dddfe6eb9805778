/**
 * The REPL's session scope: names an input declared at top level (`let q = 1`, `function sq(x) {}`),
 * seen by every later input, although each input is its own act and transaction. Kept here, in the
 * client, never in the image (docs/REPL.md): objects of the image as references (`{"$ref": oid}`),
 * data as copies, function declarations as their source (declared again in each act).
 */
export class Session {
  private readonly values = new Map<string, unknown>()
  private readonly functions = new Map<string, string>()

  /** Names with a value (not the function declarations). */
  names(): string[] {
    return [...this.values.keys()]
  }

  all(): string[] {
    return [...this.values.keys(), ...this.functions.keys()]
  }

  functionSources(): Record<string, string> {
    return Object.fromEntries(this.functions)
  }

  /** What run_act's `bindings` carries; undefined while the session is empty. */
  bindings(): Record<string, unknown> | undefined {
    return this.values.size === 0 ? undefined : Object.fromEntries(this.values)
  }

  /** Session names that hold an object of the image, with its oid (for completion). */
  refs(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [n, v] of this.values) {
      const ref = (v as { $ref?: unknown } | null)?.$ref
      if (typeof ref === 'number') out[n] = ref
    }
    return out
  }

  /** Forget a name (its object was never written: see `startRepl`). */
  drop(name: string): void {
    this.values.delete(name)
  }

  get size(): number {
    return this.values.size + this.functions.size
  }

  /**
   * Take the names a finished act answered. Returns a note for each value the session cannot keep
   * (a Map, a closure...): such a name is gone for the next input.
   */
  keep(answered: Record<string, unknown>, declared: { functions: Record<string, string> }): string[] {
    const notes: string[] = []
    for (const [name, src] of Object.entries(declared.functions)) {
      this.values.delete(name)
      this.functions.set(name, src)
    }
    for (const [name, wire] of Object.entries(answered)) {
      if (declared.functions[name] !== undefined) continue
      this.functions.delete(name)
      const kept = isClass(wire) ? { why: 'a class' } : keepable(wire, true)
      if ('why' in kept) {
        this.values.delete(name)
        notes.push(`(${name} is ${kept.why}, which the session cannot keep: it keeps data, objects of the image and function declarations; ${name} is gone after this input)`)
      } else this.values.set(name, kept.value)
    }
    return notes
  }
}

function isClass(v: unknown): boolean {
  const src = (v as { $function?: unknown } | null)?.$function
  return typeof src === 'string' && /^class\b/.test(src)
}

const KINDS: Record<string, string> = {
  $map: 'a Map', $set: 'a Set', $date: 'a Date', $function: 'a function value', $method: 'a method', $primitive: 'a primitive',
  $error: 'an error', $opaque: 'an object that is not data', $bigint: 'a BigInt inside data', $number: 'a non-finite number inside data', $undefined: 'undefined inside data',
}

/** A wire value as the session sends it back: objects as `{"$ref": oid}`; or why it cannot be. */
function keepable(v: unknown, top: boolean): { value: unknown } | { why: string } {
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return { value: v }
  if (Array.isArray(v)) {
    const out: unknown[] = []
    for (const x of v) {
      const k = keepable(x, false)
      if ('why' in k) return k
      out.push(k.value)
    }
    return { value: out }
  }
  const rec = v as Record<string, unknown>
  if (typeof rec.$ref === 'number') return { value: { $ref: rec.$ref } }
  const keys = Object.keys(rec)
  if (keys.length === 1 && KINDS[keys[0]!] !== undefined) {
    // A bigint, NaN or undefined the daemon makes again (only as the whole value: src/bridge/values.ts).
    if (top && ['$bigint', '$number', '$undefined'].includes(keys[0]!)) return { value: rec }
    return { why: KINDS[keys[0]!]! }
  }
  const out: Record<string, unknown> = {}
  for (const k of keys) {
    const x = keepable(rec[k], false)
    if ('why' in x) return x
    Object.defineProperty(out, k, { value: x.value, enumerable: true, writable: true, configurable: true })
  }
  return { value: out }
}
