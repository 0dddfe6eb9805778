// The curriculum through the `uvm` command and a real daemon: the offline JIT on a fresh image,
// `uvm genesis`, `uvm boot --genesis`; and the curriculum as the LLM's few-shot examples.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { openImage } from '../../src/index.js'
import { startServices } from '../../src/daemon/index.js'
import { memoryDb } from '../support/images.js'
import { startFakeLlm } from '../support/fake-llm.js'
import { cleanupTemps, ensureBuilt, killChildren, runCli, startDaemon, tempDir } from '../cli/support.js'

beforeAll(() => ensureBuilt())
afterEach(() => killChildren())
afterAll(() => cleanupTemps())

describe('the curriculum JIT through the daemon (no LLM)', () => {
  it('a fresh image answers display_yourself: the morphs exist, and the provenance says curriculum', async () => {
    const image = join(await tempDir(), 'image.db')
    const d = await startDaemon(image)
    const r = await runCli(['send', 'display_yourself', '--connect', d.bind, '--events', d.pub])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^jit: display_yourself for <Genesis #2> \(transaction \d+\): /)
    expect(r.stderr).toMatch(/compiling display_yourself for <Genesis #2>… attempt 1\/1/)
    for (const m of ['WorldMorph', 'UvmMorph', 'ButtonMorph', 'LabelMorph', 'TextInputMorph']) {
      expect((await runCli(['act', `return prototypes.respondsTo(${JSON.stringify(m)}) && prototypes.${m}.printString()`, '--connect', d.bind])).stdout.trim()).toMatch(new RegExp(`^"?<${m} #\\d+>"?$`))
    }
    const why = await runCli(['why', 'display_yourself', '--connect', d.bind, '--json'])
    const p = JSON.parse(why.stdout)
    expect(p).toMatchObject({ event: 'provenance', kind: 'method', jit: { mode: 'curriculum', selector: 'display_yourself' }, curriculum: { conversation: '01-first-conversation.jsonl:1' } })
    expect((await runCli(['why', 'display_yourself', '--connect', d.bind])).stdout).toMatch(/made by JIT cycle .* \(transaction \d+\), when <Genesis #2> did not understand 'display_yourself'/)
    // Sent again: a method now, no replay.
    const again = await runCli(['send', 'display_yourself', '--connect', d.bind])
    expect(again.stdout).not.toContain('jit:')
    // Not taught: a clear error that says how to get an LLM.
    const fly = await runCli(['send', 'fly', '--connect', d.bind])
    expect(fly.code).toBe(1)
    expect(fly.stderr).toMatch(/does not understand 'fly' \(no curriculum conversation teaches it, and no LLM is configured.*--llm-url/)
    expect((await d.stop()).code).toBe(0)
  })
})

describe('uvm genesis and uvm boot --genesis', () => {
  it('uvm genesis --chapters 1-2 replays those chapters, then the rest, skipping what the image holds', async () => {
    const image = join(await tempDir(), 'image.db')
    const one = await runCli(['genesis', '--image', image, '--chapters', '1-2'], { timeoutMs: 120_000 })
    expect(one.stderr).not.toMatch(/Error/)
    expect(one.code).toBe(0)
    expect(one.stdout).toMatch(/^genesis: replayed \d+ conversations \(\d+ turns\) of chapters 1-2 in [\d.]+ s; image .*image\.db, last tid \d+\n$/)
    const all = await runCli(['genesis', '--image', image], { timeoutMs: 180_000 })
    expect(all.code).toBe(0)
    expect(all.stdout).toMatch(/of chapters 1-9 in [\d.]+ s; \d+ already in the image/)
    const list = await runCli(['genesis', '--list'])
    expect(list.stdout.split('\n').filter((l) => l.trim())).toHaveLength(9)
    expect(list.stdout).toMatch(/^ 1 first-conversation: \d+ conversations, \d+ turns; teaches .*display_yourself.*, and \d+ more$/m)
  }, 300_000)

  it('refuses bad chapters and stray arguments; a daemon holding the image is refused', async () => {
    for (const bad of ['0', '3-1', 'one', '1-']) {
      const r = await runCli(['genesis', '--chapters', bad, '--image', join(await tempDir(), 'i.db')])
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/--chapters takes a chapter or a range such as 1-3/)
    }
    expect((await runCli(['genesis', 'now'])).stderr).toMatch(/unexpected argument "now"/)
    expect((await runCli(['boot', '--chapters', '1'])).stderr).toMatch(/--chapters goes with --genesis/)
    const image = join(await tempDir(), 'image.db')
    const d = await startDaemon(image)
    const held = await runCli(['genesis', '--image', image])
    expect(held.code).not.toBe(0)
    expect(held.stderr).toMatch(/in use/)
    expect((await d.stop()).code).toBe(0)
  })

  it('uvm boot --genesis births an image with the whole narrative', async () => {
    const image = join(await tempDir(), 'image.db')
    const d = await startDaemon(image, { args: ['--genesis', '--chapters', '1-2'] })
    expect(d.stdout).toMatch(/"msg":"genesis: replayed \d+ conversations \(\d+ turns\) in [\d.]+ s"/)
    const r = await runCli(['act', 'return [prototypes.respondsTo("WorldMorph"), prototypes.respondsTo("True")]', '--connect', d.bind])
    expect(r.stdout.trim()).toBe('[true, true]')
    expect((await d.stop()).code).toBe(0)
  }, 120_000)
})

describe('the curriculum as the LLM\'s examples', () => {
  it('the prompt carries the curriculum turns nearest to the message', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'uvm-cur-'))
    const turn = (a: string, e: string, c: string) => JSON.stringify({ messages: [{ role: 'architect', content: a }, { role: 'uvm_jit', content: { explanation: e, code: c } }] })
    await writeFile(join(dir, '01-demo.jsonl'), [
      turn('Give the panel a border colour.', 'A border is a data slot.', "genesis.panel = new UvmObject(); genesis.panel.setSlot('paintBorder', function (c) { this.border = c; return c })"),
      turn('Teach the ledger to total its entries.', 'Totals are a method.', "genesis.ledger = new UvmObject(); genesis.ledger.setSlot('total', function () { return 0 })"),
    ].join('\n') + '\n')
    const llm = await startFakeLlm([{ answer: { explanation: 'resize', code: "genesis.setSlot('resizeBorder', function () { return 1 })" } }])
    const { image, realm } = await openImage(memoryDb())
    try {
      const s = await startServices(image, realm, { version: 't', jit: { url: llm.url }, curriculumDir: dir })
      const r = await s.jit.run('return genesis.resizeBorder()', {}, { utterance: 'make the border bigger' })
      expect(r.value).toBe(1)
      const sent = llm.chatRequests[0]!.body.messages.map((m: { content: string }) => m.content).join('\n')
      expect(sent).toContain('Give the panel a border colour.')
      expect(sent).not.toContain('Teach the ledger to total its entries.')
      s.jit.stop()
    } finally {
      await image.close()
      await llm.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
