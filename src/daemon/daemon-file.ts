/**
 * The file a running daemon keeps in its image folder, saying how to reach it: the image commands
 * (`uvm history`, `undo`, `check`, `export`, `pack`) find the daemon that holds an image from the
 * image alone. Written once the daemon serves, removed when it stops; a daemon killed with SIGKILL
 * leaves it behind, so a reader checks that its process still runs (and the image's lock, which
 * only a live process holds, decides in the end).
 */
import { readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'

export const DAEMON_FILE = 'uvm-daemon.json'

export const DaemonFile = z.object({
  pid: z.number().int(),
  version: z.string(),
  commands: z.string(),
  events: z.string(),
  secure: z.boolean(),
  read_only: z.boolean().optional(),
  readers: z.object({ commands: z.string(), events: z.string() }).optional(),
  started: z.string(),
})
export type DaemonFile = z.infer<typeof DaemonFile>

/** Write it atomically (a reader never sees half of it). Returns what went wrong, if anything: the daemon serves on without it. */
export function writeDaemonFile(image: string, file: DaemonFile): string | undefined {
  const path = join(image, DAEMON_FILE)
  try {
    writeFileSync(path + '.tmp', JSON.stringify(file, null, 2) + '\n')
    renameSync(path + '.tmp', path)
    return undefined
  } catch (e) {
    return (e as Error).message
  }
}

/** Remove it, if it is still this process's. */
export function removeDaemonFile(image: string, pid = process.pid): void {
  if (readDaemonFile(image, { live: false })?.pid !== pid) return
  rmSync(join(image, DAEMON_FILE), { force: true })
}

/** The daemon serving `image`, when its file is there and (with `live`, the default) its process runs. */
export function readDaemonFile(image: string, opts: { live?: boolean } = {}): DaemonFile | undefined {
  let raw: string
  try {
    raw = readFileSync(join(image, DAEMON_FILE), 'utf8')
  } catch {
    return undefined
  }
  let parsed
  try { parsed = DaemonFile.safeParse(JSON.parse(raw)) } catch { return undefined }
  if (!parsed.success) return undefined
  if (opts.live !== false && !processRuns(parsed.data.pid, Date.parse(parsed.data.started))) return undefined
  return parsed.data
}

/** Whether `pid` runs, and (where /proc tells) began before `since`: a process begun later only reuses a dead daemon's pid. */
function processRuns(pid: number, since: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (e) {
    if ((e as { code?: string }).code !== 'EPERM') return false
  }
  const began = startTime(pid)
  return began === undefined || Number.isNaN(since) || began <= since + 1000
}

/** When a process began, in ms since the epoch (Linux; undefined elsewhere). */
function startTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19])
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1])
    // USER_HZ is 100 on every Linux that node runs on.
    return Number.isFinite(ticks) && Number.isFinite(btime) ? btime * 1000 + ticks * 10 : undefined
  } catch {
    return undefined
  }
}

