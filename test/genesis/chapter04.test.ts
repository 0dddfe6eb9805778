// Chapter 4, the Living Codex (self-governance): replay chapters 1-4, then drive the Persona Codex, the
// AlchemicalCrucible and the AtomicSwap by message sends, as acts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { curriculumWorld, type CurriculumWorld } from './support.js'

interface Verdict { approved: boolean; issues: string[]; warnings: string[]; findings: { severity: string; message: string }[] }
interface Crucible { approved: boolean; results: { persona: string; approved: boolean; issues: string[]; warnings: string[] }[]; warnings: string[] }
interface Swapped { swapped: boolean; seq?: number; target?: string; slots?: string[]; issues?: string[]; results?: Crucible['results'] }

const J = JSON.stringify
let w: CurriculumWorld
beforeAll(async () => { w = await curriculumWorld({ to: 4 }) }, 300_000)
afterAll(async () => { await w?.dispose() })

const audit = (persona: string, protocol: string, change: string) => w.run(`return genesis.codex.${persona}.${protocol}(${change})`) as Promise<Verdict>
const good = { target: 'genesis.world', slot: 'motto', value: 'Every change is judged', rationale: 'so the Architect can read what the world stands for' }

/** Every own slot of an object, as data: methods as [method], objects by print string. */
const SNAPSHOT = `
  const isObj = (v) => v !== null && typeof v === 'object' && typeof v.clone === 'function' && typeof v.printString === 'function'
  const show = (v) => typeof v === 'function' ? '[method]' : isObj(v) ? v.printString() : Array.isArray(v) ? v.map(show) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.keys(v).map((k) => [k, show(v[k])])) : v
  const snap = (o) => Object.fromEntries(o.slotNames().map((n) => [n, show(o.getSlot(n))]))`
const snapshot = (path: string) => w.run(`${SNAPSHOT}\nreturn snap(${path})`) as Promise<Record<string, unknown>>
const logLength = () => w.run('return genesis.swap.log.length') as Promise<number>

describe('chapter 4: the Persona Codex', () => {
  it('holds BRICK, ROBIN, ALFRED and BABS as Persona clones, each with a role and protocols that answer', async () => {
    expect(await w.run('return prototypes.Persona.printString()')).toMatch(/^<Persona #\d+>$/)
    expect(await w.run('return genesis.codex.members')).toEqual(['BRICK', 'ROBIN', 'ALFRED', 'BABS'])
    expect(await w.run("return genesis.codex.members.map((n) => genesis.codex.getSlot(n).parents()[0] === prototypes.Persona)")).toEqual([true, true, true, true])
    const roles = await w.run('return genesis.codex.personas().map((p) => [p.name, p.role])')
    expect(roles).toEqual([['BRICK', 'the logical engineer'], ['ROBIN', 'the empathetic heart'], ['ALFRED', 'the butler of system integrity'], ['BABS', 'the researcher and data scout']])
    expect(await w.run('return genesis.codex.BRICK.describe()')).toContain("Rogues' Gallery Protocol (logicalAudit)")
    expect(await w.run('return genesis.codex.ALFRED.describe()')).toContain('System Integrity Audit Protocol (integrityAudit)')
    const table = await w.run('return genesis.codex.protocolsTable()') as { persona: string; selector: string; runs: boolean }[]
    expect(table.map((r) => `${r.persona}.${r.selector}`)).toEqual(['BRICK.logicalAudit', 'ROBIN.resonanceCheck', 'ALFRED.integrityAudit', 'BABS.research', 'BABS.precedentCheck'])
    expect(table.every((r) => r.runs)).toBe(true)
    expect(await w.run('return genesis.codex.roster().split("\\n").length')).toBe(4)
    await expect(w.run("const p = prototypes.Persona.clone(); p.name = 'joker'; return genesis.codex.admit(p)")).rejects.toThrow(/named in capitals/)
    expect(await w.run('return genesis.codex.members.length')).toBe(4)
  })

  it('documents the change format and reads changes through resolve and changedSlots', async () => {
    expect(Object.keys(await w.run('return genesis.codex.change_format') as object)).toEqual(['target', 'slot', 'value', 'slots', 'rationale', 'author'])
    expect(await w.run("return [genesis.codex.BRICK.resolve('genesis.world') === genesis.world, genesis.codex.BRICK.resolve('prototypes.Morph') === prototypes.Morph, genesis.codex.BRICK.resolve('genesis.world.status_label') === genesis.world.status_label, genesis.codex.BRICK.resolve('genesis.nowhere'), genesis.codex.BRICK.resolve('')]")).toEqual([true, true, true, null, null])
    expect(await w.run("return genesis.codex.BRICK.changedSlots({ target: 'genesis.world', slots: { a: 1, b: [2] }, rationale: 'x' })")).toEqual([{ slot: 'a', value: 1 }, { slot: 'b', value: [2] }])
    expect(await w.run("return genesis.codex.BRICK.changedSlots({ target: 'genesis.world', slot: 'a', value: null })")).toEqual([{ slot: 'a', value: null }])
    expect(await w.run('return genesis.codex.BRICK.changedSlots(42)')).toEqual([])
  })
})

describe("chapter 4: BRICK's logical audit (the Rogues' Gallery Protocol)", () => {
  it('approves a well-formed change with a rationale', async () => {
    expect(await audit('BRICK', 'logicalAudit', J(good))).toMatchObject({ approved: true, issues: [], warnings: [] })
  })

  it('hangs its rogues as Rogue objects and charges each crime specifically', async () => {
    expect(await w.run('return genesis.codex.BRICK.gallery.map((r) => r.alias)')).toEqual(['The Shapeless', 'The Phantom', 'The Nameless', 'The Usurper', 'The Unexplained', 'The Echo', 'The Impostor'])
    expect(await w.run('return genesis.codex.BRICK.gallery[0].printString()')).toMatch(/^<Rogue #\d+>$/)
    const cases: [string, RegExp][] = [
      [J({ target: 'genesis.world', slot: 'motto', value: 'x' }), /^BRICK \(The Unexplained\): no rationale: a change must say why it is made$/],
      [J({ ...good, rationale: 'because' }), /^BRICK \(The Unexplained\): the rationale "because" is too short to audit$/],
      [J({ ...good, slot: 42 }), /^BRICK \(The Nameless\): slot names are non-empty strings; got 42$/],
      [J({ target: 'genesis.world', slots: { '': 1 }, rationale: good.rationale }), /^BRICK \(The Nameless\): .*got ""$/],
      [J({ ...good, slot: 'describe' }), /^BRICK \(The Usurper\): 'describe' is a method of <WorldMorph #\d+>; data in its place would delete behaviour$/],
      [J({ ...good, target: 'genesis.nowhere' }), /^BRICK \(The Phantom\): the target 'genesis.nowhere' names no object in the image$/],
      [J({ ...good, target: '' }), /^BRICK \(The Phantom\): the change names no target path$/],
      [J({ ...good, slots: { a: 1 } }), /^BRICK \(The Shapeless\): a change has either slot and value or slots, exactly one of them$/],
      [J({ target: 'genesis.world', slots: {}, rationale: good.rationale }), /^BRICK \(The Shapeless\): the change changes no slot$/],
      ['"make it nicer"', /^BRICK \(The Shapeless\): a change is a map/],
      [J({ ...good, author: 'JOKER' }), /^BRICK \(The Impostor\): the change is signed "JOKER", who is not in the Codex/],
    ]
    for (const [change, issue] of cases) {
      const v = await audit('BRICK', 'logicalAudit', change)
      expect(v.approved, change).toBe(false)
      expect(v.issues, change).toHaveLength(1)
      expect(v.issues[0], change).toMatch(issue)
    }
    // The Echo only warns: a change that changes nothing is noise, not harm.
    const echo = await w.run(`return genesis.codex.BRICK.logicalAudit({ target: 'genesis.world', slot: 'greeting', value: genesis.world.greeting, rationale: ${J(good.rationale)} })`) as Verdict
    expect(echo.approved).toBe(true)
    expect(echo.warnings[0]).toMatch(/^BRICK \(The Echo\): 'greeting' already is /)
    // A methods' value overwriting a method is refused on the prototype too (describe lives on Morph).
    expect((await audit('BRICK', 'logicalAudit', J({ ...good, target: 'prototypes.Morph', slot: 'addMorph' }))).issues[0]).toMatch(/'addMorph' is a method of <Morph #\d+>/)
  })

  it('takes a new rogue without rewriting the audit', async () => {
    const r = await w.run(`
      const r = prototypes.Rogue.clone()
      r.alias = 'The Shouter'
      r.crime = 'a rationale in capitals'
      r.accuse = function (change) { return this.isChange(change) && change.rationale === String(change.rationale).toUpperCase() ? this.charge('no need to shout') : null }
      const brick = genesis.codex.BRICK.clone()
      brick.gallery = genesis.codex.BRICK.gallery
      brick.hang(r)
      return [brick.gallery.length, genesis.codex.BRICK.gallery.length, brick.logicalAudit(${J({ ...good, rationale: 'SO THE ARCHITECT SEES IT' })}).issues]
    `)
    expect(r).toEqual([8, 7, ['BRICK (The Shouter): no need to shout']])
    await expect(w.run("return genesis.codex.BRICK.hang(new UvmObject())")).rejects.toThrow(/a rogue has an alias and answers accuse/)
  })
})

describe("chapter 4: ROBIN's resonance check", () => {
  it('approves a change that says whom it serves', async () => {
    expect(await audit('ROBIN', 'resonanceCheck', J(good))).toMatchObject({ approved: true, issues: [] })
  })

  it('rejects a rationale with no human purpose, and a voice made empty', async () => {
    const cold = await audit('ROBIN', 'resonanceCheck', J({ ...good, rationale: 'optimise internal slot storage' }))
    expect(cold.approved).toBe(false)
    expect(cold.issues).toEqual(['ROBIN: the rationale never says whom this serves; name the Architect, a reader, or what it helps someone see or do'])
    const blank = await audit('ROBIN', 'resonanceCheck', J({ target: 'genesis.world.title_label', slots: { text: '   ', label: null }, rationale: good.rationale }))
    expect(blank.approved).toBe(false)
    expect(blank.issues).toEqual([
      "ROBIN: 'text' would be made empty; a morph that says nothing leaves its reader guessing",
      "ROBIN: 'label' would be made empty; a morph that says nothing leaves its reader guessing",
    ])
  })

  it('only warns about a small font, and learned the words of accessibility (the correction)', async () => {
    const small = await audit('ROBIN', 'resonanceCheck', J({ target: 'genesis.world.status_label', slot: 'font_size', value: 9, rationale: good.rationale }))
    expect(small).toMatchObject({ approved: true, issues: [], warnings: ['ROBIN: font_size 9 is hard to read; 12 or more is kinder'] })
    expect(small.findings).toEqual([{ severity: 'warning', message: 'ROBIN: font_size 9 is hard to read; 12 or more is kinder' }])
    expect((await audit('ROBIN', 'resonanceCheck', J({ ...good, rationale: 'higher contrast for accessibility' }))).approved).toBe(true)
  })
})

describe("chapter 4: ALFRED's integrity audit (the System Integrity Audit Protocol)", () => {
  it('approves plain data on an ordinary slot', async () => {
    expect(await audit('ALFRED', 'integrityAudit', J(good))).toMatchObject({ approved: true, issues: [] })
  })

  it('refuses protected slots and targets, naming them', async () => {
    const cases: [string, string][] = [
      [J({ ...good, slot: 'parent*', value: 'prototypes.ButtonMorph' }), "ALFRED: 'parent*' is a parent slot; re-pointing delegation is not a slot edit"],
      [J({ ...good, slot: 'lobby' }), "ALFRED: 'lobby' is protected; the image stands on it"],
      [J({ ...good, slot: 'prototypes' }), "ALFRED: 'prototypes' is protected; the image stands on it"],
      [J({ ...good, target: 'genesis.prototypes', slot: 'Morph' }), "ALFRED: the target 'genesis.prototypes' is protected; the image stands on it"],
      [J({ ...good, target: 'genesis.codex', slot: 'title' }), "ALFRED: the target 'genesis.codex' is protected; the image stands on it"],
    ]
    for (const [change, issue] of cases) expect((await audit('ALFRED', 'integrityAudit', change)).issues, change).toEqual([issue])
  })

  it('refuses values that are not storable data, with the path to the offending part', async () => {
    const cases: [string, RegExp][] = [
      ['function () { return 1 }', /^ALFRED: motto is a function: behaviour is not data$/],
      ['undefined', /^ALFRED: motto is undefined \(use null\)$/],
      ['0 / 0', /^ALFRED: motto is NaN, not a finite number$/],
      ['1 / 0', /^ALFRED: motto is Infinity, not a finite number$/],
      ['10n', /^ALFRED: motto is a bigint, not plain data$/],
      ['genesis.world.status_label', /^ALFRED: motto is an object reference \(<LabelMorph #\d+>\): a change carries data, not objects$/],
      ['{ list: [1, { deep: undefined }] }', /^ALFRED: motto\.list\[1\]\.deep is undefined/],
      ['[[[[[[[[[[1]]]]]]]]]]', /^ALFRED: motto(\[0\]){9} is nested more than 8 levels deep$/],
    ]
    for (const [value, issue] of cases) {
      const v = await w.run(`return genesis.codex.ALFRED.integrityAudit({ target: 'genesis.world', slot: 'motto', value: ${value}, rationale: ${J(good.rationale)} })`) as Verdict
      expect(v.approved, value).toBe(false)
      expect(v.issues, value).toHaveLength(1)
      expect(v.issues[0], value).toMatch(issue)
    }
  })

  it('warns, without refusing, that a prototype change reaches every clone', async () => {
    const v = await audit('ALFRED', 'integrityAudit', J({ target: 'prototypes.WorldMorph', slot: 'font_size', value: 15, rationale: good.rationale }))
    expect(v.approved).toBe(true)
    expect(v.warnings).toEqual(['ALFRED: prototypes.WorldMorph is a prototype; every object that delegates to it sees this change (among them genesis.world)'])
  })

  it('audits the trial copy: what was written must read back, and delegation must be unchanged', async () => {
    const r = await w.run(`
      const a = genesis.codex.ALFRED
      const change = { target: 'genesis.world', slot: 'motto', value: 'judged' }
      const ok = genesis.world.copy(); ok.motto = 'judged'
      const wrong = genesis.world.copy(); wrong.motto = 'something else'
      const moved = genesis.world.copy(); moved.motto = 'judged'; moved['parent*'] = prototypes.Morph
      return [a.integrityAudit(change, { original: genesis.world, candidate: ok }).issues, a.integrityAudit(change, { original: genesis.world, candidate: wrong }).issues, a.integrityAudit(change, { original: genesis.world, candidate: moved }).issues]
    `) as string[][]
    expect(r[0]).toEqual([])
    expect(r[1]).toEqual(["ALFRED: on the trial copy, 'motto' does not read back as it was written"])
    expect(r[2]![0]).toMatch(/^ALFRED: the trial copy no longer delegates as <WorldMorph #\d+> does$/)
  })
})

describe("chapter 4: BABS's research and precedent check", () => {
  it('finds where the image speaks of a topic, prototypes, slots and personas, and only reads', async () => {
    const before = await snapshot('genesis.world')
    const r = await w.run("return genesis.codex.BABS.research('label')") as { topic: string; findings: { where: string; slot: string | null; kind: string }[]; summary: string }
    expect(r.topic).toBe('label')
    expect(r.findings).toContainEqual({ where: 'prototypes.LabelMorph', slot: null, kind: 'object' })
    expect(r.findings).toContainEqual({ where: 'prototypes.Morph', slot: 'label', kind: 'data' })
    expect(r.findings).toContainEqual({ where: 'genesis.world', slot: 'status_label', kind: 'object' })
    expect(r.findings.length).toBeLessThanOrEqual(50)
    expect(r.summary).toMatch(/^BABS: \d+ places in the image speak of "label": /)
    const integrity = await w.run("return genesis.codex.BABS.research('INTEGRITY').findings") as { where: string; slot: string; kind: string }[]
    expect(integrity).toEqual([{ where: 'genesis.codex.ALFRED', slot: 'role', kind: 'persona' }, { where: 'genesis.codex.ALFRED', slot: 'protocol_titles', kind: 'persona' }])
    expect(await w.run("return genesis.codex.BABS.research('zyzzyva').summary")).toBe('BABS: 0 places in the image speak of "zyzzyva".')
    await expect(w.run("return genesis.codex.BABS.research('  ')")).rejects.toThrow(/a topic is a word or two/)
    expect(await snapshot('genesis.world')).toEqual(before)
  })

  it('warns about a new slot one letter from an existing name, and never vetoes', async () => {
    const v = await audit('BABS', 'precedentCheck', J({ ...good, slot: 'colour', value: [0, 0, 0, 1] }))
    expect(v.approved).toBe(true)
    expect(v.warnings).toEqual(["BABS: 'colour' is new here, but the image already says 'color' (its own delegation chain): a typo, or a second name for one thing?"])
    expect((await audit('BABS', 'precedentCheck', J({ ...good, slot: 'Label' }))).warnings[0]).toMatch(/'Label' is new here, but the image already says 'label'/)
    expect((await audit('BABS', 'precedentCheck', J(good))).warnings).toEqual([])
    expect(await w.run("return [genesis.codex.BABS.distance('color', 'colour'), genesis.codex.BABS.distance('kitten', 'sitting'), genesis.codex.BABS.distance('', 'abc')]")).toEqual([1, 3, 3])
  })
})

describe('chapter 4: the AlchemicalCrucible', () => {
  it('runs every validator and approves what all of them approve', async () => {
    expect(await w.run('return genesis.crucible.printString()')).toMatch(/^<AlchemicalCrucible #\d+>$/)
    expect(await w.run('return genesis.crucible.validators')).toEqual([
      { persona: 'BRICK', protocol: 'logicalAudit' }, { persona: 'ROBIN', protocol: 'resonanceCheck' }, { persona: 'ALFRED', protocol: 'integrityAudit' }, { persona: 'BABS', protocol: 'precedentCheck' },
    ])
    const v = await w.run(`return genesis.crucible.validate(${J(good)})`) as Crucible
    expect(v.approved).toBe(true)
    expect(v.results.map((r) => [r.persona, r.approved, r.issues])).toEqual([['BRICK', true, []], ['ROBIN', true, []], ['ALFRED', true, []], ['BABS', true, []]])
  })

  it('requires ALL: one persona refusing is enough to reject (the correction of any-approval)', async () => {
    const onlyOne: [string, object][] = [
      ['ROBIN', { ...good, rationale: 'optimise internal slot storage' }],
      ['BRICK', { ...good, slot: 'describe', rationale: 'so the Architect reads a shorter description' }],
      ['ALFRED', { ...good, slot: 'parent*', value: 'prototypes.Morph' }],
    ]
    for (const [who, change] of onlyOne) {
      const v = await w.run(`return genesis.crucible.validate(${J(change)})`) as Crucible
      expect(v.approved, who).toBe(false)
      expect(v.results.filter((r) => !r.approved).map((r) => r.persona), who).toEqual([who])
      expect(v.results.filter((r) => r.approved).length, who).toBe(3)
    }
    // The change from the correction: no rationale.
    expect((await w.run("return genesis.crucible.validate({ target: 'genesis.world', slot: 'color', value: [0, 0, 0, 1] })") as Crucible).approved).toBe(false)
  })

  it('carries warnings through without blocking, and treats a validator that cannot run as a refusal', async () => {
    const v = await w.run(`return genesis.crucible.validate({ target: 'prototypes.LabelMorph', slot: 'font_size', value: 10, rationale: ${J(good.rationale)} })`) as Crucible
    expect(v.approved).toBe(true)
    expect(v.warnings).toHaveLength(2)
    expect(v.warnings[0]).toMatch(/^ROBIN: font_size 10/)
    expect(v.warnings[1]).toMatch(/^ALFRED: prototypes\.LabelMorph is a prototype/)
    const broken = await w.run(`
      const c = genesis.crucible.clone()
      c.validators = [{ persona: 'BRICK', protocol: 'logicalAudit' }, { persona: 'JOKER', protocol: 'laugh' }, { persona: 'BRICK', protocol: 'hang' }]
      return c.validate(${J(good)})
    `) as Crucible
    expect(broken.approved).toBe(false)
    expect(broken.results[0]!.approved).toBe(true)
    expect(broken.results[1]).toMatchObject({ persona: 'JOKER', approved: false, issues: ['JOKER: cannot run laugh (no such persona or protocol in the Codex)'] })
    expect(broken.results[2]!.approved).toBe(false)
    expect(broken.results[2]!.issues[0]).toMatch(/^BRICK: hang failed: /)
    expect((await w.run(`const c = genesis.crucible.clone(); c.validators = []; return c.validate(${J(good)}).approved`))).toBe(false)
  })

  it('reports its verdict in words', async () => {
    const text = await w.run("return genesis.crucible.report(genesis.crucible.validate({ target: 'genesis.world', slot: 'parent*', value: 'prototypes.Morph', rationale: 'because' }))") as string
    expect(text.split('\n')).toEqual([
      'BRICK objects: BRICK (The Unexplained): the rationale "because" is too short to audit',
      'ROBIN objects: ROBIN: the rationale never says whom this serves; name the Architect, a reader, or what it helps someone see or do',
      "ALFRED objects: ALFRED: 'parent*' is a parent slot; re-pointing delegation is not a slot edit",
      'BABS approves.',
      'Verdict: rejected by BRICK, ROBIN, ALFRED.',
    ])
  })

  it("passes ALFRED's own audit of it, casebook included, and fails it when a veto goes missing", async () => {
    const a = await w.run('return genesis.codex.ALFRED.auditCrucible(genesis.crucible)') as Verdict & { cases: number }
    expect(a).toMatchObject({ approved: true, issues: [], cases: 9 })
    expect((await w.run('return genesis.codex.rehearse()') as { ok: boolean }[]).every((c) => c.ok)).toBe(true)
    expect(await w.run('return genesis.codex.minutes')).toMatchObject([{ n: 1, by: 'ALFRED', approved: true, cases: 9 }])
    const b = await w.run("const c = genesis.crucible.clone(); c.validators = [{ persona: 'BRICK', protocol: 'logicalAudit' }, { persona: 'ROBIN', protocol: 'resonanceCheck' }]; return genesis.codex.ALFRED.auditCrucible(c)") as Verdict
    expect(b.approved).toBe(false)
    expect(b.issues).toContain('ALFRED: the veto integrityAudit is missing from the Crucible')
    expect(b.issues).toContain('ALFRED: the Crucible approves a re-pointed parent')
    expect(b.issues.some((i) => /the case 'a re-pointed parent' was filed as rejected and is now approved/.test(i))).toBe(true)
  })
})

describe('chapter 4: the AtomicSwap', () => {
  it('swaps a validated change into genesis.world (a slot from chapter 1), and logs what it replaced', async () => {
    const before = await w.run('return genesis.world.color')
    expect(Array.isArray(before)).toBe(true)
    const n = await logLength()
    const blue = [0.1, 0.2, 0.35, 1]
    const r = await w.run(`return genesis.swap.apply(genesis.world, { target: 'genesis.world', slot: 'color', value: ${J(blue)}, rationale: 'a deeper blue, so the Architect can tell this world from the others', author: 'ROBIN' })`) as Swapped
    expect(r).toMatchObject({ swapped: true, target: 'genesis.world', slots: ['color'], seq: n + 1 })
    expect(r.results!.every((x) => x.approved)).toBe(true)
    expect(await w.run('return genesis.world.color')).toEqual(blue)
    expect(await w.run('return genesis.swap.log[genesis.swap.log.length - 1]')).toMatchObject({ seq: n + 1, target: 'genesis.world', slots: ['color'], author: 'ROBIN', swapped: true, rejected_by: [], before: { color: { had: true, value: before } } })
    // Several slots at once, one of them new.
    const r2 = await w.run(`return genesis.swap.apply(genesis.world, { target: 'genesis.world', slots: { motto: 'Judged, then changed', font_size: 15 }, rationale: ${J(good.rationale)} })`) as Swapped
    expect(r2.swapped).toBe(true)
    expect(await w.run('return [genesis.world.motto, genesis.world.font_size, genesis.world.hasSlot("font_size")]')).toEqual(['Judged, then changed', 15, true])
  })

  it('leaves the original untouched, every slot of it, when the Crucible refuses', async () => {
    const before = await snapshot('genesis.world')
    const n = await logLength()
    const bad = [
      J({ ...good, slot: 'describe' }),
      J({ ...good, slot: 'parent*', value: 'prototypes.ButtonMorph' }),
      J({ target: 'genesis.world', slots: { color: [1, 0, 0, 1], label: '' }, rationale: good.rationale }),
      J({ target: 'genesis.world', slots: { color: [1, 0, 0, 1], children: [] }, rationale: 'optimise internal slot storage' }),
      `{ target: 'genesis.world', slots: { color: [1, 0, 0, 1], motto: function () { return 'x' } }, rationale: ${J(good.rationale)} }`,
    ]
    for (const change of bad) {
      const r = await w.run(`return genesis.swap.apply(genesis.world, ${change})`) as Swapped
      expect(r.swapped, change).toBe(false)
      expect(r.issues!.length, change).toBeGreaterThan(0)
    }
    expect(await snapshot('genesis.world')).toEqual(before)
    // Each refusal is logged, with who refused.
    const log = await w.run(`return genesis.swap.log.slice(${n})`) as { swapped: boolean; rejected_by: string[] }[]
    expect(log.map((e) => [e.swapped, e.rejected_by])).toEqual([[false, ['BRICK']], [false, ['ALFRED']], [false, ['ROBIN']], [false, ['ROBIN']], [false, ['ALFRED']]])
  })

  it('a failing swap inside an act that then throws: nothing of the act stays, not even the good swap before it', async () => {
    const before = await snapshot('genesis.world')
    const labelBefore = await snapshot('genesis.world.status_label')
    const n = await logLength()
    await expect(w.run(`
      const ok = genesis.swap.apply(genesis.world.status_label, { target: 'genesis.world.status_label', slot: 'font_size', value: 30, rationale: 'so the Architect can read it across the room' })
      if (!ok.swapped) throw new Error('the good change should have passed')
      const no = genesis.swap.apply(genesis.world, ${J({ ...good, slot: 'describe' })})
      if (no.swapped) throw new Error('the bad change should have been refused')
      throw new Error('the act fails after the swaps')
    `)).rejects.toThrow(/the act fails after the swaps/)
    expect(await snapshot('genesis.world')).toEqual(before)
    expect(await snapshot('genesis.world.status_label')).toEqual(labelBefore)
    expect(await logLength()).toBe(n)
    // mustApply makes the refusal itself the exception that undoes the act.
    await expect(w.run(`
      genesis.swap.apply(genesis.world, { target: 'genesis.world', slot: 'motto', value: 'changed in a doomed act', rationale: ${J(good.rationale)} })
      return genesis.swap.mustApply(genesis.world, ${J({ ...good, slot: 'lobby' })})
    `)).rejects.toThrow(/AtomicSwap refused the change to genesis\.world: ALFRED: 'lobby' is protected/)
    expect(await snapshot('genesis.world')).toEqual(before)
    expect(await logLength()).toBe(n)
  })

  it('refuses a target that is not an object as a programming error', async () => {
    await expect(w.run(`return genesis.swap.apply('genesis.world', ${J(good)})`)).rejects.toThrow(/the target must be an object of the image/)
  })

  it('dry runs judge and preview without writing the target or the log', async () => {
    const before = await snapshot('genesis.world')
    const n = await logLength()
    const r = await w.run(`return genesis.swap.dryRun(genesis.world, { target: 'genesis.world', slots: { motto: 'A dry motto', describe: 'x' }, rationale: ${J(good.rationale)} })`) as { wouldSwap: boolean; preview: { slot: string; now: unknown; own: boolean; would_be: unknown }[]; issues: string[] }
    expect(r.wouldSwap).toBe(false)
    expect(r.issues[0]).toMatch(/The Usurper/)
    expect(r.preview).toEqual([{ slot: 'motto', now: 'Judged, then changed', own: true, would_be: 'A dry motto' }, { slot: 'describe', now: '[method]', own: false, would_be: 'x' }])
    const p = await w.run(`return genesis.proposeChange('genesis.world', { motto: 'Proposed, not made' }, ${J(good.rationale)}, { author: 'BABS', dryRun: true })`) as { wouldSwap: boolean }
    expect(p.wouldSwap).toBe(true)
    expect(await snapshot('genesis.world')).toEqual(before)
    expect(await logLength()).toBe(n)
  })

  it('takes a change back with revert, through the Crucible, and refuses to revert twice', async () => {
    const before = await snapshot('genesis.world')
    const r = await w.run(`return genesis.proposeChange('genesis.world', { motto: 'For a moment', farewell_note: 'new' }, ${J(good.rationale)}, 'ROBIN')`) as Swapped
    expect(r.swapped).toBe(true)
    expect(await w.run('return [genesis.world.motto, genesis.world.farewell_note]')).toEqual(['For a moment', 'new'])
    const back = await w.run(`return genesis.swap.revert(${r.seq})`) as { reverted: boolean; restored: string[]; removed: string[]; by: number }
    expect(back).toMatchObject({ reverted: true, restored: ['motto'], removed: ['farewell_note'], by: r.seq! + 1 })
    expect(await snapshot('genesis.world')).toEqual(before)
    expect(await w.run(`return genesis.swap.log.find((e) => e.seq === ${r.seq}).reverted_by`)).toBe(r.seq! + 1)
    await expect(w.run(`return genesis.swap.revert(${r.seq})`)).rejects.toThrow(/already taken back/)
    await expect(w.run('return genesis.swap.revert(9999)')).rejects.toThrow(/no change #9999/)
  })

  it('applies a batch all-or-none, and proposes by path in a persona\'s name', async () => {
    const before = await snapshot('genesis.world')
    const bad = await w.run(`return genesis.swap.applyAll(genesis.world, [
      { target: 'genesis.world', slot: 'greeting', value: 'Half a batch', rationale: ${J(good.rationale)} },
      { target: 'genesis.world', slot: 'greeting', value: '', rationale: 'so the Architect has nothing to read' },
      { target: 'genesis.world', slot: 'color', value: [0, 0, 0, 1], rationale: ${J(good.rationale)} }
    ])`) as Swapped & { failed: number }
    expect(bad).toMatchObject({ swapped: false, failed: 1 })
    expect(await snapshot('genesis.world')).toEqual(before)
    const ok = await w.run(`return genesis.swap.applyAll(genesis.world, [
      { target: 'genesis.world', slot: 'motto', value: 'Both at once', rationale: ${J(good.rationale)} },
      { target: 'genesis.world', slot: 'epigraph', value: 'Nothing half done', rationale: ${J(good.rationale)} }
    ])`) as Swapped & { changes: number }
    expect(ok).toMatchObject({ swapped: true, slots: ['motto', 'epigraph'], changes: 2 })
    expect(await w.run('return [genesis.world.motto, genesis.world.epigraph]')).toEqual(['Both at once', 'Nothing half done'])
    const p = await w.run(`return genesis.codex.BABS.propose('genesis.world.title_label', { tooltip: 'The name of this system' }, 'so the Architect knows what the title names')`) as Swapped
    expect(p.swapped).toBe(true)
    expect(await w.run('return [genesis.world.title_label.tooltip, genesis.swap.log[genesis.swap.log.length - 1].author]')).toEqual(['The name of this system', 'BABS'])
    expect(await w.run(`return genesis.proposeChange('genesis.nowhere', { a: 1 }, ${J(good.rationale)})`)).toMatchObject({ swapped: false, issues: ["proposeChange: 'genesis.nowhere' names no object in the image"] })
  })

  it('remembers the narrative: the world greets the Architect, and the log counts objections', async () => {
    expect(await w.run('return [genesis.world.greeting, genesis.world.farewell, genesis.world.cem_gauge.tooltip, genesis.world.hasSlot("title")]')).toEqual([
      'Welcome back, Architect. The Crucible is listening.', 'Until next time, Architect.', 'How varied and lively the system has been lately: the Composite Entropy Metric', false,
    ])
    const o = await w.run('return genesis.swap.objections()') as { refusals: number; counts: Record<string, number> }
    expect(o.refusals).toBeGreaterThanOrEqual(7)
    expect(o.counts.ROBIN).toBeGreaterThanOrEqual(3)
    expect(o.counts.ALFRED).toBeGreaterThanOrEqual(2)
    expect(o.counts.BRICK).toBeGreaterThanOrEqual(1)
    expect((await w.run('return genesis.swap.history(1)') as string[])[0]).toMatch(/^#\d+ swapped: genesis\.world\.title_label tooltip/)
  })
})
