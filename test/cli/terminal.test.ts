// Terminal manners: "Did you mean", colour on a terminal only (NO_COLOR, FORCE_COLOR), shell completion
// generated from the commands, and a start that loads nothing native for the commands that need none.
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { MAIN, cleanupTemps, ensureBuilt, freeAddresses, killChildren, lines, runCli, runProcess, spawnPty, tempDir } from './support.js'

beforeAll(() => ensureBuilt())
afterEach(() => killChildren())
afterAll(() => cleanupTemps())

const ESC = '\x1b['

describe('Did you mean', () => {
  const cases: [string[], string][] = [
    [['pnig'], 'uvm: unknown command "pnig". Did you mean `ping`? (see `uvm --help`)'],
    [['stat'], 'uvm: unknown command "stat". Did you mean `state`? (see `uvm --help`)'],
    [['ping', '--conect', 'x'], "uvm ping: Unknown option '--conect' (see `uvm ping --help`). Did you mean `--connect`?"],
    [['history', '--limt', '3'], "uvm history: Unknown option '--limt' (see `uvm history --help`). Did you mean `--limit`?"],
    [['dataset', 'valdate'], 'uvm dataset: unknown subcommand "valdate" (there are validate, export, generate and judge). Did you mean `validate`?'],
    [['help', 'pnig'], 'uvm help: no command "pnig" (see `uvm --help`). Did you mean `ping`?'],
    [['completion', 'bsh'], 'uvm completion: no completion for "bsh" (there are bash and zsh). Did you mean `bash`?'],
  ]
  for (const [args, message] of cases) {
    it(`uvm ${args.join(' ')}`, async () => {
      const { bind } = await freeAddresses()
      const r = await runCli(args, { env: { UVM_CONNECT: bind } })
      expect(r.code).toBe(2)
      expect(lines(r.stderr)).toEqual([message])
    })
  }

  it('no hint when nothing is close', async () => {
    const r = await runCli(['frobnicate'])
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^uvm: unknown command "frobnicate" \(commands: boot, .*\)$/)])
  })
})

describe('colour', () => {
  it('piped output is plain; FORCE_COLOR colours it, FORCE_COLOR=0 and NO_COLOR do not', async () => {
    const plainRun = await runCli(['pnig'], { env: { NO_COLOR: undefined } })
    expect(plainRun.stderr).not.toContain(ESC)
    const forced = await runCli(['pnig'], { env: { NO_COLOR: undefined, FORCE_COLOR: '1' } })
    expect(forced.stderr).toBe(`${ESC}31muvm: unknown command "pnig". Did you mean \`ping\`? (see \`uvm --help\`)${ESC}39m\n`)
    const help = await runCli(['--help'], { env: { NO_COLOR: undefined, FORCE_COLOR: '1' } })
    expect(help.stdout).toContain(`${ESC}1mcommands:${ESC}22m`)
    expect((await runCli(['pnig'], { env: { NO_COLOR: undefined, FORCE_COLOR: '0' } })).stderr).not.toContain(ESC)
  })

  it('on a terminal: errors in red, unless NO_COLOR', async () => {
    const tty = spawnPty(['pnig'], { env: { NO_COLOR: undefined } })
    await tty.exited
    expect(tty.stdout).toContain(`${ESC}31muvm: unknown command "pnig"`)
    const no = spawnPty(['pnig'], { env: { NO_COLOR: '1' } })
    await no.exited
    expect(no.stdout).toContain('uvm: unknown command "pnig"')
    expect(no.stdout).not.toContain(ESC + '31m')
  })
})

describe('uvm completion', () => {
  /** What bash offers for the words typed so far (the last one is being completed). */
  function complete(script: string, words: string[]): string[] {
    const file = join(dir, 'uvm.bash')
    writeFileSync(file, script)
    const quoted = words.map((w) => `'${w}'`).join(' ')
    const out = execFileSync('bash', ['-c', `source '${file}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _uvm; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' })
    return out.split('\n').filter((l) => l !== '')
  }
  let dir: string
  let script: string
  beforeAll(async () => {
    dir = await tempDir()
    const r = await runCli(['completion', 'bash'])
    expect(r.code).toBe(0)
    script = r.stdout
  })

  it('bash: commands, subcommands, each command\'s flags and choices', () => {
    expect(complete(script, ['uvm', 'pi'])).toEqual(['ping'])
    expect(complete(script, ['uvm', 'st'])).toEqual(['state'])
    expect(complete(script, ['uvm', 'ping', '--con'])).toEqual(['--connect'])
    expect(complete(script, ['uvm', 'ping', '--k'])).toEqual(['--keys', '--key'])
    expect(complete(script, ['uvm', 'dataset', 'va'])).toEqual(['validate'])
    expect(complete(script, ['uvm', 'dataset', 'validate', '--ex'])).toEqual(['--execute'])
    expect(complete(script, ['uvm', 'dataset', 'export', '--format', ''])).toEqual(['uvm', 'openai', 'sharegpt'])
    expect(complete(script, ['uvm', 'boot', '--reader-'])).toEqual(['--reader-bind', '--reader-pub'])
    expect(complete(script, ['uvm', 'completion', ''])).toEqual(['bash', 'zsh'])
    expect(complete(script, ['uvm', 'help', 'comp'])).toEqual(['completion'])
    // A flag's value is left to the shell (file names).
    expect(complete(script, ['uvm', 'boot', '--image', ''])).toEqual([])
  })

  it('bash: every flag each command\'s --help lists', async () => {
    const help = (await runCli(['--help'])).stdout
    const names = help.slice(help.indexOf('commands:\n') + 10, help.indexOf('\n\n', help.indexOf('commands:\n'))).split('\n').map((l) => l.trim().split(/\s+/)[0]!)
    for (const name of names.filter((n) => n !== 'dataset' && n !== 'llm')) {
      const flags = [...(await runCli([name, '--help'])).stdout.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1]!)
      expect(complete(script, ['uvm', name, '--']).sort(), name).toEqual([...new Set([...flags, '--help'])].sort())
    }
  })

  it('zsh: a script for compdef, with the same words', async () => {
    const r = await runCli(['completion', 'zsh'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^#compdef uvm\n/)
    expect(r.stdout).toContain('compdef _uvm uvm')
    expect(r.stdout).toContain('compadd -- validate export generate judge')
    expect(r.stdout).toMatch(/ping\)\n(.*\n)*? +if \[\[ \$cur == -\* \]\]; then compadd -- --connect --json --keys --key --timeout --help; else _files; fi/)
  })

  it('needs a shell', async () => {
    const r = await runCli(['completion'])
    expect(r.code).toBe(2)
    expect(lines(r.stderr)).toEqual(['uvm completion: name one shell: uvm completion bash, or uvm completion zsh'])
  })
})

describe('startup', () => {
  /** The native addons a run of the CLI loaded, as the process's report lists them at exit. */
  async function natives(args: string[]): Promise<string[]> {
    const dir = await tempDir()
    const hook = join(dir, 'natives.mjs')
    writeFileSync(hook, "process.on('exit', () => process.stderr.write('@@natives ' + JSON.stringify(process.report.getReport().sharedObjects.filter((p) => p.endsWith('.node'))) + '\\n'))\n")
    const r = await runProcess(process.execPath, ['--import', hook, MAIN, ...args])
    const line = r.stderr.split('\n').find((l) => l.startsWith('@@natives '))
    expect(line, r.stderr).toBeDefined()
    return JSON.parse(line!.slice('@@natives '.length)) as string[]
  }

  it('--help, a command\'s --help, a mistyped command and completion load no native module', async () => {
    for (const args of [['--help'], ['ping', '--help'], ['boot', '--help'], ['pnig'], ['completion', 'bash'], ['--version']]) {
      expect(await natives(args), args.join(' ')).toEqual([])
    }
  })

  it('a command that talks to the daemon loads ZeroMQ (the check above can fail), and not LevelDB', async () => {
    const { bind } = await freeAddresses()
    const loaded = await natives(['ping', '--connect', bind])
    expect(loaded.some((p) => p.includes('zeromq'))).toBe(true)
    expect(loaded.filter((p) => p.includes('classic-level'))).toEqual([])
  })
})
