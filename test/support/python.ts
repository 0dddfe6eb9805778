/**
 * A python3 that can import zmq and msgpack (Debian's python3-zmq and
 * python3-msgpack), installed by the caller's set-up when missing: CI runs as
 * root on a fresh machine. If that is impossible the caller fails and says why.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)
/** Debian's interpreter first: apt's python3-zmq lives in its dist-packages (a pyenv python3 on PATH would not see it). */
const INTERPRETERS = ['/usr/bin/python3', 'python3']

async function canImport(python: string): Promise<boolean> {
  try {
    await run(python, ['-c', 'import zmq, msgpack'], { timeout: 30_000 })
    return true
  } catch {
    return false
  }
}

async function findPython(): Promise<string | undefined> {
  for (const p of INTERPRETERS) if (await canImport(p)) return p
  return undefined
}

/** A Python with zmq and msgpack, installing Debian's packages when needed. */
export async function pythonWithZmq(): Promise<string> {
  const found = await findPython()
  if (found) return found
  const steps: string[] = []
  const apt = async (...args: string[]) => {
    try {
      await run('apt-get', args, { timeout: 240_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
      steps.push(`apt-get ${args.join(' ')}: ok`)
      return true
    } catch (e) {
      steps.push(`apt-get ${args.join(' ')}: ${((e as { stderr?: string }).stderr || (e as Error).message).trim().split('\n').slice(-2).join(' / ')}`)
      return false
    }
  }
  const install = ['install', '-y', '--no-install-recommends', 'python3-zmq', 'python3-msgpack']
  if (!(await apt(...install))) {
    await apt('update')
    await apt(...install)
  }
  const after = await findPython()
  if (after) return after
  throw new Error('the Python client test needs python3 with the zmq and msgpack modules (Debian: apt-get install -y python3-zmq python3-msgpack), ' +
    `and installing them failed:\n  ${steps.join('\n  ')}`)
}
