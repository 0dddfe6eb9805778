/**
 * The Entropic UI's page in a real Chromium (Debian's, driven by playwright-core), against a real
 * daemon and a real `uvm ui` gateway: the world drawn from the image, the status label, the
 * inspector's edits, the history's undo, a button morph's press, display_yourself on a fresh image.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { BridgeClient } from '../../src/bridge/index.js'
import { startFakeLlm } from '../support/fake-llm.js'
import { ensureDebianPackage } from '../support/system-package.js'
import { type Daemon, type Proc, ROOT, cleanupTemps, ensureBuilt, freePort, killChildren, runCli, spawnCli, startDaemon, tempDir } from '../cli/support.js'

const CHROMIUM = '/usr/bin/chromium'
const ARTIFACTS = join(ROOT, 'test-artifacts/ui')

// Debian's chromium, installed by this set-up when missing; when that fails the suite fails, saying why.
const installed = ensureDebianPackage('chromium', () => existsSync(CHROMIUM))
if (!installed.ok) {
  describe('the page', () => {
    it('needs chromium', () => { throw new Error(installed.why) })
  })
}
const browserPath = installed.ok ? CHROMIUM : undefined

interface Ui { proc: Proc; url: string }

/** `uvm ui` on a free port for a daemon, as a person starts it; its URL read from what it prints. */
async function startUi(d: Daemon): Promise<Ui> {
  const port = await freePort()
  const proc = spawnCli(['ui', '--connect', d.bind, '--events', d.pub, '--port', String(port)])
  const out = await proc.waitFor(/http:\/\/\S+/, 20_000, 'the page URL')
  return { proc, url: out.match(/http:\/\/\S+/)![0] }
}

describe.skipIf(browserPath === undefined)('the page', () => {
  let browser: Browser
  let dir: string
  let d: Daemon
  let ui: Ui
  let client: BridgeClient
  let page: Page
  const problems: string[] = []

  /** A page whose console errors and uncaught exceptions are collected for the last test. */
  async function open(url: string, width = 1280, height = 800): Promise<Page> {
    const p = await browser.newPage({ viewport: { width, height } })
    p.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`)
    })
    p.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
    await p.goto(url)
    return p
  }

  beforeAll(async () => {
    ensureBuilt()
    mkdirSync(ARTIFACTS, { recursive: true })
    const { chromium } = await import('playwright-core')
    browser = await chromium.launch({ executablePath: browserPath!, headless: true, args: ['--no-sandbox'] })
    dir = await tempDir('uvm-ui-')
    const image = join(dir, 'image.db')
    const g = await runCli(['genesis', '--image', image, '--chapters', '1'])
    expect(g.code, g.stderr).toBe(0)
    d = await startDaemon(image)
    ui = await startUi(d)
    client = new BridgeClient(d.bind, {})
    page = await open(ui.url)
  }, 120_000)

  afterAll(async () => {
    await client?.close()
    await browser?.close()
    await killChildren()
    await cleanupTemps()
  })

  it('loads and shows the WorldMorph and the status label', async () => {
    await page.locator('[data-kind="WorldMorph"]').waitFor({ timeout: 15_000 })
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/^Backend State: connected/)
    // Genesis chapter 1's morphs, as the image holds them.
    await page.getByRole('button', { name: 'Commit Transaction' }).waitFor()
    expect(await page.locator('[data-kind="LabelMorph"]').count()).toBeGreaterThan(0)
    await page.screenshot({ path: join(ARTIFACTS, 'world.png') })
  })

  it('shows a slot a ZMQ client changed within a second', async () => {
    await page.getByRole('button', { name: 'Commit Transaction' }).waitFor()
    await client.set('label', 'Changed over ZMQ', 'genesis.world.commit_button')
    const t0 = Date.now()
    await page.getByRole('button', { name: 'Changed over ZMQ' }).waitFor({ timeout: 5_000 })
    // The bound is a second; the assertion allows twice that on a loaded machine.
    expect(Date.now() - t0).toBeLessThan(2_000)
    await client.set('label', 'Commit Transaction', 'genesis.world.commit_button')
    await page.getByRole('button', { name: 'Commit Transaction' }).waitFor({ timeout: 5_000 })
  })

  it('redraws when another world takes the world slot', async () => {
    await client.act("genesis.old_world = genesis.world\nconst w = prototypes.WorldMorph.clone()\nconst b = prototypes.ButtonMorph.clone()\nb.label = 'Only button'\nw.addMorph(b)\ngenesis.world = w\nreturn 1")
    await page.getByRole('button', { name: 'Only button' }).waitFor({ timeout: 5_000 })
    await client.act('genesis.world = genesis.old_world\nreturn 1')
    await page.getByRole('button', { name: 'Commit Transaction' }).waitFor({ timeout: 5_000 })
  })

  it('creates a method from the inspector, which a ZMQ client then calls; a syntax error is shown at its line', async () => {
    await page.getByRole('button', { name: 'Inspect genesis' }).click()
    await page.locator('#inspector-title', { hasText: 'Genesis' }).waitFor()
    const form = page.getByRole('form', { name: 'add or edit a method' })
    await form.getByLabel('method name').fill('made_in_page')
    await form.getByLabel('method source').fill("function () {\n  return 'made in the page'\n}")
    await form.getByRole('button', { name: 'Save method' }).click()
    await form.getByText(/method made_in_page saved/).waitFor()
    const r = await client.send('made_in_page', [], 'genesis')
    expect(r.value).toBe('made in the page')

    await form.getByLabel('method name').fill('broken')
    await form.getByLabel('method source').fill('function () {\n  return (\n}')
    await form.getByRole('button', { name: 'Save method' }).click()
    await expect.poll(() => form.locator('.form-out').textContent()).toMatch(/syntax_error.*line 3/s)
  })

  it('evaluates with the inspected object as self', async () => {
    await page.getByRole('button', { name: 'Commit Transaction' }).click({ modifiers: ['Shift'] })
    await page.locator('#inspector-title', { hasText: 'ButtonMorph' }).waitFor()
    const ev = page.getByRole('form', { name: 'evaluate with this object as self' })
    await ev.getByLabel(/code to evaluate/).fill('return self.label + "!"')
    await ev.getByRole('button', { name: 'Run' }).click()
    await ev.getByText('"Commit Transaction!"').waitFor()
    await ev.getByLabel(/code to evaluate/).fill('const a = 1\nreturn self.nothing_here.x')
    await ev.getByRole('button', { name: 'Run' }).click()
    await expect.poll(() => ev.locator('.form-out').textContent()).toMatch(/act_failed: .*\(line 2, column \d+\)/)
    // On the first line too, the column is the one typed (self is bound on a line before it).
    await ev.getByLabel(/code to evaluate/).fill('return self.nothing_here.x')
    await ev.getByRole('button', { name: 'Run' }).click()
    await expect.poll(() => ev.locator('.form-out').textContent()).toMatch(/act_failed: .*\(line 1, column 26\)/)
    await ev.getByLabel(/code to evaluate/).fill('return self.label + "!"')
    await ev.getByRole('button', { name: 'Run' }).click()
    await ev.getByText('"Commit Transaction!"').waitFor()
    await page.screenshot({ path: join(ARTIFACTS, 'inspector.png'), fullPage: true })
  })

  it('opens an object of 100,000 slots at once, a page at a time', async () => {
    await client.act("const big = new UvmObject()\nfor (let i = 0; i < 100000; i++) big['s' + i] = i\ngenesis.big = big\nreturn 1")
    const form = page.getByRole('form', { name: 'inspect an object by path' })
    await form.getByLabel('object path or oid').fill('genesis.big')
    await form.getByRole('button', { name: 'Inspect' }).click()
    await page.getByText('Own slots (100001)').waitFor({ timeout: 10_000 })
    expect(await page.locator('#inspector .slots').first().locator('tbody tr').count()).toBe(200)
    await page.getByRole('button', { name: /^Show 200 more \(99801 left\)$/ }).click()
    await expect.poll(() => page.locator('#inspector .slots').first().locator('tbody tr').count()).toBe(400)
    expect(await page.locator('#inspector tr[data-slot="s398"]').count()).toBe(1)
  })

  it('opens an object holding an array of 100,000 elements at once, and pages it from the daemon', async () => {
    await client.act("const long = new UvmObject()\nlong.items = Array.from({ length: 100000 }, (_, i) => 'item ' + i)\ngenesis.long = long\nreturn 1")
    const form = page.getByRole('form', { name: 'inspect an object by path' })
    await form.getByLabel('object path or oid').fill('genesis.long')
    await form.getByRole('button', { name: 'Inspect' }).click()
    const list = page.getByRole('list', { name: 'items: 100000 elements' })
    await list.waitFor({ timeout: 10_000 })
    expect(await list.locator('li').count()).toBe(200)
    await page.getByRole('button', { name: 'load more of items' }).click()
    await expect.poll(() => list.locator('li').count()).toBe(400)
    expect(await list.locator('li').nth(399).textContent()).toBe('"item 399"')
    expect(await page.getByRole('button', { name: 'load more of items' }).textContent()).toBe('99600 more')
  })

  it('jumps from a morph to its object by keyboard, and back to the canvas', async () => {
    const labelMorph = page.locator('[data-kind="LabelMorph"]').first()
    await labelMorph.focus()
    await page.keyboard.press('i')
    await page.locator('#inspector-title', { hasText: 'LabelMorph' }).waitFor()
    const oid = await labelMorph.getAttribute('data-oid')
    expect(await page.locator('#inspector .oid').textContent()).toBe(`oid ${oid}`)
    await page.getByRole('button', { name: 'Show on canvas' }).click()
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-oid'))).toBe(oid)
    expect(await labelMorph.getAttribute('class')).toMatch(/highlight/)
    // Provenance of a slot the curriculum made.
    await page.getByRole('button', { name: 'why text' }).click()
    await expect.poll(() => page.locator('#inspector .why-row').first().textContent()).toMatch(/text: data slot of .*made by the curriculum: 01-first-conversation\.jsonl:\d+, turn \d+ — transaction \d+.* — (BRICK|ROBIN|ALFRED|BABS): /)
  })

  it('clicking a button morph runs its on_press in the image', async () => {
    const before = await client.send('describe', [], 'genesis.world.debug_toggle')
    expect((before.value as { checked?: boolean }).checked).toBe(false)
    await page.getByRole('button', { name: /Debug view/ }).click()
    await expect.poll(async () => ((await client.send('describe', [], 'genesis.world.debug_toggle')).value as { checked?: boolean }).checked, { timeout: 10_000 }).toBe(true)
    await page.getByRole('button', { name: '[x] Debug view' }).waitFor({ timeout: 5_000 })
    await page.getByRole('button', { name: /Debug view/ }).click()
    await page.getByRole('button', { name: '[ ] Debug view' }).waitFor({ timeout: 5_000 })
  })

  it('types into a text input morph: each key goes to its keyPress in the image, and focus stays', async () => {
    const input = page.getByRole('textbox', { name: /TextInputMorph/ })
    await input.click()
    await page.keyboard.type('hi')
    const text = () => client.state({ target: 'genesis.world.tool_input' }).then((s) => (s.state as { $slots: Record<string, unknown> }).$slots.text)
    await expect.poll(text, { timeout: 10_000 }).toBe('hi')
    await page.getByRole('textbox', { name: 'TextInputMorph: hi' }).waitFor({ timeout: 5_000 })
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-kind'))).toBe('TextInputMorph')
    await page.keyboard.press('Escape')
    await expect.poll(text, { timeout: 10_000 }).toBe('')
  })

  it('edits a slot in place, undoes it from the history, and shows the refusal when a later transaction conflicts', async () => {
    await page.getByRole('button', { name: 'Commit Transaction' }).click({ modifiers: ['Shift'] })
    await page.locator('#inspector-title', { hasText: 'ButtonMorph' }).waitFor()
    const label = () => client.state({ target: 'genesis.world.commit_button' }).then((s) => (s.state as { $slots: Record<string, unknown> }).$slots.label)
    await page.getByRole('button', { name: 'edit label' }).click()
    const input = page.getByLabel('new value of label')
    await input.fill('Edited in page')
    await input.press('Enter')
    await expect.poll(label).toBe('Edited in page')
    const newest = await client.request({ command: 'history', limit: 1 })
    const first = (newest as { transactions: { tid: number }[] }).transactions[0]!.tid
    await page.locator(`#history li[data-tid="${first}"]`).waitFor({ timeout: 5_000 })
    await page.getByRole('button', { name: 'Edited in page' }).waitFor({ timeout: 5_000 })

    // A later transaction on the same object: undoing the first is refused, and the page says why.
    await client.set('label', 'Later', 'genesis.world.commit_button')
    await page.locator(`#history li[data-tid="${first + 1}"]`).waitFor({ timeout: 5_000 })
    await page.getByRole('button', { name: `undo transaction ${first}` }).click()
    await page.locator(`#history li[data-tid="${first}"] .refusal`).waitFor()
    expect(await page.locator(`#history li[data-tid="${first}"] .refusal`).textContent()).toMatch(/cannot undo transaction/)

    await page.getByRole('button', { name: `undo transaction ${first + 1}` }).click()
    await expect.poll(label).toBe('Edited in page')
    await page.getByRole('button', { name: `undo transaction ${first}` }).click()
    await expect.poll(label).toBe('Commit Transaction')
    await page.getByRole('button', { name: 'Commit Transaction' }).waitFor({ timeout: 5_000 })
  })

  it('beyond loopback, the page passes the token in its URL to the WebSocket', async () => {
    const port = await freePort()
    const proc = spawnCli(['ui', '--connect', d.bind, '--events', d.pub, '--port', String(port), '--host', '0.0.0.0'])
    const url = (await proc.waitFor(/http:\/\/\S+token=\S+/, 20_000, 'the page URL')).match(/http:\/\/\S+token=\S+/)![0]
    const p = await open(url.replace('0.0.0.0', '127.0.0.1'))
    await p.locator('[data-kind="WorldMorph"]').waitFor({ timeout: 15_000 })
    await p.close()
    await proc.stop()
  })

  it('is served by uvm boot --ui as well, in the daemon\'s process', async () => {
    const image = join(dir, 'boot-ui.db')
    expect((await runCli(['genesis', '--image', image, '--chapters', '1'])).code).toBe(0)
    const bd = await startDaemon(image, { args: ['--ui', '--ui-port', String(await freePort())] })
    const url = (await bd.waitFor(/ui: http:\/\/\S+/, 20_000, 'the ui line')).match(/http:\/\/\S+/)![0]
    const p = await open(url)
    await p.getByRole('button', { name: 'Commit Transaction' }).waitFor({ timeout: 15_000 })
    await expect.poll(() => p.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/^Backend State: connected/)
    await p.close()
    await bd.stop()
  })

  it('works at phone width', async () => {
    const phone = await open(ui.url, 390, 844)
    await phone.locator('[data-kind="WorldMorph"]').waitFor({ timeout: 15_000 })
    const box = await phone.locator('#stage').boundingBox()
    expect(box!.width).toBeLessThanOrEqual(390)
    await phone.close()
  })

  it('sends display_yourself to a fresh image and shows the morphs appear', async () => {
    const fresh = await startDaemon(join(dir, 'fresh.db'))
    const freshUi = await startUi(fresh)
    const p = await open(freshUi.url)
    await p.getByRole('button', { name: 'display_yourself' }).click({ timeout: 15_000 })
    await p.locator('[data-kind="WorldMorph"]').waitFor({ timeout: 60_000 })
    // The curriculum JIT's cycle, live.
    await p.locator('#jit .jit-phase.phase-compiled').first().waitFor({ timeout: 10_000 })

    // The daemon goes away: the status label says so. Served again read-only: the page says that, and offers no edits.
    await fresh.stop()
    await expect.poll(() => p.locator('#status').textContent(), { timeout: 15_000 }).toMatch(/daemon lost/)
    const ro = await startDaemon(join(dir, 'fresh.db'), { args: ['--read-only'] })
    const roUi = await startUi(ro)
    const q = await open(roUi.url)
    await q.locator('[data-kind="WorldMorph"]').waitFor({ timeout: 15_000 })
    await expect.poll(() => q.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/^Backend State: connected.*read-only/)
    await q.getByRole('button', { name: 'Inspect genesis' }).click()
    await q.locator('#inspector-title', { hasText: 'Genesis' }).waitFor()
    expect(await q.getByRole('button', { name: 'Save method' }).isVisible()).toBe(false)
    expect(await q.locator('#inspector button.edit').first().isVisible()).toBe(false)
    expect(await q.locator('#history button').first().isDisabled()).toBe(true)
    await p.close()
    await q.close()
  })

  it('shows the JIT at work: the compile in progress, a failed attempt and its reason, the explanation', async () => {
    const llm = await startFakeLlm([
      { content: 'I am not sure what you mean.' },
      { answer: { explanation: 'BRICK: flight, installed on the Genesis Object.', code: "genesis.fly = function () { return 'flying' }" } },
    ])
    try {
      const jd = await startDaemon(join(dir, 'llm.db'), { args: ['--llm-url', llm.url, '--llm-max-attempts', '2'] })
      const jui = await startUi(jd)
      const p = await open(jui.url)
      await p.getByRole('button', { name: 'Inspect genesis' }).click({ timeout: 15_000 })
      await p.locator('#inspector-title', { hasText: 'Genesis' }).waitFor()
      const ev = p.getByRole('form', { name: 'evaluate with this object as self' })
      await ev.getByLabel(/code to evaluate/).fill('return self.fly()')
      await ev.getByRole('button', { name: 'Run' }).click()
      await ev.getByText('"flying"').waitFor({ timeout: 30_000 })
      const cycle = p.locator('#jit li.jit-cycle', { hasText: 'fly for <Genesis #2>' })
      await cycle.locator('.phase-started').waitFor()
      expect(await cycle.locator('.phase-attempt_failed').first().textContent()).toMatch(/^attempt 1\/2 failed: .+/)
      expect(await cycle.locator('.phase-compiled').textContent()).toMatch(/BRICK: flight, installed on the Genesis Object\./)
      await p.close()
    } finally {
      await llm.close()
    }
  })

  it('had no console errors in all of the above', () => {
    expect(problems).toEqual([])
  })
})
