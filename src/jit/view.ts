import type { Transaction } from '../image/index.js'
import type { Need, Obj } from '../kernel/index.js'
import { Method, Obj as ObjClass, ancestry, intentOf, isParentSlot, printString, slotKind } from '../kernel/index.js'
import type { MessageView, ReceiverView } from './prompt/index.js'

/** Methods shown to the LLM as the neighbourhood of the receiver (own first, then inherited). */
const NEARBY_METHODS = 6

/** What the prompt says of the receiver: read in a transaction of its own, as plain text. */
export function receiverView(tx: Transaction, receiver: Obj): ReceiverView {
  const state = tx.read(receiver)
  const slots = [...state.slots].map(([name, value]) => ({ name, kind: slotKind(name, value), ...(shortValue(tx, name, value) !== undefined && { value: shortValue(tx, name, value)! }) }))
  const chain = ancestry(tx, receiver)
  const parents = chain.slice(1).map((p) => ({ print: printString(tx, p), slots: [...tx.read(p).slots.keys()] }))
  const methods: ReceiverView['methods'] = []
  for (const holder of chain) {
    for (const [name, value] of tx.read(holder).slots) {
      if (!(value instanceof Method) || methods.some((m) => m.name === name)) continue
      methods.push({ holder: printString(tx, holder), name, source: value.source })
      if (methods.length >= NEARBY_METHODS) return { print: printString(tx, receiver), slots, parents, methods }
    }
  }
  return { print: printString(tx, receiver), slots, parents, methods }
}

/** The message as the prompt shows it. */
export function messageView(tx: Transaction, need: Need, utterance: string | undefined): MessageView {
  return {
    selector: need.selector,
    args: need.args.map((a) => printKept(tx, a)),
    ...(utterance !== undefined && { intent: utterance }),
    ...(need.kind === 'intent' && need.intent !== undefined && { slotIntent: { holder: printString(tx, need.holder ?? need.receiver), text: need.intent } }),
  }
}

function shortValue(tx: Transaction, name: string, value: unknown): string | undefined {
  if (value instanceof Method) return undefined
  if (isParentSlot(name) || value instanceof ObjClass) return value instanceof ObjClass ? printString(tx, value) : undefined
  const intent = intentOf(value)
  if (intent !== undefined) return clip(intent, 200)
  if (slotKind(name, value) !== 'data') return undefined
  return printKept(tx, value)
}

/** A kept value (Need.args, a data slot) as short text. */
export function printKept(tx: Transaction, v: unknown, depth = 0): string {
  if (v === undefined) return '(a value that cannot be shown)'
  if (v instanceof ObjClass) return tx.image.exists(v) ? printString(tx, v) : `<an object the sender made #${v.oid}>`
  if (v instanceof Uint8Array) return `<${v.length} bytes>`
  if (typeof v === 'bigint') return `${v}n`
  if (v === null || typeof v !== 'object') return clip(JSON.stringify(v) ?? String(v), 200)
  if (depth > 3) return '…'
  if (Array.isArray(v)) return clip(`[${v.slice(0, 20).map((x) => printKept(tx, x, depth + 1)).join(', ')}${v.length > 20 ? ', …' : ''}]`, 300)
  const keys = Object.keys(v)
  return clip(`{${keys.slice(0, 20).map((k) => `${JSON.stringify(k)}: ${printKept(tx, (v as Record<string, unknown>)[k], depth + 1)}`).join(', ')}${keys.length > 20 ? ', …' : ''}}`, 300)
}

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s
}
