/**
 * Helpers for testing the `uvm` command as people run it: real child
 * processes of dist/cli/main.js, real images in temp folders, free ports.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect } from 'vitest'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const MAIN = join(ROOT, 'dist/cli/main.js')
export const PAGE_MAIN = join(ROOT, 'dist/ui/page/app.js')
const STAMP = join(ROOT, 'dist/.cli-tests-built')
const LOCK = join(ROOT, 'dist/.cli-tests-building')

function newestMtime(dir: string, ext: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p, ext))
    else if (entry.name.endsWith(ext)) newest = Math.max(newest, statSync(p).mtimeMs)
  }
  return newest
}

function mtime(p: string): number {
  return existsSync(p) ? statSync(p).mtimeMs : 0
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

/**
 * Build dist/ with `tsc -p .` when src/ is newer than the last build (test
 * files run in parallel forks: a lock folder keeps it to one tsc at a time).
 */
export function ensureBuilt(): void {
  const page = join(ROOT, 'src/ui/page')
  const newest = () => Math.max(newestMtime(join(ROOT, 'src'), '.ts'), ...(existsSync(page) ? [newestMtime(page, '.html'), newestMtime(page, '.css'), newestMtime(page, '.svg')] : []))
  const stale = () => !existsSync(MAIN) || !existsSync(PAGE_MAIN) || newest() > Math.max(mtime(MAIN), mtime(STAMP))
  if (!stale()) return
  mkdirSync(join(ROOT, 'dist'), { recursive: true })
  const deadline = Date.now() + 120_000
  for (;;) {
    try {
      mkdirSync(LOCK)
      break
    } catch {
      // Another fork is building; a lock older than two minutes is left over from a killed run.
      if (Date.now() - mtime(LOCK) > 120_000) rmSync(LOCK, { recursive: true, force: true })
      if (Date.now() > deadline) throw new Error('timed out waiting for another test file to build dist/')
      sleepSync(200)
    }
  }
  try {
    if (!stale()) return
    const tsc = join(ROOT, 'node_modules/.bin/tsc')
    // Type errors still emit JavaScript; only a missing dist/cli/main.js is fatal here.
    spawnSync(existsSync(tsc) ? tsc : 'npx', existsSync(tsc) ? ['-p', ROOT] : ['tsc', '-p', ROOT], { cwd: ROOT, stdio: 'inherit' })
    if (!existsSync(MAIN)) throw new Error('`tsc -p .` did not produce dist/cli/main.js')
    // As `npm run build` does: tsc writes a new file without the execute bit the bin needs.
    chmodSync(MAIN, 0o755)
    // The page has its own tsconfig (DOM types, browser modules) and copies its html and css (npm run build does the same).
    spawnSync(process.execPath, [join(ROOT, 'scripts/build-ui.mjs')], { cwd: ROOT, stdio: 'inherit' })
    if (!existsSync(PAGE_MAIN)) throw new Error('scripts/build-ui.mjs did not produce dist/ui/page/app.js')
    writeFileSync(STAMP, new Date().toISOString() + '\n')
  } finally {
    rmSync(LOCK, { recursive: true, force: true })
  }
}

/** A port nobody listens on right now (bind port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolvePort(port))
    })
  })
}

export async function freeAddresses(): Promise<{ bind: string; pub: string }> {
  const a = await freePort()
  let b = await freePort()
  while (b === a) b = await freePort()
  return { bind: `tcp://127.0.0.1:${a}`, pub: `tcp://127.0.0.1:${b}` }
}

/** Temp folders made by a test file, removed by cleanupTemps(). */
const temps: string[] = []
export async function tempDir(prefix = 'uvm-cli-'): Promise<string> {
  const p = await mkdtemp(join(tmpdir(), prefix))
  temps.push(p)
  return p
}
export async function cleanupTemps(): Promise<void> {
  await Promise.all(temps.splice(0).map((p) => rm(p, { recursive: true, force: true })))
}

/** Every child spawned here, so that afterEach/afterAll can kill what a failed test left running. */
const children = new Set<ChildProcess>()

export async function killChildren(): Promise<void> {
  const waits: Promise<unknown>[] = []
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      waits.push(new Promise((r) => { c.once('exit', r); setTimeout(r, 3000) }))
      c.kill('SIGKILL')
    }
  }
  children.clear()
  await Promise.all(waits)
}

export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  timedOut: boolean
}

export interface RunOptions {
  input?: string
  env?: Record<string, string | undefined>
  cwd?: string
  /** Kill the child after this long (default 20 s); the result says timedOut. */
  timeoutMs?: number
}

function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  // The tests' own defaults must not leak in from the shell that runs them.
  for (const k of Object.keys(env)) if (k.startsWith('UVM_')) delete env[k]
  delete env.NODE_OPTIONS
  // Plain output, whatever the shell (or the test runner) says about colour.
  delete env.FORCE_COLOR
  env.NO_COLOR = '1'
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  return env
}

/** Run `node dist/cli/main.js ...args` to completion. */
export function runCli(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return runProcess(process.execPath, [MAIN, ...args], opts)
}

export function runProcess(file: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd ?? ROOT, env: childEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] })
    children.add(child)
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, opts.timeoutMs ?? 20_000)
    child.on('error', (e) => { clearTimeout(timer); children.delete(child); reject(e) })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      children.delete(child)
      resolveRun({ code, signal, stdout, stderr, timedOut })
    })
    child.stdin!.on('error', () => {})
    child.stdin!.end(opts.input ?? '')
  })
}

/** A live child process whose output is collected and can be waited on. */
export class Proc {
  stdout = ''
  stderr = ''
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  private waiters: (() => void)[] = []

  constructor(readonly child: ChildProcess) {
    children.add(child)
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { this.stdout += d; this.poke() })
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { this.stderr += d; this.poke() })
    child.stdin?.on('error', () => {})
    this.exited = new Promise((r) => child.on('exit', (code, signal) => {
      children.delete(child)
      // Let the pipes drain before anyone reads the output.
      setTimeout(() => { this.poke(); r({ code, signal }) }, 50)
    }))
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  write(text: string): void {
    this.child.stdin!.write(text)
  }

  private poke(): void {
    for (const w of this.waiters.splice(0)) w()
  }

  /** Wait until `test` holds for the output so far (stdout + stderr), or fail after `timeoutMs`. */
  async waitFor(test: RegExp | string | ((all: string) => boolean), timeoutMs = 15_000, what = String(test)): Promise<string> {
    const deadline = Date.now() + timeoutMs
    const ok = () => {
      const all = this.stdout + this.stderr
      return typeof test === 'function' ? test(all) : typeof test === 'string' ? all.includes(test) : test.test(all)
    }
    while (!ok()) {
      if (!this.running && this.child.stdout?.readableEnded !== false) {
        throw new Error(`process exited (code ${this.child.exitCode}) before ${what}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`)
      }
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${what}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`)
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200))
        this.waiters.push(() => { clearTimeout(t); r() })
      })
    }
    return this.stdout + this.stderr
  }

  /** Send a signal and wait for the exit; a child that outlives `timeoutMs` is killed and the call fails, with its output. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill(signal)
    let hung = false
    const timer = setTimeout(() => { hung = true; this.child.kill('SIGKILL') }, timeoutMs)
    try {
      const result = await this.exited
      if (hung && signal !== 'SIGKILL') throw new Error(`still running ${timeoutMs} ms after ${signal}: killed\nstdout: ${this.stdout.slice(-2000)}\nstderr: ${this.stderr.slice(-2000)}`)
      return result
    } finally {
      clearTimeout(timer)
    }
  }
}

export function spawnCli(args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}): Proc {
  return new Proc(spawn(process.execPath, [MAIN, ...args], { cwd: opts.cwd ?? ROOT, env: childEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] }))
}

/**
 * A daemon on a fresh image for the tests of the enclosing suite (or file): started before them, stopped
 * (exit 0 expected) and cleaned up after. `uvm(...)` runs the CLI against it.
 */
export function useDaemon(): { readonly d: Daemon; readonly dir: string; uvm(...args: string[]): Promise<RunResult> } {
  let d: Daemon | undefined
  let dir: string | undefined
  beforeAll(async () => {
    ensureBuilt()
    dir = await tempDir()
    d = await startDaemon(join(dir, 'image.db'))
  })
  afterAll(async () => {
    if (d?.running) expect((await d.stop()).code).toBe(0)
    await killChildren()
    await cleanupTemps()
  })
  return {
    get d() { return d! },
    get dir() { return dir! },
    uvm: (...args) => runCli([...args, '--connect', d!.bind]),
  }
}

export interface Daemon extends Proc {
  bind: string
  pub: string
  image: string
  readyLine: string
}

/**
 * `uvm boot` on free ports, resolved once its ready line is out. Retries on
 * fresh ports if another process took one between the check and the bind.
 */
export async function startDaemon(image: string, opts: { args?: string[]; env?: Record<string, string | undefined>; viaEnv?: boolean } = {}): Promise<Daemon> {
  for (let attempt = 0; ; attempt++) {
    const { bind, pub } = await freeAddresses()
    const args = opts.viaEnv ? ['boot', ...(opts.args ?? [])] : ['boot', '--image', image, '--bind', bind, '--pub', pub, ...(opts.args ?? [])]
    const env = opts.viaEnv ? { UVM_IMAGE: image, UVM_BIND: bind, UVM_PUB: pub, ...opts.env } : opts.env
    const proc = spawnCli(args, { ...(env && { env }) })
    try {
      await proc.waitFor(/ready: .*\n/, 20_000, 'the ready line')
    } catch (e) {
      await proc.stop('SIGKILL')
      if (attempt < 3 && /Address already in use/.test(proc.stderr)) continue
      throw e
    }
    const readyLine = proc.stdout.split('\n').find((l) => l.includes(' ready: '))!
    return Object.assign(proc, { bind, pub, image, readyLine })
  }
}

/** The stdout lines that are JSON objects (the daemon's log records). */
export function jsonLines(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    try { out.push(JSON.parse(line) as Record<string, unknown>) } catch { /* not a record */ }
  }
  return out
}

/** Lines of text, without the empty last one. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l, i, a) => !(l === '' && i === a.length - 1))
}

/** No stack trace frames in the text. */
export function hasStack(text: string): boolean {
  return /^\s+at .+(\(|:\d+:\d+)/m.test(text)
}

/**
 * A terminal for interactive tests: util-linux `script` (or python3's pty
 * module) runs the command on a pseudo-terminal; we type into its stdin.
 */
export function ptyCommand(): ((cmd: string[]) => { file: string; args: string[] }) {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
  const has = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0
  if (!has('script') && !has('python3') && process.getuid?.() === 0) {
    // Debian/Ubuntu: util-linux's script lives in bsdutils.
    try { execFileSync('sh', ['-c', 'apt-get install -y bsdutils || (apt-get update && apt-get install -y bsdutils)'], { stdio: 'ignore', timeout: 120_000 }) } catch { /* fall through */ }
  }
  if (has('script') && spawnSync('script', ['-qefc', 'true', '/dev/null']).status === 0) {
    return (cmd) => ({ file: 'script', args: ['-qefc', cmd.map(quote).join(' '), '/dev/null'] })
  }
  if (has('python3')) {
    return (cmd) => ({ file: 'python3', args: ['-c', 'import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)', ...cmd] })
  }
  throw new Error('no way to make a pseudo-terminal: install util-linux (bsdutils) or python3')
}

export function spawnPty(args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}): Proc {
  const { file, args: ptyArgs } = ptyCommand()([process.execPath, MAIN, ...args])
  return new Proc(spawn(file, ptyArgs, { cwd: opts.cwd ?? ROOT, env: childEnv({ TERM: 'xterm', COLUMNS: '200', LINES: '50', ...opts.env }), stdio: ['pipe', 'pipe', 'pipe'] }))
}

/** Terminal output without escape sequences and carriage returns. */
export function plain(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '')
}
