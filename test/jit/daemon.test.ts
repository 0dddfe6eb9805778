// The JIT through `uvm boot` (a real child process, its execution unit, real ZeroMQ) and the `uvm`
// client commands, with a real HTTP server on loopback playing the LLM.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { BridgeClient, subscribeJit } from '../../src/bridge/index.js'
import type { JitEvent } from '../../src/covenant/index.js'
import { startFakeLlm, type FakeLlm } from '../support/fake-llm.js'
import { cleanupTemps, ensureBuilt, killChildren, runCli, startDaemon, tempDir } from '../cli/support.js'

beforeAll(() => ensureBuilt())
afterEach(() => killChildren())
afterAll(() => cleanupTemps())

const RECT = "prototypes.Rect = new UvmObject(); prototypes.Rect.width = 0; prototypes.Rect.height = 0; const r = prototypes.Rect.clone(); r.width = 3; r.height = 4; root.r = r"
const AREA = { explanation: 'Area is width times height: a method on the Rect prototype, so every rectangle answers it.', code: "prototypes.Rect.setSlot('area', function () { return this.width * this.height })" }
const SECRET = 'sk-test-secret-4242'

let llms: FakeLlm[] = []
afterEach(async () => { for (const l of llms) await l.close(); llms = [] })

async function fake(...args: Parameters<typeof startFakeLlm>): Promise<FakeLlm> {
  const l = await startFakeLlm(...args)
  llms.push(l)
  return l
}

describe('uvm boot --llm-url', () => {
  it('a send of an unknown selector compiles it, answers it, shows the status and explanation, and records why', async () => {
    const llm = await fake([{ answer: { explanation: 'not yet', code: 'print("thinking")' } }, { answer: AREA }, { answer: { explanation: 'the way around', code: "prototypes.Rect.setSlot('perimeter', function () { return 2 * (this.width + this.height) })" } }])
    const image = join(await tempDir(), 'image.db')
    const d = await startDaemon(image, { env: { UVM_LLM_URL: llm.url, UVM_LLM_KEY: SECRET } })
    expect(d.readyLine).toContain(`JIT: ${llm.url}`)
    expect(d.readyLine).not.toContain(SECRET)
    const events: JitEvent[] = []
    const ac = new AbortController()
    const watching = (async () => { for await (const e of subscribeJit(d.pub, { signal: ac.signal })) events.push(e) })()
    await new Promise((r) => setTimeout(r, 200))

    expect((await runCli(['act', RECT, '--connect', d.bind])).code).toBe(0)
    const sent = await runCli(['send', 'area', '--target', 'r', '--intent', 'how big is r?', '--connect', d.bind, '--events', d.pub])
    expect(sent.stderr).toMatch(/compiling area for <Rect #\d+>… attempt 1\/3/)
    expect(sent.stderr).toMatch(/attempt 1\/3 for area for <Rect #\d+> failed: .*still does not understand 'area'/)
    expect(sent.stderr).toMatch(/compiled area for <Rect #\d+>/)
    expect(sent.stdout).toContain(`jit: area for <Rect #`)
    expect(sent.stdout).toContain(AREA.explanation)
    expect(sent.stdout.trim().split('\n').at(-1)).toBe('12')
    expect(sent.code).toBe(0)

    // The retry carried the first attempt's error.
    const retry = llm.chatRequests[1]!.body.messages.map((m: { content: string }) => m.content).join('\n')
    expect(retry).toContain("still does not understand 'area'")
    expect(llm.chatRequests[0]!.headers.authorization).toBe(`Bearer ${SECRET}`)

    const why = await runCli(['why', 'area', '--target', 'genesis.prototypes.Rect', '--connect', d.bind])
    expect(why.code).toBe(0)
    expect(why.stdout).toContain('area: method slot of <Rect #')
    expect(why.stdout).toContain(`explanation: ${AREA.explanation}`)
    expect(why.stdout).toContain('architect: how big is r?')
    expect(why.stdout).toContain('attempt 1 failed:')

    // Over the covenant: `why`, and the slot's entry in mirror.
    const c = BridgeClient.connect(d.bind)
    const w = await c.request({ command: 'why', selector: 'area', target: 'r' })
    expect(w).toMatchObject({ event: 'provenance', kind: 'method', jit: { selector: 'area', explanation: AREA.explanation, server: llm.url, attempts: [expect.stringContaining('still does not understand')] } })
    const mirror = await c.request({ command: 'run_act', code: "return prototypes.Rect.mirror().slots.find((s) => s.name === 'area')" })
    expect(mirror).toMatchObject({ event: 'result', value: { name: 'area', kind: 'method', origin: (w as { tid: number }).tid } })
    const cem = await c.request({ command: 'cem' })
    expect(cem).toMatchObject({ event: 'cem', cycles: 1 })
    // The weights are in the image, to be changed there.
    expect(await c.request({ command: 'run_act', code: 'return genesis.cemWeights' })).toMatchObject({ value: { rel: 0.5, cog: 0.25, sol: 0.2, struc: 0.05 } })
    // The REPL shows the status and the explanation too.
    const repl = await runCli(['repl', '--connect', d.bind, '--events', d.pub, '--history', ''], { input: 'root.r.perimeter()\n' })
    expect(repl.stdout).toContain(`jit: perimeter for <Rect #`)
    expect(repl.stdout).toMatch(/\b14\b/)
    expect(repl.stderr).toMatch(/compiling perimeter for <Rect #\d+>… attempt 1\/3/)
    await c.close()

    ac.abort()
    await watching
    expect(events.map((e) => e.phase)).toEqual(['started', 'attempt_failed', 'attempt', 'compiled', 'started', 'compiled'])
    expect(events[0]).toMatchObject({ selector: 'area', max_attempts: 3 })

    // The key was never logged, never recorded in the image.
    expect(d.stdout + d.stderr).not.toContain(SECRET)
    expect((await d.stop()).code).toBe(0)
    for (const f of await readdir(image)) expect((await readFile(join(image, f))).includes(SECRET)).toBe(false)

    // After a restart, the method and its provenance are there; no LLM is asked again.
    const again = await startDaemon(image, { env: { UVM_LLM_URL: llm.url } })
    const r = await runCli(['send', 'area', '--target', 'r', '--connect', again.bind])
    expect(r.stdout.trim()).toBe('12')
    expect((await runCli(['why', 'area', '--target', 'r', '--connect', again.bind])).stdout).toContain(AREA.explanation)
    expect(llm.chatRequests).toHaveLength(3)
    const cemText = await runCli(['cem', '--connect', again.bind])
    expect(cemText.stdout).toMatch(/^CEM \d\.\d{3} over the last 2 JIT cycles\n  H_rel   not measured/)
    expect((await again.stop()).code).toBe(0)
  })

  it('always failing: does_not_understand lists each attempt; the daemon serves on', async () => {
    const llm = await fake([{ content: 'I am not sure what you mean.' }])
    const image = join(await tempDir(), 'image.db')
    const d = await startDaemon(image, { args: ['--llm-url', llm.url, '--llm-max-attempts', '2'] })
    const r = await runCli(['send', 'fly', '--connect', d.bind, '--json'])
    const reply = JSON.parse(r.stdout)
    expect(reply.error.code).toBe('does_not_understand')
    expect(reply.error.attempts).toHaveLength(2)
    expect(reply.error.attempts[0]).toMatch(/no JSON object/i)
    expect(r.code).toBe(1)
    expect((await runCli(['ping', '--connect', d.bind])).stdout).toContain('pong')
    expect((await d.stop()).code).toBe(0)
  })

  it('without an LLM a DNU says how to configure one', async () => {
    const image = join(await tempDir(), 'image.db')
    const d = await startDaemon(image)
    const r = await runCli(['send', 'fly', '--connect', d.bind])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/does_not_understand: <Genesis #\d+> does not understand 'fly' \(no curriculum conversation teaches it, and no LLM is configured to compile it: start the daemon with --llm-url URL/)
    expect((await d.stop()).code).toBe(0)
  })

  it('refuses bad --llm-* arguments before opening anything', async () => {
    const dir = await tempDir()
    const bad = await runCli(['boot', '--image', join(dir, 'i.db'), '--llm-url', 'ftp://x'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--llm-url takes an http\(s\) URL/)
    const n = await runCli(['boot', '--image', join(dir, 'i.db'), '--llm-url', 'http://127.0.0.1:1', '--llm-max-attempts', '0'])
    expect(n.stderr).toMatch(/--llm-max-attempts takes a whole number ≥ 1/)
    const idle = await runCli(['boot', '--image', join(dir, 'i.db'), '--idle-after', '10'])
    expect(idle.stderr).toMatch(/--idle-after needs a JIT/)
    expect((await readdir(dir)).length).toBe(0)
  })
})

describe('uvm llm check', () => {
  it('reports the models, the structured mode that works, a round trip and runtime LoRA', async () => {
    const llm = await fake([{ answer: { explanation: 'ok', code: 'return 1' } }], { rejectJsonSchema: true, lora: true, models: ['qwen', 'llama'] })
    const r = await runCli(['llm', 'check', '--llm-url', llm.url])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('models:      qwen, llama')
    expect(r.stdout).toMatch(/structured: +json_object/)
    expect(r.stdout).toMatch(/round trip: +\d+ ms/)
    expect(r.stdout).toMatch(/runtime LoRA: available/)
  })

  it('says when runtime LoRA is not enabled, and fails for a server that is down', async () => {
    const llm = await fake([{ answer: { explanation: 'ok', code: 'return 1' } }])
    const r = await runCli(['llm', 'check', '--llm-url', llm.url])
    expect(r.stdout).toMatch(/runtime LoRA: not enabled \(start vLLM with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True\)/)
    expect(r.stdout).toMatch(/structured: +json_schema/)
    await llm.close()
    const down = await runCli(['llm', 'check', '--llm-url', llm.url])
    expect(down.code).toBe(1)
    expect(down.stdout).toMatch(/structured: +no: /)
    const none = await runCli(['llm', 'check'])
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/give --llm-url URL or set UVM_LLM_URL/)
  })
})
