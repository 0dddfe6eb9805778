// Defects a black-box tester found in issue 17's features: a REPL name that would hide one of the
// act's own for the rest of the session, an export that followed a symbolic link out of its folder,
// and control characters from the image written raw to the terminal.
import { existsSync } from 'node:fs'
import { copyFile, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { cleanupTemps, ensureBuilt, killChildren, runCli, tempDir } from './support.js'

beforeAll(() => ensureBuilt())
afterEach(() => killChildren())
afterAll(() => cleanupTemps())

async function image(): Promise<string> {
  const path = join(await tempDir(), 'image.db')
  const r = await runCli(['repl', '--image', path, '--history', ''], { input: 'genesis.note = "hi"\n' })
  expect(r.code, r.stderr).toBe(0)
  return path
}

it('the REPL refuses to declare a name every act has, where it is typed, and the session goes on', async () => {
  const path = await image()
  const r = await runCli(['repl', '--image', path, '--history', ''], {
    input: 'let root = 5\n1 + 1\nfunction genesis() { return 42 }\ngenesis.note\nlet {a, b: print} = {}\nlet __uvmx = 1\nlet q = 7\nq\n.exit\n',
  })
  expect(r.code, r.stderr).toBe(0)
  expect(r.stdout).toContain("! syntax_error: 'root' cannot be declared here: every act has it (root, genesis, prototypes, print, UvmObject, self, args); pick another name (line 1, column 5)\n  let root = 5\n      ^\n")
  expect(r.stdout).toContain("'genesis' cannot be declared here")
  expect(r.stdout).toContain("'print' cannot be declared here")
  expect(r.stdout).toContain("'__uvmx' cannot be declared here: names starting with __uvm are the runtime's")
  // Later inputs still work, and genesis is still the Genesis Object.
  expect(r.stdout).toMatch(/uvm> 2$/m)
  expect(r.stdout).toMatch(/uvm> "hi"$/m)
  expect(r.stdout).toMatch(/uvm> 7$/m)
  expect(r.stdout).not.toContain('invalid_command')
})

it('export --force refuses a symbolic link out of its folder, and deletes nothing through it', async () => {
  const path = await image()
  const dir = join(path, '..')
  expect((await runCli(['export', join(dir, 'ex1'), '--image', path])).code).toBe(0)
  const victim = join(dir, 'victim')
  await mkdir(victim)
  await writeFile(join(victim, '123456.uvm'), 'mine\n')
  const ex = join(dir, 'ex3')
  await mkdir(ex)
  await copyFile(join(dir, 'ex1', 'image.json'), join(ex, 'image.json'))
  await symlink(victim, join(ex, 'objects'))
  const r = await runCli(['export', ex, '--force', '--image', path])
  expect(r.code).toBe(2)
  expect(r.stderr).toContain('objects is a symbolic link: an export writes only inside its own folder')
  expect(await readdir(victim)).toEqual(['123456.uvm'])

  // A link in place of one object file of an earlier export: refused too, the target untouched.
  const ex4 = join(dir, 'ex4')
  expect((await runCli(['export', ex4, '--image', path])).code).toBe(0)
  const one = (await readdir(join(ex4, 'objects')))[0]!
  await rm(join(ex4, 'objects', one))
  await symlink(join(victim, '123456.uvm'), join(ex4, 'objects', one))
  const again = await runCli(['export', ex4, '--force', '--image', path])
  expect(again.code).toBe(2)
  expect(again.stderr).toContain('is a symbolic link')
  expect(existsSync(join(victim, '123456.uvm'))).toBe(true)
})

it('history, show and the REPL show control characters of a description escaped', async () => {
  const path = await image()
  // The REPL runs the act in-process, with its line as the transaction's description.
  const r = await runCli(['repl', '--image', path, '--history', ''], { input: 'genesis.other = 1 // \u001b[31mRED\u0000\n.history 1\n' })
  expect(r.code, r.stderr).toBe(0)
  const history = await runCli(['history', '--image', path, '--limit', '1'])
  const shown = await runCli(['show', String(JSON.parse((await runCli(['history', '--json', '--limit', '1', '--image', path])).stdout)[0].tid), '--image', path])
  for (const out of [history.stdout, shown.stdout, r.stdout]) {
    expect(out).toContain('\\u001b[31mRED\\u0000')
    expect(out).not.toMatch(/[\u0000\u001b]/)
  }
})

it('a TID or a count is digits only, and no larger than a double holds: else a usage error naming it', async () => {
  const path = await image()
  for (const args of [['show', '1e1'], ['show', '0x5'], ['show', ' 5'], ['show', '99999999999999999999'], ['undo', '5.0'], ['undo', '1e3'], ['pack', '--before', '0'], ['pack', '--before', '99999999999999999999'], ['history', '--limit', '1e2']]) {
    const r = await runCli([...args, '--image', path])
    expect(r.code, args.join(' ')).toBe(2)
    expect(r.stderr, args.join(' ')).toMatch(/^uvm (show|undo|pack|history): .*(TID is a whole number|a tid is a whole number|give a tid from 1|takes a whole number)/)
    expect(r.stderr).not.toMatch(/Too (big|small)/)
  }
  const repl = await runCli(['repl', '--image', path, '--history', ''], { input: '.show 1e1\n.undo 0x2\n.history 99999999\n.exit\n' })
  expect(repl.stdout).toContain('! usage: .show TID (see .history)')
  expect(repl.stdout).toContain('! usage: .undo TID (see .history)')
  expect(repl.stdout).toContain('! usage: .history [N] (N from 1 to 10000)')
})
