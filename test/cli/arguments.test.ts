// No argument is silently ignored: every command refuses what it does not take. And target paths start
// where acts start: `prototypes.Dog`, `genesis.…` and `root.…` name the same objects as in an act.
import { describe, expect, it } from 'vitest'
import { freeAddresses, hasStack, lines, runCli, useDaemon } from './support.js'

/** The commands `uvm --help` lists (the CLI's own command list). */
async function commandNames(): Promise<string[]> {
  const help = (await runCli(['--help'])).stdout
  const block = help.slice(help.indexOf('commands:\n') + 'commands:\n'.length, help.indexOf('\n\n', help.indexOf('commands:\n')))
  return block.split('\n').map((l) => l.trim().split(/\s+/)[0]!)
}

/**
 * Commands that take positionals: the arguments that fill them, so that one more is a stray. A
 * command not listed takes none. `send` takes any number (its message's arguments): it has no stray.
 */
const TAKES: Record<string, string[] | 'any'> = {
  state: ['genesis'],
  set: ['label', '1'],
  'create-method': ['m', 'function () {}'],
  send: 'any',
  act: ['return 1'],
  why: ['x'],
  undo: ['1'],
  export: ['/nonexistent/export'],
  import: ['/nonexistent/export'],
  llm: ['check'],
  dataset: [],
  completion: ['bash'],
}

describe('a stray argument is refused by every command', async () => {
  const names = await commandNames()

  it('the help lists the commands (the loop below covers them all)', () => {
    expect(names.length).toBeGreaterThan(20)
    for (const n of ['boot', 'ping', 'state', 'history', 'dataset', 'completion']) expect(names).toContain(n)
  })

  for (const name of names) {
    const takes = TAKES[name] ?? []
    if (takes === 'any') continue
    it(`uvm ${name} ${[...takes, 'stray'].join(' ')}: exit 2, one line`, async () => {
      const { bind } = await freeAddresses()
      // A dead address and a missing image: nothing may start, wait or be written.
      const r = await runCli([name, ...takes, 'stray'], { env: { UVM_CONNECT: bind, UVM_IMAGE: '/nonexistent/image.db' }, timeoutMs: 10_000 })
      expect(r.timedOut).toBe(false)
      expect(r.code, r.stderr).toBe(2)
      expect(r.stdout).toBe('')
      expect(lines(r.stderr)).toEqual([expect.stringMatching(new RegExp(`^uvm ${name}: \\S`))])
      expect(hasStack(r.stderr)).toBe(false)
    })
  }

  // Subcommands too.
  for (const args of [['dataset', 'validate', 'a.jsonl', 'stray'], ['dataset', 'export', 'stray'], ['dataset', 'generate', 'stray'], ['dataset', 'judge', 'a.jsonl', 'stray'], ['llm', 'check', 'stray']]) {
    it(`uvm ${args.join(' ')}: exit 2, naming the stray`, async () => {
      const r = await runCli(args, { env: { UVM_IMAGE: '/nonexistent/image.db' }, timeoutMs: 10_000 })
      expect(r.code, r.stderr).toBe(2)
      expect(lines(r.stderr)).toEqual([expect.stringMatching(new RegExp(`^uvm ${args[0]}: unexpected argument "stray"`))])
    })
  }

  it('the message says what was not taken', async () => {
    const { bind } = await freeAddresses()
    const ping = await runCli(['ping', 'extra'], { env: { UVM_CONNECT: bind } })
    expect(lines(ping.stderr)).toEqual(["uvm ping: Unexpected argument 'extra'. This command does not take positional arguments (see `uvm ping --help`)"])
    const state = await runCli(['state', 'a', 'b'], { env: { UVM_CONNECT: bind } })
    expect(lines(state.stderr)).toEqual(['uvm state: expected at most one PATH, got 2: a b'])
    const both = await runCli(['state', 'genesis', '--target', 'root'], { env: { UVM_CONNECT: bind } })
    expect(lines(both.stderr)).toEqual(['uvm state: give the object as PATH or --target, not both'])
  })
})

describe('paths start where acts start', () => {
  const { uvm } = useDaemon()
  const path = async (...args: string[]) => {
    const r = await uvm(...args)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    return r.stdout
  }

  it('uvm state PATH prints the object at PATH', async () => {
    const act = await uvm('act', 'const d = prototypes.Morph ? prototypes.Morph.clone() : new UvmObject(); d.name = "Dog"; prototypes.Dog = d; return d')
    expect(act.code, act.stderr).toBe(0)
    const dog = act.stdout.split('\n')[0]!.replace(/ \{$/, '')
    expect(dog).toMatch(/^<\w+ #\d+>$/)
    for (const p of ['prototypes.Dog', 'genesis.prototypes.Dog', 'root.genesis.prototypes.Dog', 'lobby.genesis.prototypes.Dog']) {
      expect((await path('state', p)).split('\n')[0], p).toBe(`${dog} {`)
      expect((await path('state', '--target', p)).split('\n')[0], p).toBe(`${dog} {`)
    }
    expect((await path('state', 'prototypes')).split('\n')[0]).toMatch(/^<Prototypes #\d+> \{$/)
    expect((await path('state', 'root')).split('\n')[0]).toMatch(/^<Lobby #0> \{$/)
    // Another first name is a slot of the root, as before.
    expect((await path('state', 'traits')).split('\n')[0]).toMatch(/^<Traits #\d+> \{$/)
    const missing = await uvm('state', 'prototypes.Cat')
    expect(missing.code).toBe(1)
    expect(lines(missing.stderr)).toEqual([`uvm state: unknown_target: genesis.prototypes has no slot 'Cat' (target "prototypes.Cat")`])
  })

  it('set, create-method, send and why take the same paths', async () => {
    expect((await uvm('set', 'sound', '"woof"', '--target', 'prototypes.Dog')).code).toBe(0)
    expect(await path('act', 'return genesis.prototypes.Dog.sound')).toBe('"woof"\n')
    expect((await uvm('create-method', 'speak', 'function () { return this.sound }', '--target', 'prototypes.Dog')).code).toBe(0)
    expect(await path('send', 'speak', '--target', 'prototypes.Dog')).toBe('"woof"\n')
    expect(await path('send', 'speak', '--target', 'root.genesis.prototypes.Dog')).toBe('"woof"\n')
    expect(await path('why', 'speak', '--target', 'prototypes.Dog')).toMatch(/^speak: method slot of <\w+ #\d+>\n/)
  })
})
