import { UvmError } from '../errors.js'
import { referencesOf } from './codec.js'
import type { Image } from './image.js'
import { OBJECTS, REVISIONS, TRANSACTIONS, objectKey, oidOfObjectKey } from './keys.js'

export interface CheckReport {
  ok: boolean
  objects: number
  reachable: number
  unreachable: number
  revisions: number
  transactions: number
  danglingCount: number
  undecodableCount: number
  /** The first `maxListed` of each. */
  dangling: { from: number; to: number }[]
  undecodable: { oid: number; error: string }[]
}

/** Walk the image from the root; report dangling references and undecodable records, with counts. */
export async function check(image: Image, opts: { maxListed?: number } = {}): Promise<CheckReport> {
  const max = opts.maxListed ?? 100
  const dangling: CheckReport['dangling'] = []
  const undecodable: CheckReport['undecodable'] = []
  let danglingCount = 0
  let undecodableCount = 0
  const bad = new Set<number>()
  const decode = (oid: number, raw: Uint8Array) => {
    try {
      return image.codec.decodeState(raw, oid)
    } catch (e) {
      if (!bad.has(oid)) {
        bad.add(oid)
        undecodableCount++
        if (undecodable.length < max) undecodable.push({ oid, error: e instanceof UvmError ? e.message : String(e) })
      }
      return undefined
    }
  }
  const reached = new Set<number>([image.root.oid])
  const stack = [image.root.oid]
  while (stack.length > 0) {
    const oid = stack.pop()!
    const raw = await image.store.get(objectKey(oid))
    if (raw === undefined) continue
    const state = decode(oid, raw)
    if (state === undefined) continue
    for (const ref of referencesOf(state)) {
      if (reached.has(ref.oid)) continue
      if ((await image.store.get(objectKey(ref.oid))) === undefined) {
        danglingCount++
        if (dangling.length < max) dangling.push({ from: oid, to: ref.oid })
        continue
      }
      reached.add(ref.oid)
      stack.push(ref.oid)
    }
  }
  let objects = 0
  for await (const [key, raw] of image.store.entries(OBJECTS)) {
    objects++
    const oid = oidOfObjectKey(key)
    if (!reached.has(oid)) decode(oid, raw)
  }
  let revisions = 0
  for await (const _ of image.store.keys(REVISIONS)) revisions++
  let transactions = 0
  for await (const _ of image.store.keys(TRANSACTIONS)) transactions++
  const rootMissing = (await image.store.get(objectKey(image.root.oid))) === undefined
  return {
    ok: danglingCount === 0 && undecodableCount === 0 && !rootMissing,
    objects,
    reachable: rootMissing ? 0 : reached.size,
    unreachable: objects - (rootMissing ? 0 : reached.size),
    revisions,
    transactions,
    danglingCount,
    undecodableCount,
    dangling,
    undecodable,
  }
}
