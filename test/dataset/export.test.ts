// `uvm dataset export`: the image's history as training data. The claim worth testing is the round trip:
// what export writes re-validates with --execute, and replaying it rebuilds the image it came from.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { cp, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openImage } from '../../src/index.js'
import type { Image } from '../../src/image/index.js'
import { Method, Obj, Primitive } from '../../src/kernel/index.js'
import { conversationOf, exportHistory } from '../../src/dataset/index.js'
import { Curriculum, CurriculumCompiler, replayConversation, turnOf } from '../../src/genesis/index.js'
import type { ConversationLine } from '../../src/genesis/index.js'
import { setUpJit, systemPart } from '../../src/jit/index.js'
import { scratchCapabilities } from '../../src/cli/commands/dataset-validate.js'
import { cleanupTemps, ensureBuilt, runCli, tempDir } from '../cli/support.js'
import { startFakeLlm } from '../support/fake-llm.js'
import { memoryDb } from '../support/images.js'

type Graph = Record<string, Record<string, unknown>>

/**
 * The object graph as the root reaches it, with every object named by its path instead of its oid
 * (oids depend on allocation order, which a replay need not repeat): data slot values, method
 * sources, and references, parent slots included, as paths. Walked breadth first, slots by name.
 */
function graphSignature(image: Image): Graph {
  const tx = image.begin()
  try {
    const paths = new Map<number, string>()
    const order: Obj[] = []
    const queue: [string, Obj][] = [['root', image.root]]
    const refs = (v: unknown, at: string, out: [string, Obj][]): void => {
      if (v instanceof Obj) out.push([at, v])
      else if (Array.isArray(v)) v.forEach((x, i) => refs(x, `${at}[${i}]`, out))
      else if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) for (const k of Object.keys(v).sort()) refs((v as Record<string, unknown>)[k], `${at}[${JSON.stringify(k)}]`, out)
    }
    while (queue.length > 0) {
      const [path, obj] = queue.shift()!
      if (paths.has(obj.oid)) continue
      paths.set(obj.oid, path)
      order.push(obj)
      const slots = tx.read(obj).slots
      for (const name of [...slots.keys()].sort()) refs(slots.get(name), `${path}.${name}`, queue)
    }
    const show = (v: unknown): unknown => {
      if (v instanceof Obj) return `@${paths.get(v.oid)}`
      if (v instanceof Method) return `method ${v.source}`
      if (v instanceof Primitive) return `primitive ${v.name}`
      if (typeof v === 'bigint') return `${v}n`
      if (v instanceof Uint8Array) return `bytes ${Buffer.from(v).toString('hex')}`
      if (Array.isArray(v)) return v.map(show)
      if (v !== null && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, show((v as Record<string, unknown>)[k])]))
      return v
    }
    const out: Graph = {}
    for (const obj of order) {
      const slots = tx.read(obj).slots
      out[paths.get(obj.oid)!] = Object.fromEntries([...slots.keys()].sort().map((k) => [k, show(slots.get(k))]))
    }
    return out
  } finally {
    tx.abort()
  }
}

const turnsOf = (line: ConversationLine) => line.messages.flatMap((m, i) => {
  const next = line.messages[i + 1]
  return m.role === 'architect' && next?.role === 'uvm_jit' ? [turnOf(m.content, next.content)] : []
})

/** Each line one conversation, in file order, into a fresh image, with the capabilities `validate --execute` grants. */
async function replayed(lines: ConversationLine[], forgeDir: string): Promise<Graph> {
  const { image, realm } = await openImage(memoryDb())
  try {
    const caps = scratchCapabilities(forgeDir)
    for (const [i, line] of lines.entries()) await replayConversation(image, realm, conversationOf('export', i + 1, turnsOf(line)), { capabilities: caps(image, realm) })
    return graphSignature(image)
  } finally {
    await image.close()
  }
}

async function graphAt(path: string): Promise<Graph> {
  const { image } = await openImage(path)
  try { return graphSignature(image) } finally { await image.close() }
}

const parseJsonl = (text: string): unknown[] => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown)

function must(ok: boolean, why: string): asserts ok {
  if (!ok) throw new Error(why)
}

const onlyKeys = (v: unknown, keys: string[], what: string) => {
  must(v !== null && typeof v === 'object' && !Array.isArray(v), `${what} is not an object`)
  must(JSON.stringify(Object.keys(v).sort()) === JSON.stringify([...keys].sort()), `${what} must hold only the keys ${keys.join(', ')}, has ${Object.keys(v).join(', ')}`)
}

/** The uvm_jit answer a model learns to write: one JSON object, {explanation, code | autopoietic_act}. */
function checkAnswer(text: string, what: string): void {
  let a: unknown
  try { a = JSON.parse(text) } catch { throw new Error(`${what}: the assistant content is not JSON`) }
  must(a !== null && typeof a === 'object' && !Array.isArray(a), `${what}: the answer is not a JSON object`)
  const keys = Object.keys(a)
  must(keys.every((k) => ['explanation', 'code', 'autopoietic_act'].includes(k)), `${what}: unknown answer key in ${keys.join(', ')}`)
  const o = a as { explanation?: unknown; code?: unknown; autopoietic_act?: unknown }
  must(typeof o.explanation === 'string' && o.explanation.trim() !== '', `${what}: the answer lacks an explanation`)
  must((o.code === undefined) !== (o.autopoietic_act === undefined), `${what}: the answer needs exactly one of code and autopoietic_act`)
  must(o.code === undefined || (typeof o.code === 'string' && o.code !== ''), `${what}: code is not a non-empty string`)
}

/**
 * A chat line as OpenAI's fine-tuning file check and axolotl's chat_template loader read it: only
 * `messages`; each message only role and content; one system turn at most, first; then user and
 * assistant alternating, from user to assistant; every content a non-empty string.
 */
function checkTurns(turns: unknown, key: string, roleKey: string, textKey: string, [system, user, assistant]: string[]): { role: string; text: string }[] {
  must(Array.isArray(turns) && turns.length > 0, `'${key}' is not a non-empty array`)
  const out = turns.map((m: unknown, i) => {
    onlyKeys(m, [roleKey, textKey], `${key}[${i}]`)
    const { [roleKey]: role, [textKey]: text } = m as Record<string, unknown>
    must(typeof role === 'string' && [system, user, assistant].includes(role), `${key}[${i}]: unknown ${roleKey} ${JSON.stringify(role)}`)
    must(typeof text === 'string' && text.trim() !== '', `${key}[${i}]: ${textKey} must be a non-empty string`)
    must(role !== system || i === 0, `${key}[${i}]: a ${system} turn may only come first`)
    return { role, text }
  })
  const chat = out[0]!.role === system ? out.slice(1) : out
  must(chat.length >= 2, `'${key}' needs a ${user} turn and an ${assistant} turn`)
  chat.forEach((m, i) => must(m.role === (i % 2 === 0 ? user : assistant), `${key}: turn ${i + 1} after the system turn must be ${i % 2 === 0 ? user : assistant}: roles alternate, from ${user}`))
  must(chat.at(-1)!.role === assistant, `'${key}' must end with an ${assistant} turn`)
  for (const [i, m] of chat.entries()) if (m.role === assistant) checkAnswer(m.text, `${key}: turn ${i + 1}`)
  return out
}

function checkOpenAiLine(line: unknown) {
  onlyKeys(line, ['messages'], 'the line')
  return checkTurns((line as { messages: unknown }).messages, 'messages', 'role', 'content', ['system', 'user', 'assistant'])
}

function checkShareGptLine(line: unknown) {
  onlyKeys(line, ['conversations'], 'the line')
  return checkTurns((line as { conversations: unknown }).conversations, 'conversations', 'from', 'value', ['system', 'human', 'gpt'])
}

const ANSWER = JSON.stringify({ explanation: 'A greeting.', code: "genesis.hello = 'hi'" })
const GOOD_OPENAI = { messages: [{ role: 'system', content: 'You are the UVM-JIT.' }, { role: 'user', content: 'Greet me.' }, { role: 'assistant', content: ANSWER }] }

let dir = ''
let imagePath = ''
let lastTid = 0
const curriculum = Curriculum.load()

beforeAll(async () => {
  ensureBuilt()
  dir = await tempDir('uvm-export-')
  imagePath = join(dir, 'image.db')
  const r = await runCli(['genesis', '--image', imagePath, '--chapters', '1-2', '--forge-dir', join(dir, 'forge')], { timeoutMs: 60_000 })
  expect(r.stderr + r.stdout).toMatch(/genesis: replayed 64 conversations \(115 turns\) of chapters 1-2/)
  lastTid = Number(/last tid (\d+)/.exec(r.stdout)![1])
}, 120_000)
afterAll(cleanupTemps)

// In order: the first test writes the file the others read.
describe('the round trip of chapters 1-2', () => {
  let lines: ConversationLine[] = []
  const file = () => join(dir, 'export.jsonl')

  it('exports each curriculum conversation whole, in order, and --out prints what it wrote on stderr', async () => {
    const r = await runCli(['dataset', 'export', '--image', imagePath, '--format', 'uvm', '--out', file()])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('')
    expect(r.stderr.trim()).toBe(`exported 64 conversations (115 turns) as uvm from ${imagePath} to ${file()}; left out: 1 no act (bridge writes, the image's own records)`)
    lines = parseJsonl(await readFile(file(), 'utf8')) as ConversationLine[]
    const want = curriculum.chapters(1, 2)
    expect(lines.map((l) => l.meta?.curriculum)).toEqual(want.map((c) => c.id))
    expect(lines.map((l) => l.meta?.chapter)).toEqual(want.map((c) => c.chapter))
    expect(lines.map(turnsOf)).toEqual(want.map((c) => c.turns))
    expect(lines.flatMap((l) => l.meta!.tids as number[])).toEqual(Array.from({ length: 115 }, (_, i) => lastTid - 114 + i))
    expect(lines[0]!.meta!.source).toBe(`image ${imagePath}`)
  })

  it('validate --execute passes every exported line', async () => {
    const r = await runCli(['dataset', 'validate', file(), '--execute'], { timeoutMs: 60_000 })
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(/^execute +64 +0$/m)
    expect(r.stdout).toMatch(/64 lines read: 64 passed, 0 failed/)
    expect(r.code).toBe(0)
  })

  it('replaying the export in order into a fresh image rebuilds the same object graph', async () => {
    const original = await graphAt(imagePath)
    // The signature carries what the chapters built, so a wrong replay has something to differ in.
    expect(original['root.genesis']!.auditBootstrap).toMatch(/^method function \(\) \{/)
    expect(original['root.genesis.prototypes']!.WorldMorph).toBe('@root.genesis.prototypes.WorldMorph')
    expect(await replayed(lines, join(dir, 'forge'))).toEqual(original)
    expect(await replayed(lines.slice(0, -1), join(dir, 'forge'))).not.toEqual(original)
  })
})

describe('--since and undo', () => {
  it('skips the undone transaction and the undo itself; --since keeps only later transactions', async () => {
    const copy = join(dir, 'undone.db')
    await cp(imagePath, copy, { recursive: true })
    const u = await runCli(['undo', String(lastTid), '--image', copy])
    expect(u.stdout).toMatch(new RegExp(`undid transaction ${lastTid} as transaction ${lastTid + 1}`))
    const all = await runCli(['dataset', 'export', '--image', copy])
    expect(all.code).toBe(0)
    expect(all.stderr).toMatch(/exported 63 conversations \(114 turns\) as uvm .*; left out: 1 no act .*, 1 undone, 1 undo records$/m)
    const lines = parseJsonl(all.stdout) as ConversationLine[]
    expect(lines.flatMap((l) => l.meta!.tids as number[])).toEqual(Array.from({ length: 114 }, (_, i) => lastTid - 114 + i))
    // Leaving the undone turn out is what makes the export replay into the image as it now is.
    expect(await replayed(lines, join(dir, 'forge'))).toEqual(await graphAt(copy))

    const since = lastTid - 4
    const later = await runCli(['dataset', 'export', '--image', copy, '--since', String(since)])
    expect(later.code).toBe(0)
    const tail = parseJsonl(later.stdout) as ConversationLine[]
    expect(tail.flatMap((l) => l.meta!.tids as number[])).toEqual([since + 1, since + 2, since + 3])
    expect(tail).toEqual(lines.filter((l) => (l.meta!.tids as number[])[0]! > since))
    expect(later.stderr).toMatch(/left out: 1 undone, 1 undo records$/m)
  })
})

describe('JIT provenance', () => {
  it('a doesNotUnderstand: compiled by an LLM exports with meta.jit and self bound by path, and replays', async () => {
    const code = "self.setSlot('area', function () { return this.width * this.height })"
    const llm = await startFakeLlm([{ content: 'no JSON here' }, { answer: { explanation: 'A rect knows its area.', code } }])
    const { image, realm } = await openImage(memoryDb())
    try {
      const jit = setUpJit(image, realm, { url: llm.url, model: 'fake-model', key: 'sk-never-exported' })
      await jit.run('prototypes.Rect = new UvmObject(); prototypes.Rect.width = 2; prototypes.Rect.height = 3', { intent: 'Make a Rect.', explanation: 'A prototype with a size.' }, {})
      expect((await jit.run('return prototypes.Rect.area()', {}, { utterance: 'How big is a Rect?' })).value).toBe(6)
      const { lines, report } = await exportHistory(image)
      expect(report).toMatchObject({ conversations: 2, turns: 2 })
      const cycle = lines[1]!
      expect(cycle.messages).toEqual([
        { role: 'architect', content: 'How big is a Rect?' },
        { role: 'uvm_jit', content: { explanation: 'A rect knows its area.', code: `const self = prototypes.Rect\n${code}` } },
      ])
      expect(cycle.meta!.jit).toEqual([expect.objectContaining({ selector: 'area', receiver: expect.stringMatching(/^<Rect #\d+>$/), model: 'fake-model', server: llm.url, attempts: 1, failures: [expect.any(String)] })])
      expect(lines[0]!.meta!.jit).toBeUndefined()
      expect(JSON.stringify(lines)).not.toContain('sk-never-exported')
      expect(await replayed(lines, join(dir, 'forge'))).toEqual(graphSignature(image))
    } finally {
      await image.close()
      await llm.close()
    }
  })
})

describe('curriculum JIT provenance', () => {
  it('a curriculum conversation the JIT replayed exports as the curriculum wrote it, with its provenance', async () => {
    const { image, realm } = await openImage(memoryDb())
    try {
      const caps = scratchCapabilities(join(dir, 'forge'))
      const before = curriculum.conversations.slice(0, 8)
      for (const c of before) await replayConversation(image, realm, c, { capabilities: caps(image, realm) })
      const jit = setUpJit(image, realm, { fallback: new CurriculumCompiler(image, realm, curriculum, { capabilities: () => caps(image, realm) }) })
      // 01:9 teaches refreshStatus; its second turn reads `reply.error.message`, and that act ran with nothing bound.
      expect((await jit.run("return genesis.world.status_label.refreshStatus('x')", {}, {})).value).toBe('Backend State: x')
      const { lines } = await exportHistory(image)
      const taught = curriculum.conversations[8]!
      expect(lines.map((l) => l.meta!.curriculum)).toEqual([...before, taught].map((c) => c.id))
      expect(turnsOf(lines.at(-1)!)).toEqual(taught.turns)
      expect(lines.at(-1)!.meta!.jit).toEqual(taught.turns.map(() => expect.objectContaining({ selector: 'refreshStatus', mode: 'curriculum', server: `curriculum ${taught.id}` })))
    } finally {
      await image.close()
    }
  })
})

describe('the chat formats', () => {
  const broken: [string, unknown, RegExp][] = [
    ['another top-level key', { ...GOOD_OPENAI, meta: {} }, /only the keys messages/],
    ['a seeds role', { messages: [GOOD_OPENAI.messages[0], { role: 'architect', content: 'Greet me.' }, GOOD_OPENAI.messages[2]] }, /unknown role "architect"/],
    ['a name on a message', { messages: [GOOD_OPENAI.messages[0], { ...GOOD_OPENAI.messages[1], name: 'x' }, GOOD_OPENAI.messages[2]] }, /only the keys role, content/],
    ['a second system turn', { messages: [...GOOD_OPENAI.messages, GOOD_OPENAI.messages[0]] }, /system turn may only come first/],
    ['two user turns in a row', { messages: [GOOD_OPENAI.messages[0], GOOD_OPENAI.messages[1], ...GOOD_OPENAI.messages.slice(1)] }, /must be assistant: roles alternate/],
    ['an assistant first', { messages: [GOOD_OPENAI.messages[2], GOOD_OPENAI.messages[1]] }, /must be user/],
    ['a user turn last', { messages: [...GOOD_OPENAI.messages, GOOD_OPENAI.messages[1]] }, /must end with an assistant turn/],
    ['empty content', { messages: [GOOD_OPENAI.messages[0], { role: 'user', content: ' ' }, GOOD_OPENAI.messages[2]] }, /non-empty string/],
    ['an answer that is not JSON', { messages: [GOOD_OPENAI.messages[1], { role: 'assistant', content: 'hi' }] }, /not JSON/],
    ['an answer without its act', { messages: [GOOD_OPENAI.messages[1], { role: 'assistant', content: '{"explanation":"e"}' }] }, /exactly one of code and autopoietic_act/],
  ]

  it('the checker accepts a good line and refuses each broken one', () => {
    expect(checkOpenAiLine(GOOD_OPENAI).map((m) => m.role)).toEqual(['system', 'user', 'assistant'])
    for (const [why, line, error] of broken) expect(() => checkOpenAiLine(line), why).toThrow(error)
    const share = { conversations: GOOD_OPENAI.messages.map((m) => ({ from: { system: 'system', user: 'human', assistant: 'gpt' }[m.role], value: m.content })) }
    expect(checkShareGptLine(share)).toHaveLength(3)
    expect(() => checkShareGptLine({ conversations: share.conversations.map((c) => ({ ...c, from: c.from === 'gpt' ? 'assistant' : c.from })) })).toThrow(/unknown from "assistant"/)
    expect(() => checkShareGptLine({ conversations: [share.conversations[0], share.conversations[2], share.conversations[1]] })).toThrow(/must be human/)
    expect(() => checkShareGptLine({ ...share, id: 1 })).toThrow(/only the keys conversations/)
  })

  it.each([['openai', checkOpenAiLine], ['sharegpt', checkShareGptLine]] as const)('--format %s: every line passes the trainers\' checks and says what the uvm export says', async (format, check) => {
    const uvm = parseJsonl((await runCli(['dataset', 'export', '--image', imagePath])).stdout) as ConversationLine[]
    const r = await runCli(['dataset', 'export', '--image', imagePath, '--format', format])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(new RegExp(`^exported 64 conversations \\(115 turns\\) as ${format} from `))
    const lines = parseJsonl(r.stdout)
    expect(lines).toHaveLength(uvm.length)
    const system = systemPart()
    lines.forEach((line, i) => {
      const turns = check(line)
      expect(turns[0]!.text).toBe(system)
      const want = uvm[i]!.messages.map((m) => m.content)
      expect(turns.slice(1).map((t, j) => (j % 2 === 0 ? t.text : JSON.parse(t.text) as unknown))).toEqual(want)
    })
  })
})

describe('usage errors', () => {
  // Each case is a function: the image and its last tid exist only once beforeAll has run.
  it.each<[string, (out: string) => [string[], RegExp]]>([
    ['a missing image', (out) => [['--image', join(dir, 'missing.db'), '--out', out], /no image at .*missing\.db \(give --image PATH, or set UVM_IMAGE\)/]],
    ['an empty folder', (out) => [['--image', (mkdirSync(join(dir, 'empty'), { recursive: true }), join(dir, 'empty')), '--out', out], /no image at .*empty: the folder holds none \(give --image PATH, or set UVM_IMAGE\)/]],
    ['a file', (out) => [['--image', (writeFileSync(join(dir, 'notes.txt'), 'mine\n'), join(dir, 'notes.txt')), '--out', out], /.*notes\.txt is a file; an image is a folder \(give --image PATH, or set UVM_IMAGE\)/]],
    ['--format xml', (out) => [['--image', imagePath, '--format', 'xml', '--out', out], /--format takes uvm, openai, sharegpt; got "xml"/]],
    ['--since past the last tid', (out) => [['--image', imagePath, '--since', String(lastTid + 1), '--out', out], new RegExp(`--since ${lastTid + 1} is past the image's last transaction \\(${lastTid}\\)`)]],
    ['--since abc', (out) => [['--image', imagePath, '--since', 'abc', '--out', out], /--since takes a whole number, got "abc"/]],
    ['a positional argument', (out) => [['--image', imagePath, 'extra.jsonl', '--out', out], /unexpected argument "extra\.jsonl" \(the image goes in --image PATH\)/]],
  ])('%s: exit 2, one clear line, nothing written or created', async (_why, make) => {
    const out = join(dir, 'never.jsonl')
    const [args, message] = make(out)
    const r = await runCli(['dataset', 'export', ...args])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(new RegExp(`^uvm dataset: ${message.source}\n$`))
    expect(r.stdout).toBe('')
    expect(existsSync(out)).toBe(false)
    expect(existsSync(join(dir, 'missing.db'))).toBe(false)
    if (existsSync(join(dir, 'empty'))) expect(readdirSync(join(dir, 'empty'))).toEqual([])
  })
})
