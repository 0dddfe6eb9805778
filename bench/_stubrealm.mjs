// TEMPORARY: a JS transcription of scratch/stubrealm.ts, used only while
// src/act/realm.ts (HardenedRealm) is not built. No watchdog: invoke is a plain apply.
import vm from 'node:vm'
export function stubRealm() {
  const ctx = vm.createContext({})
  const g = vm.runInContext('globalThis', ctx)
  const mk = vm.runInContext('(impl) => function (...a) { return impl(this, a) }', ctx)
  const fns = new WeakSet()
  return {
    depth: 0,
    compileMethod(src) {
      const body = /^\s*(async\s+)?(function\b|\(|[A-Za-z_$][\w$]*\s*=>)/.test(src) ? `(SRC).apply(self, args)`.replace('SRC', src) : null
      const f = body ? vm.runInContext(`(function(self, ...args){ return ${body} })`, ctx) : vm.runInContext(`(function(self, ...args){ ${src} })`, ctx)
      fns.add(f); return f
    },
    invoke(fn, t, args) { return fn.apply(t, args) },
    hostFunction(name, impl) { const f = mk(impl); fns.add(f); return f },
    newArray(items = []) { const a = new g.Array(); for (const x of items) a.push(x); return a },
    newObject() { return new g.Object() },
    copyBytes(b) { return new g.Uint8Array(b) },
    arrayPrototype: g.Array.prototype, objectPrototype: g.Object.prototype,
    toRealmError(e) { return e },
    isRealmFunction(v) { return fns.has(v) },
  }
}
