import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { UvmError } from '../errors.js'
import type { Conversation, JitContent, Turn } from './format.js'
import { ConversationLine } from './format.js'
import { installedSelectors } from './teaches.js'
import { lineProblem } from './problem.js'
import { declarativeCode } from '../act/index.js'

/** The curriculum that ships with the UVM: `genesis/` beside `src/` and `dist/`. */
export const GENESIS_DIR = fileURLToPath(new URL('../../genesis/', import.meta.url))

const FILE = /^(\d\d)-([a-z0-9-]+)\.jsonl$/

/** The Grand Narrative, in order: every conversation of every chapter file. */
export class Curriculum {
  /** The first conversation that teaches each selector. */
  private readonly bySelector = new Map<string, Conversation>()

  constructor(readonly conversations: readonly Conversation[], readonly dir: string) {
    for (const c of conversations) for (const s of c.teaches) if (!this.bySelector.has(s)) this.bySelector.set(s, c)
  }

  /** Read every `NN-name.jsonl` in `dir`; a bad line is refused naming the file, the line and what is wrong. */
  static load(dir: string = GENESIS_DIR): Curriculum {
    let files: string[]
    try {
      files = readdirSync(dir).filter((f) => FILE.test(f)).sort()
    } catch (e) {
      throw new UvmError('GENESIS_BAD_LINE', `cannot read the curriculum folder ${dir}: ${(e as Error).message}`)
    }
    const out: Conversation[] = []
    for (const file of files) {
      const [, nn, name] = FILE.exec(file)!
      const lines = readFileSync(join(dir, file), 'utf8').split('\n')
      lines.forEach((text, i) => {
        if (text.trim() === '') return
        out.push(parseLine(text, file, i + 1, Number(nn), name!))
      })
    }
    return new Curriculum(out, dir)
  }

  /** The conversation that teaches `selector`, if any. */
  teaching(selector: string): Conversation | undefined {
    return this.bySelector.get(selector)
  }

  /** Every selector the curriculum teaches, in curriculum order. */
  get selectors(): string[] {
    return [...this.bySelector.keys()]
  }

  /** The conversations of the chapters in [from, to]. */
  chapters(from = 1, to = Infinity): Conversation[] {
    return this.conversations.filter((c) => c.chapter >= from && c.chapter <= to)
  }

  /** Conversations up to and including `c`, in order: what must have been replayed for `c` to run. */
  upTo(c: Conversation): Conversation[] {
    return this.conversations.slice(0, this.conversations.indexOf(c) + 1)
  }
}

export function parseLine(text: string, file: string, line: number, chapter: number, chapterName: string): Conversation {
  const where = `${file}:${line}`
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new UvmError('GENESIS_BAD_LINE', `${where}: not JSON: ${(e as Error).message}`, { file, line })
  }
  const parsed = ConversationLine.safeParse(json)
  if (!parsed.success) {
    const p = lineProblem(parsed.error, json)
    throw new UvmError('GENESIS_BAD_LINE', `${where}: ${p.path !== '' ? p.path + ': ' : ''}${p.message}`, { file, line })
  }
  const turns = []
  const messages = parsed.data.messages
  for (let i = 0; i + 1 < messages.length; i += 2) {
    const a = messages[i]!, j = messages[i + 1]!
    if (a.role !== 'architect' || j.role !== 'uvm_jit') continue
    turns.push(turnOf(a.content, j.content))
  }
  const teaches = [...new Set(turns.flatMap((t) => installedSelectors(t.code)))]
  return { id: where, file, line, chapter, chapterName, turns, teaches }
}

/** A uvm_jit answer as the runner takes it: `code` wins; a declarative act is compiled to its JavaScript. */
export function turnOf(utterance: string, c: JitContent): Turn {
  const act = c.code ?? c.autopoietic_act!
  return typeof act === 'string' ? { utterance, explanation: c.explanation, code: act } : { utterance, explanation: c.explanation, code: declarativeCode(act), declarative: act }
}
