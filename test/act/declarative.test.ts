/**
 * Declarative autopoietic acts (seed 000's vocabulary, src/covenant/act.ts): validated by the schema,
 * compiled by declarativeCode into one JavaScript act, and run by the ordinary runAct on a real
 * (memory-level) image. Every effect is read back with another act.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openImage } from '../../src/index.js'
import type { Image } from '../../src/image/index.js'
import type { ActOptions, HardenedRealm } from '../../src/act/index.js'
import { declarativeCode, isDeclarativeAct, parseDeclarativeAct, runAct } from '../../src/act/index.js'
import { covenantJsonSchema, DECLARATIVE_ACTIONS, DeclarativeAct } from '../../src/covenant/index.js'
import { forgeCapability } from '../../src/daemon/capabilities.js'
import { UvmError } from '../../src/errors.js'
import { memoryDb } from '../support/images.js'
import { rejected } from '../support/uvm.js'

let image: Image
let realm: HardenedRealm
beforeEach(async () => { ({ image, realm } = await openImage(memoryDb())) })
afterEach(async () => { await image.close() })

/** Run a code act. */
const code = (src: string, opts: ActOptions = {}) => runAct(image, realm, src, opts)
/** Validate, compile and run a declarative act (as a dataset's uvm_jit turn would carry it). */
const declare = (act: unknown, opts: ActOptions = {}) => runAct(image, realm, declarativeCode(parseDeclarativeAct(act)), opts)
/** Read something back in an act of its own. */
const read = async (src: string) => (await code(src)).value
/** The oid of a graph object an act answered. */
const oid = (v: unknown) => image.kernel.objectOf(v)?.oid ?? expect.fail('not a graph object')
const tids = async () => (await image.transactions()).map((t) => t.tid)
/** The DATASET_BAD_ACT message parseDeclarativeAct throws for `act`. */
function refusal(act: unknown): string {
  try {
    parseDeclarativeAct(act)
  } catch (e) {
    expect(e).toBeInstanceOf(UvmError)
    expect((e as UvmError).code).toBe('DATASET_BAD_ACT')
    return (e as UvmError).message
  }
  return expect.fail('parseDeclarativeAct accepted it')
}

/** A Dog prototype (cloned from the root traits) with a name, made by a code act. */
async function dog(): Promise<void> {
  await code("const Dog = new UvmObject()\nDog.name = 'Rex'\nDog.sound = 'woof'\nprototypes.Dog = Dog")
}

describe('ADD_SLOT and MODIFY_SLOT', () => {
  it('ADD_SLOT adds a value slot; the act answers the target; the record keeps the readable source', async () => {
    await dog()
    const act = { action: 'ADD_SLOT', target: 'prototypes.Dog', slot: 'age', value: 3 }
    const r = await declare(act)
    expect(r.tid).toBeDefined()
    expect(await read('return [prototypes.Dog.age, prototypes.Dog.hasSlot("age")]')).toEqual([3, true])
    expect(oid(r.value)).toBe(oid(await read('return prototypes.Dog'))) // the target itself
    const source = declarativeCode(parseDeclarativeAct(act))
    expect(source).toContain('// ADD_SLOT prototypes.Dog.age')
    const record = (await image.transactions()).find((t) => t.tid === r.tid)!
    expect(record.ext.act).toBe(source)
  })

  it('ADD_SLOT of a method, then sending it', async () => {
    await dog()
    await declare({ action: 'ADD_SLOT', target: 'prototypes.Dog', slot: 'speak', method: "function () { return this.name + ' says ' + this.sound }" })
    await declare({ action: 'ADD_SLOT', target: 'prototypes.Dog', slot: 'twice', method: '(s) => s + s // a trailing line comment' })
    expect(await read("return [prototypes.Dog.speak(), prototypes.Dog.clone().speak(), prototypes.Dog.twice('ab')]"))
      .toEqual(['Rex says woof', 'Rex says woof', 'abab'])
  })

  it('ADD_SLOT over an inherited slot overrides it on the target; over an own slot it fails, saying to use MODIFY_SLOT', async () => {
    await dog()
    await code('prototypes.Puppy = prototypes.Dog.clone()')
    await declare({ action: 'ADD_SLOT', target: 'prototypes.Puppy', slot: 'sound', value: 'yip' })
    expect(await read('return [prototypes.Puppy.sound, prototypes.Dog.sound]')).toEqual(['yip', 'woof'])
    const before = await tids()
    const e = await rejected(declare({ action: 'ADD_SLOT', target: 'prototypes.Dog', slot: 'name', value: 'Fido' }))
    expect(e.code).toBe('ACT_FAILED')
    expect(e.message).toBe("ADD_SLOT: prototypes.Dog already has a slot 'name' (use MODIFY_SLOT to change it)")
    expect(await read('return prototypes.Dog.name')).toBe('Rex')
    expect(await tids()).toEqual(before)
  })

  it('MODIFY_SLOT changes an own slot, overrides an inherited one on the target, and fails on a missing one, saying to use ADD_SLOT', async () => {
    await dog()
    await code('prototypes.Puppy = prototypes.Dog.clone()')
    await declare({ action: 'MODIFY_SLOT', target: 'prototypes.Dog', slot: 'name', value: 'Fido' })
    await declare({ action: 'MODIFY_SLOT', target: 'prototypes.Puppy', slot: 'sound', value: 'yip' })
    await declare({ action: 'MODIFY_SLOT', target: 'prototypes.Dog', slot: 'sound', method: 'function () { return "computed" }' })
    expect(await read('return [prototypes.Dog.name, prototypes.Puppy.name, prototypes.Puppy.sound, prototypes.Puppy.hasSlot("sound"), prototypes.Dog.sound()]'))
      .toEqual(['Fido', 'Fido', 'yip', true, 'computed'])
    const e = await rejected(declare({ action: 'MODIFY_SLOT', target: 'prototypes.Dog', slot: 'colour', value: 'brown' }))
    expect(e.message).toBe("MODIFY_SLOT: prototypes.Dog has no slot 'colour', own or inherited (use ADD_SLOT to add it)")
    expect(await read('return prototypes.Dog.respondsTo("colour")')).toBe(false)
  })

  it('a value is any JSON, with {"$ref": path} anywhere inside it standing for the object itself', async () => {
    await dog()
    await declare({
      action: 'ADD_SLOT', target: 'root', slot: 'kennel',
      value: { owner: null, open: true, size: -2.5, pets: [{ $ref: 'prototypes.Dog' }, { name: 'stray', home: { $ref: 'genesis' } }], note: 'a "quoted"\nline' },
    })
    expect(await read(`const k = root.kennel
      return [k.owner, k.open, k.size, k.pets[0] === prototypes.Dog, k.pets[1].name, k.pets[1].home === genesis, k.note, k.pets[0].name]`))
      .toEqual([null, true, -2.5, true, 'stray', true, 'a "quoted"\nline', 'Rex'])
    // A reference to a graph object is the object, not a copy: a later change shows through it.
    await code("prototypes.Dog.name = 'Max'")
    expect(await read('return root.kennel.pets[0].name')).toBe('Max')
    // A parent slot set by value: the object delegates through it.
    await declare({ action: 'ADD_SLOT', target: 'root', slot: 'rex', value: null })
    await code('root.rex = new UvmObject()')
    await declare({ action: 'ADD_SLOT', target: 'root.rex', slot: 'dog*', value: { $ref: 'prototypes.Dog' } })
    expect(await read('return root.rex.sound')).toBe('woof')
  })

  it('a path is resolved one slot at a time, own or inherited, and a missing step is named', async () => {
    await dog()
    // genesis.prototypes, inherited slots and plain data on the way
    await code('root.config = { inner: { deep: 1 } }')
    await declare({ action: 'ADD_SLOT', target: 'genesis.prototypes.Dog', slot: 'legs', value: 4 })
    expect(await read('return prototypes.Dog.legs')).toBe(4)
    let e = await rejected(declare({ action: 'ADD_SLOT', target: 'prototypes.Dog.toy.colour', slot: 'x', value: 1 }))
    expect(e.message).toBe("ADD_SLOT: prototypes.Dog.toy.colour does not exist (no slot 'toy' on prototypes.Dog)")
    e = await rejected(declare({ action: 'ADD_SLOT', target: 'root.config.inner', slot: 'x', value: 1 }))
    expect(e.message).toBe('ADD_SLOT: root.config.inner is not an object of the graph (it is object)')
    e = await rejected(declare({ action: 'ADD_SLOT', target: 'root.config.nope', slot: 'x', value: 1 }))
    expect(e.message).toBe("ADD_SLOT: root.config.nope does not exist (no slot 'nope' on root.config)")
    e = await rejected(declare({ action: 'ADD_SLOT', target: 'prototypes.Dog.name', slot: 'x', value: 1 }))
    expect(e.message).toBe('ADD_SLOT: prototypes.Dog.name is not an object of the graph (it is string)')
    e = await rejected(declare({ action: 'ADD_SLOT', target: 'root', slot: 'x', value: { $ref: 'prototypes.Cat' } }))
    expect(e.message).toBe("ADD_SLOT: prototypes.Cat does not exist (no slot 'Cat' on prototypes)")
    // Machinery of plain objects is not a slot: no path reaches toString through data.
    e = await rejected(declare({ action: 'ADD_SLOT', target: 'root.config.toString', slot: 'x', value: 1 }))
    expect(e.message).toBe("ADD_SLOT: root.config.toString does not exist (no slot 'toString' on root.config)")
  })
})

describe('CLONE_PROTOTYPE', () => {
  it('clones the prototype, sets slots on the clone, stores it at name, answers the clone; the clone delegates', async () => {
    await dog()
    const r = await declare({ action: 'CLONE_PROTOTYPE', prototype: 'prototypes.Dog', name: 'prototypes.Puppy', slots: { name: 'Bit', toys: ['ball'] } })
    expect(oid(r.value)).toBe(oid(await read('return prototypes.Puppy')))
    expect(await read(`const p = prototypes.Puppy
      return [p.parents()[0] === prototypes.Dog, p.name, p.sound, p.toys, p.hasSlot('sound'), p.slotNames(), p.printString()]`))
      .toEqual([true, 'Bit', 'woof', ['ball'], false, ['parent*', 'name', 'toys'], expect.stringMatching(/^<Puppy #\d+>$/)])
    // Delegation is live: a change to the prototype reaches the clone.
    await declare({ action: 'MODIFY_SLOT', target: 'prototypes.Dog', slot: 'sound', value: 'arf' })
    expect(await read('return prototypes.Puppy.sound')).toBe('arf')
    // Stored anywhere a path reaches; no slots is fine.
    await declare({ action: 'CLONE_PROTOTYPE', prototype: 'prototypes.Puppy', name: 'root.pet' })
    expect(await read('return [root.pet.name, root.pet.parents()[0] === prototypes.Puppy]')).toEqual(['Bit', true])
  })

  it('a missing prototype or holder is named', async () => {
    let e = await rejected(declare({ action: 'CLONE_PROTOTYPE', prototype: 'prototypes.Morpht', name: 'prototypes.Button' }))
    expect(e.message).toBe("CLONE_PROTOTYPE: prototypes.Morpht does not exist (no slot 'Morpht' on prototypes)")
    e = await rejected(declare({ action: 'CLONE_PROTOTYPE', prototype: 'root.traits', name: 'prototypes.Widgets.Button' }))
    expect(e.message).toBe("CLONE_PROTOTYPE: prototypes.Widgets does not exist (no slot 'Widgets' on prototypes)")
    expect(await read('return prototypes.respondsTo("Button")')).toBe(false)
  })
})

describe('COMPOSITE_ACTION', () => {
  const build = (third: object) => ({
    action: 'COMPOSITE_ACTION',
    sub_actions: [
      { action: 'CLONE_PROTOTYPE', prototype: 'root.traits', name: 'prototypes.Morph', slots: { kind: 'Morph', width: 100 } },
      { action: 'ADD_SLOT', target: 'prototypes.Morph', slot: 'describe', method: 'function () { return this.kind + " " + this.width }' },
      third,
    ],
  })

  it('runs every sub-action in one act and one transaction, answering the last one\'s answer', async () => {
    const before = await tids()
    const r = await declare(build({ action: 'CLONE_PROTOTYPE', prototype: 'prototypes.Morph', name: 'prototypes.Button', slots: { kind: 'Button' } }))
    expect(await tids()).toEqual([r.tid, ...before])
    expect(oid(r.value)).toBe(oid(await read('return prototypes.Button')))
    expect(await read('return [prototypes.Morph.describe(), prototypes.Button.describe(), prototypes.Button.parents()[0] === prototypes.Morph]'))
      .toEqual(['Morph 100', 'Button 100', true])
  })

  it('a failing third sub-action leaves nothing of the first two', async () => {
    const before = await tids()
    const e = await rejected(declare(build({ action: 'MODIFY_SLOT', target: 'prototypes.Morph', slot: 'height', value: 40 })))
    expect(e.code).toBe('ACT_FAILED')
    expect(e.message).toBe("MODIFY_SLOT (sub_actions.2): prototypes.Morph has no slot 'height', own or inherited (use ADD_SLOT to add it)")
    expect(await tids()).toEqual(before)
    expect(await read('return prototypes.respondsTo("Morph")')).toBe(false)
  })

  it('nests, and the generated code reads as one commented group per action', async () => {
    const act = {
      action: 'COMPOSITE_ACTION',
      sub_actions: [
        { action: 'CLONE_PROTOTYPE', prototype: 'root.traits', name: 'prototypes.Dog', slots: { sound: 'woof' } },
        { action: 'COMPOSITE_ACTION', sub_actions: [{ action: 'ADD_SLOT', target: 'prototypes.Dog', slot: 'speak', method: 'function () { return this.sound }' }] },
      ],
    }
    const source = declarativeCode(parseDeclarativeAct(act))
    for (const line of ['// COMPOSITE_ACTION: 2 sub-actions, one transaction', '// CLONE_PROTOTYPE root.traits as prototypes.Dog', '// COMPOSITE_ACTION: 1 sub-action, one transaction', '// ADD_SLOT prototypes.Dog.speak']) {
      expect(source.split('\n')).toContain(line)
    }
    expect(source.match(/const resolvePath =/g)).toHaveLength(1)
    await runAct(image, realm, source)
    expect(await read('return prototypes.Dog.speak()')).toBe('woof')
  })
})

describe('INITIATE_FINETUNE_JOB', () => {
  let dir: string
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'uvm-forge-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  const job = { action: 'INITIATE_FINETUNE_JOB', facet_id: 'robin', base_model: 'unsloth/Llama-3.2-1B-Instruct', dataset: [{ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] }] }

  it('submits through the forge capability with the defaults filled in, and answers the receipt', async () => {
    const forge = forgeCapability(realm, image.kernel, { dir })
    const r = await declare(job, { capabilities: { forge } })
    const receipt = r.value as { job_id: string; status: string; path: string; examples: number }
    expect(receipt).toMatchObject({ status: 'queued', examples: 1 })
    expect(receipt.job_id).toMatch(/^robin-[0-9a-f]{8}$/)
    expect(await readdir(dir)).toEqual([receipt.job_id])
    const spec = JSON.parse(await readFile(join(dir, receipt.job_id, 'job.json'), 'utf8'))
    expect(spec).toEqual({ job_id: receipt.job_id, facet_id: 'robin', base_model: 'unsloth/Llama-3.2-1B-Instruct', chat_template: 'chatml', lora_r: 16, lora_alpha: 32, epochs: 3, dataset: 'dataset.jsonl', examples: 1 })
    expect(await readFile(join(dir, receipt.job_id, 'dataset.jsonl'), 'utf8')).toBe(JSON.stringify(job.dataset[0]) + '\n')
    // Given values win over the defaults.
    const r2 = await declare({ ...job, chat_template: 'llama-3', lora_r: 8, lora_alpha: 16, epochs: 1 }, { capabilities: { forge } })
    const spec2 = JSON.parse(await readFile(join(dir, (r2.value as { job_id: string }).job_id, 'job.json'), 'utf8'))
    expect(spec2).toMatchObject({ chat_template: 'llama-3', lora_r: 8, lora_alpha: 16, epochs: 1 })
  })

  it('without the forge capability it fails saying so', async () => {
    const e = await rejected(declare(job))
    expect(e.code).toBe('ACT_FAILED')
    expect(e.message).toBe('INITIATE_FINETUNE_JOB needs the forge capability (uvm boot --forge-dir DIR or --forge-url URL)')
  })

  it('refuses a facet_id that is no folder name, and an empty dataset', () => {
    expect(refusal({ ...job, facet_id: '../etc' })).toBe('autopoietic_act.facet_id: letters, digits, _ . - only (it names a folder)')
    expect(refusal({ ...job, dataset: [] })).toMatch(/^autopoietic_act\.dataset: /)
    expect(refusal({ ...job, lora_r: 0 })).toMatch(/^autopoietic_act\.lora_r: /)
  })
})

describe('hostile inputs are refused by the schema, with their path', () => {
  it('an unknown action, at the top and inside a composite', () => {
    expect(refusal({ action: 'DELETE_EVERYTHING' }))
      .toBe('autopoietic_act.action: unknown action "DELETE_EVERYTHING": the vocabulary is ADD_SLOT, MODIFY_SLOT, CLONE_PROTOTYPE, COMPOSITE_ACTION, INITIATE_FINETUNE_JOB')
    expect(refusal({ action: 'COMPOSITE_ACTION', sub_actions: [{ action: 'ADD_SLOT', target: 'root', slot: 'a', value: 1 }, { action: 'EVAL', code: 'x' }] }))
      .toMatch(/^autopoietic_act\.sub_actions\.1\.action: /)
    expect(refusal({ target: 'root' })).toBe('autopoietic_act.action: an action needs "action": one of ADD_SLOT, MODIFY_SLOT, CLONE_PROTOTYPE, COMPOSITE_ACTION, INITIATE_FINETUNE_JOB')
    expect(refusal('return 1')).toMatch(/^autopoietic_act: an action is an object such as /)
  })

  it('an unknown key', () => {
    expect(refusal({ action: 'ADD_SLOT', target: 'root', slot: 'a', value: 1, code: 'evil()' })).toMatch(/^autopoietic_act: Unrecognized key: "code"/)
    expect(refusal({ action: 'COMPOSITE_ACTION', sub_actions: [{ action: 'CLONE_PROTOTYPE', prototype: 'root', name: 'root.b', extra: 1 }] }))
      .toMatch(/^autopoietic_act\.sub_actions\.0: Unrecognized key: "extra"/)
  })

  it('a __proto__, constructor or prototype path segment, and a path not starting at root, genesis or prototypes', () => {
    expect(refusal({ action: 'ADD_SLOT', target: 'root.__proto__', slot: 'polluted', value: 1 }))
      .toBe("autopoietic_act.target: the path segment '__proto__' is refused (__proto__, constructor and prototype name JavaScript machinery, not slots)")
    expect(refusal({ action: 'CLONE_PROTOTYPE', prototype: 'root.constructor.prototype', name: 'root.x' })).toMatch(/^autopoietic_act\.prototype: the path segment 'constructor' is refused/)
    expect(refusal({ action: 'ADD_SLOT', target: 'root', slot: 'a', value: { $ref: 'prototypes.prototype' } })).toMatch(/^autopoietic_act\.value\.\$ref: the path segment 'prototype' is refused/)
    for (const target of ['process.env', 'globalThis', 'root..x', 'root.x-y', 'this', ' root', 'root.x\n//']) {
      expect(refusal({ action: 'ADD_SLOT', target, slot: 'a', value: 1 })).toMatch(/^autopoietic_act\.target: a path is a dotted name starting at root, genesis or prototypes/)
    }
    expect(refusal({ action: 'ADD_SLOT', target: 'root', slot: '__proto__', value: 1 })).toBe("autopoietic_act.slot: the slot name '__proto__' is refused")
    expect(refusal({ action: 'ADD_SLOT', target: 'root', slot: 'a"]=1;//', value: 1 })).toMatch(/^autopoietic_act\.slot: a slot name is an identifier/)
    expect(refusal({ action: 'CLONE_PROTOTYPE', prototype: 'root', name: 'root.x', slots: { 'a-b': 1 } })).toMatch(/^autopoietic_act\.slots\.a-b: a slot name is an identifier/)
    expect(refusal({ action: 'CLONE_PROTOTYPE', prototype: 'root', name: 'prototypes' })).toMatch(/^autopoietic_act\.name: name is where the clone is stored/)
  })

  it('a __proto__ key inside a value (as JSON.parse makes it: an own key)', () => {
    const hostile = JSON.parse('{"action": "ADD_SLOT", "target": "root", "slot": "a", "value": {"ok": [1, {"__proto__": {"polluted": true}}]}}')
    expect(refusal(hostile)).toBe("autopoietic_act.value.ok.1.__proto__: the key '__proto__' is refused (it would set an object's prototype)")
    const inSlots = JSON.parse('{"action": "CLONE_PROTOTYPE", "prototype": "root", "name": "root.b", "slots": {"__proto__": 1}}')
    expect(refusal(inSlots)).toBe("autopoietic_act.slots.__proto__: the key '__proto__' is refused (it would set an object's prototype)")
    const inAct = JSON.parse('{"action": "ADD_SLOT", "target": "root", "slot": "a", "value": 1, "__proto__": {"method": "x"}}')
    expect(refusal(inAct)).toBe("autopoietic_act.__proto__: the key '__proto__' is refused (it would set an object's prototype)")
  })

  it('a $ref that is not alone, or not a path; numbers that are not finite; values too deep', () => {
    expect(refusal({ action: 'ADD_SLOT', target: 'root', slot: 'a', value: { $ref: 'root', extra: 1 } })).toMatch(/^autopoietic_act\.value: Unrecognized key: "extra"/)
    expect(refusal({ action: 'ADD_SLOT', target: 'root', slot: 'a', value: [{ $ref: 'process.env' }] })).toMatch(/^autopoietic_act\.value\.0\.\$ref: a path is a dotted name/)
    expect(refusal({ action: 'ADD_SLOT', target: 'root', slot: 'a', value: { $ref: 42 } })).toMatch(/^autopoietic_act\.value(\.\$ref)?: /)
    expect(refusal({ action: 'ADD_SLOT', target: 'root', slot: 'a', value: Infinity })).toMatch(/^autopoietic_act\.value: /)
    expect(refusal({ action: 'ADD_SLOT', target: 'root', slot: 'a' })).toBe('autopoietic_act.value: give exactly one of value and method')
    expect(refusal({ action: 'ADD_SLOT', target: 'root', slot: 'a', value: 1, method: 'function () {}' })).toBe('autopoietic_act.value: give exactly one of value and method')
    const nested = (n: number): unknown => {
      let v: unknown = 'leaf'
      for (let i = 0; i < n; i++) v = [v]
      return v
    }
    expect(() => parseDeclarativeAct({ action: 'ADD_SLOT', target: 'root', slot: 'a', value: nested(64) })).not.toThrow()
    expect(refusal({ action: 'ADD_SLOT', target: 'root', slot: 'a', value: nested(65) })).toBe('autopoietic_act.value: a value nests arrays and objects 64 deep at most')
    // Far deeper than any limit: refused by the first walk, before any recursive parse.
    expect(refusal({ action: 'ADD_SLOT', target: 'root', slot: 'a', value: nested(100_000) })).toMatch(/^autopoietic_act\.value(\.0)+: the act nests arrays and objects more than \d+ deep$/)
  })

  it('a method that is not exactly one function expression', () => {
    const act = (method: string) => ({ action: 'ADD_SLOT', target: 'root', slot: 'm', method })
    const evil = 'function(){}); evil(); (function(){'
    expect(refusal(act(evil))).toBe(`autopoietic_act.method: not one function expression: it does not parse (Unexpected token): ${JSON.stringify(evil)}`)
    const balanced = 'function(){}); evil(); (function(){}'
    expect(refusal(act(balanced))).toBe(`autopoietic_act.method: not one function expression: it holds 3 statements: ${JSON.stringify(balanced)}`)
    expect(refusal({ action: 'COMPOSITE_ACTION', sub_actions: [act('() => 1'), act('() => 2'), act(evil)] }))
      .toMatch(/^autopoietic_act\.sub_actions\.2\.method: not one function expression: /)
    // declarativeCode itself checks too, naming the place inside the act.
    expect(() => declarativeCode({ action: 'COMPOSITE_ACTION', sub_actions: [act('() => 1'), act('() => 2'), act(balanced)] } as DeclarativeAct))
      .toThrow(/^sub_actions\.2\.method: not one function expression: it holds 3 statements/)
    for (const method of ['evil()', 'function () {}, evil()', 'function () {}(evil())', 'class {}', '1', 'function () {} /*', 'function () {} /* */ ); evil(); (/* ', '(function () {})()', '})', 'x => x) + (evil()']) {
      expect(refusal(act(method)), method).toMatch(/^autopoietic_act\.method: not one function expression: /)
    }
    // What is one function passes, parenthesised or async, with comments.
    for (const method of ['function () {} // )', '(function () { return 1 })', 'async function () { return 1 }', 'async (a, b) => a + b', 'function named() { /* ) */ return ")" }']) {
      expect(() => parseDeclarativeAct(act(method)), method).not.toThrow()
    }
  })

  it('COMPOSITE_ACTIONs nested 17 deep, and composites with no or too many sub-actions', () => {
    const leaf = { action: 'ADD_SLOT', target: 'root', slot: 'deep', value: 1 }
    const nest = (n: number): object => (n === 0 ? leaf : { action: 'COMPOSITE_ACTION', sub_actions: [nest(n - 1)] })
    expect(() => parseDeclarativeAct(nest(16))).not.toThrow()
    const where = 'autopoietic_act' + '.sub_actions.0'.repeat(16)
    expect(refusal(nest(17))).toBe(`${where}: COMPOSITE_ACTIONs nest 16 deep at most`)
    expect(() => declarativeCode(nest(17) as DeclarativeAct)).toThrow(/^sub_actions\.0(\.sub_actions\.0){15}: COMPOSITE_ACTIONs nest 16 deep at most$/)
    expect(refusal({ action: 'COMPOSITE_ACTION', sub_actions: [] })).toMatch(/^autopoietic_act\.sub_actions: /)
    expect(refusal({ action: 'COMPOSITE_ACTION', sub_actions: Array.from({ length: 1001 }, () => leaf) })).toMatch(/^autopoietic_act\.sub_actions: /)
  })

  it('no Object.prototype pollution, from the schema, the code generator or the act', async () => {
    const keys = Object.getOwnPropertyNames(Object.prototype).sort()
    const hostile = '{"action": "ADD_SLOT", "target": "root", "slot": "a", "value": {"__proto__": {"polluted": true}, "x": 1}}'
    refusal(JSON.parse(hostile))
    DeclarativeAct.safeParse(JSON.parse(hostile))
    // The generator's second line of defence, given an unvalidated act: JSON.parse keeps __proto__ an own key.
    const source = declarativeCode(JSON.parse(hostile) as DeclarativeAct)
    expect(source).toContain('target["a"] = JSON.parse(')
    await runAct(image, realm, source)
    // Stored as plain data whose key happens to be '__proto__', not as a prototype.
    expect(await read('return [Object.keys(root.a), root.a.x, root.a.polluted, ({}).polluted]')).toEqual([['__proto__', 'x'], 1, undefined, undefined])
    // And a $ref beside a __proto__ key has no JSON form: refused.
    expect(() => declarativeCode(JSON.parse('{"action": "ADD_SLOT", "target": "root", "slot": "a", "value": {"__proto__": 1, "r": {"$ref": "root"}}}') as DeclarativeAct))
      .toThrow(/^value\.__proto__: the key '__proto__' is refused/)
    expect(await read('return [({}).polluted, Object.getPrototypeOf(root.a ?? {}) === Object.prototype || Object.getPrototypeOf(root.a ?? {}) === null]')).toEqual([undefined, true])
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(keys)
  })
})

describe('the vocabulary', () => {
  it('isDeclarativeAct tells a structured act from code', () => {
    expect(isDeclarativeAct({ action: 'ADD_SLOT' })).toBe(true)
    expect(isDeclarativeAct({ action: 'WHATEVER' })).toBe(true) // structured, if not valid
    for (const v of ['return 1', null, [], { action: 1 }, { code: 'x' }, 42, new (class { action = 'ADD_SLOT' })()]) expect(isDeclarativeAct(v)).toBe(false)
  })

  it('covenantJsonSchema documents it as autopoietic_act: every action, as sane JSON', () => {
    const schema = covenantJsonSchema('x').autopoietic_act as Record<string, unknown>
    const text = JSON.stringify(schema)
    expect(JSON.parse(text)).toEqual(schema)
    for (const action of DECLARATIVE_ACTIONS) expect(text).toContain(`"const":"${action}"`)
    expect(DECLARATIVE_ACTIONS).toEqual(['ADD_SLOT', 'MODIFY_SLOT', 'CLONE_PROTOTYPE', 'COMPOSITE_ACTION', 'INITIATE_FINETUNE_JOB'])
    const defs = schema.$defs as Record<string, { oneOf?: unknown[] }>
    expect(defs.DeclarativeAct!.oneOf).toHaveLength(5)
    expect(text).toContain('#/$defs/DeclarativeAct') // COMPOSITE_ACTION's sub_actions recurse
  })
})
