import type { ProvenanceReply, Target } from '../covenant/index.js'
import { DoesNotUnderstand } from '../errors.js'
import type { Image } from '../image/index.js'
import { Method, lookup, printString, slotKind } from '../kernel/index.js'
import { resolveTarget } from './target.js'

/**
 * How a slot was made: the object a send of `selector` to the target finds it on, the recorded
 * cycle it points to (State.origins) or else the transaction that last wrote it, and that
 * transaction's JIT cycle or curriculum turn.
 */
export async function why(image: Image, target: Target | undefined, selector: string): Promise<Omit<ProvenanceReply, 'id'>> {
  const tx = image.begin()
  let found: { holder: number; holderPrint: string; kind: string; source: string | undefined; origin: number | undefined }
  try {
    const receiver = resolveTarget(tx, target)
    const holder = lookup(tx, receiver, selector)
    if (holder === undefined) throw new DoesNotUnderstand(selector, receiver.oid, 'no slot by that name, on it or its parents, so nothing made it', printString(tx, receiver))
    const state = tx.read(holder)
    const value = state.slots.get(selector)
    found = { holder: holder.oid, holderPrint: printString(tx, holder), kind: slotKind(selector, value), source: value instanceof Method ? value.source : undefined, origin: state.origins?.get(selector) }
  } finally {
    tx.abort()
  }
  const tid = found.origin ?? await image.slotWriter(found.holder, selector)
  const record = tid === undefined ? undefined : await image.transaction(tid)
  const jit = record?.ext.jit
  const curriculum = record?.ext.curriculum
  const explanation = record?.ext.explanation
  return {
    event: 'provenance',
    selector,
    holder: found.holder,
    holder_print: found.holderPrint,
    kind: found.kind,
    ...(found.source !== undefined && { source: found.source }),
    ...(found.origin !== undefined && { origin: found.origin }),
    ...(tid !== undefined && { tid }),
    ...(record !== undefined && { description: record.description }),
    ...(typeof explanation === 'string' && explanation !== '' && { explanation }),
    ...(jit !== null && typeof jit === 'object' && { jit: jit as ProvenanceReply['jit'] }),
    ...(curriculum !== null && typeof curriculum === 'object' && { curriculum: curriculum as Record<string, unknown> }),
  }
}
