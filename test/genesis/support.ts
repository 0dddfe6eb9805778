// Chapter tests: replay the curriculum (all of it, or up to a chapter) into a memory-level image with
// the daemon's capabilities, then drive the chapter's objects by message sends, as acts.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openImage } from '../../src/index.js'
import type { Image } from '../../src/image/index.js'
import type { HardenedRealm } from '../../src/act/index.js'
import { runAct } from '../../src/act/index.js'
import { LocalBackend } from '../../src/bridge/index.js'
import { standardCapabilities } from '../../src/daemon/index.js'
import type { HardwareProfile } from '../../src/daemon/index.js'
import { setUpJit } from '../../src/jit/index.js'
import { Curriculum, replayCurriculum } from '../../src/genesis/index.js'
import { memoryDb } from '../support/images.js'

export interface CurriculumWorld {
  image: Image
  realm: HardenedRealm
  curriculum: Curriculum
  forgeDir: string
  /** Run an act with every capability (and llm when `llmUrl` was given); answers its value. */
  run(code: string): Promise<unknown>
  dispose(): Promise<void>
}

/** A fresh image with chapters 1..`to` replayed (default: all), and a `run` that drives it. */
export async function curriculumWorld(opts: { to?: number; llmUrl?: string; profile?: HardwareProfile } = {}): Promise<CurriculumWorld> {
  const curriculum = Curriculum.load()
  const { image, realm } = await openImage(memoryDb())
  const forgeDir = await mkdtemp(join(tmpdir(), 'uvm-forge-'))
  let backend: LocalBackend | undefined
  const caps = standardCapabilities(realm, image.kernel, () => backend!, { forgeDir, ...(opts.profile && { profile: opts.profile }) })
  const jit = setUpJit(image, realm, { ...(opts.llmUrl !== undefined && { url: opts.llmUrl }), capabilities: () => caps() })
  backend = new LocalBackend(image, realm, { run: jit.run, cem: jit.cem })
  await replayCurriculum(image, realm, curriculum, { to: opts.to ?? Infinity, capabilities: caps() })
  return {
    image,
    realm,
    curriculum,
    forgeDir,
    run: async (code) => (await jit.run(code, {}, {})).value,
    dispose: async () => { jit.stop(); await image.close(); await rm(forgeDir, { recursive: true, force: true }) },
  }
}

/** Just run code against a bare image with the capabilities: for trying acts before a chapter file exists. */
export async function bareWorld(): Promise<{ image: Image; realm: HardenedRealm; run(code: string): Promise<unknown>; dispose(): Promise<void> }> {
  const { image, realm } = await openImage(memoryDb())
  let backend: LocalBackend | undefined
  const caps = standardCapabilities(realm, image.kernel, () => backend!, {})
  backend = new LocalBackend(image, realm)
  return { image, realm, run: async (code) => (await runAct(image, realm, code, { capabilities: caps() })).value, dispose: () => image.close() }
}
