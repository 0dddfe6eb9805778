import { realpathSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { HardenedRealm } from '../act/index.js'
import { LocalBackend } from '../bridge/index.js'
import type { Image } from '../image/index.js'
import type { JitConfig, JitSetup } from '../jit/index.js'
import { setUpJit } from '../jit/index.js'
import { Curriculum, CurriculumCompiler, ExampleIndex, replayCurriculum } from '../genesis/index.js'
import type { CurriculumProgress } from '../genesis/index.js'
import type { CapabilityConfig } from './capabilities.js'
import { standardCapabilities } from './capabilities.js'

/** What a daemon serves an image with (set up the same way in the execution unit and in-process). */
export interface ServiceOptions {
  version: string
  cpuTimeoutMs?: number | undefined
  wallTimeoutMs?: number | undefined
  /** The LLM (no url: the curriculum JIT, when there is a curriculum). */
  jit?: Omit<JitConfig, 'examples' | 'fallback' | 'capabilities'> | undefined
  /** The curriculum folder (default: the one that ships, genesis/); null: none. */
  curriculumDir?: string | null | undefined
  capabilities?: CapabilityConfig | undefined
  /** Served read-only: nothing is written at open. */
  readOnly?: boolean | undefined
  /** Replay the curriculum's missing conversations before serving (uvm boot --genesis). */
  genesis?: { from?: number; to?: number; onProgress?: (p: CurriculumProgress) => void } | undefined
}

export interface Services {
  backend: LocalBackend
  jit: JitSetup
  curriculum: Curriculum | undefined
  /** The capabilities acts are granted (the same set the daemon grants), for a writable or read-only request. */
  capabilities: (context?: { readOnly?: boolean | undefined }) => Record<string, unknown>
  genesis?: { replayed: number; skipped: number; turns: number; ms: number } | undefined
  /** What went wrong without stopping the daemon (to log). */
  warnings: string[]
}

/** Where forge jobs go by default: a folder beside the image folder. */
export function defaultForgeDir(imagePath: string): string {
  return join(dirname(imagePath), 'forge-jobs')
}

/**
 * The JIT (an LLM's, or the curriculum's when none is configured), the capabilities every act is
 * granted (bridge, forge, system, handoff, and llm), and the backend that answers the covenant.
 */
export async function startServices(image: Image, realm: HardenedRealm, o: ServiceOptions): Promise<Services> {
  const curriculum = o.curriculumDir === null ? undefined : Curriculum.load(o.curriculumDir ?? undefined)
  let backend: LocalBackend | undefined
  const caps = standardCapabilities(realm, image.kernel, () => backend!, o.capabilities ?? {})
  const limits = { cpuTimeoutMs: o.cpuTimeoutMs, wallTimeoutMs: o.wallTimeoutMs }
  const index = curriculum !== undefined ? new ExampleIndex(curriculum) : undefined
  const jit = setUpJit(image, realm, {
    ...o.jit,
    ...limits,
    capabilities: caps,
    ...(curriculum !== undefined && { fallback: new CurriculumCompiler(image, realm, curriculum, { capabilities: () => caps({}), ...limits }) }),
    ...(index !== undefined && { examples: (need) => index.forNeed(need) }),
  })
  backend = new LocalBackend(image, realm, { version: o.version, ...limits, run: jit.run, cem: jit.cem, jitInfo: jit.info ?? (curriculum !== undefined ? { server: 'curriculum' } : undefined), imagePath: realFolder(image.location), events: (l) => jit.onEvent(l) })
  const warnings: string[] = []
  if (o.readOnly !== true) await jit.storeWeights().catch((e: unknown) => { warnings.push(`the CEM's default weights were not stored: ${(e as Error).message}`) })
  let genesis: Services['genesis']
  if (o.genesis !== undefined && curriculum !== undefined && o.readOnly !== true) {
    const t0 = performance.now()
    const r = await replayCurriculum(image, realm, curriculum, { ...o.genesis, ...limits, capabilities: caps({}) })
    genesis = { ...r, ms: performance.now() - t0 }
  }
  return { backend, jit, curriculum, capabilities: caps, genesis, warnings }
}

/** The real path of the image's folder (undefined: a memory image, or one whose folder is gone). */
function realFolder(location: string): string | undefined {
  try { return realpathSync(location) } catch { return undefined }
}
