import { types } from 'node:util'
import { describe, ownValue } from '../kernel/index.js'

/**
 * What an act's value holds that is not data the image stores, as the host shows it: a function by
 * its source, an error by its name and message, anything else by a short description. (Maps, Sets
 * and Dates are copied as host Maps, Sets and Dates: see `readCollection`.)
 */
export class Shown {
  constructor(readonly kind: 'function' | 'error' | 'opaque', readonly text: string) {}
}

/** Longest function source a reply carries (a REPL shows its first line). */
const SOURCE_LIMIT = 2000

// Host intrinsics, captured at load: called on a realm value they read its internal slots, and run none of its code.
const mapEntries = Map.prototype.entries
const setValues = Set.prototype.values
const getTime = Date.prototype.getTime

/**
 * A Map's entries, a Set's values or a Date's time, read through the host's own intrinsics (a realm
 * Map whose `entries` was replaced is read all the same, and nothing of the act runs); undefined for
 * anything else. At most `limit` items.
 */
export function readCollection(v: object, limit: number): { map: [unknown, unknown][] } | { set: unknown[] } | { date: number } | undefined {
  if (types.isProxy(v)) return undefined
  if (types.isMap(v)) {
    const out: [unknown, unknown][] = []
    for (const e of Reflect.apply(mapEntries, v, []) as IterableIterator<[unknown, unknown]>) { if (out.length >= limit) break; out.push(e) }
    return { map: out }
  }
  if (types.isSet(v)) {
    const out: unknown[] = []
    for (const x of Reflect.apply(setValues, v, []) as IterableIterator<unknown>) { if (out.length >= limit) break; out.push(x) }
    return { set: out }
  }
  if (types.isDate(v)) return { date: Reflect.apply(getTime, v, []) as number }
  return undefined
}

/** A function's source (`sourceOf` answers undefined for native code), cut to SOURCE_LIMIT. */
export function shownFunction(source: string | undefined, fn: Function): Shown {
  const name = ownValue(fn, 'name')
  const text = source ?? `function ${typeof name === 'string' ? name : ''}() { [native code] }`
  return new Shown('function', text.length > SOURCE_LIMIT ? text.slice(0, SOURCE_LIMIT) + '…' : text)
}

/** An error as `TypeError: message`, read by descriptor; any other object by its description (`a RegExp`). */
export function shownObject(v: object): Shown {
  if (!types.isProxy(v) && types.isNativeError(v)) {
    const message = ownValue(v, 'message')
    const kind = describe(v).replace(/^an? /, '')
    return new Shown('error', `${kind}${typeof message === 'string' && message ? ': ' + message : ''}`)
  }
  return new Shown('opaque', describe(v))
}
