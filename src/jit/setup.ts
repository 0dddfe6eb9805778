import type { ActOptions, HardenedRealm } from '../act/index.js'
import type { Image } from '../image/index.js'
import type { CemReply, JitEvent } from '../covenant/index.js'
import { llmCapability } from './capability.js'
import { LlmClient } from './client.js'
import { IdleLoop } from './idle.js'
import type { CycleContext } from './jit.js'
import { Jit } from './jit.js'
import { WEIGHTS_SLOT, imageCem } from './metric.js'
import { DEFAULT_CEM_WEIGHTS } from './cem.js'
import type { Compiler, JitActResult } from './runner.js'
import { runWithJit } from './runner.js'
import type { Example } from './prompt/index.js'
import type { Need } from '../kernel/index.js'

/** How the daemon configures its JIT (uvm boot's --llm-* flags and UVM_LLM_* variables). */
export interface JitConfig {
  /** The OpenAI-compatible server (vLLM, Ollama, llama.cpp, a hosted API); absent: no JIT. */
  url?: string | undefined
  model?: string | undefined
  /** Sent as a Bearer token; never logged, recorded in the image, or visible to acts. */
  key?: string | undefined
  maxAttempts?: number | undefined
  timeoutMs?: number | undefined
  maxInFlight?: number | undefined
  maxTokens?: number | undefined
  budgetTokens?: number | undefined
  /** The idle loop: inquire after this long without a request (absent or 0: off). */
  idleAfterMs?: number | undefined
  cemThreshold?: number | undefined
  cpuTimeoutMs?: number | undefined
  wallTimeoutMs?: number | undefined
  examples?: Example[] | ((need: Need) => Example[]) | undefined
  /** What answers a DNU when no LLM is configured (the curriculum JIT, src/genesis). */
  fallback?: Compiler | undefined
  /** Capabilities every act is granted besides `llm` (bridge, forge, system, handoff), for a writable or read-only request. */
  capabilities?: ((context: { readOnly?: boolean | undefined }) => Record<string, unknown>) | undefined
}

/** What a daemon without an LLM says when a message is not understood. */
export const NO_LLM_HINT = 'no LLM is configured to compile it: start the daemon with --llm-url URL or UVM_LLM_URL, e.g. vLLM http://127.0.0.1:8000, Ollama http://127.0.0.1:11434, llama.cpp http://127.0.0.1:8080'

/** The JIT wired for a backend: how acts run, the metric, the events, the idle loop. */
export interface JitSetup {
  readonly jit: Jit | undefined
  readonly client: LlmClient | undefined
  /** What ping says of the JIT. */
  readonly info: { server: string; model?: string } | undefined
  run(code: string, opts: ActOptions, context: CycleContext): Promise<JitActResult>
  cem(): Promise<CemReply>
  onEvent(listener: (e: JitEvent) => void): () => void
  /**
   * Write the CEM's default weights into the image (the Genesis Object's cemWeights slot) when a JIT is
   * configured and the image has none, so that they are there to be changed. Not on a read-only daemon.
   */
  storeWeights(): Promise<void>
  stop(): void
}

export function setUpJit(image: Image, realm: HardenedRealm, cfg: JitConfig = {}): JitSetup {
  const listeners = new Set<(e: JitEvent) => void>()
  const emit = (e: JitEvent) => { for (const l of listeners) l(e) }
  let client: LlmClient | undefined
  let jit: Jit | undefined
  if (cfg.url === undefined || cfg.url === '') {
    image.kernel.dnuHint = NO_LLM_HINT
    if (cfg.fallback !== undefined) cfg.fallback.onEvent?.(emit)
  } else {
    client = new LlmClient({
      url: cfg.url,
      ...(cfg.model !== undefined && { model: cfg.model }),
      ...(cfg.key !== undefined && { key: cfg.key }),
      ...(cfg.maxInFlight !== undefined && { maxInFlight: cfg.maxInFlight }),
      ...(cfg.timeoutMs !== undefined && { timeoutMs: cfg.timeoutMs }),
      ...(cfg.maxTokens !== undefined && { maxTokens: cfg.maxTokens }),
    })
    jit = new Jit(image, realm, {
      client,
      ...(cfg.maxAttempts !== undefined && { maxAttempts: cfg.maxAttempts }),
      ...(cfg.budgetTokens !== undefined && { budgetTokens: cfg.budgetTokens }),
      ...(cfg.examples !== undefined && { examples: cfg.examples }),
      cpuTimeoutMs: cfg.cpuTimeoutMs,
      wallTimeoutMs: cfg.wallTimeoutMs,
      onEvent: emit,
    })
  }
  // One capability for every act (frozen: see serviceObject).
  const llm = client === undefined ? undefined : llmCapability(realm, client)
  const idle = jit !== undefined && cfg.idleAfterMs !== undefined && cfg.idleAfterMs > 0
    ? new IdleLoop(jit, image, { idleAfterMs: cfg.idleAfterMs, ...(cfg.cemThreshold !== undefined && { threshold: cfg.cemThreshold }) })
    : undefined
  idle?.start()
  return {
    jit,
    client,
    info: client === undefined ? undefined : { server: client.server, ...(cfg.model !== undefined && { model: cfg.model }) },
    run(code, opts, context) {
      idle?.activity()
      const granted = { ...cfg.capabilities?.(context), ...(llm !== undefined && { llm }), ...opts.capabilities }
      return runWithJit(jit ?? cfg.fallback, image, realm, code, Object.keys(granted).length === 0 ? opts : { ...opts, capabilities: granted }, context)
    },
    async cem() {
      idle?.activity()
      return { event: 'cem', ...await imageCem(image) }
    },
    onEvent(listener) {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    },
    async storeWeights() {
      if (jit === undefined) return
      await image.transact((tx) => {
        if (tx.read(tx.objectOf(tx.genesis)).slots.has(WEIGHTS_SLOT)) return
        tx.genesis[WEIGHTS_SLOT] = { ...DEFAULT_CEM_WEIGHTS }
      }, { meta: { description: `${WEIGHTS_SLOT}: the Composite Entropy Metric's default weights`, user: 'uvm-jit' } })
    },
    stop() { idle?.stop() },
  }
}
