/**
 * The daemon's execution unit: a child process holding the image and the realm, where every act
 * and method runs. It answers the commands the daemon forwards (unit-protocol.ts) and exits when
 * told to stop or when its IPC channel closes. A watchdog thread ends it if sandbox code outruns
 * its CPU limit by the grace; V8 ends it when its heap cap is reached. The daemon then answers the
 * requests that were in flight and starts another unit on the same image.
 */
import { runInNewContext } from 'node:vm'
import { setFlagsFromString } from 'node:v8'
import { openImage } from '../index.js'
import { startWatchdog } from '../act/index.js'
import { startServices } from './services.js'
import { startCancelListener } from './unit-cancel.js'
import { WireCodec, errorReply, replyBytes } from '../bridge/index.js'
import type { LocalBackend } from '../bridge/index.js'
import type { Reply } from '../covenant/index.js'
import type { Image } from '../image/index.js'
import type { HardenedRealm } from '../act/index.js'
import type { FromUnit, ToUnit, UnitOpenOptions } from './unit-protocol.js'

function send(m: FromUnit): void {
  process.send?.(m)
}

/**
 * A full collection on demand, for the host only (before an act is failed for memory: what looked
 * used may be garbage). Made after the realm exists: a context created once the flag is set has a
 * `gc` global of its own, which the realm must not have.
 */
function hostCollector(): () => void {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  setFlagsFromString('--no-expose-gc')
  return () => gc()
}

let image: Image | undefined
let realm: HardenedRealm | undefined
let backend: LocalBackend | undefined
let stopping = false
let collect: (() => void) | undefined
let limits = { maxReply: 64 * 1048576, maxQueued: 256 * 1048576 }
/** Reply bytes sent to the daemon that ZeroMQ has not taken yet. */
let outstanding = 0
const codec = new WireCodec()

async function open(o: UnitOpenOptions): Promise<void> {
  try {
    const opened = await openImage(o.image, {
      ...(o.cacheSize !== undefined && { cacheSize: o.cacheSize }),
      ...(o.cpuTimeoutMs !== undefined && { cpuTimeoutMs: o.cpuTimeoutMs }),
      ...(o.wallTimeoutMs !== undefined && { wallTimeoutMs: o.wallTimeoutMs }),
      actMemoryMb: o.actMemoryMb,
      collect: () => (collect ??= hostCollector())(),
    })
    image = opened.image
    realm = opened.realm
  } catch (e) {
    send({ t: 'open-failed', message: (e as Error).message, code: (e as { code?: string }).code })
    process.exit(3)
  }
  startWatchdog(realm, { graceMs: o.graceMs, rssLimitMb: o.rssLimitMb })
  startCancelListener(realm)
  limits = { maxReply: o.maxReplyBytes, maxQueued: o.maxQueuedBytes }
  let services
  try {
    services = await startServices(image, realm, { version: o.version, cpuTimeoutMs: o.cpuTimeoutMs, wallTimeoutMs: o.wallTimeoutMs, jit: o.jit, curriculumDir: o.curriculumDir, capabilities: o.capabilities, readOnly: o.readOnly, genesis: o.genesis })
  } catch (e) {
    send({ t: 'open-failed', message: (e as Error).message, code: (e as { code?: string }).code })
    await image.close()
    process.exit(3)
  }
  services.jit.onEvent((event) => send({ t: 'jit', event }))
  for (const w of services.warnings) send({ t: 'log', level: 'warn', msg: w })
  const g = services.genesis
  if (g !== undefined) send({ t: 'log', level: 'info', msg: `genesis: replayed ${g.replayed} conversation${g.replayed === 1 ? '' : 's'} (${g.turns} turns) in ${(g.ms / 1000).toFixed(1)} s${g.skipped > 0 ? `; ${g.skipped} already in the image` : ''}` })
  backend = services.backend
  backend.onCommit((e) => send({ t: 'commit', tid: e.tid, changed: e.changed }))
  // Act code can leave a rejected promise with no handler: on node that kills the process by
  // default. Log it; a host rejection stays fatal (the daemon restarts the unit).
  const r = realm
  process.on('unhandledRejection', (reason, promise) => {
    if (r.isRealmValue(promise)) { send({ t: 'log', level: 'warn', msg: 'an act left a rejected promise unhandled' }); return }
    throw reason
  })
  send({ t: 'ready', lastTid: image.lastTid })
}

async function stop(): Promise<void> {
  if (stopping) return
  stopping = true
  await image?.close()
  process.exit(0)
}

process.on('message', (m: ToUnit) => {
  switch (m.t) {
    case 'open': void open(m.options); return
    case 'req': {
      const b = backend
      if (b === undefined) return
      const n = m.n
      const answer = (made: Reply) => {
        const { bytes, reply } = replyBytes(codec, made, m.format, { maxReply: limits.maxReply, queued: outstanding, maxQueued: limits.maxQueued })
        outstanding += bytes.length
        send({ t: 'res', n, bytes, event: reply.event, code: reply.event === 'error' ? reply.error.code : undefined, tid: (reply as { tid?: number }).tid })
      }
      b.handle(m.cmd, m.lane, { readOnly: m.readOnly, writeAccess: m.writeAccess, tag: n, onQueued: () => send({ t: 'queued', n }) })
        .then((reply) => answer(reply as Reply), (e: unknown) => answer(errorReply(e, m.cmd.id, { debug: m.cmd.debug === true })))
      return
    }
    case 'sent': outstanding -= m.size; return
    case 'close-lane': backend?.closeLane(m.lane); return
    case 'stop': void stop(); return
  }
})
// The daemon is gone (killed, crashed): nobody can be answered any more. Close the image cleanly.
process.on('disconnect', () => { void stop() })
