/**
 * How an image command reaches its image: through the daemon that holds it (named by --connect, or
 * found by the daemon file in the image folder), or by opening the folder itself when no daemon
 * serves it. A folder held by a process that is no daemon we can find is refused, naming the process.
 */
import { readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Image } from '../image/index.js'
import type { HardenedRealm } from '../act/index.js'
import type { BridgeClient } from '../bridge/index.js'
import { UvmError } from '../errors.js'
import { connect } from './connect.js'
import type { Io } from './usage.js'
import { UsageError } from './usage.js'

export const accessOptions = {
  image: { type: 'string' },
  connect: { type: 'string' },
  keys: { type: 'string' },
  timeout: { type: 'string' },
} as const

export const accessHelp: [string, string][] = [
  ['--image PATH', 'the image folder (env UVM_IMAGE; default ./image.db); when a daemon serves it, the command goes through that daemon'],
  ['--connect ADDR', 'go through the daemon at this command address instead (e.g. tcp://127.0.0.1:5555)'],
  ['--keys DIR', 'CURVE keys folder for a daemon bound beyond loopback (env UVM_KEYS)'],
  ['--timeout MS', 'through a daemon: give up after this long without a reply'],
]

export interface AccessValues { image?: string | undefined; connect?: string | undefined; keys?: string | undefined; timeout?: string | undefined }

/** The image's folder: --image, UVM_IMAGE, or ./image.db. */
export function imagePath(values: { image?: string | undefined }, io: Io): string {
  return resolve(values.image ?? io.env.UVM_IMAGE ?? './image.db')
}

/**
 * Run the command on the image: `remote` through its daemon when one serves it, `local` on the
 * opened folder otherwise. `timeoutMs`: the default wait for a daemon's reply.
 */
export async function withImageAccess<T>(values: AccessValues, io: Io, command: string, timeoutMs: number,
  local: (image: Image) => Promise<T>, remote: (client: BridgeClient) => Promise<T>): Promise<T> {
  if (values.connect !== undefined) {
    if (values.image !== undefined) throw new UsageError('give --image (the folder) or --connect (its daemon), not both', command)
    return through(values, io, command, timeoutMs, values.connect, remote)
  }
  const path = imagePath(values, io)
  // Loaded here, not at the top: `uvm --help` must not pay for the image and the daemon.
  const { readDaemonFile, DAEMON_FILE } = await import('../daemon/index.js')
  if (await existingImage(path, command) === false) throw new UsageError(`no image at ${path} (\`uvm boot\` creates one)`, command)
  const daemon = readDaemonFile(path)
  if (daemon !== undefined) {
    if (daemon.secure && (values.keys ?? io.env.UVM_KEYS) === undefined) {
      throw new UsageError(`${path} is served by the daemon with pid ${daemon.pid} at ${daemon.commands}, which requires CURVE: give --keys DIR (or UVM_KEYS) with a client key`, command)
    }
    // A daemon killed with SIGKILL whose pid was reused, or a copied folder, leaves a file naming an
    // address where nothing listens, or another image's daemon: ask first, so a command neither
    // waits out its timeout nor runs on the wrong image.
    const { probeEndpoint, isLoopback } = await import('../endpoint/index.js')
    const probe = await probeEndpoint(daemon.commands, isLoopback(daemon.commands) ? 1000 : 3000)
    const stale = async (why: string, cause: Error): Promise<T> => {
      const opened = await openLocal(path, command).catch((e: unknown) => {
        throw e instanceof UvmError && e.code === 'IMAGE_IN_USE' ? new UvmError('IMAGE_IN_USE', `${join(path, DAEMON_FILE)} is stale (${why}), and another process holds the image: ${(e as Error).message}`, { path }) : cause
      })
      io.err(`uvm ${command}: ignoring the stale ${join(path, DAEMON_FILE)} (${why}); opening the image here`)
      return onLocal(opened.image, local)
    }
    if (probe.kind === 'nothing') {
      return stale(`nothing listens at ${daemon.commands}: ${probe.reason}`, new UvmError('BRIDGE_UNREACHABLE', `nothing listening at ${daemon.commands} (${probe.reason}), where ${join(path, DAEMON_FILE)} says the daemon of ${path} is`))
    }
    try {
      return await through(values, io, command, timeoutMs, daemon.commands, remote, realFolder(path))
    } catch (e) {
      // Nothing answered where the file says. The image's lock decides: free, the command runs here.
      if (e instanceof OtherImage) return stale(e.message, e)
      if (!(e instanceof NoAnswer)) throw e
      const opened = await openLocal(path, command).catch(() => { throw e })
      return onLocal(opened.image, local)
    }
  }
  return onLocal((await openLocal(path, command)).image, local)
}

async function onLocal<T>(image: Image, local: (image: Image) => Promise<T>): Promise<T> {
  try {
    return await local(image)
  } finally {
    await image.close()
  }
}

/** A daemon that did not answer in time. */
class NoAnswer extends Error {}

/** The daemon a folder's daemon file names serves another image folder. */
class OtherImage extends Error {}

/** How long the check that a daemon serves the folder waits for its pong (pings are answered at once, even while it is busy). */
const PING_MS = 5_000

/**
 * Through the daemon at `endpoint`; with `folder` (the real path of the image folder whose daemon
 * file named it), first its pong must name that folder (older daemons name none, and are trusted).
 */
async function through<T>(values: AccessValues, io: Io, command: string, timeoutMs: number, endpoint: string, remote: (client: BridgeClient) => Promise<T>, folder?: string): Promise<T> {
  const client = await connect({ connect: endpoint, ...(values.keys !== undefined && { keys: values.keys }), timeout: values.timeout ?? String(timeoutMs) }, io, command)
  try {
    if (folder !== undefined) {
      const pong = await client.call({ command: 'ping' }, 'pong', { timeoutMs: Math.min(PING_MS, timeoutMs) })
      if (pong.image !== undefined && pong.image !== folder) throw new OtherImage(`the daemon at ${endpoint} serves ${pong.image}, not ${folder}`)
    }
    return await remote(client)
  } catch (e) {
    const { BridgeError } = await import('../bridge/index.js')
    if (e instanceof BridgeError && e.code === 'timeout') throw new NoAnswer(`${e.message}: the daemon at ${endpoint} did not answer ${command}${values.timeout === undefined ? ' (--timeout MS waits longer)' : ''}`)
    throw e
  } finally {
    await client.close()
  }
}

function realFolder(path: string): string {
  try { return realpathSync(path) } catch { return path }
}

/** Whether `path` holds an image (false: nothing there yet); a folder that is something else is refused. */
async function existingImage(path: string, command: string): Promise<boolean> {
  const { imageFolder } = await import('../image/index.js')
  try {
    return imageFolder(path) === 'image'
  } catch (e) {
    throw new UsageError((e as Error).message, command)
  }
}

/**
 * Open the folder in this process (creating an image where there is none, for the commands that
 * may), saying who holds it when another process does.
 */
export async function openLocal(path: string, command: string): Promise<{ image: Image; realm: HardenedRealm }> {
  const { openImage } = await import('../index.js')
  try {
    return await openImage(path)
  } catch (e) {
    if (!(e instanceof UvmError) || e.code !== 'IMAGE_IN_USE') throw e
    const { readDaemonFile } = await import('../daemon/index.js')
    throw new UvmError('IMAGE_IN_USE', inUse(path, command, readDaemonFile(path)), { path })
  }
}

/** Who holds the image, and how to reach it. */
function inUse(path: string, command: string, daemon: { pid: number; commands: string } | undefined): string {
  if (daemon !== undefined) {
    return `${path} is in use by the daemon with pid ${daemon.pid} (commands ${daemon.commands}): stop it first (uvm ${command} works on an image no daemon holds)`
  }
  const holder = lockHolder(path)
  if (holder === undefined) return `${path} is in use by another process (one holds its LOCK): stop it first; if it is a uvm daemon, \`uvm ${command} --connect ADDR\` reaches it`
  return `${path} is in use by process ${holder.pid} (${holder.command}): stop it first; if it is a uvm daemon, \`uvm ${command} --connect ADDR\` reaches it at its --bind address`
}

/** The process holding the image's LOCK (Linux: /proc), or the daemon behind it when that is an execution unit. */
function lockHolder(path: string): { pid: number; command: string } | undefined {
  const lock = join(path, 'LOCK')
  let pids: string[]
  try { pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p)) } catch { return undefined }
  for (const pid of pids) {
    let fds: string[]
    try { fds = readdirSync(`/proc/${pid}/fd`) } catch { continue }
    for (const fd of fds) {
      let target: string
      try { target = readlinkSync(`/proc/${pid}/fd/${fd}`) } catch { continue }
      if (target !== lock) continue
      const command = commandLine(pid)
      if (/unit-main\.js/.test(command)) {
        const parent = parentOf(pid)
        if (parent !== undefined) return { pid: parent, command: commandLine(String(parent)) }
      }
      return { pid: Number(pid), command }
    }
  }
  return undefined
}

function commandLine(pid: string): string {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ')
    return text.length > 120 ? text.slice(0, 117) + '…' : text
  } catch {
    return 'unknown command'
  }
}

function parentOf(pid: string): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    return Number.isInteger(ppid) && ppid > 1 ? ppid : undefined
  } catch {
    return undefined
  }
}
