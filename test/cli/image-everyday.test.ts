// Issue 17's image points through the CLI, on stopped images: undo in any order (by state), `uvm show`,
// export into a used folder (--force), export of what is reachable with stable output and an import
// that writes nothing when nothing changed, and `pack --before` past the last tid.
import { existsSync } from 'node:fs'
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTemps, ensureBuilt, hasStack, killChildren, lines, runCli, tempDir } from './support.js'

beforeAll(() => ensureBuilt())
afterEach(() => killChildren())
afterAll(() => cleanupTemps())

/** Each line one act, one transaction, run in-process on the image (`uvm repl --image`). */
async function acts(image: string, ...sources: string[]): Promise<void> {
  const r = await runCli(['repl', '--image', image, '--history', ''], { input: sources.join('\n') + '\n' })
  expect(r.code, r.stderr).toBe(0)
  expect(r.stdout, r.stdout).not.toContain('!')
}

async function value(image: string, expression: string): Promise<string> {
  const r = await runCli(['repl', '--image', image, '--history', ''], { input: `print(JSON.stringify(${expression}))\n` })
  expect(r.code, r.stderr).toBe(0)
  return lines(r.stdout).find((l) => l.startsWith('uvm> ') && l.length > 5)!.slice(5)
}

const lastTid = async (image: string): Promise<number> => JSON.parse((await runCli(['history', '--json', '--limit', '1', '--image', image])).stdout)[0].tid

/**
 * The session: transaction 6 adds prototypes.NoteMorph (object #3), 7 changes something
 * else, 8 adds prototypes.Sticky (#3 again), 9 something else.
 */
async function session(): Promise<string> {
  const image = join(await tempDir(), 'image.db')
  await acts(image,
    'genesis.label = "one"', 'genesis.label = "two"', 'genesis.label = "three"', 'genesis.label = "four"',
    'prototypes.NoteMorph = prototypes.clone(); 1',
    'genesis.label = "five"',
    'prototypes.Sticky = prototypes.clone(); 1',
    'genesis.label = "six"',
  )
  expect(await lastTid(image)).toBe(9)
  return image
}

describe('uvm undo, by state', () => {
  it('issue 17: undo 8 as 10, then undo 6 (it said "object #3 was changed again by transaction 10; undo that first")', async () => {
    const image = await session()
    expect((await runCli(['undo', '8', '--image', image])).stdout).toBe('undid transaction 8 as transaction 10 (1 object restored)\n')
    const six = await runCli(['undo', '6', '--image', image])
    expect(six).toMatchObject({ code: 0, stderr: '', stdout: 'undid transaction 6 as transaction 11 (1 object restored)\n' })
    expect(await value(image, '[prototypes.hasSlot("NoteMorph"), prototypes.hasSlot("Sticky"), genesis.label]')).toBe('[false,false,"six"]')
  })

  it('undo 8, undo 10 (the redo), then undo 6: refused with a hint that names 11, and following it works; never a loop', async () => {
    const image = await session()
    expect((await runCli(['undo', '8', '--image', image])).code).toBe(0)
    expect((await runCli(['undo', '10', '--image', image])).stdout).toBe('undid transaction 10 as transaction 11 (1 object restored)\n')
    const refused = await runCli(['undo', '6', '--image', image])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toBe('uvm undo: cannot undo transaction 6: object #3 no longer holds what it wrote (transaction 11 changed it since); undo transaction 11 first\n')
    expect(hasStack(refused.stderr)).toBe(false)
    expect(await lastTid(image)).toBe(11) // the refusal wrote nothing
    expect((await runCli(['undo', '11', '--image', image])).stdout).toBe('undid transaction 11 as transaction 12 (1 object restored)\n')
    expect((await runCli(['undo', '6', '--image', image])).stdout).toBe('undid transaction 6 as transaction 13 (1 object restored)\n')
    expect(await value(image, '[prototypes.hasSlot("NoteMorph"), prototypes.hasSlot("Sticky")]')).toBe('[false,false]')
    // Once more: it is undone, and the refusal says so instead of sending the user round again.
    const again = await runCli(['undo', '6', '--image', image])
    expect(again.stderr).toBe('uvm undo: cannot undo transaction 6: it is undone already: object #3 holds what it held before it again (since transaction 13)\n')
  })
})

describe('uvm show', () => {
  it("prints each object's slots before and after; methods by their first line; created objects; --json; --all", async () => {
    const image = await session()
    await acts(image, 'genesis.greet = function (name) {\n  return "hi " + name\n}; genesis.label = "seven"; 1')
    const r = await runCli(['show', '10', '--image', image])
    expect(r.code, r.stderr).toBe(0)
    expect(lines(r.stdout)).toEqual([
      expect.stringMatching(/^transaction 10 {2}\d{4}-\d\d-\d\dT\S+Z {2}repl {2}genesis\.greet = function \(name\) \{/),
      '',
      expect.stringMatching(/^<Genesis #2>: changed \(before: as transaction 9 wrote it\)$/),
      '- label  "six"',
      '+ label  "seven"',
      '+ greet  method function (name) { …',
      expect.stringMatching(/^ {2}\(\d+ slots as before\)$/),
    ])
    const created = await runCli(['show', '6', '--image', image])
    expect(lines(created.stdout).slice(2)).toEqual([
      '<Prototypes #3>: changed (before: as transaction 1 wrote it)',
      expect.stringMatching(/^\+ NoteMorph {2}<NoteMorph #\d+>$/),
      expect.stringMatching(/^ {2}\(\d+ slots as before\)$/),
      '',
      expect.stringMatching(/^<NoteMorph #\d+>: created$/),
      '+ parent*  <Prototypes #3>',
    ])
    const all = await runCli(['show', '10', '--all', '--image', image])
    expect(all.stdout).toMatch(/\n {2}name +"Genesis"\n/)
    const json = JSON.parse((await runCli(['show', '10', '--json', '--image', image])).stdout)
    expect(json.transaction).toMatchObject({ tid: 10, user: 'repl' })
    expect(json.objects).toEqual([{
      oid: 2, created: false, beforeTid: 9,
      before: expect.objectContaining({ label: 'six' }),
      after: expect.objectContaining({ label: 'seven', greet: { $method: 'function (name) {\n  return "hi " + name\n}' } }),
    }])
    expect(json.names['2']).toBe('<Genesis #2>')
  })

  it('refuses a tid that does not exist, and bad arguments, in one line; it is in the help', async () => {
    const image = await session()
    const missing = await runCli(['show', '99', '--image', image])
    expect(missing.code).toBe(1)
    expect(lines(missing.stderr)).toEqual([`uvm show: no transaction 99 in ${image} (the last is 9; see \`uvm history\`)`])
    for (const args of [['show'], ['show', 'x'], ['show', '0'], ['show', '1', '2'], ['show', '1', '--bogus']]) {
      const r = await runCli([...args, '--image', image])
      expect(r.code, args.join(' ')).toBe(2)
      expect(lines(r.stderr), args.join(' ')).toEqual([expect.stringMatching(/^uvm show: /)])
    }
    const noImage = await runCli(['show', '1', '--image', join(image, '..', 'none.db')])
    expect(noImage.code).toBe(2)
    expect((await runCli(['--help'])).stdout).toMatch(/\n {2}show +what a transaction changed: each object's slots before and after\n/)
    expect((await runCli(['show', '--help'])).stdout).toMatch(/^usage: uvm show TID \[--all\] \[--image PATH \| --connect ADDR\] \[--json\]\n/)
  })
})

describe('uvm export and import', () => {
  /** An image that held many objects and now reaches few: the rest is history, for undo. */
  async function shrunk(n: number): Promise<{ dir: string; image: string }> {
    const dir = await tempDir()
    const image = join(dir, 'image.db')
    await acts(image, `genesis.many = []; for (let i = 0; i < ${n}; i++) genesis.many.push(prototypes.clone()); genesis.many.length`, 'delete genesis.many; genesis.label = "kept"')
    return { dir, image }
  }

  it('exports what the root reaches (and says what it left out), as check counts it; a re-import writes nothing', async () => {
    const { dir, image } = await shrunk(300)
    const check = JSON.parse((await runCli(['check', '--json', '--image', image])).stdout)
    expect(check).toMatchObject({ objects: 304, reachable: 4, unreachable: 300 })
    const out = join(dir, 'out')
    const e = await runCli(['export', out, '--image', image])
    expect(e.stdout).toBe(`exported 4 objects to ${out}; left out 300 objects nothing reaches (\`uvm pack\` removes them)\n`)
    expect(await readdir(join(out, 'objects'))).toHaveLength(4)
    const manifest = JSON.parse(await readFile(join(out, 'image.json'), 'utf8'))
    expect(manifest).toEqual({ format: 1, root: 0, traits: 1, lastTid: 3 })
    expect(await readFile(join(out, 'objects', '000002.uvm'), 'utf8')).toContain('slot "label" "kept"')

    const fresh = join(dir, 'fresh.db')
    const i = await runCli(['import', out, '--image', fresh])
    expect(i.stdout).toBe(`imported 4 objects from ${out} as transaction 2 (1 written, 3 unchanged)\n`)
    expect(JSON.parse((await runCli(['check', '--json', '--image', fresh])).stdout)).toMatchObject({ objects: 4, reachable: 4, unreachable: 0 })
    // Unchanged: nothing written, into either image.
    for (const target of [fresh, image]) {
      const before = await lastTid(target)
      const again = await runCli(['import', out, '--image', target])
      expect(again).toMatchObject({ code: 0, stdout: `imported 4 objects from ${out}: the image holds them as they are already, nothing written\n` })
      expect(await lastTid(target)).toBe(before)
    }
  })

  it('numbers JSON lacks (NaN, ±Infinity, -0) come back as they were, so their re-import writes nothing; {$number} as data stays data', async () => {
    const dir = await tempDir()
    const image = join(dir, 'image.db')
    await acts(image, 'genesis.n = NaN; genesis.z = -0; genesis.i = -Infinity; genesis.d = { a: [Infinity, -0] }; genesis.fake = { $number: "NaN" }; 1')
    const out = join(dir, 'out')
    expect((await runCli(['export', out, '--image', image])).code).toBe(0)
    const genesis = await readFile(join(out, 'objects', '000002.uvm'), 'utf8')
    expect(genesis).toContain('slot "n" {"$number":"NaN"}\n')
    expect(genesis).toContain('slot "fake" {"$object":{"$number":"NaN"}}\n')
    const before = await lastTid(image)
    expect((await runCli(['import', out, '--image', image])).stdout).toMatch(/nothing written\n$/)
    expect(await lastTid(image)).toBe(before)
    const fresh = join(dir, 'fresh.db')
    expect((await runCli(['import', out, '--image', fresh])).code).toBe(0)
    const expr = '[String(genesis.n), Object.is(genesis.z, -0), String(genesis.i), String(genesis.d.a[0]), Object.is(genesis.d.a[1], -0), typeof genesis.fake, genesis.fake.$number]'
    expect(await value(fresh, expr)).toBe('["NaN",true,"-Infinity","Infinity",true,"object","NaN"]')
  })

  it('the same image exports to the same bytes (no exportedAt)', async () => {
    const { dir, image } = await shrunk(3)
    const a = join(dir, 'a'), b = join(dir, 'b')
    expect((await runCli(['export', a, '--image', image])).code).toBe(0)
    expect((await runCli(['export', b, '--image', image])).code).toBe(0)
    expect(await readFile(join(b, 'image.json'), 'utf8')).toBe(await readFile(join(a, 'image.json'), 'utf8'))
    for (const f of await readdir(join(a, 'objects'))) expect(await readFile(join(b, 'objects', f), 'utf8')).toBe(await readFile(join(a, 'objects', f), 'utf8'))
  })

  it('a folder that holds an export: refused, or replaced with --force (stale object files removed, nothing else touched)', async () => {
    const dir = await tempDir()
    const image = join(dir, 'image.db')
    await acts(image, 'genesis.many = []; for (let i = 0; i < 50; i++) genesis.many.push(prototypes.clone()); genesis.many.length')
    const out = join(dir, 'out')
    expect((await runCli(['export', out, '--image', image])).stdout).toBe(`exported 54 objects to ${out}\n`)
    await writeFile(join(out, 'README.md'), 'my notes\n')
    await mkdir(join(out, '.git'))
    await writeFile(join(out, '.git', 'HEAD'), 'ref: refs/heads/main\n')
    await acts(image, 'delete genesis.many; 1')

    const refused = await runCli(['export', out, '--image', image])
    expect(refused.code).toBe(2)
    expect(lines(refused.stderr)).toEqual([`uvm export: ${out} holds an earlier export (54 object files); --force replaces it, or give a new or empty folder`])
    expect(await readdir(join(out, 'objects'))).toHaveLength(54)

    const forced = await runCli(['export', out, '--force', '--image', image])
    expect(forced).toMatchObject({ code: 0, stdout: `exported 4 objects to ${out}; removed 50 stale object files of the earlier export; left out 50 objects nothing reaches (\`uvm pack\` removes them)\n` })
    expect((await readdir(join(out, 'objects'))).sort()).toEqual(['000000.uvm', '000001.uvm', '000002.uvm', '000003.uvm'])
    expect(await readFile(join(out, 'README.md'), 'utf8')).toBe('my notes\n')
    expect(existsSync(join(out, '.git', 'HEAD'))).toBe(true)
  })

  it('a non-empty folder that is not an export, or a file: refused, --force or not, and left as it was', async () => {
    const dir = await tempDir()
    const image = join(dir, 'image.db')
    await acts(image, 'genesis.x = 1')
    const notes = join(dir, 'notes')
    await mkdir(notes)
    await writeFile(join(notes, 'notes.txt'), 'hello\n')
    for (const extra of [[], ['--force']]) {
      const r = await runCli(['export', notes, ...extra, '--image', image])
      expect(r.code, extra.join(' ')).toBe(2)
      expect(lines(r.stderr)).toEqual([`uvm export: ${notes} is not empty and holds no export (notes.txt); give a new or empty folder (--force replaces only an earlier export)`])
      expect(await readdir(notes)).toEqual(['notes.txt'])
    }
    const file = await runCli(['export', join(notes, 'notes.txt'), '--image', image])
    expect(file.code).toBe(2)
    expect(lines(file.stderr)).toEqual([`uvm export: ${join(notes, 'notes.txt')} is a file; an export is a folder (give a new or empty folder)`])
    // An empty folder is fine.
    await mkdir(join(dir, 'empty'))
    expect((await runCli(['export', join(dir, 'empty'), '--image', image])).code).toBe(0)
  })
})

describe('uvm pack --before', () => {
  it('a tid past the last one is a usage error naming the last tid, and packs nothing', async () => {
    const image = await session()
    const before = JSON.parse((await runCli(['check', '--json', '--image', image])).stdout)
    for (const tid of ['999', '11', '0']) {
      const r = await runCli(['pack', '--before', tid, '--image', image])
      expect(r.code, tid).toBe(2)
      expect(lines(r.stderr)).toEqual([`uvm pack: --before ${tid}: the last transaction is 9; give a tid from 1 to 10 (10, like no --before, drops all history) or an age such as 7d`])
    }
    expect(JSON.parse((await runCli(['check', '--json', '--image', image])).stdout)).toEqual(before)
    // The last tid + 1 is every history, as no --before is.
    expect((await runCli(['pack', '--before', '10', '--image', image])).stdout).toMatch(/^packed before tid 10: /)
  })
})
