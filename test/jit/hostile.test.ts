// The LLM's replies are a door: whatever comes back, the UVM answers with a clear error, retries, and
// keeps its image intact. Nothing of a failed attempt is ever half-installed.
import { describe, expect, it } from 'vitest'
import { openImage } from '../../src/index.js'
import { setUpJit, type JitSetup } from '../../src/jit/index.js'
import type { Image } from '../../src/image/index.js'
import { memoryDb } from '../support/images.js'
import { startFakeLlm, type FakeLlm, type Step } from '../support/fake-llm.js'
import { rejected, useCleanups } from '../support/uvm.js'

const AREA = { explanation: 'area', code: "prototypes.Rect.setSlot('area', function () { return this.width * this.height })" }
const RECT = "prototypes.Rect = new UvmObject(); prototypes.Rect.width = 3; prototypes.Rect.height = 4; root.r = prototypes.Rect.clone()"

const cleanup = useCleanups()

async function world(steps: Step[], maxAttempts = steps.length): Promise<{ image: Image; llm: FakeLlm; jit: JitSetup }> {
  const llm = await startFakeLlm(steps)
  const { image, realm } = await openImage(memoryDb(), { cpuTimeoutMs: 200 })
  const jit = setUpJit(image, realm, { url: llm.url, maxAttempts })
  cleanup(async () => { await image.close(); await llm.close() })
  await jit.run(RECT, {}, {})
  return { image, llm, jit }
}

const lastUserText = (llm: FakeLlm, i: number): string => llm.chatRequests[i]!.body.messages.at(-1).content

describe('hostile LLM replies', () => {
  it.each<[string, Step, RegExp]>([
    ['code that loops forever', { answer: { explanation: 'loop', code: 'for (;;) {}' } }, /ACT_TIMEOUT/],
    ['code that escapes to the host', { answer: { explanation: 'escape', code: "return this.constructor.constructor('return process')().exit(1)" } }, /./],
    ['a number for code', { answer: { explanation: 'n', code: 42 } }, /code/],
    ['no explanation', { answer: { code: AREA.code } }, /explanation/],
    ['a 200 with an HTML page', { content: '<html><body>502 Bad Gateway</body></html>' }, /no JSON object|JSON/],
    ['a 5 MB reply', { content: 'x'.repeat(5 * 1024 * 1024) }, /JSON/],
    ['deeply nested JSON', { content: '['.repeat(100_000) + ']'.repeat(100_000) }, /./],
    ['a server error', { status: 500, body: 'internal error' }, /500/],
    ['an act that throws', { answer: { explanation: 't', code: 'throw new Error("boom")' } }, /boom/],
    ['a __proto__ key', { content: '{"explanation": "p", "code": "return 1", "__proto__": {"polluted": true}}' }, /still does not understand|wrote nothing/],
  ])('%s: the attempt fails with a clear reason, the next answer compiles, the image is intact', async (_name, bad, reason) => {
    const w = await world([bad, { answer: AREA }])
    const r = await w.jit.run('return root.r.area()', {}, {})
    expect(r.value).toBe(12)
    expect(r.cycles[0]!.attempts).toHaveLength(1)
    expect(r.cycles[0]!.attempts[0]).toMatch(reason)
    expect(r.cycles[0]!.attempts[0]!.length).toBeLessThanOrEqual(2000)
    expect(lastUserText(w.llm, 1)).toContain('failed')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect((await w.jit.run('return [root.r.width, root.r.height]', {}, {})).value).toEqual([3, 4])
  })

  it('an act that installs and then throws leaves nothing behind', async () => {
    const w = await world([{ answer: { explanation: 'half', code: "prototypes.Rect.setSlot('area', function () { return 0 }); prototypes.Rect.width = 99; throw new Error('changed my mind')" } }], 1)
    const e = await rejected(w.jit.run('return root.r.area()', {}, {}))
    expect(e.details.attempts[0]).toMatch(/changed my mind/)
    expect((await w.jit.run('return [prototypes.Rect.hasSlot("area"), prototypes.Rect.width]', {}, {})).value).toEqual([false, 3])
  })

  it('installing on an object the receiver does not inherit from fails the attempt, with a message that says where to install', async () => {
    const w = await world([{ answer: { explanation: 'elsewhere', code: "root.setSlot('area', function () { return 1 })" } }], 1)
    const e = await rejected(w.jit.run('return root.r.area()', {}, {}))
    expect(e.details.attempts[0]).toMatch(/still does not understand 'area': install it as a method on it or on one of its parents/)
    expect((await w.jit.run('return root.hasSlot("area")', {}, {})).value).toBe(false)
  })
})
