/**
 * The broken corpus: one line per way a training line can be wrong, each with the stage that must
 * reject it and words its reason must carry. Shared by the in-process and the CLI tests of validate.
 */
import { writeFile } from 'node:fs/promises'

export const architect = (content: unknown) => ({ role: 'architect', content })
export const jit = (code: string, explanation = 'Makes it.') => ({ role: 'uvm_jit', content: { explanation, code } })
export const line = (...messages: unknown[]): string => JSON.stringify({ messages })

export interface CorpusCase {
  name: string
  text: string
  /** The stage that rejects it, or undefined for a line that passes every stage. */
  stage?: 'json' | 'schema' | 'syntax' | 'logic' | 'execute'
  /** Fragments the reason must contain. */
  reason?: (string | RegExp)[]
  turn?: number
}

const DOG = "const Dog = new UvmObject()\nprototypes.Dog = Dog\nDog.speak = function () { return 'woof' }"

export const CORPUS: CorpusCase[] = [
  { name: 'a good conversation', text: line(architect('Make a dog.'), jit(DOG), architect('Teach it to sit.'), jit("prototypes.Dog.sit = function () { return 'sits' }")) },
  { name: 'bad JSON', text: '{"messages": [', stage: 'json', reason: ['not JSON'] },
  { name: 'no messages', text: JSON.stringify({ meta: {} }), stage: 'schema', reason: ["no 'messages'"] },
  { name: 'a JSON value that is not an object', text: '[1, 2]', stage: 'schema', reason: ['one JSON object'] },
  { name: 'roles out of order', text: line(jit('1'), architect('x')), stage: 'schema', reason: ['messages.0.role', 'must be architect'] },
  { name: 'architect content an object', text: line(architect({ text: 'hi' }), jit('1')), stage: 'schema', reason: ['messages.0.content', 'a string, not an object'] },
  { name: 'a missing explanation', text: line(architect('x'), { role: 'uvm_jit', content: { code: '1' } }), stage: 'schema', reason: ['messages.1.content.explanation', "lacks 'explanation'"] },
  { name: 'an empty explanation', text: line(architect('x'), jit('1', '')), stage: 'schema', reason: ['messages.1.content.explanation'] },
  { name: 'an unknown key', text: JSON.stringify({ messages: [architect('x'), jit('1')], extra: 1 }), stage: 'schema', reason: ["unknown key 'extra'"] },
  { name: 'an unknown role', text: line(architect('x'), { role: 'robot', content: 'x' }), stage: 'schema', reason: ['messages.1.role', 'unknown role "robot"'] },
  { name: 'a single turn', text: line(architect('x')), stage: 'schema', reason: ['messages'] },
  { name: 'an unanswered last turn', text: line(architect('x'), jit('1'), architect('y')), stage: 'schema', reason: ['messages.2', 'nothing answers'] },
  { name: 'a syntax error', text: line(architect('x'), jit('const = 1')), stage: 'syntax', reason: ['turn 1 (line 1, column 7)', 'Unexpected token'], turn: 1 },
  { name: 'a syntax error in a later turn', text: line(architect('x'), jit('1'), architect('y'), jit('let a = 1\nlet a = 2')), stage: 'syntax', reason: ['turn 2 (line 2'], turn: 2 },
  { name: 'import()', text: line(architect('x'), jit("import('node:fs')")), stage: 'syntax', reason: ['import() is not available'], turn: 1 },
  { name: 'an undefined name', text: line(architect('x'), jit('prototypes.Cat = fluffy')), stage: 'logic', reason: ["'fluffy' is not defined", 'line 1, column 18'], turn: 1 },
  { name: 'a name from an earlier turn', text: line(architect('a'), jit('const Cow = new UvmObject()\nprototypes.Cow = Cow'), architect('b'), jit('Cow.moo = 1')), stage: 'logic', reason: ["'Cow' is not defined", 'turn 1 declared it', 'prototypes.Cow'], turn: 2 },
  { name: 'a missing object', text: line(architect('x'), jit('prototypes.Unicorn.horn = 1')), stage: 'logic', reason: ['prototypes.Unicorn does not exist', "no slot 'Unicorn'"], turn: 1 },
  { name: 'an act that throws', text: line(architect('Break.'), jit("throw new Error('boom')")), stage: 'execute', reason: ['turn 1 of 1', 'boom'], turn: 1 },
  { name: 'an act past its CPU limit', text: line(architect('Spin.'), jit('for (;;) {}')), stage: 'execute', reason: ['CPU limit'], turn: 1 },
  {
    name: 'a bad declarative act',
    text: line(architect('x'), { role: 'uvm_jit', content: { explanation: 'e', autopoietic_act: { action: 'ADD_SLOT', target: 'prototypes.__proto__', slot: 'a', value: 1 } } }),
    stage: 'schema',
    reason: ['autopoietic_act.target', "'__proto__' is refused"],
  },
  {
    name: 'an unknown declarative action',
    text: line(architect('x'), { role: 'uvm_jit', content: { explanation: 'e', autopoietic_act: { action: 'DELETE_WORLD' } } }),
    stage: 'schema',
    reason: ['autopoietic_act'],
  },
  {
    name: 'a good declarative act',
    text: line(architect('Name the dog.'), { role: 'uvm_jit', content: { explanation: 'Adds a name.', autopoietic_act: { action: 'ADD_SLOT', target: 'prototypes.Morph', slot: 'nickname', value: 'Rex' } } }),
  },
]

/** Write the corpus as a JSONL file; each case's line number is its index + 1. */
export async function writeCorpus(path: string, cases: readonly CorpusCase[] = CORPUS): Promise<void> {
  await writeFile(path, cases.map((c) => c.text).join('\n') + '\n')
}
