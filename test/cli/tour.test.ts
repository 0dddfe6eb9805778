// The README's five-minute tour, end to end, with real processes: boot, display_yourself through the
// curriculum JIT, the doesNotUnderstand: error, create a method and call it, restart the daemon and call
// it again, then the image commands.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Daemon } from './support.js'
import { pythonWithZmq } from '../support/python.js'
import { cleanupTemps, ensureBuilt, freeAddresses, freePort, killChildren, lines, runCli, runProcess, spawnCli, tempDir } from './support.js'

beforeAll(() => ensureBuilt())
afterEach(() => killChildren())
afterAll(() => cleanupTemps())

/** `npm start` is `uvm boot --ui` (its image defaults to ./image.db): the same, on free ports, in the tour's folder. */
async function boot(cwd: string, addresses: { bind: string; pub: string }): Promise<Daemon> {
  const ui = await freePort()
  const p = spawnCli(['boot', '--image', './image.db', '--bind', addresses.bind, '--pub', addresses.pub, '--ui', '--ui-port', String(ui)], { cwd })
  await p.waitFor(/ready: .*\nui: .*\n/, 20_000, 'the ready line and the ui line')
  const [readyLine, uiLine] = lines(p.stdout)
  expect(uiLine).toBe(`ui: http://127.0.0.1:${ui}/`)
  return Object.assign(p, { ...addresses, image: join(cwd, 'image.db'), readyLine: readyLine! })
}

describe('the five-minute tour (README.md)', () => {
  it('boot, display_yourself via the curriculum JIT, doesNotUnderstand:, create-method, call, restart, call again, image commands', async () => {
    const cwd = await tempDir('uvm-tour-')
    const addresses = await freeAddresses()
    const uvm = (...args: string[]) => runCli([...args, '--connect', addresses.bind], { cwd })
    const offline = (...args: string[]) => runCli(args, { cwd })

    // Boot: one ready line.
    let d = await boot(cwd, addresses)
    expect(d.readyLine).toMatch(new RegExp(`^uvm \\d+\\.\\d+\\.\\d+ ready: commands ${addresses.bind}, events ${addresses.pub}; image ${join(cwd, 'image.db')} \\(\\d+(\\.\\d)? (B|KiB), last tid 1\\)$`))

    // ping, state
    expect((await uvm('ping')).stdout).toMatch(/^pong: uvm \d+\.\d+\.\d+\n$/)
    const state = await uvm('state')
    expect(state.stdout).toMatch(/^<Genesis #2> \{\n/)

    // The seeds' first message: doesNotUnderstand: → the curriculum JIT replays chapter 1's first conversation.
    // (--events: the README's daemon is on the default ports, 5555 and 5556, which the status line finds by itself.)
    const shown = await uvm('send', 'display_yourself', '--events', addresses.pub)
    expect(shown.code).toBe(0)
    expect(shown.stderr).toMatch(/^compiling display_yourself for <Genesis #2>… attempt 1\/1\ncompiled display_yourself for <Genesis #2> in \d+ ms \(transaction 4\)\n$/)
    const [jitLine, description] = lines(shown.stdout)
    expect(jitLine).toMatch(/^jit: display_yourself for <Genesis #2> \(transaction 4\): ROBIN: And here we are, the very first time we get to look at ourselves!/)
    expect(description).toMatch(/^\{kind: "WorldMorph", bounds: \{x: 0, y: 0, width: 800, height: 600\}, label: "BAT OS", font_size: 14, .*children: \[\{kind: "UvmMorph", .*prototypes: \["Morph", "WorldMorph", "UvmMorph", "ButtonMorph", "LabelMorph", "TextInputMorph"\], slots: 5\}\}\]\}$/)
    const why = await uvm('why', 'display_yourself')
    expect(lines(why.stdout).slice(0, 3).map((l) => l.replace(/cycle \S+/, 'cycle X'))).toEqual([
      'display_yourself: method slot of <Genesis #2>',
      "made by JIT cycle X (transaction 4), when <Genesis #2> did not understand 'display_yourself'",
      'replayed from the curriculum: 01-first-conversation.jsonl:1, turn 3 of 3',
    ])
    // A message nothing teaches: the clear error.
    const dnu = await uvm('send', 'fly')
    expect(dnu.code).toBe(1)
    expect(dnu.stdout).toBe('')
    expect(dnu.stderr).toMatch(/^uvm send: does_not_understand: <Genesis #2> does not understand 'fly' \(no curriculum conversation teaches it, and no LLM is configured to compile it: start the daemon with --llm-url URL or UVM_LLM_URL, e.g. vLLM http:\/\/127\.0\.0\.1:8000, Ollama http:\/\/127\.0\.0\.1:11434, llama\.cpp http:\/\/127\.0\.0\.1:8080\. The curriculum teaches addMorph, removeMorph, .*, and \d+ more\)\n$/)

    // Create a method by hand, and call it.
    const cm = await uvm('create-method', 'new_tool', 'print("New tool created!")')
    expect(cm).toMatchObject({ code: 0, stdout: 'committed as transaction 5\n', stderr: '' })
    expect((await uvm('send', 'new_tool')).stdout).toBe('New tool created!\n')

    // An act with an intent.
    const act = await uvm('act', 'const n = prototypes.Morph.clone(); prototypes.NoteMorph = n; n.label = "Ready"; return n', '--intent', 'create a note morph')
    expect(act.code).toBe(0)
    expect(act.stdout).toMatch(/^<NoteMorph #\d+> \{\n {2}parent\* +<Morph #\d+>\n {2}label +"Ready"\n\}\n$/)

    // Restart: Ctrl-C finishes requests in flight and closes the image; boot again.
    expect(await d.stop('SIGINT')).toEqual({ code: 0, signal: null })
    d = await boot(cwd, addresses)
    expect(d.readyLine).toContain('last tid 6')
    // The methods are still there: they live in the image.
    expect((await uvm('send', 'new_tool')).stdout).toBe('New tool created!\n')
    // It is live: the world's UvmMorph now shows the NoteMorph prototype and the new method's slot.
    expect((await uvm('send', 'display_yourself')).stdout).toMatch(/"TextInputMorph", "NoteMorph"\], slots: 6\}\}\]\}\n$/)
    // uvm repl: an interactive session, each input an act.
    const repl = await runCli(['repl', '--connect', addresses.bind, '--history', ''], { cwd, input: 'prototypes.NoteMorph.label\ngenesis.new_tool()\n' })
    expect(repl.code).toBe(0)
    expect(repl.stdout).toContain('uvm> "Ready"\n')
    expect(repl.stdout).toContain('uvm> New tool created!\n')
    // While the daemon runs, the image commands go through it (found by the file it keeps in ./image.db).
    expect((await offline('history')).stdout).toMatch(/^\s+6 .*create a note morph/)
    expect(await d.stop('SIGINT')).toEqual({ code: 0, signal: null })

    // With the daemon stopped, the image commands work on ./image.db.
    const history = await offline('history')
    expect(history.code).toBe(0)
    const rows = lines(history.stdout).map((l) => l.replace(/^\s*(\d+) {2}\S+ {2}(\S+) +(.*?)(?: {2}\(\d+ objects?\))?$/, '$1 $2 $3'))
    expect(rows).toEqual(['6 uvm create a note morph', '5 uvm create_method new_tool', expect.stringMatching(/^4 genesis /), expect.stringMatching(/^3 genesis /), '2 genesis Display yourself.', '1 uvm genesis'])
    // (The README says `uvm undo 7`: its tour also runs the Python snippet, a transaction this one skips; here the act is 6.)
    const undo = await offline('undo', '6')
    expect(undo).toMatchObject({ code: 0, stdout: 'undid transaction 6 as transaction 7 (1 object restored)\n' })
    const check = await offline('check')
    expect(check.code).toBe(0)
    expect(check.stdout).toMatch(/^ok: /)
    const pack = await offline('pack')
    expect(pack.code).toBe(0)
    const kept = /^packed before tid 8: .* and 1 unreachable object; (\d+) objects kept\n$/.exec(pack.stdout)
    expect(kept).not.toBeNull()
    const exp = await offline('export', './export')
    expect(exp).toMatchObject({ code: 0, stdout: `exported ${kept![1]} objects to ${join(cwd, 'export')}\n` })
    expect(existsSync(join(cwd, 'export', 'objects', '000002.uvm'))).toBe(true)
    const imp = await offline('import', './export')
    // The export is of this very image: importing it back writes nothing.
    expect(imp).toMatchObject({ code: 0, stdout: `imported ${kept![1]} objects from ${join(cwd, 'export')}: the image holds them as they are already, nothing written\n` })

    // And once more, booted: the methods survived undo, pack, export and import; the undone NoteMorph is gone.
    d = await boot(cwd, addresses)
    expect((await uvm('send', 'new_tool')).stdout).toBe('New tool created!\n')
    expect((await uvm('send', 'display_yourself')).stdout).toMatch(/"TextInputMorph"\], slots: 6\}\}\]\}\n$/)
    expect((await uvm('act', 'return prototypes.hasSlot("NoteMorph")')).stdout).toBe('false\n')
    expect(await d.stop('SIGTERM')).toEqual({ code: 0, signal: null })
  })

  it('the Python snippet speaks the same covenant', async () => {
    const python = await pythonWithZmq()
    const cwd = await tempDir('uvm-tour-py-')
    const addresses = await freeAddresses()
    const d = await boot(cwd, addresses)
    const script = [
      'import zmq, msgpack, sys',
      's = zmq.Context().socket(zmq.DEALER); s.connect(sys.argv[1])',
      'def call(cmd): s.send(msgpack.packb(cmd)); return msgpack.unpackb(s.recv())',
      'call({"command": "create_method", "method_name": "new_tool", "method_code": \'print("New tool created!")\'})',
      'print(call({"command": "send_message", "selector": "new_tool"})["output"], end="")',
      'print(call({"command": "get_full_state"})["state"]["$print"])',
      's.send_json({"command": "ping"}); print(s.recv_json()["event"])',
    ].join('\n')
    const r = await runProcess(python, ['-c', script, addresses.bind], { cwd, timeoutMs: 15_000 })
    expect(r.stdout).toBe('New tool created!\n<Genesis #2>\npong\n')
    expect((await d.stop()).code).toBe(0)
  })
})
