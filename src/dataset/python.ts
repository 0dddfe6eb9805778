/**
 * Python acts checked by Python itself. Datasets written in the seeds' original Python form
 * (`commit_button = genesis_object.prototypes.clone()`) are judged by `ast.parse` of a real
 * python3, so the syntax stage accepts exactly what that interpreter accepts, and the same
 * process reports the names each act defines, reads and mutates for the logic stage.
 *
 * One long-lived process serves every check: a dataset has thousands of acts, and starting
 * python3 costs tens of milliseconds each time. Requests and replies are JSON, one per line,
 * matched by id so that many checks can be in flight at once.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { UvmError } from '../errors.js'

/** A name at its first place in the code: 1-based line, 1-based column in characters (code points). */
export interface PythonName {
  name: string
  line: number
  column: number
}

export type PythonCheck =
  | {
    ok: true
    /**
     * Names bound at module level (assignments, imports, def, class, for, with, except, :=, and names a
     * function declares global and assigns), in order of first binding. A star import adds '*'.
     */
    defined: string[]
    /**
     * Names read that resolve to the module or builtins: at module level, or free in a function, lambda,
     * class or comprehension. Reported even when the act assigns them first: the caller decides.
     * `x += 1` reads x.
     */
    used: PythonName[]
    /** The root name of each attribute or subscript store or delete, and of each method call (`x.a.f()`), resolved as `used`. */
    modified: PythonName[]
  }
  | { ok: false; message: string; line: number; column: number }

/**
 * The python side. The names are collected by an ast walk rather than with `symtable`: symtable knows
 * scopes but not where a name is used, and the shape of its table tree changes between versions
 * (3.12 inlines comprehensions, 3.13 adds annotation scopes), so pairing its tables with tree nodes
 * to find positions would be fragile. The walk applies the compiler's scope rules itself; the tests
 * check it against symtable.
 */
const SCRIPT = String.raw`
import ast, bisect, builtins, json, platform, re, sys, warnings

# Deeply nested but valid code reaches ast construction's recursion check; 10000 accepts
# anything a person writes while staying far from the C stack's real limit.
sys.setrecursionlimit(10000)
# ast.parse warns about things like invalid escapes; stderr is kept for crash reports, not noise.
warnings.simplefilter('ignore')

# The tokenizer ends lines at these (not at the other characters str.splitlines knows).
NEWLINE = re.compile(r'\r\n|\r|\n')


class Scope(object):
    __slots__ = ('kind', 'parent', 'bound', 'stores', 'globals', 'nonlocals', 'loads', 'mods')

    def __init__(self, kind, parent):
        self.kind = kind
        self.parent = parent
        self.bound = set()
        self.stores = []
        self.globals = set()
        self.nonlocals = set()
        self.loads = []
        self.mods = []


def at(node):
    return (node.lineno, node.col_offset)


def root_name(node):
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node if isinstance(node, ast.Name) else None


def all_args(args):
    extra = [a for a in (args.vararg, args.kwarg) if a is not None]
    return list(getattr(args, 'posonlyargs', [])) + args.args + args.kwonlyargs + extra


def collect(tree):
    """Every scope of the tree with what it binds, declares, reads and mutates.

    An explicit work list instead of recursion: valid code can nest thousands deep, and
    order inside a scope does not matter (Python decides a name's scope for the whole block)."""
    module = Scope('module', None)
    scopes = [module]
    todo = [(tree, module)]

    def scope(kind, parent):
        s = Scope(kind, parent)
        scopes.append(s)
        return s

    def bind(sc, name, node, store=True):
        sc.bound.add(name)
        if store:
            sc.stores.append((name,) + at(node))

    def later(sc, *nodes):
        for n in nodes:
            if isinstance(n, list):
                todo.extend((m, sc) for m in n if m is not None)
            elif n is not None:
                todo.append((n, sc))

    def type_scope(node, sc):
        # PEP 695 generics get a scope of their own between the definition and its body.
        params = getattr(node, 'type_params', None)
        if not params:
            return sc
        ann = scope('annotation', sc)
        for p in params:
            bind(ann, p.name, p, False)
            later(ann, getattr(p, 'bound', None), getattr(p, 'default_value', None))
        return ann

    while todo:
        node, sc = todo.pop()
        kind = type(node).__name__
        if kind == 'Name':
            if isinstance(node.ctx, ast.Load):
                sc.loads.append((node.id,) + at(node))
            else:
                # del binds too: it makes the name local to a function, though it defines nothing.
                bind(sc, node.id, node, isinstance(node.ctx, ast.Store))
        elif kind in ('FunctionDef', 'AsyncFunctionDef', 'Lambda'):
            args = node.args
            outer = sc
            if kind != 'Lambda':
                later(sc, node.decorator_list)
                bind(sc, node.name, node)
                outer = type_scope(node, sc)
                later(outer, [a.annotation for a in all_args(args)], node.returns)
            later(sc, args.defaults, args.kw_defaults)
            fn = scope('function', outer)
            for a in all_args(args):
                bind(fn, a.arg, a, False)
            later(fn, node.body)
        elif kind == 'ClassDef':
            later(sc, node.decorator_list)
            bind(sc, node.name, node)
            outer = type_scope(node, sc)
            later(outer, node.bases, node.keywords)
            later(scope('class', outer), node.body)
        elif kind in ('ListComp', 'SetComp', 'GeneratorExp', 'DictComp'):
            gens = node.generators
            # The first iterable is evaluated where the comprehension stands, the rest inside it.
            later(sc, gens[0].iter)
            comp = scope('comprehension', sc)
            for i, g in enumerate(gens):
                later(comp, g.target, g.ifs)
                if i:
                    later(comp, g.iter)
            later(comp, [node.key, node.value] if kind == 'DictComp' else node.elt)
        elif kind == 'NamedExpr':
            # := inside a comprehension binds in the nearest enclosing non-comprehension scope.
            home = sc
            while home.kind == 'comprehension':
                home = home.parent
            bind(home, node.target.id, node.target)
            later(sc, node.value)
        elif kind == 'Global':
            sc.globals.update(node.names)
        elif kind == 'Nonlocal':
            sc.nonlocals.update(node.names)
        elif kind in ('Import', 'ImportFrom'):
            for a in node.names:
                # 'import a.b' binds 'a'; a star import is reported as the name '*'.
                bind(sc, a.asname or a.name.split('.')[0], node)
        elif kind == 'ExceptHandler':
            if node.name:
                bind(sc, node.name, node)
            later(sc, node.type, node.body)
        elif kind in ('MatchAs', 'MatchStar'):
            if node.name:
                bind(sc, node.name, node)
            later(sc, getattr(node, 'pattern', None))
        elif kind == 'MatchMapping':
            if node.rest:
                bind(sc, node.rest, node)
            later(sc, node.keys, node.patterns)
        elif kind == 'TypeAlias':
            later(sc, node.name)
            later(type_scope(node, scope('annotation', sc)), node.value)
        elif kind == 'AugAssign':
            # 'x += 1' reads x first, though its target is a Store in the tree.
            if isinstance(node.target, ast.Name):
                sc.loads.append((node.target.id,) + at(node.target))
            later(sc, node.target, node.value)
        elif kind == 'AnnAssign':
            t = node.target
            if isinstance(t, ast.Name):
                # 'x: int' alone defines nothing, but still makes x local to a function.
                bind(sc, t.id, t, node.value is not None)
            else:
                later(sc, t)
            later(sc, node.annotation, node.value)
        else:
            if kind in ('Attribute', 'Subscript') and not isinstance(node.ctx, ast.Load):
                r = root_name(node)
                if r is not None:
                    sc.mods.append((r.id,) + at(r))
            elif kind == 'Call' and isinstance(node.func, ast.Attribute):
                r = root_name(node.func.value)
                if r is not None:
                    sc.mods.append((r.id,) + at(r))
            later(sc, list(ast.iter_child_nodes(node)))
    return scopes


def resolves_global(sc, name):
    """Whether name, read in sc, means the module's (or builtins') binding, by the compiler's rules."""
    if sc.kind == 'module' or name in sc.globals:
        return True
    if name in sc.nonlocals or name in sc.bound:
        return False
    p = sc.parent
    while p.kind != 'module':
        # A class body's names are invisible to scopes nested in it, except its own annotation scopes.
        if p.kind != 'class' or (p is sc.parent and sc.kind == 'annotation'):
            if name in p.globals:
                return True
            if name in p.nonlocals or name in p.bound:
                return False
        p = p.parent
    return True


class Columns(object):
    """1-based character columns from the tree's UTF-8 byte offsets."""

    def __init__(self, code):
        self.lines = NEWLINE.split(code)
        self.starts = {}

    def __call__(self, line, offset):
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ''
        if text.isascii():
            return offset + 1
        starts = self.starts.get(line)
        if starts is None:
            starts, b = [], 0
            for ch in text:
                starts.append(b)
                o = ord(ch)
                b += 1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4
            self.starts[line] = starts
        return bisect.bisect_left(starts, offset) + 1


def place(code, index):
    """Line and column (1-based) of a character index."""
    before = code[:index]
    lines = NEWLINE.split(before)
    return len(lines), len(lines[-1]) + 1


def firsts(entries, column):
    best = {}
    for name, line, col in entries:
        if name not in best or (line, col) < best[name]:
            best[name] = (line, col)
    ordered = sorted(best.items(), key=lambda kv: kv[1])
    return [{'name': n, 'line': l, 'column': column(l, c)} for n, (l, c) in ordered]


def refusal(message, line=1, column=1):
    return {'ok': False, 'message': message, 'line': max(1, line or 1), 'column': max(1, column or 1)}


def check(code):
    nul = code.find('\0')
    if nul >= 0:
        # Pythons disagree on how to refuse a null byte (ValueError, or SyntaxError without a place).
        return refusal('source code cannot contain null bytes', *place(code, nul))
    try:
        tree = ast.parse(code, '<act>', 'exec')
    except SyntaxError as e:
        kind = type(e).__name__
        message = e.msg if kind == 'SyntaxError' else kind + ': ' + str(e.msg)
        return refusal(message, e.lineno, e.offset)
    except (RecursionError, MemoryError) as e:
        return refusal('the code is nested too deeply for the parser (' + type(e).__name__ + ')')
    except Exception as e:
        message = type(e).__name__ + ': ' + str(e)
        bad = next((i for i, ch in enumerate(code) if '\ud800' <= ch <= '\udfff'), None)
        return refusal(message, *(place(code, bad) if bad is not None else (1, 1)))
    scopes = collect(tree)
    column = Columns(code)
    defined, used, modified = [], [], []
    for s in scopes:
        for name, line, col in s.stores:
            if s.kind == 'module' or name in s.globals:
                defined.append(((line, col), name))
        used.extend(e for e in s.loads if resolves_global(s, e[0]))
        modified.extend(e for e in s.mods if resolves_global(s, e[0]))
    defined.sort(key=lambda e: e[0])
    names = list(dict.fromkeys(n for _, n in defined))
    return {'ok': True, 'defined': names, 'used': firsts(used, column), 'modified': firsts(modified, column)}


def main():
    out = sys.stdout.buffer

    def send(obj):
        # ASCII-only JSON: no newline can appear inside a reply, whatever the code holds.
        out.write(json.dumps(obj, ensure_ascii=True, separators=(',', ':')).encode('ascii') + b'\n')
        out.flush()

    send({'version': platform.python_version(), 'builtins': dir(builtins)})
    for raw in sys.stdin.buffer:
        if not raw.strip():
            continue
        request = json.loads(raw)
        try:
            reply = check(request['code'])
        except (RecursionError, MemoryError) as e:
            reply = refusal('the code is too large or nested too deeply to analyse (' + type(e).__name__ + ')')
        except Exception as e:
            # A bug of this script, not of the code: say so rather than guess an answer.
            reply = {'failed': type(e).__name__ + ': ' + str(e)}
        reply['id'] = request['id']
        send(reply)


main()
`

/** Python answers its handshake in well under a second; this only catches an interpreter that hangs. */
const START_TIMEOUT_MS = 30_000
/** How long close() waits for python to finish the queue and exit before killing it. */
const CLOSE_GRACE_MS = 2_000

interface Handshake {
  version: string
  builtins: string[]
}

interface Pending {
  resolve(answer: PythonCheck): void
  reject(error: Error): void
}

/** Handles with ref()/unref(): the child and its pipes (net.Socket at runtime, typed as plain streams). */
interface Holdable {
  ref?(): void
  unref?(): void
}

const closedError = (): UvmError => new UvmError('DATASET_PYTHON', 'the python3 checker is closed')

/** One python3 process and the checks it owes. */
class Session {
  readonly child: ChildProcessWithoutNullStreams
  readonly ready: Promise<Handshake>
  /** Settles when the process has exited and its pipes are closed. */
  readonly ended: Promise<void>
  handshake: Handshake | null = null
  /** Why the process is gone, once it is: every later request gets this. */
  stopped: UvmError | null = null
  /** spawn itself failed: a missing or unrunnable interpreter, which a second try will not fix. */
  spawnFailed = false
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private partial: string[] = []
  private stderrTail = ''
  private spawnError: NodeJS.ErrnoException | null = null
  /** Why we killed it ourselves, when we did. */
  private reason: string | null = null
  private held = false

  constructor(readonly python: string) {
    this.child = spawn(python, ['-I', '-u', '-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] })
    let settle!: { resolve(h: Handshake): void; reject(e: Error): void }
    this.ready = new Promise((resolve, reject) => { settle = { resolve, reject } })
    // Start-up failures are reported through ready, but nobody may be awaiting it yet.
    this.ready.catch(() => undefined)
    const startTimer = setTimeout(() => this.kill(`did not answer within ${START_TIMEOUT_MS / 1000} s of starting`), START_TIMEOUT_MS)
    this.hold(true)

    this.child.on('error', (e: NodeJS.ErrnoException) => {
      // Emitted when spawn fails (followed by 'close') or when kill() fails (the process is gone anyway).
      if (this.child.pid === undefined) {
        this.spawnError = e
        this.spawnFailed = true
      }
    })
    // Writing to a process that just died fails with EPIPE; 'close' reports the death to every pending check.
    this.child.stdin.on('error', () => undefined)
    this.child.stdout.setEncoding('utf8')
    this.child.stdout.on('data', (chunk: string) => this.onStdout(chunk, settle.resolve, startTimer))
    this.child.stderr.setEncoding('utf8')
    this.child.stderr.on('data', (chunk: string) => { this.stderrTail = (this.stderrTail + chunk).slice(-8192) })

    this.ended = new Promise((resolve) => {
      this.child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
        clearTimeout(startTimer)
        this.stopped = this.stopError(code, signal)
        for (const p of this.pending.values()) p.reject(this.stopped)
        this.pending.clear()
        settle.reject(this.stopped)
        resolve()
      })
    })
  }

  check(code: string): Promise<PythonCheck> {
    if (this.stopped) return Promise.reject(this.stopped)
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.hold(true)
      this.child.stdin.write(JSON.stringify({ id, code }) + '\n')
    })
  }

  /** End python's input: it answers what it has already been sent, then exits. */
  async close(): Promise<void> {
    if (this.stopped) return
    this.hold(true)
    this.child.stdin.end()
    const timer = setTimeout(() => this.kill(`did not exit within ${CLOSE_GRACE_MS / 1000} s of being closed`), CLOSE_GRACE_MS)
    await this.ended
    clearTimeout(timer)
  }

  private kill(reason: string): void {
    this.reason ??= reason
    this.child.kill('SIGKILL')
  }

  /**
   * Keep the event loop alive only while python owes an answer. A checker someone forgot to close then
   * lets Node exit, and python, seeing its input end, exits too. (The child's unref() alone is not
   * enough: its stdout and stderr pipes are read, and would hold the loop.)
   */
  private hold(on: boolean): void {
    if (on === this.held) return
    this.held = on
    for (const h of [this.child, this.child.stdin, this.child.stdout, this.child.stderr] as Holdable[]) {
      if (on) h.ref?.()
      else h.unref?.()
    }
  }

  /** Replies can arrive split across chunks, or many in one: only whole lines are read. */
  private onStdout(chunk: string, handshaken: (h: Handshake) => void, startTimer: NodeJS.Timeout): void {
    let start = 0
    for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', start)) {
      this.partial.push(chunk.slice(start, nl))
      const line = this.partial.join('')
      this.partial = []
      start = nl + 1
      if (this.handshake) this.onReply(line)
      else this.onHandshake(line, handshaken, startTimer)
    }
    if (start < chunk.length) this.partial.push(chunk.slice(start))
  }

  private onHandshake(line: string, handshaken: (h: Handshake) => void, startTimer: NodeJS.Timeout): void {
    let h: unknown
    try {
      h = JSON.parse(line)
    } catch {
      h = null
    }
    const v = h as Partial<Handshake> | null
    if (typeof v?.version !== 'string' || !Array.isArray(v.builtins) || !v.builtins.every((b) => typeof b === 'string')) {
      this.kill(`did not start the checker (is it python3?); it wrote: ${line.slice(0, 200)}`)
      return
    }
    clearTimeout(startTimer)
    this.handshake = { version: v.version, builtins: v.builtins }
    handshaken(this.handshake)
    this.hold(this.pending.size > 0)
  }

  private onReply(line: string): void {
    let reply: Record<string, unknown> & { id?: unknown; failed?: unknown }
    try {
      reply = JSON.parse(line)
    } catch {
      this.kill(`wrote a line that is not a reply: ${line.slice(0, 200)}`)
      return
    }
    const p = typeof reply.id === 'number' ? this.pending.get(reply.id) : undefined
    if (!p) {
      this.kill(`answered a request it was not sent: ${line.slice(0, 200)}`)
      return
    }
    this.pending.delete(reply.id as number)
    if (this.pending.size === 0) this.hold(false)
    const { id: _id, failed, ...answer } = reply
    if (failed !== undefined) p.reject(new UvmError('DATASET_PYTHON', `the python3 checker failed on this code: ${String(failed)}`, { python: this.python }))
    else p.resolve(answer as PythonCheck)
  }

  private stopError(code: number | null, signal: NodeJS.Signals | null): UvmError {
    const e = this.spawnError
    if (e?.code === 'ENOENT') {
      return new UvmError('DATASET_PYTHON', `python3 was not found (install it, e.g. apt-get install python3, or set UVM_PYTHON): ${e.message}`, { python: this.python })
    }
    if (e) return new UvmError('DATASET_PYTHON', `python3 (${this.python}) could not be started: ${e.message}`, { python: this.python })
    const lastLine = this.stderrTail.split('\n').map((l) => l.trim()).filter((l) => l !== '').pop() ?? ''
    const how = signal ? `signal ${signal}` : `exit code ${code}`
    const why = this.reason ? `${this.reason}; ` : ''
    return new UvmError('DATASET_PYTHON',
      `python3 (${this.python}) stopped (${why}${how})${lastLine ? `; its last stderr line: ${lastLine}` : ''}`,
      { python: this.python, exitCode: code, signal, stderr: lastLine })
  }
}

/** A fresh process, answered its handshake. One that dies at start-up gets one more try. */
async function launch(python: string): Promise<Session> {
  let first: UvmError | null = null
  for (;;) {
    const session = new Session(python)
    try {
      await session.ready
      return session
    } catch (e) {
      const error = e as UvmError
      if (session.spawnFailed) throw error
      if (first) {
        throw new UvmError('DATASET_PYTHON', `python3 (${python}) died at start-up twice in a row: ${error.message}`, error.details)
      }
      first = error
    }
  }
}

/**
 * Checks Python code with one long-lived python3 (`python -I -u -c SCRIPT`: isolated from PYTHON*
 * variables and user site-packages). A process that crashes fails only the checks it owed: the next
 * check starts another. Close it when done; a forgotten one does not keep Node alive.
 */
export class PythonChecker {
  /** dir(builtins) of that python: names an act may use without defining them. */
  readonly builtins: ReadonlySet<string>
  /** That python's version, e.g. '3.11.2'. */
  readonly version: string
  private session: Session
  private restarting: Promise<Session> | null = null
  /** Set when a restart died at start-up twice: the interpreter is broken, not unlucky. */
  private broken: UvmError | null = null
  private closed = false

  private constructor(private readonly python: string, session: Session, handshake: Handshake) {
    this.session = session
    this.builtins = new Set(handshake.builtins)
    this.version = handshake.version
  }

  /** Start python (default 'python3'; the caller applies UVM_PYTHON). Rejects with DATASET_PYTHON if it cannot. */
  static async start(opts: { python?: string } = {}): Promise<PythonChecker> {
    const python = opts.python ?? 'python3'
    const session = await launch(python)
    return new PythonChecker(python, session, session.handshake as Handshake)
  }

  /** The current process's pid (it changes after a restart), for diagnostics. */
  get pid(): number | undefined {
    return this.session.child.pid
  }

  /** Parse one code string as a module. Rejects only if python itself fails (DATASET_PYTHON). */
  check(code: string): Promise<PythonCheck> {
    if (this.closed) return Promise.reject(closedError())
    if (!this.session.stopped) return this.session.check(code)
    return this.restart().then((s) => {
      if (this.closed) throw closedError()
      return s.check(code)
    })
  }

  /** Answer the checks already sent, then stop python (killed if it takes more than 2 s). */
  async close(): Promise<void> {
    this.closed = true
    if (this.restarting) await this.restarting.catch(() => undefined)
    await this.session.close()
  }

  private restart(): Promise<Session> {
    if (this.broken) return Promise.reject(this.broken)
    this.restarting ??= launch(this.python).then(
      (s) => {
        this.session = s
        this.restarting = null
        return s
      },
      (e: UvmError) => {
        this.broken = e
        this.restarting = null
        throw e
      })
    return this.restarting
  }
}
