// The dataset validator at scale: 50,000 synthetic conversations through stages 1-4.
//
//   node --expose-gc bench/dataset.mjs      (after `npm run build`)
//
// The file is generated here: conversations of 2-4 turns in the shape a teacher writes for chapter
// 1 (clone a morph prototype, label it, give it a method, compose it into the world), every act text
// distinct (the code cache cannot help), and one line in twenty broken in one of five ways.
//
// Limit, measured in the same run on the same file: reading it line by line and JSON.parse of every
// line, in one thread. Target: at least 50,000 conversations a minute through stages 1-4 on this
// machine (the figure); the ratio to JSON.parse says what the stages cost on top of reading.
// `--execute` (stage 5) reports its own rate on the first 500 lines.
import { createReadStream } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { importDist, row, runAlone, tempDir } from './lib.mjs'

const B = 'dataset'
const COUNT = 50_000

function conversation(i) {
  const name = `Widget${i}`
  const turns = [
    [`We need a ${name.toLowerCase()}: clone the Morph prototype and register it as ${name}.`,
      `BRICK: ${name} is a kind of morph, so it is a clone of prototypes.Morph that delegates to it; registering it in prototypes makes it reachable by name from every later act.`,
      `const w = prototypes.Morph.clone()\nw.kind = '${name}'\nw.bounds = { x: ${i % 800}, y: ${i % 600}, width: ${40 + (i % 200)}, height: 40 }\nprototypes.${name} = w\nreturn w.kind`],
    [`Label it '${name} ${i}'.`,
      `ROBIN: the label is data on the prototype itself; clones inherit it until they set their own.`,
      `prototypes.${name}.label = '${name} ${i}'\nprototypes.${name}.font_size = ${12 + (i % 8)}`],
    [`Give it a way to say what it is.`,
      `BRICK: a method slot, so every clone answers it through delegation.`,
      `prototypes.${name}.summary = function () { return this.kind + ': ' + this.label + ' (' + ${i} + ')' }\nreturn prototypes.${name}.summary()`],
    [`Put one in the world.`,
      `BABS: an instance is a clone of the prototype, composed into the world morph with addMorph.`,
      `const world = prototypes.WorldMorph.clone()\nconst one = prototypes.${name}.clone()\nworld.addMorph(one)\nreturn world.children.length`],
  ].slice(0, 2 + (i % 3))
  let messages = turns.flatMap(([u, e, c]) => [{ role: 'architect', content: u }, { role: 'uvm_jit', content: { explanation: e, code: c } }])
  const line = { messages, meta: { chapter: 1, teacher: 'bench' } }
  switch (i % 100) {
    case 7: return '{"messages": [' // bad JSON
    case 27: messages[0] = { role: 'uvm_jit', content: 'x' }; break // roles out of order
    case 47: messages[1].content.code = 'const = 1'; break // syntax
    case 67: messages[1].content.code += '\nundefinedThing.go()'; break // undefined name
    case 87: delete messages[1].content.explanation; break // schema
  }
  return JSON.stringify(line)
}

async function run({ log }) {
  const { validateFile, actGlobals, genesisKnowledge, ScratchImages } = await importDist('dataset/index.js')
  const { Curriculum } = await importDist('genesis/index.js')
  const { path: dir, cleanup } = await tempDir('uvm-bench-dataset-')
  const file = join(dir, 'synthetic.jsonl')
  try {
    const lines = Array.from({ length: COUNT }, (_, i) => conversation(i))
    await writeFile(file, lines.join('\n') + '\n')
    const mb = Buffer.byteLength(lines.join('\n')) / 1e6
    lines.length = 0
    log(`${B}: ${COUNT} conversations, ${mb.toFixed(1)} MB`)

    // The limit: read the same file line by line and JSON.parse each line, in one thread.
    const p0 = performance.now()
    let parsed = 0
    for await (const l of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
      try { JSON.parse(l); parsed++ } catch { /* the broken lines */ }
    }
    const parseS = (performance.now() - p0) / 1000

    const curriculum = Curriculum.load()
    const knowledge = await genesisKnowledge(curriculum)
    const jobs = availableParallelism()
    const summary = await validateFile(file, { jobs, knowledge, globals: actGlobals() })
    const perMin = summary.read / summary.seconds * 60
    const ratio = (summary.read / summary.seconds) / (COUNT / parseS)
    log(`${B}: stages 1-4 ${summary.read} lines in ${summary.seconds.toFixed(2)} s (${Math.round(perMin)}/min, ${summary.passed} passed), JSON.parse ${parseS.toFixed(2)} s`)

    // Stage 5 on the first 500 lines: each conversation in its own scratch copy of the genesis image.
    const head = join(dir, 'head.jsonl')
    await writeFile(head, Array.from({ length: 500 }, (_, i) => conversation(i)).join('\n') + '\n')
    const scratch = await ScratchImages.open({ curriculum })
    const ex = await validateFile(head, { jobs, knowledge: scratch.knowledge, globals: actGlobals(), execute: scratch })
    log(`${B}: execute ${ex.execute.conversations} conversations in ${ex.execute.seconds.toFixed(2)} s`)

    return [
      row(B, `validate stages 1-4, ${COUNT} conversations (${mb.toFixed(0)} MB), ${jobs} worker${jobs === 1 ? '' : 's'}`, `${Math.round(perMin).toLocaleString('en')} conv/min`,
        `${Math.round(COUNT / parseS * 60).toLocaleString('en')}/min: JSON.parse of each line, 1 thread`, ratio, '≥ 50,000 conv/min', perMin >= 50_000,
        `${summary.passed} passed, ${summary.failed} failed (one line in twenty is broken on purpose); ${summary.codes.parsed} acts parsed`),
      row(B, 'validate --execute (stage 5), each conversation in a scratch copy of the genesis image', `${ex.execute.perSecond.toFixed(0)} conv/s`, '', undefined, '', undefined,
        `${ex.execute.conversations} conversations of 2-4 acts, ${ex.stages.execute?.passed ?? 0} ran clean; the copy of the base (its records into a fresh memory-level) is part of each`),
    ]
  } finally {
    await cleanup()
  }
}

await runAlone(import.meta.url, run)
export { run }
