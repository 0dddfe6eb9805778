import { UvmError } from '../../src/errors.js'
import { afterEach, expect } from 'vitest'
import type { Obj, State } from '../../src/kernel/index.js'
import type { Image, Transaction } from '../../src/image/index.js'
import type { HardenedRealm } from '../../src/act/realm.js'

/** A graph object as test code handles it (a proxy: any slot may be read, written or sent). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type P = Record<string, any>

/**
 * The error `fn` throws; fails the test when it returns normally. Errors may
 * come from the sandbox realm (not `instanceof` host classes), so tests check
 * `code`, `name` and `message` instead of classes.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function thrown(fn: () => unknown): any {
  try {
    fn()
  } catch (e) {
    return e
  }
  expect.fail('expected an error, but the call returned normally')
}

/** The error a promise rejects with; fails the test when it resolves. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function rejected(p: Promise<unknown> | (() => Promise<unknown>)): Promise<any> {
  try {
    await (typeof p === 'function' ? p() : p)
  } catch (e) {
    return e
  }
  expect.fail('expected a rejection, but the promise resolved')
}

/** The UvmError a promise rejects with. */
export async function rejection(p: Promise<unknown>): Promise<UvmError> {
  const e = await rejected(p)
  expect(e).toBeInstanceOf(UvmError)
  return e as UvmError
}

export function oidOf(tx: Transaction, proxy: unknown): number {
  return tx.objectOf(proxy).oid
}

export function handleOf(tx: Transaction, proxy: unknown): Obj {
  return tx.objectOf(proxy)
}

/** The state of an object as the transaction sees it (working copy first). */
export function stateOf(tx: Transaction, proxy: unknown): State {
  return tx.read(tx.objectOf(proxy))
}

/** The store key of an object's current revision, spelled out (for tampering behind the image's back). */
export function objectRecordKey(oid: number): string {
  return 'o:' + oid.toString(16).padStart(12, '0')
}

export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * Run `code` as an act (the body of an async function over `bindings`) in the
 * image's sandbox realm. Sandbox code is where async methods are awaited: a
 * realm promise handed to host code settles only when the realm runs again.
 */
export function runInRealm(image: Image, code: string, bindings: Record<string, unknown>): Promise<unknown> {
  return (image.kernel.realm as unknown as HardenedRealm).runAct(code, bindings)
}

/** Things a test opened (images, servers), closed after each test, newest first. Call at the top of a test file. */
export function useCleanups(): (cleanup: () => Promise<void>) => void {
  let cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    const todo = cleanups.reverse()
    cleanups = []
    for (const c of todo) await c()
  })
  return (cleanup) => { cleanups.push(cleanup) }
}
