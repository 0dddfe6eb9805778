// Pipelined writes: one client's update_property commands share fsyncs, yet each is its own
// transaction, runs in order, gets exactly one reply, and is acknowledged only once durable.
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openImage } from '../../src/index.js'
import type { Image } from '../../src/image/index.js'
import { BridgeServer } from '../../src/bridge/index.js'
import { tempDir } from '../support/images.js'
import { LOOPBACK, decodeReply, mp, rawDealer } from './support.js'
import type * as zmq from 'zeromq'

let dir: Awaited<ReturnType<typeof tempDir>>
let location: string
let image: Image
let server: BridgeServer
let oid: number
let sock: zmq.Dealer | undefined

beforeEach(async () => {
  dir = await tempDir('uvm-pipeline-')
  location = join(dir.path, 'image.db')
  const opened = await openImage(location, { durable: true })
  image = opened.image
  oid = (await image.transact((tx) => { const o = tx.genesis.prototypes.clone(); o.x = -1; tx.genesis.Pipe = o; return tx.objectOf(o).oid })).value
  server = await BridgeServer.start(image, opened.realm, { bind: LOOPBACK, pub: LOOPBACK })
})
afterEach(async () => {
  sock?.close()
  sock = undefined
  await server.stop()
  await image.close()
  await dir.cleanup()
})

/** Count the batches written; `failAt`: the n-th batch (1-based) fails instead of being written. */
function countWrites(img: Image, failAt?: number) {
  const store = img.store
  const real = Object.getPrototypeOf(store).write as typeof store.write
  const seen = { batches: 0 }
  store.write = async function (ops, sync) {
    seen.batches++
    if (seen.batches === failAt) {
      // let more commands queue up behind this batch before it fails
      await new Promise((r) => setTimeout(r, 20))
      throw new Error('disk on fire (test)')
    }
    return real.call(store, ops, sync)
  }
  return seen
}

/** Send every payload at once, then collect one reply per payload; records image.lastTid as each reply arrives. */
async function burst(payloads: Buffer[]) {
  sock ??= rawDealer(server.endpoint, { sendHighWaterMark: 0, receiveHighWaterMark: 0 })
  for (const p of payloads) await sock.send(p)
  const replies: { reply: Record<string, any>; durableTid: number }[] = []
  while (replies.length < payloads.length) {
    const frames = await sock.receive()
    replies.push({ reply: decodeReply(frames[frames.length - 1]!), durableTid: image.lastTid })
  }
  return replies
}

const update = (id: number, value: unknown) => mp({ command: 'update_property', id, target: { $ref: oid }, property_name: 'x', property_value: value })

async function reopenedX(): Promise<{ x: unknown; tids: number[]; ok: boolean }> {
  await server.stop()
  await image.close()
  const again = await openImage(location, { durable: true })
  try {
    const tx = again.image.begin()
    const x = (tx.byOid(oid) as { x: unknown }).x
    tx.abort()
    const tids = (await again.image.transactions({ limit: 10_000 })).map((t) => t.tid)
    return { x, tids, ok: (await again.image.check()).ok }
  } finally {
    // reopen for afterEach to stop and close
    image = again.image
    server = await BridgeServer.start(again.image, again.realm, { bind: LOOPBACK, pub: LOOPBACK })
  }
}

describe('pipelined writes of one client', () => {
  it('many in flight: one reply each, in order, tids increasing, each sent once its transaction is durable; they share fsyncs', async () => {
    const N = 200
    const seen = countWrites(image)
    const replies = await burst(Array.from({ length: N }, (_, i) => update(i, i)))
    expect(replies.map((r) => r.reply.id)).toEqual(Array.from({ length: N }, (_, i) => i))
    const tids = replies.map((r) => r.reply.tid as number)
    for (const r of replies) expect(r.reply.event).toBe('ack')
    for (let i = 1; i < N; i++) expect(tids[i]).toBeGreaterThan(tids[i - 1]!)
    // each ack left after its transaction was durable (lastTid moves only after the batch's fsync)
    for (const r of replies) expect(r.durableTid).toBeGreaterThanOrEqual(r.reply.tid)
    expect(seen.batches).toBeLessThan(N)
    const after = await reopenedX()
    expect(after.x).toBe(N - 1)
    for (const t of tids) expect(after.tids).toContain(t)
    expect(after.ok).toBe(true)
  })

  it('reads and acts after queued writes see them, and answer in order', async () => {
    const replies = await burst([
      update(1, 'a'),
      mp({ command: 'get_full_state', id: 2, target: { $ref: oid } }),
      update(3, 'b'),
      mp({ command: 'run_act', id: 4, code: `return genesis.Pipe.x` }),
      update(5, 'c'),
      mp({ command: 'create_method', id: 6, target: { $ref: oid }, method_name: 'twice', method_code: 'return this.x + this.x' }),
      mp({ command: 'send_message', id: 7, target: { $ref: oid }, selector: 'twice' }),
      mp({ command: 'update_property', id: 8, target: { $ref: 999_999 }, property_name: 'x', property_value: 0 }),
      update(9, 'd'),
      mp({ command: 'ping', id: 10 }),
    ])
    expect(replies.map((r) => r.reply.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    const by = (id: number) => replies.find((r) => r.reply.id === id)!.reply
    expect(by(2).state.$slots.x).toBe('a')
    expect(by(4).value).toBe('b')
    expect(by(7).value).toBe('cc')
    expect(by(8).error.code).toBe('unknown_target')
    expect(by(9).event).toBe('ack')
    expect(by(10).event).toBe('pong')
    expect((await reopenedX()).x).toBe('d')
  })

  it('a failed batch write: its commands and those queued after it get error replies, nothing of them is written, later ones succeed', async () => {
    const N = 120
    countWrites(image, 1)
    // the first wave runs into the failing batch; the second comes after its replies
    const replies = [...await burst(Array.from({ length: N }, (_, i) => update(i, i))), ...await burst(Array.from({ length: 20 }, (_, i) => update(N + i, N + i)))]
    expect(replies.map((r) => r.reply.id)).toEqual(Array.from({ length: N + 20 }, (_, i) => i))
    const failed = replies.filter((r) => r.reply.event === 'error')
    const acked = replies.filter((r) => r.reply.event === 'ack')
    expect(failed.length).toBeGreaterThan(0)
    expect(acked.length + failed.length).toBe(N + 20)
    expect(replies.slice(N).every((r) => r.reply.event === 'ack')).toBe(true)
    for (const f of failed) expect(f.reply.error).toMatchObject({ code: 'act_failed', uvm_code: 'IMAGE_WRITE_FAILED' })
    for (const a of acked) expect(a.durableTid).toBeGreaterThanOrEqual(a.reply.tid)
    const lastAck = acked[acked.length - 1]!.reply
    const after = await reopenedX()
    // the value is that of the last acknowledged command; every acknowledged tid is in the image
    expect(after.x).toBe(lastAck.id)
    for (const a of acked) expect(after.tids).toContain(a.reply.tid)
    expect(after.ok).toBe(true)
    // and no transaction record of a failed command: the records are exactly the acked ones since the setup
    const acks = new Set(acked.map((a) => a.reply.tid))
    expect(after.tids.filter((t) => t > Math.min(...acks)).every((t) => acks.has(t))).toBe(true)
  })
})
