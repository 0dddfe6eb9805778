import { randomUUID } from 'node:crypto'
import { BridgeClient, WireWriter, resolveTarget, sessionBindings } from '../bridge/index.js'
import type { CancelReply, Reply, Target, TraceFrame } from '../covenant/index.js'
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
  /** Called once the request is on its way; the function it is given is called on Ctrl-C (the act is cancelled). */
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

/** Ctrl-C while an act runs: the act was cancelled, or the REPL stopped waiting. The message is the line to show. */
export class Cancelled extends Error {
  constructor(message = CANCELLED) {
    super(message)
  }
}

const CANCELLED = '! cancelled: the act was stopped; nothing it did was committed'

/** What the daemon's answer to a cancel means, as the REPL says it. */
function cancelledText(r: Reply): string {
  if (r.event !== 'cancel') return `! cancelled: the REPL stopped waiting, but the daemon refused the cancel (${r.event === 'error' ? `${r.error.code}: ${r.error.message}` : r.event}): the act may still run, and commits if it finishes`
  const c = r as CancelReply
  switch (c.outcome) {
    case 'cancelled': return CANCELLED
    case 'finished': return `! too late to cancel: the act had finished${c.tid !== undefined ? ` and committed (transaction ${c.tid}: .undo ${c.tid} takes it back)` : ', writing nothing'}`
    case 'failed': return `! too late to cancel: the act had failed (${c.code}); nothing it did was committed`
    case 'not_running': return '! too late to cancel: the act had ended (.history shows whether it committed)'
  }
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
 * in order, so on Ctrl-C the cancel and the inputs after it go on a new connection instead of queueing
 * behind the act it cancels.
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
        // What a cancel from the next connection names it by: a secret, so that only this REPL can (docs/REPL.md).
        const key = randomUUID()
        const reply = client.request({
          command: 'run_act',
          code,
          ...(opts.debug === true && { debug: true }),
          ...(req.description !== undefined && { description: req.description }),
          ...(req.bindings !== undefined && { bindings: req.bindings }),
          cancel_key: key,
          ...(watch && { id: watch.id }),
        }, opts.actTimeoutMs !== undefined ? { timeoutMs: opts.actTimeoutMs } : {})
        const r = ok(await cancellable(reply, req, async () => {
          // The daemon answers this connection's requests in order: the cancel, and what follows, go on a new one.
          fresh()
          try {
            return cancelledText(await (await current).request({ command: 'cancel', key }, { timeoutMs: 10_000 }))
          } catch (e) {
            return `! cancelled: the REPL stopped waiting, but the cancel got no answer (${(e as Error).message}): the act may still run, and commits if it finishes`
          }
        }), 'result')
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

/**
 * `p`, unless Ctrl-C comes first (`req.abandon`): then `cancel` asks for the act to stop, and what it
 * says is the Cancelled error this rejects with. The old connection's end of `p` is nobody's business.
 */
function cancellable<T>(p: Promise<T>, req: ActRequest, cancel: () => Promise<string>): Promise<T> {
  if (req.abandon === undefined) return p
  return new Promise<T>((resolve, reject) => {
    let cancelling = false
    p.then((v) => { if (!cancelling) resolve(v) }, (e: unknown) => { if (!cancelling) reject(e) })
    req.abandon!(() => {
      if (cancelling) return
      cancelling = true
      void cancel().then((text) => reject(new Cancelled(text)))
    })
  })
}

export function localBackend(image: Image, realm: HardenedRealm): ReplBackend {
  let tags = 0
  const wire = <T>(f: (w: WireWriter, tx: ReturnType<Image['begin']>) => T): T => {
    const tx = image.begin()
    try { return f(new WireWriter(tx), tx) } finally { tx.abort() }
  }
  return {
    where: image.location,
    async act(code, req = {}) {
      // In this process a loop holds the thread Ctrl-C would be seen on; an act that awaits can be reached.
      const tag = ++tags
      const r = await abandonable(runAct(image, realm, code, {
        user: 'repl',
        tag,
        ...(req.description !== undefined && { meta: { description: req.description } }),
        ...(req.bindings !== undefined && { bind: sessionBindings(req.bindings) }),
        // Shown inside the act's transaction, as the daemon does: objects it made and stored nowhere can still be shown.
        present: (tx, v) => (v === undefined ? v : new WireWriter(tx).js(v, 1)),
      }), { ...req, ...(req.abandon && { abandon: (stop) => req.abandon!((why) => { realm.cancel(tag); stop(why) }) }) })
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

/** `p`, or the reason it was abandoned with, whichever comes first. */
function abandonable<T>(p: Promise<T>, req: ActRequest): Promise<T> {
  if (req.abandon === undefined) return p
  p.catch(() => {}) // abandoned: its end is nobody's business
  return new Promise<T>((resolve, reject) => {
    req.abandon!((reason) => reject(reason))
    p.then(resolve, reject)
  })
}
