// Chapter 1, "The First Conversation": replay the chapter, then drive the morphs, the Synaptic Bridge
// and the API covenant it made by message sends, as acts.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { curriculumWorld } from './support.js'
import type { CurriculumWorld } from './support.js'
import { openImage } from '../../src/index.js'
import { runAct } from '../../src/act/index.js'
import { setUpJit } from '../../src/jit/index.js'
import { Curriculum, CurriculumCompiler, replayConversation, replayCurriculum } from '../../src/genesis/index.js'
import { memoryDb } from '../support/images.js'

type Desc = { kind: string; bounds: { x: number; y: number; width: number; height: number }; label: string; font_size: number; color: number[]; visible: boolean; children: Desc[]; text?: string; system?: Record<string, unknown>; [k: string]: unknown }

const UI = ['Morph', 'WorldMorph', 'UvmMorph', 'ButtonMorph', 'LabelMorph', 'TextInputMorph']
const kinds = (d: Desc): string[] => [d.kind, ...d.children.flatMap(kinds)]

describe('chapter 1: the first conversation', () => {
  let w: CurriculumWorld
  beforeAll(async () => { w = await curriculumWorld({ to: 1 }) })
  afterAll(async () => { await w.dispose() })

  it('is at least 35 conversations; the first teaches display_yourself and the Morph protocol', () => {
    const ch = w.curriculum.chapters(1, 1)
    expect(ch.length).toBeGreaterThanOrEqual(35)
    expect(ch[0]!.id).toBe('01-first-conversation.jsonl:1')
    expect(ch[0]!.turns[0]!.utterance).toBe('Display yourself.')
    expect(ch[0]!.teaches).toEqual(expect.arrayContaining(['display_yourself', 'addMorph', 'removeMorph', 'describe', 'on_press', 'on_submit']))
    expect(w.curriculum.teaching('display_yourself')!.id).toBe('01-first-conversation.jsonl:1')
    // Several turns where the seeds say so (refinement, correction, follow-up).
    expect(ch.filter((c) => c.turns.length > 1).length).toBeGreaterThanOrEqual(20)
  })

  it('every conversation is recorded as replayed: a second replay skips them all', async () => {
    const again = await replayCurriculum(w.image, w.realm, w.curriculum, { to: 1 })
    expect(again).toEqual({ replayed: 0, skipped: w.curriculum.chapters(1, 1).length, turns: 0 })
    // Every turn is one transaction of its own, recorded with its utterance and explanation.
    const turns = w.curriculum.chapters(1, 1).reduce((n, c) => n + c.turns.length, 0)
    const recs = (await w.image.transactions({ limit: 100_000 })).filter((t) => (t.ext.curriculum as { chapter?: number } | undefined)?.chapter === 1)
    expect(recs).toHaveLength(turns)
    expect(recs.every((t) => typeof t.ext.intent === 'string' && typeof t.ext.explanation === 'string')).toBe(true)
  })

  it('is deterministic: a second image replayed from scratch draws the same world', async () => {
    const other = await curriculumWorld({ to: 1 })
    try {
      const show = 'return [genesis.display_yourself(), genesis.display_yourself("draw"), genesis.world.inspectorDescription()]'
      expect(await other.run(show)).toEqual(await w.run(show))
    } finally {
      await other.dispose()
    }
  })

  it('every selector the chapter teaches is understood by the objects it made', async () => {
    const taught = [...new Set(w.curriculum.chapters(1, 1).flatMap((c) => c.teaches))]
    const missing = await w.run(`
      const world = genesis.world
      const protos = prototypes.slotNames().map((n) => prototypes.getSlot(n)).filter((v) => v !== null && typeof v === 'object')
      const holders = [genesis, world].concat(world.allMorphs(), protos)
      return ${JSON.stringify(taught)}.filter((s) => !holders.some((h) => h.respondsTo(s)))
    `)
    expect(missing).toEqual([])
  })

  it('display_yourself answers the world as plain drawable data, with its morphs', async () => {
    const d = await w.run('return genesis.display_yourself()') as Desc
    expect(d.kind).toBe('WorldMorph')
    expect(d.bounds).toEqual({ x: 0, y: 0, width: 800, height: 600 })
    expect(d.label).toBe('BAT OS')
    expect(d.color).toHaveLength(4)
    expect(d.children[0]!.kind).toBe('UvmMorph')
    expect(kinds(d)).toEqual(expect.arrayContaining(['UvmMorph', 'PanelMorph', 'ButtonMorph', 'LabelMorph', 'TextInputMorph', 'InspectorMorph', 'ProgressMorph', 'ToggleMorph']))
    const panel = d.children.find((c) => c.label === 'Controls')!
    expect(panel.children.map((c) => c.label)).toContain('Commit Transaction')
    const status = d.children.find((c) => typeof c.text === 'string' && c.text.startsWith('Backend State: '))!
    expect(status.font_size).toBe(24)
    expect(d.children[0]!.system!.prototypes).toEqual(expect.arrayContaining(UI))
    // It is the same as the world's describe(), and it is data: it survives JSON.
    expect(JSON.parse(JSON.stringify(d))).toEqual(await w.run('return genesis.world.describe()'))
  })

  it('display_yourself(format): the outline, the paint list, and a refusal of anything else', async () => {
    const tree = await w.run(`return genesis.display_yourself('tree')`) as string
    expect(tree.split('\n')[0]).toBe("WorldMorph 'BAT OS' [0,0 800x600]")
    expect(tree).toContain("    ButtonMorph 'Commit Transaction' [20,540 197x40]")
    const draw = await w.run(`return genesis.display_yourself('draw')`) as { kind: string }[]
    expect(draw[0]!.kind).toBe('WorldMorph')
    await expect(w.run(`return genesis.display_yourself('hologram')`)).rejects.toThrow(/unknown format 'hologram'/)
  })

  it('the UI prototypes exist and are registered: printString names them, and their clones', async () => {
    const r = await w.run(`return ${JSON.stringify(UI)}.map((n) => prototypes[n].printString()).concat([genesis.world.printString(), genesis.world.commit_button.printString(), genesis.world.status_label.printString(), genesis.world.tool_input.printString(), genesis.world.uvm_morph.printString()])`) as string[]
    UI.forEach((n, i) => expect(r[i]).toMatch(new RegExp(`^<${n} #\\d+>$`)))
    expect(r.slice(UI.length).map((s) => s.replace(/ #\d+>$/, '>'))).toEqual(['<WorldMorph>', '<ButtonMorph>', '<LabelMorph>', '<TextInputMorph>', '<UvmMorph>'])
    const slots = await w.run(`const M = prototypes.Morph; return { bounds: M.bounds, children: M.children, color: M.color, label: M.label, font_size: M.font_size, on_press: M.on_press, on_submit: M.on_submit, button: prototypes.ButtonMorph.respondsTo('on_press'), text: prototypes.LabelMorph.text, input: [prototypes.TextInputMorph.text, prototypes.TextInputMorph.respondsTo('on_submit')] }`)
    expect(slots).toEqual({ bounds: { x: 0, y: 0, width: 100, height: 40 }, children: [], color: [0.2, 0.2, 0.24, 1], label: '', font_size: 14, on_press: null, on_submit: null, button: true, text: '', input: ['', true] })
    // The defaults answer an event that nothing handled yet.
    expect(await w.run(`const b = prototypes.ButtonMorph.clone(); return [b.on_press(), prototypes.TextInputMorph.clone().on_submit('hi'), prototypes.Morph.clone().dispatch('press')]`))
      .toEqual([{ event: 'press', label: 'Button', handled: false }, { event: 'submit', text: 'hi', handled: false }, null])
  })

  it("commit_button: a ButtonMorph clone labelled 'Commit Transaction' that fits its label", async () => {
    const r = await w.run(`const b = genesis.world.commit_button; return { parent: b.parents()[0].printString(), label: b.label, width: b.bounds.width, owner: b.owner.label, fresh: prototypes.ButtonMorph.clone().setLabel('A rather long label here').bounds.width, short: prototypes.ButtonMorph.clone().setLabel('Go').bounds.width }`)
    expect(r).toMatchObject({ label: 'Commit Transaction', width: 197, owner: 'Controls', short: 120 })
    expect((r as { parent: string }).parent).toMatch(/^<ButtonMorph #\d+>$/)
    expect((r as { fresh: number }).fresh).toBe(Math.round(24 * 16 * 0.6) + 24)
  })

  it('the hooks and helpers under the other methods answer when sent directly', async () => {
    const r = await w.run(`
      const P = prototypes
      const m = P.Morph.clone(), child = P.Morph.clone()
      m.addMorph(child)
      const moved = m.moveBy(5, 6)
      const t = P.ToggleMorph.clone()
      t.label = 'Sound'
      const checked = t.setChecked(true)
      return {
        base: P.Morph.describeExtras({ a: 1 }),
        label: P.LabelMorph.describeExtras({}),
        input: P.TextInputMorph.describeExtras({}),
        button: P.ButtonMorph.describeExtras({}),
        toggle: t.describeExtras({}),
        progress: P.ProgressMorph.describeExtras({}),
        inspector: P.InspectorMorph.describeExtras({}),
        uvm: Object.keys(P.UvmMorph.describeExtras({}).system),
        debug: Object.keys(P.DebugTraits.describeExtras({}).debug),
        fit: P.ButtonMorph.clone().fitToLabel(),
        moved, childMoved: child.bounds,
        checked, toggleLabel: t.label,
        logged: genesis.world.logEvent('sent by hand'),
        logLine: genesis.world.event_log.lines.pop(),
      }
    `)
    expect(r).toEqual({
      base: { a: 1 }, label: { text: '' }, input: { text: '', placeholder: '' }, button: { enabled: true },
      toggle: { checked: true, enabled: true }, progress: { value: 0, fill_width: 0 }, inspector: { text: '', inspecting: null },
      uvm: ['subject', 'prototypes', 'slots', 'slot_kinds'], debug: ['oid', 'own_slots', 'print'],
      fit: 120, moved: { x: 5, y: 6, width: 100, height: 40 }, childMoved: { x: 5, y: 6, width: 100, height: 40 },
      checked: true, toggleLabel: '[x] Sound', logged: 'sent by hand', logLine: 'sent by hand',
    })
  })

  it('addMorph and removeMorph change children and owner; a morph is never in two places', async () => {
    const r = await w.run(`
      const world = genesis.world
      const before = world.children.length
      const m = prototypes.LabelMorph.clone()
      world.addMorph(m)
      world.addMorph(m)
      const added = world.children.length
      const ownerIsWorld = m.owner === world
      world.form_panel.addMorph(m)
      const moved = [world.children.length, world.form_panel.children.indexOf(m) >= 0, m.owner === world.form_panel]
      world.form_panel.removeMorph(m)
      return { before, added, ownerIsWorld, moved, after: [world.children.length, world.form_panel.children.length, m.owner], again: world.removeMorph(m) }
    `) as Record<string, unknown>
    expect(r.added).toBe((r.before as number) + 1)
    expect(r.ownerIsWorld).toBe(true)
    expect(r.moved).toEqual([r.before, true, true])
    expect(r.after).toEqual([r.before, 2, null])
    expect(r.again).toBeNull()
    expect(await w.run('return genesis.world.allMorphs().length')).toBe(await w.run('return genesis.world.treeString().split("\\n").length - 1'))
  })

  it('the status label: font_size 24 after the refinement, and it follows the backend state over the bridge', async () => {
    expect(await w.run('const l = genesis.world.status_label; return [l.font_size, l.bounds.height, l.text]'))
      .toEqual([24, 40, 'Backend State: awaiting the first state'])
    expect(await w.run(`return genesis.world.status_label.refreshStatus('3 objects')`)).toBe('Backend State: 3 objects')
    expect(await w.run(`return genesis.world.status_label.stateSummary({ event: 'error', error: { message: 'down' } })`)).toBe('unreachable (down)')
    const synced = await w.run('return await genesis.world.status_label.syncStatus()') as string
    expect(synced).toMatch(/^Backend State: <Genesis #2> at tid \d+$/)
    expect(await w.run('return genesis.world.status_label.text')).toBe(synced)
    // The refresh button, placed below the label after the correction, does the same.
    expect(await w.run('const w = genesis.world; return [w.refresh_button.bounds.y, w.status_label.bounds.y + w.status_label.bounds.height + 4, w.refresh_button.bounds.x]')).toEqual([64, 64, 400])
    expect(await w.run('return await genesis.world.refresh_button.press()')).toMatch(/^Backend State: <Genesis #2> at tid \d+$/)
  })

  it("commit_button's on_press (on_commit_press) installs new_tool through the bridge; then new_tool answers", async () => {
    expect(await w.run(`return genesis.respondsTo('new_tool')`)).toBe(false)
    expect(await w.run('return genesis.world.commit_button.commit_status')).toBe('not pressed yet')
    const reply = await w.run('return await genesis.world.commit_button.on_press()') as { event: string; tid: number }
    expect(reply.event).toBe('ack')
    expect(await w.run('return genesis.world.commit_button.commit_status')).toBe(`committed at tid ${reply.tid}`)
    expect(await w.run('return genesis.world.commit_button.last_reply')).toEqual(reply)
    const out = await runAct(w.image, w.realm, 'return genesis.new_tool()')
    expect(out.value).toBe('New tool created!')
    expect(out.output).toBe('New tool created!\n')
    const rec = await w.image.transaction(reply.tid)
    expect(rec!.ext).toMatchObject({ command: 'create_method', target: 'genesis' })
  })

  it('SynapticBridge and ApiCovenant answer their descriptions', async () => {
    const b = await w.run('return prototypes.SynapticBridge.describe()') as Record<string, any>
    expect(b.kind).toBe('SynapticBridge')
    expect(b.endpoints).toEqual({ router: 'tcp://127.0.0.1:5555', pub: 'tcp://127.0.0.1:5556' })
    expect(b.patterns.commands).toMatch(/ROUTER.*DEALER/)
    expect(b.patterns.events).toMatch(/PUB.*SUB/)
    expect(b.covenant).toMatch(/zod/)
    expect(await w.run(`return prototypes.SynapticBridge.clientConfig('10.0.0.7')`)).toMatchObject({ commands: { socket: 'DEALER', connect: 'tcp://10.0.0.7:5555' }, events: { socket: 'SUB', connect: 'tcp://10.0.0.7:5556' } })
    expect(await w.run(`return (await prototypes.SynapticBridge.sendCommand({ command: 'ping' })).event`)).toBe('pong')
    const c = await w.run('return prototypes.ApiCovenant.describe()') as Record<string, any>
    expect(c.kind).toBe('ApiCovenant')
    expect(c.schema_language).toBe('zod')
    expect(c.commands).toEqual(['get_full_state', 'update_property', 'create_method', 'send_message', 'run_act', 'history', 'undo', 'ping', 'describe', 'why', 'cem'])
    expect(c.common).toEqual(['id', 'target', 'target_uuid'])
    // The covenant the image knows is the daemon's: `describe` through the bridge lists the same commands.
    const schema = JSON.stringify(await w.run(`return (await bridge.send({ command: 'describe' })).schema`))
    for (const name of c.commands as string[]) expect(schema).toContain(`"${name}"`)
  })

  it('ApiCovenant: fieldsOf and makeCommand check a command before the bridge sees it', async () => {
    expect(await w.run(`return prototypes.ApiCovenant.fieldsOf('create_method')`)).toEqual({ command: 'create_method', fields: ['method_name', 'method_code'], required: ['method_name', 'method_code'], writes: true, common: ['id', 'target', 'target_uuid'] })
    await expect(w.run(`return prototypes.ApiCovenant.fieldsOf('teleport')`)).rejects.toThrow(/no command 'teleport' \(it has: get_full_state/)
    await expect(w.run(`return prototypes.ApiCovenant.makeCommand('create_method', { method_name: 'x' })`)).rejects.toThrow(/create_method needs method_code/)
    await expect(w.run(`return prototypes.ApiCovenant.makeCommand('ping', { colour: 'red' })`)).rejects.toThrow(/ping has no field colour/)
    const r = await w.run(`
      const cmd = prototypes.ApiCovenant.makeCommand('update_property', { target: 'genesis', property_name: 'covenant_checked', property_value: 42 })
      return [cmd, (await bridge.send(cmd)).event]
    `)
    expect(r).toEqual([{ command: 'update_property', target: 'genesis', property_name: 'covenant_checked', property_value: 42 }, 'ack'])
    expect(await w.run('return genesis.covenant_checked')).toBe(42)
  })

  it('the text input: keys edit it, Enter and the submit button send its content to the UVM', async () => {
    const r = await w.run(`
      const input = genesis.world.tool_input
      const steps = [input.typeText('Hel'), input.keyPress('l'), input.keyPress('o'), input.keyPress('x'), input.keyPress('Backspace'), JSON.stringify(input.keyPress('Shift'))]
      steps.push(input.keyPress('Escape'), input.typeText('Hi'), input.backspace(), input.clearText())
      return steps
    `)
    expect(r).toEqual(['Hel', 'Hell', 'Hello', 'Hellox', 'Hello', '{"ignored":"Shift"}', '', 'Hi', 'H', ''])
    expect(await w.run(`const i = genesis.world.tool_input; i.typeText('Display yourself'); return (await genesis.world.submit_button.press()).event`)).toBe('ack')
    expect(await w.run('return [genesis.last_utterance, genesis.world.tool_input.text]')).toEqual(['Display yourself', ''])
    expect(await w.run(`const i = genesis.world.tool_input; i.typeText('again'); return (await i.keyPress('Enter')).event`)).toBe('ack')
    expect(await w.run('return genesis.last_utterance')).toBe('again')
    expect(await w.run(`return genesis.world.submit_button.color`)).toEqual([0.2, 0.6, 0.3, 1])
    expect(await w.run(`return genesis.world.tool_input.describe().placeholder`)).toBe('Say something to the UVM...')
  })

  it('layout: columns, rows, moving, resizing and shrink-wrapping', async () => {
    const r = await w.run(`
      const P = prototypes.PanelMorph
      const panel = P.clone()
      panel.bounds = { x: 100, y: 100, width: 300, height: 300 }
      const a = prototypes.ButtonMorph.clone(), b = prototypes.LabelMorph.clone(), hidden = prototypes.LabelMorph.clone()
      hidden.hide()
      panel.addMorph(a); panel.addMorph(hidden); panel.addMorph(b)
      const column = panel.layoutColumn(10)
      const snap = (m) => JSON.parse(JSON.stringify(m.bounds))
      const col = [snap(a), snap(b)]
      const row = panel.layoutRow(4)
      const rowed = [snap(a), snap(b)]
      panel.moveTo(0, 0)
      const moved = [snap(panel), snap(a), snap(b)]
      const fit = panel.fitChildren()
      return { column, col, row, rowed, moved, fit, tiny: prototypes.Morph.clone().resizeTo(2, 30.4) }
    `) as Record<string, any>
    expect(r.col).toEqual([{ x: 108, y: 108, width: 160, height: 40 }, { x: 108, y: 158, width: 200, height: 24 }])
    expect(r.column).toBe(8 + 40 + 10 + 24 + 8)
    expect(r.rowed).toEqual([{ x: 108, y: 230, width: 160, height: 40 }, { x: 272, y: 238, width: 200, height: 24 }])
    expect(r.row).toBe(8 + 160 + 4 + 200 + 8)
    expect(r.moved).toEqual([{ x: 0, y: 0, width: 300, height: 300 }, { x: 8, y: 130, width: 160, height: 40 }, { x: 172, y: 138, width: 200, height: 24 }])
    expect(r.fit).toEqual({ x: 0, y: 0, width: 380, height: 178 })
    expect(r.tiny).toEqual({ x: 0, y: 0, width: 8, height: 30 })
    // What the chapter laid out: the form's column, shrink-wrapped, moved 20 down; the UVM morph resized.
    expect(await w.run('const w = genesis.world; return [w.form_panel.bounds, w.tool_input.bounds, w.submit_button.bounds, w.uvm_morph.bounds]'))
      .toEqual([{ x: 20, y: 310, width: 296, height: 102 }, { x: 28, y: 318, width: 280, height: 36 }, { x: 28, y: 364, width: 120, height: 40 }, { x: 20, y: 20, width: 360, height: 260 }])
  })

  it('themes colour a tree by kind, leaving alone the morphs that keep their colour', async () => {
    const r = await w.run(`
      const panel = prototypes.PanelMorph.clone()
      const a = prototypes.ButtonMorph.clone(), kept = prototypes.ButtonMorph.clone(), l = prototypes.LabelMorph.clone()
      kept.color = [1, 0, 0, 1]; kept.keep_color = true
      panel.addMorph(a); panel.addMorph(kept); panel.addMorph(l)
      const n = panel.applyTheme(genesis.themes.light)
      return { n, panel: panel.color, a: a.color, kept: kept.color, label: l.color, theme: panel.theme.label, none: genesis.themes.dark.colorFor('Unicorn') }
    `)
    expect(r).toEqual({ n: 2, panel: [0.88, 0.89, 0.9, 1], a: [0.75, 0.77, 0.82, 1], kept: [1, 0, 0, 1], label: [0, 0, 0, 0], theme: 'light', none: null })
    expect(await w.run('const w = genesis.world; return [w.theme.label, w.commit_button.color, w.submit_button.color, w.color]'))
      .toEqual(['dark', [0.75, 0.18, 0.16, 1], [0.2, 0.6, 0.3, 1], [0.08, 0.09, 0.12, 1]])
  })

  it('visibility and hit-testing: morphAt answers the deepest visible morph at a point', async () => {
    const r = await w.run(`
      const world = genesis.world
      const c = world.commit_button.bounds
      const u = world.uvm_morph
      const hit = world.morphAt(c.x + 3, c.y + 3)
      const panelHit = world.morphAt(790, 590)
      const outside = world.morphAt(900, 10)
      const before = world.morphAt(30, 30)
      const shown = [u.hide().visible, world.morphAt(30, 30) === world, u.toggleVisible(), world.morphAt(30, 30) === u]
      return { hit: hit === world.commit_button, panel: panelHit === world.control_panel, outside, before: before === u, shown, contains: [u.containsPoint(20, 20), u.containsPoint(380, 20)] }
    `)
    expect(r).toEqual({ hit: true, panel: true, outside: null, before: true, shown: [false, true, true, true], contains: [true, false] })
  })

  it('buttons can be disabled: press ignores them, and they look and say so', async () => {
    const r = await w.run(`
      const b = prototypes.ButtonMorph.clone()
      b.color = [0.5, 0.5, 0.5, 1]
      b.on_press = function () { return 'ran' }
      const enabled = b.press()
      b.setEnabled(false)
      const disabled = b.press()
      const looks = [b.color[3], b.describe().enabled]
      b.setEnabled(true)
      return { enabled, disabled, looks, back: [b.color[3], b.describe().enabled, b.press()] }
    `)
    expect(r).toEqual({ enabled: 'ran', disabled: { event: 'press', label: 'Button', ignored: 'disabled' }, looks: [0.4, false], back: [1, true, 'ran'] })
  })

  it('pressAt routes a press at a point to the button there and logs it in the event log', async () => {
    const r = await w.run(`
      const world = genesis.world
      const p = world.ping_button.bounds
      const pressed = await world.pressAt(p.x + 5, p.y + 5)
      const nothing = await world.pressAt(5, 300)
      return { pressed: [pressed.pressed === world.ping_button.printString(), pressed.result], nothing, last: world.last_event, log: world.event_log.lines.slice(-2) }
    `) as Record<string, any>
    expect(r.pressed[0]).toBe(true)
    expect(r.pressed[1]).toMatch(/^Backend State: alive, UVM [\w.-]+; no LLM: the curriculum answers$/)
    expect(r.nothing).toEqual({ hit: expect.stringMatching(/^<WorldMorph #\d+>$/), pressed: null })
    expect(r.last).toBe('nothing to press at 5,300')
    expect(r.log).toEqual(['pressed Ping', 'nothing to press at 5,300'])
  })

  it('the event log keeps its last lines and shows the history over the bridge', async () => {
    const r = await w.run(`
      const log = genesis.world.event_log
      for (let i = 0; i < 7; i++) log.appendLine('line ' + i)
      return [log.lines.length, log.text.split('\\n')[0], log.max_lines]
    `)
    expect(r).toEqual([5, 'line 2', 5])
    expect(await w.run('return await genesis.world.event_log.showHistory(3)')).toBe(3)
    const lines = await w.run('return genesis.world.event_log.lines') as string[]
    expect(lines).toHaveLength(3)
    for (const l of lines) expect(l).toMatch(/^#\d+ \S+: /)
  })

  it('removing: the note was taken away and forgotten; removeFromOwner works on any morph', async () => {
    expect(await w.run(`return [genesis.world.hasSlot('note_label'), genesis.world.children.some((c) => c.text === 'Genesis in progress')]`)).toEqual([false, false])
    expect(await w.run(`
      const p = prototypes.PanelMorph.clone(), m = prototypes.Morph.clone()
      p.addMorph(m)
      return [m.removeFromOwner() === p, p.children.length, m.owner, m.removeFromOwner()]
    `)).toEqual([true, 0, null, null])
  })

  it('re-parenting keeps a morph\'s offset within its owner; the submit button is back in the form', async () => {
    expect(await w.run(`
      const a = prototypes.PanelMorph.clone(), b = prototypes.PanelMorph.clone(), m = prototypes.Morph.clone()
      a.bounds = { x: 10, y: 10, width: 100, height: 100 }
      b.bounds = { x: 300, y: 200, width: 100, height: 100 }
      m.bounds = { x: 15, y: 30, width: 20, height: 20 }
      a.addMorph(m)
      m.reparentTo(b)
      return [m.bounds, m.owner === b, a.children.length, b.children.length]
    `)).toEqual([{ x: 305, y: 220, width: 20, height: 20 }, true, 0, 1])
    expect(await w.run('const w = genesis.world; return [w.submit_button.owner === w.form_panel, w.control_panel.children.map((c) => c.label)]'))
      .toEqual([true, ['Commit Transaction', '[ ] Debug view', 'Ping']])
  })

  it('the inspector: a morph described from its mirror, shown as text, and asked why', async () => {
    const d = await w.run('return genesis.world.commit_button.inspectorDescription()') as Record<string, any>
    expect(d.print).toMatch(/^<ButtonMorph #\d+>$/)
    expect(d.kind).toBe('ButtonMorph')
    expect(d.slots.label).toBe('Commit Transaction')
    expect(d.slots.owner).toMatch(/^<PanelMorph #\d+>$/)
    expect(d.slots).not.toHaveProperty('children')
    expect(d.methods).toEqual(expect.arrayContaining(['on_commit_press', 'on_press']))
    expect(d.parents[0]).toMatch(/^<ButtonMorph #\d+>$/)
    expect(d.owner).toBe(d.slots.owner)
    const shown = await w.run('const i = genesis.world.inspector; return [i.describe().inspecting, i.text.split("\\n")[0]]') as string[]
    expect(shown[0]).toMatch(/^<LabelMorph #\d+>$/)
    expect(shown[1]).toBe(`${shown[0]} (LabelMorph)`)
    expect(await w.run('const i = genesis.world.inspector; return [i.inspectMorph(genesis.world.ping_button) > 3, i.describe().inspecting === genesis.world.ping_button.printString()]')).toEqual([true, true])
    const why = await w.run(`return await genesis.world.inspector.explainTargetSlot('label')`) as Record<string, unknown>
    expect(why).toMatchObject({ selector: 'label', kind: 'data', made_by: '01-first-conversation.jsonl:35, turn 1' })
    expect(await w.run('return genesis.world.inspector.text.split("\\n").pop()')).toBe('why label: 01-first-conversation.jsonl:35, turn 1')
  })

  it('explainSlot: the status label\'s font_size names the turn where the Architect asked for 24', async () => {
    expect(await w.run(`return await genesis.world.status_label.explainSlot('font_size')`)).toMatchObject({ selector: 'font_size', kind: 'data', made_by: '01-first-conversation.jsonl:6, turn 3', holder: expect.stringMatching(/^<LabelMorph #\d+>$/) })
    expect(await w.run(`return await genesis.world.status_label.explainSlot('describe')`)).toMatchObject({ holder: expect.stringMatching(/^<Morph #\d+>$/), kind: 'method', made_by: '01-first-conversation.jsonl:1, turn 1' })
    expect(await w.run(`return await genesis.world.status_label.explainSlot('no_such_slot')`)).toMatchObject({ selector: 'no_such_slot', error: expect.stringMatching(/no_such_slot/) })
  })

  it('placing: placeRightOf, placeBelow, centerIn, centerHorizontallyIn', async () => {
    const r = await w.run(`
      const a = prototypes.Morph.clone(), b = prototypes.Morph.clone(), box = prototypes.Morph.clone()
      a.bounds = { x: 10, y: 10, width: 50, height: 20 }
      b.bounds = { x: 0, y: 0, width: 30, height: 10 }
      box.bounds = { x: 100, y: 100, width: 200, height: 100 }
      const right = b.placeRightOf(a, 5), below = b.placeBelow(a), mid = b.centerIn(box), top = b.centerHorizontallyIn(box, 3)
      return [right, below, mid, top]
    `)
    expect(r).toEqual([{ x: 65, y: 10, width: 30, height: 10 }, { x: 10, y: 38, width: 30, height: 10 }, { x: 185, y: 145, width: 30, height: 10 }, { x: 185, y: 103, width: 30, height: 10 }])
    expect(await w.run('return [genesis.world.title_label.bounds, genesis.world.title_label.text]')).toEqual([{ x: 280, y: 0, width: 240, height: 20 }, 'BAT OS: the Entropic UI'])
  })

  it('finding morphs: morphsOfKind, nameOf and buttonNames', async () => {
    expect(await w.run('return genesis.world.buttonNames()')).toEqual(['commit_button', 'ping_button', 'submit_button', 'refresh_button', 'sync_button'])
    expect(await w.run('return genesis.world.known_buttons')).toEqual(['commit_button', 'submit_button', 'refresh_button'])
    expect(await w.run(`const w = genesis.world; return [w.morphsOfKind('ToggleMorph').length, w.nameOf(w.debug_toggle), w.nameOf(prototypes.Morph.clone()), w.morphsOfKind('TextInputMorph')[0] === w.tool_input]`)).toEqual([1, 'debug_toggle', null, true])
  })

  it('z-order: bringToFront and sendToBack reorder a morph\'s children', async () => {
    const r = await w.run(`
      const p = prototypes.PanelMorph.clone()
      const a = prototypes.Morph.clone(), b = prototypes.Morph.clone(), c = prototypes.Morph.clone()
      a.label = 'a'; b.label = 'b'; c.label = 'c'
      p.addMorph(a); p.addMorph(b); p.addMorph(c)
      p.bringToFront(a)
      const front = p.children.map((m) => m.label)
      p.sendToBack(c)
      return [front, p.children.map((m) => m.label), p.bringToFront(prototypes.Morph.clone())]
    `)
    expect(r).toEqual([['b', 'c', 'a'], ['c', 'b', 'a'], null])
  })

  it('hoverAt answers the nearest tooltip under a point', async () => {
    const r = await w.run(`
      const w = genesis.world
      const c = w.commit_button.bounds, t = w.title_label.bounds
      return [w.hoverAt(c.x + 1, c.y + 1), w.hoverAt(t.x + 1, t.y + 1), w.hoverAt(900, 900)]
    `) as any[]
    expect(r[0]).toEqual({ morph: expect.stringMatching(/^<ButtonMorph #\d+>$/), tooltip: "Sends create_method for 'new_tool' over the Synaptic Bridge" })
    expect(r[1]).toBeNull()
    expect(r[2]).toBeNull()
  })

  it('previewScaled answers a scaled description and changes no morph', async () => {
    const r = await w.run(`
      const d = genesis.world.previewScaled(2)
      const find = (x) => x.text && x.text.startsWith('Backend State') ? x : x.children.map(find).find((y) => y)
      return [find(d).font_size, genesis.world.status_label.font_size, d.font_size, genesis.world.preview_factor]
    `)
    expect(r).toEqual([48, 24, 28, 2])
  })

  it('drawList: a flat paint list with oids, leaving out hidden subtrees', async () => {
    const r = await w.run(`
      const w = genesis.world
      const all = w.drawList()
      w.form_panel.hide()
      const hidden = w.drawList()
      w.form_panel.show()
      return { n: all.length, morphs: w.allMorphs().length, first: all[0], oidOk: all[0].oid === w.mirror().oid, hidden: hidden.length, submit: all.find((e) => e.text === 'Submit').kind }
    `) as Record<string, any>
    expect(r.n).toBe(r.morphs + 1)
    expect(r.hidden).toBe(r.n - 3)
    expect(r.oidOk).toBe(true)
    expect(r.first).toMatchObject({ kind: 'WorldMorph', rect: [0, 0, 800, 600], text: 'BAT OS', print: expect.stringMatching(/^<WorldMorph #\d+>$/) })
    expect(r.submit).toBe('ButtonMorph')
  })

  it('ProgressMorph: setProgress clamps, setFraction counts chapters, describe gives the fill', async () => {
    expect(await w.run(`const p = prototypes.ProgressMorph.clone(); return [p.setProgress(1.7), p.setProgress(-1), p.setProgress('x'), p.setFraction(3, 4), p.describe().fill_width, p.label, p.setFraction(1, 0)]`))
      .toEqual([1, 0, 0, 0.75, 225, 'Chapter 3 of 4', 0])
    expect(await w.run('const g = genesis.world.genesis_progress; return [g.value, g.label, g.describe().fill_width]')).toEqual([1 / 9, 'Chapter 1 of 9: the first conversation', 33])
  })

  it('the CEM gauge refreshes from the bridge', async () => {
    const v = await w.run('return await genesis.world.cem_gauge.refreshCem()')
    const label = await w.run('return genesis.world.cem_gauge.label') as string
    if (typeof v === 'number') {
      expect(label).toMatch(/^CEM \d\.\d{3} over \d+ cycles$/)
      expect(await w.run('return genesis.world.cem_gauge.value')).toBe(Math.max(0, Math.min(1, v)))
    } else expect(label).toMatch(/^CEM unavailable: /)
  })

  it('ToggleMorph flips and says so; the debug toggle swaps the world\'s parent* for DebugTraits and back', async () => {
    expect(await w.run(`const t = prototypes.ToggleMorph.clone(); t.setLabel('Sound'); const a = t.press(); const b = t.press(); return [a, b, t.describe().checked]`))
      .toEqual([{ event: 'toggle', label: '[x] Sound', checked: true }, { event: 'toggle', label: '[ ] Sound', checked: false }, false])
    const on = await w.run('return genesis.world.debug_toggle.press()') as Record<string, unknown>
    expect(on).toMatchObject({ event: 'toggle', checked: true, world: expect.stringMatching(/^<DebugTraits #\d+>$/) })
    const debug = await w.run('return [genesis.world.describe().debug, genesis.world.mirror().oid, genesis.world.respondsTo("pressAt")]') as any[]
    expect(debug[0]).toMatchObject({ oid: debug[1], print: on.world })
    expect(debug[2]).toBe(true)
    const off = await w.run('return genesis.world.debug_toggle.press()') as Record<string, unknown>
    expect(off).toMatchObject({ checked: false, world: expect.stringMatching(/^<WorldMorph #\d+>$/) })
    expect(await w.run('return [genesis.world.describe().debug, genesis.world.debug_toggle.label]')).toEqual([undefined, '[ ] Debug view'])
  })

  it('the UVM morph shows any object, with its slots and their kinds', async () => {
    const r = await w.run(`
      const u = genesis.world.uvm_morph
      const shown = u.showObject(prototypes.ApiCovenant).system
      const label = u.label
      const home = u.showObject(genesis).system.subject
      return { shown, label, home }
    `) as Record<string, any>
    expect(r.shown.subject).toMatch(/^<ApiCovenant #\d+>$/)
    expect(r.shown.slot_kinds).toEqual(expect.arrayContaining([{ name: 'commands', kind: 'data' }, { name: 'describe', kind: 'method' }, { name: 'parent*', kind: 'parent' }]))
    expect(r.label).toBe(`The UVM: ${r.shown.subject}`)
    expect(r.home).toBe('<Genesis #2>')
  })

  it('treeString outlines the live tree, marking hidden morphs', async () => {
    const r = await w.run(`
      const p = prototypes.PanelMorph.clone(); p.label = 'P'; p.bounds = { x: 1, y: 2, width: 3, height: 4 }
      const l = prototypes.LabelMorph.clone(); l.text = 'one\\ntwo'; l.hide()
      p.addMorph(l)
      return p.treeString()
    `)
    expect(r).toBe("PanelMorph 'P' [1,2 3x4]\n  LabelMorph 'one' [0,0 200x24] (hidden)")
  })

  it('duplicate: a deep, independent copy; the sync button kept its own label', async () => {
    const r = await w.run(`
      const p = prototypes.PanelMorph.clone()
      const b = prototypes.ButtonMorph.clone()
      p.addMorph(b)
      const d = p.duplicate()
      const kid = d.children[0]
      kid.label = 'changed'
      return [d.children.length, kid === b, kid.owner === d, b.label, d.owner, p.children.length]
    `)
    expect(r).toEqual([1, false, true, 'Button', null, 1])
    expect(await w.run('const w = genesis.world; return [w.refresh_button.label, w.sync_button.label, w.sync_button.bounds.x, w.sync_button.parents()[0] === w.refresh_button.parents()[0]]'))
      .toEqual(['Refresh state', 'Sync', 400 + 149 + 8, true])
  })
})

describe('chapter 1, line 1 alone: the first conversation is complete on its own', () => {
  it('replayed into a bare image, display_yourself works and the five UI prototypes are there', async () => {
    const curriculum = Curriculum.load()
    const first = curriculum.conversations[0]!
    expect(first.id).toBe('01-first-conversation.jsonl:1')
    const { image, realm } = await openImage(memoryDb())
    try {
      const tids = await replayConversation(image, realm, first)
      expect(tids).toHaveLength(first.turns.length)
      const r = await runAct(image, realm, `
        const names = ['Morph', 'WorldMorph', 'UvmMorph', 'ButtonMorph', 'LabelMorph', 'TextInputMorph']
        const world = genesis.world
        const m = prototypes.LabelMorph.clone()
        world.addMorph(m)
        const added = world.children.length
        world.removeMorph(m)
        return { prints: names.map((n) => prototypes[n].printString()), d: genesis.display_yourself(), added, after: world.children.length, commit: world.hasSlot('commit_button') }
      `)
      const v = r.value as { prints: string[]; d: Desc; added: number; after: number; commit: boolean }
      UI.forEach((n, i) => expect(v.prints[i]).toMatch(new RegExp(`^<${n} #\\d+>$`)))
      expect(v.d.kind).toBe('WorldMorph')
      expect(v.d.children).toHaveLength(1)
      expect(v.d.children[0]).toMatchObject({ kind: 'UvmMorph', label: 'The UVM', system: { subject: '<Genesis #2>', prototypes: UI } })
      expect([v.added, v.after, v.commit]).toEqual([2, 1, false])
    } finally {
      await image.close()
    }
  })

  it('with no LLM, a fresh image answers display_yourself: the curriculum JIT replays line 1 and nothing else', async () => {
    const curriculum = Curriculum.load()
    const { image, realm } = await openImage(memoryDb())
    try {
      const jit = setUpJit(image, realm, { fallback: new CurriculumCompiler(image, realm, curriculum) })
      const r = await jit.run('return genesis.display_yourself()', {}, { utterance: 'Display yourself.' })
      expect((r.value as Desc).kind).toBe('WorldMorph')
      expect(r.cycles).toHaveLength(1)
      const replayed = (await image.transactions()).filter((t) => t.ext.curriculum !== undefined).map((t) => (t.ext.curriculum as { conversation: string }).conversation)
      expect(new Set(replayed)).toEqual(new Set(['01-first-conversation.jsonl:1']))
      jit.stop()
    } finally {
      await image.close()
    }
  })
})
