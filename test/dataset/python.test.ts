/**
 * The python3 checker of `uvm dataset validate --syntax python`: Python's own ast.parse through one
 * long-lived process, and the names each act defines, reads and mutates.
 */
import { spawnSync } from 'node:child_process'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { UvmError } from '../../src/errors.js'
import { PythonChecker, type PythonCheck } from '../../src/dataset/python.js'
import { rejection } from '../support/uvm.js'
import { ensureDebianPackage } from '../support/system-package.js'

// Debian's python3, installed by this set-up when missing; when that fails the suite fails, saying why.
const python = ensureDebianPackage('python3', () => spawnSync('python3', ['--version']).status === 0)
if (!python.ok) {
  describe('python3 checker', () => {
    it('needs python3', () => { throw new Error(python.why) })
  })
}
const hasPython = python.ok

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const names = (list: { name: string }[]): string[] => list.map((n) => n.name)

function ok(r: PythonCheck): Extract<PythonCheck, { ok: true }> {
  if (!r.ok) expect.fail(`expected the code to parse, got ${r.message} at ${r.line}:${r.column}`)
  return r
}

function refused(r: PythonCheck): Extract<PythonCheck, { ok: false }> {
  if (r.ok) expect.fail('expected a syntax error')
  return r
}

/**
 * What python's own symtable says: names referenced at module level or resolving global in nested scopes.
 * From 3.12 a comprehension has no table of its own (PEP 709): its variables show up as the module's,
 * so comprehension targets are left out at module level (the snippets never reuse them as module names).
 */
function symtableUsed(code: string): string[] {
  const script = [
    'import ast, json, symtable, sys',
    'code = sys.stdin.read()',
    'targets = {n.id for c in ast.walk(ast.parse(code)) if isinstance(c, ast.comprehension)',
    '           for n in ast.walk(c.target) if isinstance(n, ast.Name)}',
    'out = set()',
    'def walk(t, top):',
    '    for s in t.get_symbols():',
    '        if s.is_referenced() and (s.is_global() if not top else s.get_name() not in targets or not s.is_local()):',
    '            out.add(s.get_name())',
    '    for c in t.get_children():',
    '        walk(c, False)',
    "walk(symtable.symtable(code, '<act>', 'exec'), True)",
    'print(json.dumps(sorted(out)))',
  ].join('\n')
  const r = spawnSync('python3', ['-I', '-c', script], { input: code, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(r.stderr)
  return JSON.parse(r.stdout) as string[]
}

describe.skipIf(!hasPython)('python3 checker', () => {
  let checker: PythonChecker
  beforeAll(async () => { checker = await PythonChecker.start() })
  afterAll(async () => { await checker.close() })

  it('handshakes with the version and dir(builtins)', () => {
    expect(checker.version).toMatch(/^3\.\d+\.\d+/)
    expect(checker.builtins.has('print')).toBe(true)
    expect(checker.builtins.has('len')).toBe(true)
    expect(checker.builtins.has('genesis_object')).toBe(false)
  })

  it('answers a seed act with what it defines, uses and modifies', async () => {
    const r = ok(await checker.check("commit_button = genesis_object.prototypes.clone()\ncommit_button.setSlot('label', 'Commit')"))
    expect(r.defined).toEqual(['commit_button'])
    expect(r.used).toEqual([
      { name: 'genesis_object', line: 1, column: 17 },
      { name: 'commit_button', line: 2, column: 1 },
    ])
    // Both are receivers of a method call: clone() on genesis_object.prototypes, setSlot() on commit_button.
    expect(r.modified).toEqual([
      { name: 'genesis_object', line: 1, column: 17 },
      { name: 'commit_button', line: 2, column: 1 },
    ])
  })

  it('reports a syntax error with its line and column', async () => {
    const r = refused(await checker.check('ok = 1\nx = 1 +* 2\n'))
    expect(r).toMatchObject({ line: 2, column: 8 })
    expect(r.message).toMatch(/syntax/i)
    expect(refused(await checker.check('def f(:\n    pass\n'))).toMatchObject({ line: 1, column: 7 })
    const unclosed = refused(await checker.check('x = (1,\n2\n'))
    // Before 3.10's new parser, python only said 'unexpected EOF' at the end.
    if (!/^3\.[89]\./.test(checker.version)) expect(unclosed).toMatchObject({ line: 1, column: 5, message: "'(' was never closed" })
  })

  it('reports an IndentationError', async () => {
    const r = refused(await checker.check('if ready:\npass\n'))
    expect(r.message).toMatch(/^IndentationError: expected an indented block/)
    expect(r.line).toBe(2)
    expect(refused(await checker.check('a = 1\n    b = 2\n'))).toMatchObject({ message: 'IndentationError: unexpected indent', line: 2 })
  })

  it('refuses a null byte at its place', async () => {
    expect(refused(await checker.check('a = 1\nb\0 = 2\n'))).toEqual({ ok: false, message: 'source code cannot contain null bytes', line: 2, column: 2 })
  })

  it('refuses a lone surrogate instead of failing', async () => {
    const r = refused(await checker.check("x = '\ud800'"))
    expect(r).toMatchObject({ line: 1, column: 6 })
    expect(r.message).toMatch(/surrogate/)
  })

  it('answers absurdly nested code without dying', async () => {
    const pid = checker.pid
    const deep = [
      '('.repeat(100_000) + ')'.repeat(100_000),
      '('.repeat(100_000),
      'a' + '.a'.repeat(100_000),
      'a' + '+a'.repeat(100_000),
      '-'.repeat(100_000) + '1',
      'lambda: '.repeat(100_000) + '0',
    ]
    expect(refused(await checker.check(deep[0])).message).not.toBe('')
    // Which of these the parser refuses depends on the version (3.10 builds the 100,000-deep attribute
    // chain, 3.11 refuses it): each gets an answer, and the process survives.
    for (const code of deep) expect(typeof (await checker.check(code)).ok).toBe('boolean')
    // Deep but within the parser's limits: parsed, and walked without recursion.
    const r = ok(await checker.check('x = a' + '.a'.repeat(1_000) + '\ny = ' + 'b + '.repeat(1_000) + 'b'))
    expect(r.defined).toEqual(['x', 'y'])
    expect(names(r.used)).toEqual(['a', 'b'])
    expect(checker.pid).toBe(pid)
  })

  it('pipelines 500 checks and resolves them in order with the right results', async () => {
    const order: number[] = []
    const all = Array.from({ length: 500 }, (_, i) => checker.check(i % 7 === 3 ? `v${i} = (` : `v${i} = w${i}.x${i}\nv${i}.f()`)
      .then((r) => { order.push(i); return r }))
    const results = await Promise.all(all)
    expect(order).toEqual(Array.from({ length: 500 }, (_, i) => i))
    results.forEach((r, i) => {
      if (i % 7 === 3) expect(r.ok).toBe(false)
      else {
        expect(r).toEqual({
          ok: true,
          defined: [`v${i}`],
          used: [{ name: `w${i}`, line: 1, column: `v${i} = `.length + 1 }, { name: `v${i}`, line: 2, column: 1 }],
          modified: [{ name: `v${i}`, line: 2, column: 1 }],
        })
      }
    })
  })

  it('checks a 1 MB code string, and finds an error at its end', async () => {
    const lines: string[] = []
    for (let i = 0, size = 0; size < 1_000_000; i++) {
      lines.push(`name_${i} = other_${i}.attr['k'] + len("${'x'.repeat(20)}")`)
      size += lines[lines.length - 1].length + 1
    }
    const code = lines.join('\n') + '\n'
    expect(code.length).toBeGreaterThanOrEqual(1_000_000)
    const r = ok(await checker.check(code))
    expect(r.defined).toHaveLength(lines.length)
    expect(r.used).toHaveLength(lines.length + 1)
    expect(r.used.at(-1)).toEqual({ name: `other_${lines.length - 1}`, line: lines.length, column: `name_${lines.length - 1} = `.length + 1 })
    expect(refused(await checker.check(code + 'oops = = 1\n'))).toMatchObject({ line: lines.length + 1, column: 8 })
  })

  it('counts columns in characters, with unicode identifiers', async () => {
    const r = ok(await checker.check("café = 名前 + 1\nπ.x = café\ns = '😀'; t = 𠀀\n"))
    expect(r.defined).toEqual(['café', 's', 't'])
    expect(r.used).toEqual([
      { name: '名前', line: 1, column: 8 },
      { name: 'π', line: 2, column: 1 },
      { name: 'café', line: 2, column: 7 },
      { name: '𠀀', line: 3, column: 14 },
    ])
    expect(r.modified).toEqual([{ name: 'π', line: 2, column: 1 }])
    expect(refused(await checker.check('naïve = 1 +* 2'))).toMatchObject({ line: 1, column: 12 })
  })

  it('defines every kind of module-level binding', async () => {
    const r = ok(await checker.check([
      'import os.path, sys as system',
      'from m import y as z, q',
      'a, (b, *c) = pair',
      'count += 1',
      'ann: int = 3',
      'only_annotated: int',
      'if (w := 5): pass',
      '[late := j for j in k]',
      'def f(p):',
      '    global g',
      '    g = p',
      'class C: pass',
      'for i in items: pass',
      'with open(path) as fh: pass',
      'try: pass',
      'except E as err: pass',
      'del gone',
    ].join('\n')))
    expect(r.defined).toEqual(['os', 'system', 'z', 'q', 'a', 'b', 'c', 'count', 'ann', 'w', 'late', 'f', 'g', 'C', 'i', 'fh', 'err'])
    expect(names(r.used)).toEqual(['pair', 'count', 'int', 'k', 'items', 'open', 'path', 'E'])
    expect(ok(await checker.check('from m import *')).defined).toEqual(['*'])
  })

  it('reports reads that resolve to the module, not to locals, parameters or comprehension variables', async () => {
    const r = ok(await checker.check([
      'x = 1',
      'print(x)',
      'def f(a, b=default):',
      '    loc = a + free_in_f',
      '    return [loc + i for i in b if i > limit]',
      'def outer():',
      '    v = 1',
      '    def inner():',
      '        return v + free_in_inner',
      '    class K:',
      '        cv = v',
      '        def m(self): return cv',
      '    return inner',
      'square = lambda n: n * factor',
    ].join('\n')))
    expect(r.used).toEqual([
      { name: 'print', line: 2, column: 1 },
      { name: 'x', line: 2, column: 7 },
      { name: 'default', line: 3, column: 12 },
      { name: 'free_in_f', line: 4, column: 15 },
      { name: 'limit', line: 5, column: 39 },
      { name: 'free_in_inner', line: 9, column: 20 },
      // A class body's names are invisible to its methods: cv in m is the module's.
      { name: 'cv', line: 12, column: 29 },
      { name: 'factor', line: 14, column: 24 },
    ])
  })

  it('agrees with symtable on which names resolve to the module', async () => {
    const codes = [
      'x = 1\nprint(x)\ndef f(a, b=d):\n    global g\n    g = a + y\n    return len(b)\n',
      '[i for i in range(n) if i > lim]\n{k: v for k, v in pairs.items()}\n(z := 5)\n[w := j for j in k]\n',
      'def o():\n    v = 1\n    def i():\n        nonlocal v\n        v = v + u\n    class C:\n        a = v\n        b = a\n        def m(self): return a, b\n    return [v for _ in C.r]\n',
      'def f():\n    global q\n    def g():\n        return q\n    q = 1\n    return g\n',
      'class A(Base, metaclass=Meta):\n    x = [y for y in src]\n    z = [x for _ in src]\n    @staticmethod\n    def s(arg=x): return arg, x\n',
      'try:\n    import json\nexcept ImportError as e:\n    json = None\nwith ctx() as (p, q):\n    print(e, p)\n',
      'lambda a, *r, k=dk, **kw: (a, r, k, kw, outside)\n',
      'def gen():\n    yield from (t for t in things)\nasync def co():\n    async with L as l:\n        await l\n    async for x in aiter_:\n        pass\n',
    ]
    for (const code of codes) {
      expect(names(ok(await checker.check(code)).used).sort(), code).toEqual(symtableUsed(code))
    }
  })

  it('reports the root names of attribute and subscript stores, deletes and method calls', async () => {
    const r = ok(await checker.check([
      'x.a = 1',
      'y.a.b = 2',
      'zz[0] = 3',
      'del ww.a',
      'vv.ui.add_widget(widget)',
      'foo().bar = 1',
      'qq.get("a").b = 2',
      'arr[0].n += 1',
      'def f(o):',
      '    o.x = 1',
      '    glob.y = 2',
      'x.b = 2',
      'print(len(x))',
    ].join('\n')))
    expect(r.modified).toEqual([
      { name: 'x', line: 1, column: 1 },
      { name: 'y', line: 2, column: 1 },
      { name: 'zz', line: 3, column: 1 },
      { name: 'ww', line: 4, column: 5 },
      { name: 'vv', line: 5, column: 1 },
      { name: 'qq', line: 7, column: 1 },
      { name: 'arr', line: 8, column: 1 },
      { name: 'glob', line: 11, column: 5 },
    ])
  })

  it('pipes checks of every size through the same process without mixing them up', async () => {
    const codes = Array.from({ length: 60 }, (_, i) => i % 3 === 0
      ? `big_${i} = "${'y'.repeat(70_000 + i)}"`
      : `small_${i} = ${i}`)
    const results = await Promise.all(codes.map((c) => checker.check(c)))
    results.forEach((r, i) => expect(ok(r).defined).toEqual([i % 3 === 0 ? `big_${i}` : `small_${i}`]))
  })

  it('does not keep the event loop alive while idle', async () => {
    const pipes = (): number => process.getActiveResourcesInfo().filter((t) => t === 'PipeWrap' || t === 'ProcessWrap').length
    const idle = pipes()
    const pending = checker.check('x = 1')
    expect(pipes()).toBeGreaterThan(idle)
    await pending
    expect(pipes()).toBe(idle)
  })
})

describe.skipIf(!hasPython)('python3 checker lifecycle', () => {
  it('rejects the checks a killed process owed, and the next check starts another', async () => {
    const checker = await PythonChecker.start()
    try {
      const first = checker.pid as number
      const big = 'x = 1\n'.repeat(50_000)
      const inFlight = Array.from({ length: 20 }, () => checker.check(big).then(() => null, (e: unknown) => e))
      process.kill(first, 'SIGKILL')
      const outcomes = await Promise.all(inFlight)
      const errors = outcomes.filter((e) => e !== null)
      expect(errors.length).toBeGreaterThan(0)
      for (const e of errors) {
        expect(e).toBeInstanceOf(UvmError)
        expect((e as UvmError).code).toBe('DATASET_PYTHON')
        expect((e as UvmError).message).toMatch(/signal SIGKILL/)
      }
      expect(ok(await checker.check('after = crash')).defined).toEqual(['after'])
      expect(checker.pid).not.toBe(first)
      expect(alive(first)).toBe(false)
    } finally {
      await checker.close()
    }
  })

  it('names the exit code and the last stderr line, restarts, and gives up on a start-up that fails twice', async () => {
    // A stand-in interpreter: twice it handshakes and then dies on its first request; after that it dies at start-up.
    const dir = await mkdtemp(join(tmpdir(), 'uvm-python-'))
    const fake = join(dir, 'fake-python')
    await writeFile(fake, [
      '#!/usr/bin/env python3',
      'import json, os, sys',
      "state = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'runs')",
      'runs = int(open(state).read()) if os.path.exists(state) else 0',
      "open(state, 'w').write(str(runs + 1))",
      'if runs >= 2:',
      "    sys.stderr.write('cannot start\\n')",
      '    sys.exit(4)',
      "print(json.dumps({'version': '3.99.0', 'builtins': ['print']}), flush=True)",
      'sys.stdin.readline()',
      "sys.stderr.write('some noise\\nFatal Python error: boom\\n\\n')",
      'sys.exit(3)',
    ].join('\n') + '\n')
    await chmod(fake, 0o755)
    const runs = async (): Promise<number> => Number(await readFile(join(dir, 'runs'), 'utf8'))
    const checker = await PythonChecker.start({ python: fake })
    try {
      expect(checker.version).toBe('3.99.0')
      let e = await rejection(checker.check('x = 1'))
      expect(e.code).toBe('DATASET_PYTHON')
      expect(e.message).toMatch(/exit code 3/)
      expect(e.message).toMatch(/last stderr line: Fatal Python error: boom$/)
      // The next check restarts python transparently (and this one dies the same way).
      e = await rejection(checker.check('y = 2'))
      expect(e.message).toMatch(/exit code 3/)
      expect(await runs()).toBe(2)
      e = await rejection(checker.check('z = 3'))
      expect(e.code).toBe('DATASET_PYTHON')
      expect(e.message).toMatch(/died at start-up twice in a row/)
      expect(e.message).toMatch(/exit code 4.*cannot start/)
      expect(await runs()).toBe(4)
      // Broken for good: no more start-up attempts.
      expect((await rejection(checker.check('w = 4'))).message).toMatch(/twice in a row/)
      expect(await runs()).toBe(4)
    } finally {
      await checker.close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('rejects with a hint when the interpreter is missing', async () => {
    const e = await rejection(PythonChecker.start({ python: '/nonexistent/python3' }))
    expect(e.code).toBe('DATASET_PYTHON')
    expect(e.message).toMatch(/^python3 was not found \(install it, e\.g\. apt-get install python3, or set UVM_PYTHON\): .*ENOENT/)
  })

  it('gives up on an interpreter that dies at start-up twice in a row', async () => {
    // node refuses python's -I flag and exits at once: a stand-in for a broken interpreter.
    const e = await rejection(PythonChecker.start({ python: process.execPath }))
    expect(e.code).toBe('DATASET_PYTHON')
    expect(e.message).toMatch(/died at start-up twice in a row/)
    expect(e.message).toMatch(/exit code \d+/)
  })

  it('close() answers what was sent, then leaves no child process', async () => {
    const checker = await PythonChecker.start()
    const pid = checker.pid as number
    expect(alive(pid)).toBe(true)
    const sent = checker.check('last = 1')
    await checker.close()
    expect(ok(await sent).defined).toEqual(['last'])
    expect(alive(pid)).toBe(false)
    expect((await rejection(checker.check('x = 1'))).code).toBe('DATASET_PYTHON')
    await checker.close()
  })
})
