// Image commands with the daemon stopped: history, undo, pack, check, export/import round trip.
import { existsSync } from 'node:fs'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTemps, ensureBuilt, hasStack, killChildren, lines, runCli, startDaemon, tempDir } from './support.js'

beforeAll(() => ensureBuilt())
afterEach(() => killChildren())
afterAll(() => cleanupTemps())

interface TxRecord { tid: number; time: number; user: string; description: string; ext: Record<string, unknown>; oids: number[] }

/** An image with a few transactions, made through a daemon as a user would. */
async function imageWithHistory(): Promise<{ dir: string; image: string }> {
  const dir = await tempDir()
  const image = join(dir, 'image.db')
  const d = await startDaemon(image)
  const c = ['--connect', d.bind]
  for (const args of [
    ['set', 'label', '"A"'],
    ['set', 'label', '"B"'],
    ['create-method', 'greet', 'function (name) { return "hello " + name + " from " + this.label }'],
    ['act', 'genesis.prototypes.Thing = genesis.prototypes.clone(); genesis.prototypes.Thing.size = 3'],
  ]) expect((await runCli([...args, ...c])).code, args.join(' ')).toBe(0)
  expect((await d.stop()).code).toBe(0)
  return { dir, image }
}

const history = async (image: string, ...args: string[]): Promise<TxRecord[]> => {
  const r = await runCli(['history', '--json', '--image', image, ...args])
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as TxRecord[]
}

/** The value of an act run in-process on a stopped image (`uvm repl --image`). */
async function value(image: string, expression: string): Promise<string> {
  const r = await runCli(['repl', '--image', image, '--history', ''], { input: `print(JSON.stringify(${expression}))\n` })
  expect(r.code, r.stderr).toBe(0)
  const line = lines(r.stdout).find((l) => l.startsWith('uvm> ') && l.length > 5)
  return line!.slice(5)
}

describe('uvm history', () => {
  it('lists the newest transactions first: tid, time, user, description', async () => {
    const { image } = await imageWithHistory()
    const r = await runCli(['history', '--image', image])
    expect(r.code).toBe(0)
    const rows = lines(r.stdout)
    expect(rows).toHaveLength(5)
    expect(rows[0]).toMatch(/^\s+5 {2}\d{4}-\d\d-\d\dT\S+Z {2}\S+ +genesis\.prototypes\.Thing = .* {2}\(2 objects\)$/)
    expect(rows[1]).toMatch(/^\s+4 .* create_method greet {2}\(1 object\)$/)
    expect(rows[2]).toMatch(/^\s+3 .* update_property label/)
    expect(rows[4]).toMatch(/^\s+1 .* genesis {2}\(4 objects\)$/)
    const limited = await runCli(['history', '--limit', '2', '--image', image])
    expect(lines(limited.stdout)).toHaveLength(2)
    const json = await history(image, '--limit', '3')
    expect(json.map((t) => t.tid)).toEqual([5, 4, 3])
    expect(json[1]).toMatchObject({ description: 'create_method greet', ext: { command: 'create_method', source: expect.stringContaining('hello') } })
    expect(typeof json[0]!.time).toBe('number')
  })

  it('UVM_IMAGE names the image; a missing image is one clear line', async () => {
    const { dir, image } = await imageWithHistory()
    const r = await runCli(['history', '--limit', '1'], { env: { UVM_IMAGE: image } })
    expect(lines(r.stdout)).toHaveLength(1)
    const cwd = await runCli(['history', '--limit', '1'], { cwd: dir })
    expect(cwd.code).toBe(0)
    expect(lines(cwd.stdout)).toHaveLength(1)
    const missing = await runCli(['history', '--image', join(dir, 'nope.db')])
    expect(missing.code).toBe(2)
    expect(lines(missing.stderr)).toEqual([`uvm history: no image at ${join(dir, 'nope.db')} (\`uvm boot\` creates one)`])
    expect(existsSync(join(dir, 'nope.db'))).toBe(false)
    const bad = await runCli(['history', '--limit', '0', '--image', image])
    expect(bad.code).toBe(2)
    expect(lines(bad.stderr)).toHaveLength(1)
  })
})

describe('uvm undo', () => {
  it('puts back what a transaction changed, as a new transaction', async () => {
    const { image } = await imageWithHistory()
    expect(await value(image, '[genesis.hasSlot("greet"), genesis.label]')).toBe('[true,"B"]')
    const r = await runCli(['undo', '4', '--image', image])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe('undid transaction 4 as transaction 6 (1 object restored)\n')
    expect(await value(image, '[genesis.hasSlot("greet"), genesis.label]')).toBe('[false,"B"]')
    expect((await history(image, '--limit', '1'))[0]).toMatchObject({ tid: 6, description: expect.stringContaining('undo 4') })
    // Undo the undo: the method is back.
    expect((await runCli(['undo', '6', '--image', image])).stdout).toBe('undid transaction 6 as transaction 7 (1 object restored)\n')
    expect(await value(image, 'genesis.greet("al")')).toBe('"hello al from B"')
  })

  it('refuses what it cannot do, in one line', async () => {
    const { image } = await imageWithHistory()
    // Transaction 3 set label, 4 changed the same object again: undoing 3 would lose 4.
    const later = await runCli(['undo', '3', '--image', image])
    expect(later.code).toBe(1)
    expect(lines(later.stderr)).toHaveLength(1)
    expect(later.stderr).toMatch(/^uvm undo: /)
    const unknown = await runCli(['undo', '99', '--image', image])
    expect(unknown.code).toBe(1)
    expect(lines(unknown.stderr)).toEqual([expect.stringMatching(/^uvm undo: .*99/)])
    for (const args of [['undo'], ['undo', 'abc'], ['undo', '0'], ['undo', '1', '2']]) {
      const r = await runCli([...args, '--image', image])
      expect(r.code, args.join(' ')).toBe(2)
      expect(lines(r.stderr), args.join(' ')).toHaveLength(1)
    }
    expect(hasStack(later.stderr + unknown.stderr)).toBe(false)
  })
})

describe('uvm pack and uvm check', () => {
  it('check walks the image and reports counts; pack drops old revisions', async () => {
    const { image } = await imageWithHistory()
    const before = await runCli(['check', '--image', image])
    expect(before.code).toBe(0)
    expect(lines(before.stdout)[0]).toMatch(/^ok: 5 objects \(5 reachable, 0 unreachable\), [1-9]\d* old revisions, 5 transactions$/)
    expect(lines(before.stdout)[1]).toBe('dangling references: 0; undecodable records: 0')
    const json = JSON.parse((await runCli(['check', '--json', '--image', image])).stdout)
    expect(json).toMatchObject({ ok: true, objects: 5, danglingCount: 0, undecodableCount: 0 })
    expect(json.revisions).toBeGreaterThan(0)

    // --before AGE: every transaction is younger than a day, so nothing they need goes.
    const young = await runCli(['pack', '--before', '1d', '--image', image])
    expect(young.code, young.stderr).toBe(0)
    expect(young.stdout).toMatch(/^packed before tid 1: removed 0 old revisions/)
    const p = await runCli(['pack', '--before', '3', '--image', image])
    expect(p.code, p.stderr).toBe(0)
    expect(p.stdout).toMatch(/^packed before tid 3: removed [1-9]\d* old revisions? and 0 unreachable objects; 5 objects kept\n$/)
    const all = await runCli(['pack', '--image', image])
    expect(all.code).toBe(0)
    expect(all.stdout).toMatch(/^packed before tid 6: removed \d+ old revisions? and 0 unreachable objects; 5 objects kept\n$/)
    const after = JSON.parse((await runCli(['check', '--json', '--image', image])).stdout)
    expect(after).toMatchObject({ ok: true, objects: 5, revisions: 0 })
    // The live state is untouched; undo of a packed transaction is refused.
    expect(await value(image, 'genesis.greet("pat")')).toBe('"hello pat from B"')
    const undo = await runCli(['undo', '3', '--image', image])
    expect(undo.code).toBe(1)
    expect(lines(undo.stderr)).toHaveLength(1)
  })

  it('pack removes objects nothing reaches', async () => {
    const { image } = await imageWithHistory()
    expect(await value(image, '(delete genesis.prototypes.Thing, 1)')).toBe('1')
    const c = JSON.parse((await runCli(['check', '--json', '--image', image])).stdout)
    expect(c).toMatchObject({ objects: 5, reachable: 4, unreachable: 1 })
    const p = await runCli(['pack', '--image', image])
    expect(p.stdout).toMatch(/and 1 unreachable object; 4 objects kept/)
  })

  it('bad --before is one usage line', async () => {
    const { image } = await imageWithHistory()
    const r = await runCli(['pack', '--before', 'yesterday', '--image', image])
    expect(r.code).toBe(2)
    expect(lines(r.stderr)).toEqual(['uvm pack: --before takes a tid or an age such as 30m, 12h, 7d; got "yesterday"'])
  })
})

describe('uvm export and uvm import', () => {
  it('round trip: methods and data come back; the method is callable on a daemon booted on the new image', async () => {
    const { dir, image } = await imageWithHistory()
    const out = join(dir, 'export')
    const e = await runCli(['export', out, '--image', image])
    expect(e.code, e.stderr).toBe(0)
    expect(e.stdout).toBe(`exported 5 objects to ${out}\n`)
    const manifest = JSON.parse(await readFile(join(out, 'image.json'), 'utf8'))
    expect(manifest).toMatchObject({ format: 1, root: 0, traits: 1, lastTid: 5 })
    expect((await readdir(join(out, 'objects'))).sort()).toEqual(['000000.uvm', '000001.uvm', '000002.uvm', '000003.uvm', '000004.uvm'])
    const genesis = await readFile(join(out, 'objects', '000002.uvm'), 'utf8')
    expect(genesis).toContain('slot "label" "B"')
    expect(genesis).toContain('method "greet" <<<UVM\nfunction (name) { return "hello " + name + " from " + this.label }\nUVM\n')

    const fresh = join(dir, 'fresh.db')
    const i = await runCli(['import', out, '--image', fresh])
    expect(i.code, i.stderr).toBe(0)
    expect(i.stdout).toBe(`imported 5 objects from ${out} as transaction 2 (3 written, 2 unchanged)\n`)
    expect((await runCli(['check', '--image', fresh])).code).toBe(0)

    const d = await startDaemon(fresh)
    const r = await runCli(['act', 'return genesis.greet("ann")', '--connect', d.bind])
    expect(r.stdout).toBe('"hello ann from B"\n')
    const s = await runCli(['send', 'greet', 'bo', '--connect', d.bind])
    expect(s.stdout).toBe('"hello bo from B"\n')
    const size = await runCli(['act', 'return genesis.prototypes.Thing.size', '--connect', d.bind])
    expect(size.stdout).toBe('3\n')
    // New objects get new oids, not the imported ones.
    const n = await runCli(['act', 'genesis.other = genesis.prototypes.clone(); return genesis.other', '--connect', d.bind, '--json'])
    expect(JSON.parse(n.stdout).value.$ref).toBe(5)
    expect((await d.stop()).code).toBe(0)
  })

  it('round trip into a fresh image, checked with repl --image; data that looks like a tag stays data', async () => {
    const dir = await tempDir()
    const image = join(dir, 'a.db')
    const setup = await runCli(['repl', '--image', image, '--history', ''], {
      input: [
        'genesis.fake = { $ref: 2 }',
        'genesis.fakeBig = { $bigint: "5" }',
        'genesis.big = 12345678901234567890n',
        'genesis.bytes = new Uint8Array([1, 2, 3])',
        'genesis.nested = { list: [1, "two", { $bytes: "AQ==" }], wrap: { $object: 1 } }',
        'genesis.twice = function (x) {\n  // a comment\n  return 2 * x\n}',
        '',
      ].join('\n'),
    })
    expect(setup.code, setup.stderr).toBe(0)
    expect(setup.stdout).not.toContain('!')
    const out = join(dir, 'out')
    expect((await runCli(['export', out, '--image', image])).code).toBe(0)
    const fresh = join(dir, 'b.db')
    expect((await runCli(['import', out, '--image', fresh])).code).toBe(0)
    const expr = '[typeof genesis.fake, genesis.fake === genesis, genesis.fake.$ref, typeof genesis.fakeBig, genesis.fakeBig.$bigint, String(genesis.big), genesis.bytes.length, genesis.nested.list[2].$bytes, genesis.nested.wrap.$object, genesis.twice(21)]'
    expect(await value(fresh, expr)).toBe(await value(image, expr))
    expect(await value(fresh, expr)).toBe('["object",false,2,"object","5","12345678901234567890",3,"AQ==",1,42]')
  })

  it('export defaults to ./image-export; import refuses what is not an export', async () => {
    const { dir, image } = await imageWithHistory()
    const e = await runCli(['export', '--image', image], { cwd: dir })
    expect(e.code).toBe(0)
    expect(existsSync(join(dir, 'image-export', 'image.json'))).toBe(true)
    const notExport = await runCli(['import', dir, '--image', join(dir, 'x.db')])
    expect(notExport.code).toBe(2)
    expect(lines(notExport.stderr)).toEqual([`uvm import: ${dir} is not an export (no image.json)`])
    const none = await runCli(['import', '--image', join(dir, 'x.db')])
    expect(none.code).toBe(2)
    // A broken object file: the error names the file and line, and nothing is written.
    const broken = join(dir, 'image-export')
    await writeFile(join(broken, 'objects', '000002.uvm'), '# object #2\nslot "name" "Genesis"\nslot "label" {not json}\n')
    const target = join(dir, 'y.db')
    const b = await runCli(['import', broken, '--image', target])
    expect(b.code).toBe(1)
    expect(lines(b.stderr)).toEqual([expect.stringMatching(/^uvm import: objects\/000002\.uvm:3: invalid JSON/)])
    expect(hasStack(b.stderr)).toBe(false)
    expect((await history(target)).map((t) => t.tid)).toEqual([1])
  })
})
