import { UvmError } from '../../errors.js'
import type { ObjectChange, Plain, PlainSlots, TransactionChanges } from '../../image/index.js'
import type { ShowReply } from '../../covenant/index.js'
import { accessHelp, accessOptions, withImageAccess } from '../image-access.js'
import { parse, tidArgument } from '../args.js'
import { formatValue, printable } from '../format.js'
import type { CommandSpec } from '../usage.js'
import { UsageError } from '../usage.js'

/** A slot value shown on one line is cut here: the whole value is in `--json`. */
const VALUE_WIDTH = 200

export const show: CommandSpec = {
  name: 'show',
  summary: "what a transaction changed: each object's slots before and after",
  usage: 'uvm show TID [--all] [--image PATH | --connect ADDR] [--json]',
  options: [['--all', 'list the slots it left as they were too'], ...accessHelp, ['--json', 'machine-readable output: every slot before and after']],
  async run(argv, io) {
    const { values, positionals } = parse(argv, { ...accessOptions, all: { type: 'boolean' }, json: { type: 'boolean' } }, 'show')
    if (positionals.length !== 1) throw new UsageError('expected one TID (see `uvm history`)', 'show')
    const tid = tidArgument(positionals[0], 'show')
    const print = (changes: TransactionChanges) => {
      if (values.json) io.out(JSON.stringify(changes, (_k, v: unknown) => jsonSafe(v), 2))
      else io.out(showText(changes, values.all === true))
      return 0
    }
    return withImageAccess(values, io, 'show', 10_000,
      async (image) => {
        const { showTransaction } = await import('../../image/index.js')
        const changes = await showTransaction(image, tid)
        if (changes === undefined) throw new UvmError('IMAGE_UNKNOWN_TID', `no transaction ${tid} in ${image.location} (the last is ${image.lastTid}; see \`uvm history\`)`, { tid })
        return print(changes)
      },
      async (client) => print(await changesOf(client.call({ command: 'show', tid }, 'show'))))
  },
}

/** A daemon's answer to `show` (values as JSON carries them) as the image gives it. */
export async function changesOf(reply: Promise<ShowReply>): Promise<TransactionChanges> {
  const r = await reply
  const { plainFromJson } = await import('../../image/index.js')
  const slots = (s: Record<string, unknown> | undefined) => (s === undefined ? undefined : plainFromJson(s) as PlainSlots)
  return {
    transaction: plainFromJson(r.transaction) as TransactionChanges['transaction'],
    objects: r.objects.map((o) => {
      const change: ObjectChange = { oid: o.oid, created: o.created }
      if (o.before_tid !== undefined) change.beforeTid = o.before_tid
      const before = slots(o.before), after = slots(o.after)
      if (before !== undefined) change.before = before
      if (after !== undefined) change.after = after
      if (o.packed === true) change.packed = true
      return change
    }),
    names: Object.fromEntries(Object.entries(r.names).map(([k, v]) => [Number(k), v])),
  }
}

/** Bigints and bytes as the export writes them ({"$bigint"}, {"$bytes"}): JSON has neither. */
function jsonSafe(v: unknown): unknown {
  if (typeof v === 'bigint') return { $bigint: v.toString() }
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('base64') }
  return v
}

/** `git show` for the image: a head line, then per object the slots that changed, `-` before and `+` after. */
export function showText(c: TransactionChanges, all = false): string {
  const t = c.transaction
  const out = [`transaction ${t.tid}  ${new Date(t.time).toISOString()}  ${printable(t.user)}  ${printable(t.description)}`]
  if (typeof t.ext.undo === 'number') out.push(`(an undo of transaction ${t.ext.undo})`)
  if (c.objects.length === 0) out.push('', 'it changed no object')
  for (const o of c.objects) out.push('', ...objectText(o, c.names, all))
  return out.join('\n')
}

function objectText(o: ObjectChange, names: Record<number, string>, all: boolean): string[] {
  const name = names[o.oid] ?? `<Object #${o.oid}>`
  const value = (v: Plain) => oneLine(v, names)
  if (o.after === undefined) return [`${name}: pack removed what this transaction wrote`]
  const afterNames = Object.keys(o.after)
  if (o.before === undefined) {
    const head = o.created ? `${name}: created` : `${name}: pack removed the revision before it; as it wrote it:`
    const sign = o.created ? '+' : ' '
    return [head, ...rows(afterNames.map((n) => [sign, n, value(o.after![n]!)]))]
  }
  const before = o.before
  const lines: [string, string, string][] = []
  let same = 0
  for (const n of Object.keys(before)) {
    if (!(n in o.after)) lines.push(['-', n, value(before[n]!)])
  }
  for (const n of afterNames) {
    const now = value(o.after[n]!)
    if (!(n in before)) lines.push(['+', n, now])
    else if (!samePlain(before[n]!, o.after[n]!)) lines.push(['-', n, value(before[n]!)], ['+', n, now])
    else if (all) lines.push([' ', n, now])
    else same++
  }
  const head = `${name}: changed (before: as transaction ${o.beforeTid} wrote it)`
  return [head, ...rows(lines), ...(same > 0 ? [`  (${same} slot${same === 1 ? '' : 's'} as before)`] : []), ...(lines.length === 0 && same === 0 ? ['  (no slot)'] : [])]
}

function rows(lines: [string, string, string][]): string[] {
  const width = Math.min(24, Math.max(0, ...lines.map(([, n]) => n.length)))
  return lines.map(([sign, n, v]) => `${sign} ${n.padEnd(width)}  ${v}`)
}

/** One slot on one line: a method by its source's first line, objects by how they print. */
function oneLine(v: Plain, names: Record<number, string>): string {
  let text: string
  if (isTag(v, '$method')) {
    const src = String(v.$method)
    const first = src.split('\n')[0]!
    text = `method ${first}${first.length < src.length ? ' …' : ''}`
  } else if (isTag(v, '$primitive')) text = `primitive ${String(v.$primitive)}`
  else text = formatValue(named(v, names)).replace(/\n\s*/g, ' ')
  return text.length > VALUE_WIDTH ? `${text.slice(0, VALUE_WIDTH - 1)}…` : text
}

/** References as the formatter prints them (`$print`). */
function named(v: Plain, names: Record<number, string>): unknown {
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v
  if (Array.isArray(v)) return v.map((x) => named(x, names))
  if (isTag(v, '$ref') && typeof v.$ref === 'number') return { $ref: v.$ref, $print: names[v.$ref] ?? `<Object #${v.$ref}>` }
  if (isTag(v, '$method')) return '<method>'
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: named(x, names), enumerable: true, writable: true, configurable: true })
  return out
}

function isTag<K extends string>(v: Plain, key: K): v is Record<K, Plain> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && Object.keys(v).length === 1 && key in v
}

function samePlain(a: Plain, b: Plain): boolean {
  if (Object.is(a, b)) return true
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false
  if (a instanceof Uint8Array || b instanceof Uint8Array) return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.from(a).equals(Buffer.from(b))
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a), kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  return ka.every((k, i) => k === kb[i] && samePlain((a as Record<string, Plain>)[k]!, (b as Record<string, Plain>)[k]!))
}
