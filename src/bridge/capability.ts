import type { HardenedRealm } from '../act/index.js'
import { hostData, realmData, serviceObject } from '../act/index.js'
import { Command } from '../covenant/index.js'
import type { Kernel } from '../kernel/index.js'
import { UvmError } from '../errors.js'
import type { Backend } from './backend.js'
import { isEncoded } from './reply-bytes.js'
import { errorReply } from './errors.js'

/**
 * The `bridge` capability: the Synaptic Bridge as the image's own objects reach it. `bridge.send(cmd)`
 * sends one covenant command (the seeds' CreateMethodCommand from a button's on_press, say) to the
 * daemon, exactly as a client would: checked by the same zod schemas, answered in a transaction of
 * its own, with the reply as data. A read-only endpoint's acts get a read-only bridge.
 */
export function bridgeCapability(realm: HardenedRealm, kernel: Kernel, backend: () => Backend, opts: { readOnly: boolean; writeAccess?: string }): Record<string, unknown> {
  return serviceObject(realm, {
    send: async ([command]) => {
      const parsed = Command.safeParse(hostData(kernel, command, 'command'))
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!
        throw new UvmError('ACT_FAILED', `bridge.send: not a covenant command: ${issue.path.join('.') || 'command'}: ${issue.message}`)
      }
      // Out of the calling act's entry first: a send_message or run_act starts an act of its own,
      // which must run as the top of the stack, never nested inside the act that asked for it.
      await new Promise<void>((r) => setImmediate(r))
      let reply
      try {
        reply = await backend().handle(parsed.data, 'bridge-capability', { readOnly: opts.readOnly, writeAccess: opts.writeAccess })
      } catch (e) {
        // As a client would get it: an error reply, data to look at.
        reply = errorReply(e, parsed.data.id)
      }
      if (isEncoded(reply)) throw new UvmError('ACT_FAILED', 'bridge.send: this backend answers in encoded frames only')
      return realmData(realm, JSON.parse(JSON.stringify(reply, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))))
    },
  }, { readOnly: opts.readOnly })
}
