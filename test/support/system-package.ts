/**
 * A system program a test needs (Debian's chromium, python3), installed with apt-get in the test's own
 * set-up when missing, so that the README's test command passes on a fresh machine. When it cannot be
 * installed, the answer says why, and the caller fails with it: a test is never switched off quietly.
 */
import { spawnSync } from 'node:child_process'

export type Installed = { ok: true } | { ok: false; why: string }

/** `present()` says whether the program is there; if not, `apt-get install -y PACKAGE` (after `apt-get update` if need be). */
export function ensureDebianPackage(pkg: string, present: () => boolean): Installed {
  if (present()) return { ok: true }
  const steps: string[] = []
  const apt = (...args: string[]) => {
    const r = spawnSync('apt-get', args, { encoding: 'utf8', timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
    steps.push(`apt-get ${args.join(' ')}: ${r.status === 0 ? 'ok' : (r.error?.message ?? (r.stderr || '').trim().split('\n').slice(-1)[0] ?? `status ${r.status}`)}`)
    return r.status === 0
  }
  const install = ['install', '-y', '--no-install-recommends', pkg]
  // A fresh container may have no package lists yet.
  if (!apt(...install)) { apt('update'); apt(...install) }
  if (present()) return { ok: true }
  return { ok: false, why: `${pkg} is missing and could not be installed:\n  ${steps.join('\n  ')}` }
}
