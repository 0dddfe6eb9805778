import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { cpus, freemem, totalmem } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import type { HardenedRealm } from '../act/index.js'
import { hostData, realmData, serviceObject } from '../act/index.js'
import { UvmError } from '../errors.js'
import type { Kernel } from '../kernel/index.js'
import { bridgeCapability } from '../bridge/index.js'
import type { Backend } from '../bridge/index.js'

/** What `system.profile()` answers: the host as the image's SystemMonitor sees it. */
export const HardwareProfile = z.object({
  memory: z.object({ totalMb: z.number(), freeMb: z.number() }),
  cpus: z.object({ count: z.number().int(), model: z.string() }),
  gpus: z.array(z.object({ name: z.string(), vramMb: z.number(), usedMb: z.number() })),
})
export type HardwareProfile = z.infer<typeof HardwareProfile>

/** nvidia-smi's view of the GPUs, or none when it is not there (or does not answer in 3 s). */
function nvidiaGpus(): Promise<HardwareProfile['gpus']> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', ['--query-gpu=name,memory.total,memory.used', '--format=csv,noheader,nounits'], { timeout: 3000 }, (err, stdout) => {
      if (err) { resolve([]); return }
      resolve(stdout.trim().split('\n').filter((l) => l.trim()).map((l) => {
        const [name, total, used] = l.split(',').map((x) => x.trim())
        return { name: name ?? 'GPU', vramMb: Number(total) || 0, usedMb: Number(used) || 0 }
      }))
    })
  })
}

/** The host's hardware now, or a profile read from a JSON file (UVM_SYSTEM_PROFILE: for tests and rehearsals). */
export async function readProfile(file?: string): Promise<HardwareProfile> {
  if (file !== undefined && file !== '') {
    let json: unknown
    try { json = JSON.parse(await readFile(file, 'utf8')) } catch (e) { throw new UvmError('CAPABILITY_UNAVAILABLE', `the hardware profile ${file} cannot be read: ${(e as Error).message}`) }
    const p = HardwareProfile.safeParse(json)
    if (!p.success) throw new UvmError('CAPABILITY_UNAVAILABLE', `the hardware profile ${file} is not {memory: {totalMb, freeMb}, cpus: {count, model}, gpus: [{name, vramMb, usedMb}]}: ${p.error.issues[0]!.message}`)
    return p.data
  }
  const c = cpus()
  return { memory: { totalMb: Math.round(totalmem() / 1048576), freeMb: Math.round(freemem() / 1048576) }, cpus: { count: c.length, model: c[0]?.model ?? 'unknown' }, gpus: await nvidiaGpus() }
}

/** The read-only `system` capability: memory, CPUs and GPUs (nvidia-smi when present). Nothing on it changes the host. */
export function systemCapability(realm: HardenedRealm, opts: { profile?: HardwareProfile | undefined; profileFile?: string | undefined } = {}): Record<string, unknown> {
  const read = () => (opts.profile !== undefined ? Promise.resolve(opts.profile) : readProfile(opts.profileFile))
  return serviceObject(realm, {
    profile: () => read().then((p) => realmData(realm, p)),
    memory: () => read().then((p) => realmData(realm, p.memory)),
    cpus: () => read().then((p) => realmData(realm, p.cpus)),
    gpus: () => read().then((p) => realmData(realm, p.gpus)),
  })
}

/** A fine-tuning job for UnslothForge (seed 000, chapter 5), as the `forge` capability takes it. */
export const ForgeJob = z.object({
  facet_id: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only (it names a folder)'),
  base_model: z.string().min(1),
  dataset: z.array(z.record(z.string(), z.unknown())).min(1).describe('conversations in the seeds\' JSONL format'),
  chat_template: z.string().min(1),
  lora_r: z.number().int().positive(),
  lora_alpha: z.number().int().positive(),
  epochs: z.number().int().positive(),
}).loose()
export type ForgeJob = z.infer<typeof ForgeJob>

/**
 * The `forge` capability: hands a fine-tuning job to UnslothForge outside the image. It writes
 * `<dir>/<job_id>/job.json` and `dataset.jsonl`, or posts the job to a configured endpoint. The image
 * keeps only the job's description; training happens elsewhere.
 */
export function forgeCapability(realm: HardenedRealm, kernel: Kernel, opts: { dir?: string | undefined; url?: string | undefined }): Record<string, unknown> {
  return serviceObject(realm, {
    submit: async ([job]) => {
      const parsed = ForgeJob.safeParse(hostData(kernel, job, 'job'))
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!
        throw new UvmError('ACT_FAILED', `forge.submit: the job's ${issue.path.join('.') || 'shape'} is wrong: ${issue.message} (a job is {facet_id, base_model, dataset: [conversations], chat_template, lora_r, lora_alpha, epochs})`)
      }
      const j = parsed.data
      const jobId = `${j.facet_id}-${randomUUID().slice(0, 8)}`
      const jsonl = j.dataset.map((c) => JSON.stringify(c)).join('\n') + '\n'
      if (opts.url !== undefined) {
        const res = await fetch(opts.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job_id: jobId, ...j, dataset_jsonl: jsonl }), signal: AbortSignal.timeout(30_000) })
          .catch((e: unknown) => { throw new UvmError('CAPABILITY_UNAVAILABLE', `forge: the endpoint ${opts.url} did not answer: ${(e as Error).message}`) })
        if (!res.ok) throw new UvmError('CAPABILITY_UNAVAILABLE', `forge: the endpoint ${opts.url} answered ${res.status}`)
        return realmData(realm, { job_id: jobId, status: 'submitted', url: opts.url, examples: j.dataset.length })
      }
      if (opts.dir === undefined) throw new UvmError('CAPABILITY_UNAVAILABLE', 'forge: no jobs folder or endpoint is configured (uvm boot --forge-dir DIR or --forge-url URL)')
      const dir = join(opts.dir, jobId)
      await mkdir(dir, { recursive: true })
      const { dataset: _d, ...spec } = j
      await writeFile(join(dir, 'job.json'), JSON.stringify({ job_id: jobId, ...spec, dataset: 'dataset.jsonl', examples: j.dataset.length }, null, 2) + '\n')
      await writeFile(join(dir, 'dataset.jsonl'), jsonl)
      return realmData(realm, { job_id: jobId, status: 'queued', path: dir, examples: j.dataset.length })
    },
  })
}

/**
 * The `handoff` capability (seed 000's Ship of Theseus: spawn a clone process, install, validate
 * against the image, hand over). The live handoff arrives with the reliability issue; until then
 * every step says plainly that it is unavailable, and `available` is false.
 */
export function handoffCapability(realm: HardenedRealm): Record<string, unknown> {
  const unavailable = (step: string) => () => {
    throw new UvmError('CAPABILITY_UNAVAILABLE', `handoff.${step}: the live handoff (spawn a clone process, install, validate, hand over) is not available in this UVM yet; it arrives with the reliability issue`)
  }
  return serviceObject(realm, { spawn: unavailable('spawn'), install: unavailable('install'), validate: unavailable('validate'), handOver: unavailable('handOver') }, { available: false })
}

export interface CapabilityConfig {
  /** Where forge jobs are written (default: none; the daemon puts them beside the image). */
  forgeDir?: string | undefined
  forgeUrl?: string | undefined
  /** A hardware profile file for `system` (UVM_SYSTEM_PROFILE), instead of reading the host. */
  systemProfile?: string | undefined
  profile?: HardwareProfile | undefined
}

/**
 * The capabilities every act of the daemon is granted besides `llm`: bridge, forge, system, handoff
 * (one set for writable requests, one for read-only ones, whose bridge is read-only too). Built once:
 * each is a frozen realm object.
 */
export function standardCapabilities(realm: HardenedRealm, kernel: Kernel, backend: () => Backend, cfg: CapabilityConfig): (context?: { readOnly?: boolean | undefined }) => Record<string, unknown> {
  const common = {
    forge: forgeCapability(realm, kernel, { dir: cfg.forgeDir, url: cfg.forgeUrl }),
    system: systemCapability(realm, { profile: cfg.profile, profileFile: cfg.systemProfile }),
    handoff: handoffCapability(realm),
  }
  const writable = { ...common, bridge: bridgeCapability(realm, kernel, backend, { readOnly: false }) }
  const readOnly = { ...common, bridge: bridgeCapability(realm, kernel, backend, { readOnly: true }) }
  return (context) => (context?.readOnly === true ? readOnly : writable)
}
