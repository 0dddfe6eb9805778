/**
 * A Python client (Debian's python3-zmq and python3-msgpack, as the seeds
 * used) speaks the covenant: test/bridge/seeds_client.py sends the seeds'
 * four covenant messages over a DEALER in MessagePack and again with
 * send_json / recv_json, reads UvmStateUpdateEvents from the reply and the PUB
 * socket, and calls the created method. The packages are installed here when
 * missing (CI runs as root); if that is impossible the test fails and says why.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBridge } from './support.js'
import { pythonWithZmq } from '../support/python.js'
import type { Bridge } from './support.js'

const run = promisify(execFile)
const SCRIPT = fileURLToPath(new URL('./seeds_client.py', import.meta.url))

describe('a Python client (pyzmq + msgpack, like the seeds)', () => {
  let bridge: Bridge
  let python: string
  beforeAll(async () => {
    python = await pythonWithZmq()
    bridge = await startBridge()
  }, 600_000)
  afterAll(async () => { await bridge?.dispose() })

  it('sends the seeds\' covenant messages in MessagePack and JSON, reads state updates, runs the created method', async () => {
    let stdout: string
    try {
      ({ stdout } = await run(python, [SCRIPT, bridge.server.endpoint, bridge.server.pubEndpoint], { timeout: 60_000 }))
    } catch (e) {
      const x = e as { stdout?: string; stderr?: string }
      throw new Error(`seeds_client.py failed:\n${x.stdout ?? ''}\n${x.stderr ?? ''}`)
    }
    const lines = stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^pyzmq \S+ libzmq \S+ msgpack \S+$/)
    for (const name of ['MSGPACK', 'JSON']) {
      const mine = lines.filter((l) => l.startsWith(name + ' '))
      expect(mine).toEqual([
        expect.stringMatching(new RegExp(`^${name} get_full_state uvm_state_update <Genesis #\\d+>$`)),
        expect.stringMatching(new RegExp(`^${name} update_property ack tid=\\d+$`)),
        expect.stringMatching(new RegExp(`^${name} pub uvm_state_update tid=\\d+ changed=1 label_ok=True$`)),
        `${name} create_method ack`,
        `${name} method_slot {"$method": "print(\\"New tool created!\\")"}`,
        `${name} send_message result "New tool created!\\n"`,
        `${name} error does_not_understand fly_to_the_moon`,
      ])
    }
    expect(lines.at(-1)).toBe('DONE')
    // what the Python client wrote is in the image
    const tx = bridge.image.begin()
    try {
      expect(tx.genesis.MSGPACK_label).toBe('set by the MSGPACK client')
      expect(tx.genesis.JSON_label).toBe('set by the JSON client')
    } finally {
      tx.abort()
    }
  })
})
