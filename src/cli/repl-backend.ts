import { BridgeClient, WireWriter, resolveTarget, sessionBindings } from '../bridge/index.js'
import type { Reply, Target, TraceFrame } from '../covenant/index.js'
import type { Image, TransactionChanges } from '../image/index.js'
import { changesOf } from './commands/show.js'
import type { HardenedRealm } from '../act/index.js'
import { runAct } from '../act/index.js'
import { explanations } from './jit-status.js'

export interface ActAnswer {
  value: unknown
  /** The act's value was undefined (value is null then). */
  undefined?: boolean
  output: string
  tid?: number | undefined
  explanations?: string[]
}

export interface ActRequest {
  /** The transaction's description (the input as typed). */
  description?: string
  /** The session's names, as wire values. */
  bindings?: Record<string, unknown>
  /** Called once the request is on its way, with a way to stop waiting for it (Ctrl-C). */
  abandon?: (stop: (reason: Error) => void) => void
}

/** What the REPL needs from a UVM: the daemon over the bridge, or an image opened in-process. */
export interface ReplBackend {
  readonly where: string
  act(code: string, req?: ActRequest): Promise<ActAnswer>
  state(target: Target | undefined, depth: number): Promise<unknown>
  history(limit: number): Promise<{ tid: number; time: number; user: string; description: string }[]>
  undo(tid: number): Promise<number | undefined>
  /** What transaction `tid` changed (undefined: no such transaction). */
  show(tid: number): Promise<TransactionChanges | undefined>
  close(): Promise<void>
}

/** A failure to show as one line (the REPL keeps going). `line`/`column`: where in the act. */
export class ReplFailure extends Error {
  /** `trace`: the send trace of the reply; `debugStack`: with --debug, the sandbox's and the daemon's stacks. */
  constructor(message: string, readonly line?: number, readonly column?: number, readonly trace?: TraceFrame[], readonly debugStack?: string) {
    super(message)
  }
}

/**
 * The daemon over the bridge. `reconnect` makes a new client: the daemon answers each client's requests
 * in order, so after Ctrl-C stopped waiting for an act, the next input goes on a new connection
 * instead of queueing behind the act it abandoned.
 */
export function remoteBackend(first: BridgeClient, opts: { actTimeoutMs?: number; watch?: () => { id: string; ready: Promise<void>; stop(): void }; reconnect?: () => Promise<BridgeClient>; debug?: boolean } = {}): ReplBackend {
  let current: Promise<BridgeClient> = Promise.resolve(first)
  const fresh = () => {
    if (opts.reconnect === undefined) return
    const old = current
    current = opts.reconnect()
    void old.then((c) => c.close()).catch(() => {})
  }
  const ok = <E extends Reply['event']>(r: Reply, e: E): Extract<Reply, { event: E }> => {
    if (r.event === 'error') {
      const pos = r.error.line !== undefined && !r.error.message.includes('(line') ? ` (line ${r.error.line}, column ${r.error.column})` : ''
      const output = r.error.output ? `\n${r.error.output.trimEnd()}` : ''
      throw new ReplFailure(`${r.error.code}: ${r.error.message}${pos}${output}`, r.error.line, r.error.column, r.error.trace, r.error.stack)
    }
    return r as Extract<Reply, { event: E }>
  }
  return {
    where: first.endpoint,
    async act(code, req = {}) {
      // The JIT's status line while an LLM works (a daemon with a JIT only).
      const watch = opts.watch?.()
      try {
        await watch?.ready
        const client = await current
        const reply = client.request({
          command: 'run_act',
          code,
          ...(opts.debug === true && { debug: true }),
          ...(req.description !== undefined && { description: req.description }),
          ...(req.bindings !== undefined && { bindings: req.bindings }),
          ...(watch && { id: watch.id }),
        }, opts.actTimeoutMs !== undefined ? { timeoutMs: opts.actTimeoutMs } : {})
        const r = ok(await abandonable(reply, { ...req, ...(req.abandon && { abandon: (stop) => req.abandon!((why) => { fresh(); stop(why) }) }) }), 'result')
        return { value: r.value, undefined: r.undefined === true, output: r.output ?? '', tid: r.tid, explanations: explanations(r) }
      } finally {
        watch?.stop()
      }
    },
    async state(target, depth) {
      return ok(await (await current).request({ command: 'get_full_state', depth, ...(target && { target }) }), 'uvm_state_update').state
    },
    async history(limit) {
      return ok(await (await current).request({ command: 'history', limit }), 'history').transactions
    },
    async undo(tid) {
      return ok(await (await current).request({ command: 'undo', tid }), 'ack').tid
    },
    async show(tid) {
      const r = await (await current).request({ command: 'show', tid })
      if (r.event === 'error' && r.error.uvm_code === 'IMAGE_UNKNOWN_TID') return undefined
      return changesOf(Promise.resolve(ok(r, 'show')))
    },
    close: async () => (await current).close(),
  }
}

export function localBackend(image: Image, realm: HardenedRealm): ReplBackend {
  const wire = <T>(f: (w: WireWriter, tx: ReturnType<Image['begin']>) => T): T => {
    const tx = image.begin()
    try { return f(new WireWriter(tx), tx) } finally { tx.abort() }
  }
  return {
    where: image.location,
    async act(code, req = {}) {
      const r = await abandonable(runAct(image, realm, code, {
        user: 'repl',
        ...(req.description !== undefined && { meta: { description: req.description } }),
        ...(req.bindings !== undefined && { bind: sessionBindings(req.bindings) }),
        // Shown inside the act's transaction, as the daemon does: objects it made and stored nowhere can still be shown.
        present: (tx, v) => (v === undefined ? v : new WireWriter(tx).js(v, 1)),
      }), req)
      return { value: r.value ?? null, undefined: r.value === undefined, output: r.output, tid: r.tid }
    },
    async state(target, depth) {
      return wire((w, tx) => w.object(resolveTarget(tx, target), depth))
    },
    async history(limit) {
      return image.transactions({ limit })
    },
    async show(tid) {
      return image.show(tid)
    },
    async undo(tid) {
      return (await image.undo(tid)).tid
    },
    close: () => image.close(),
  }
}

/** `p`, or the reason it was abandoned with, whichever comes first (the work behind `p` goes on). */
function abandonable<T>(p: Promise<T>, req: ActRequest): Promise<T> {
  if (req.abandon === undefined) return p
  p.catch(() => {}) // abandoned: its end is nobody's business
  return new Promise<T>((resolve, reject) => {
    req.abandon!((reason) => reject(reason))
    p.then(resolve, reject)
  })
}
