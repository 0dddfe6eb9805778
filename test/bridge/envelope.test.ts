/**
 * Envelopes: the request is the last frame of a multipart message, the
 * frames before it (the ROUTER identity, a REQ client's empty delimiter, any
 * frames a DEALER adds) are its envelope, and the one reply goes back with
 * the same envelope. REQ and DEALER clients; replies in order per client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as zmq from 'zeromq'
import { VERSION } from '../../src/version.js'
import { decodeReply, json, mp, rawDealer, receiveOrNothing, startBridge } from './support.js'
import type { Bridge } from './support.js'

let bridge: Bridge
beforeAll(async () => { bridge = await startBridge({ version: VERSION }) })
afterAll(async () => { await bridge.dispose() })

describe('REQ clients (the envelope carries an empty delimiter)', () => {
  it('a REQ socket gets its reply (msgpack and JSON), strictly alternating', async () => {
    const req = new zmq.Request({ linger: 0, receiveTimeout: 5000 })
    req.connect(bridge.server.endpoint)
    try {
      for (let i = 0; i < 5; i++) {
        await req.send(mp({ command: 'ping', id: i }))
        const frames = await req.receive()
        expect(frames).toHaveLength(1) // the delimiter came back and REQ stripped it
        expect(decodeReply(frames[0]!)).toEqual({ event: 'pong', id: i, version: VERSION })
        await req.send(json({ command: 'update_property', id: `r${i}`, property_name: 'req', property_value: i }))
        expect(decodeReply((await req.receive())[0]!)).toMatchObject({ event: 'ack', id: `r${i}` })
      }
    } finally {
      req.close()
    }
  })

  it('a REQ socket that sends garbage still gets exactly one reply and can go on', async () => {
    const req = new zmq.Request({ linger: 0, receiveTimeout: 5000 })
    req.connect(bridge.server.endpoint)
    try {
      await req.send(Buffer.from([0xc7, 0xff]))
      expect(decodeReply((await req.receive())[0]!).error.code).toBe('bad_frame')
      await req.send(mp({ command: 'ping', id: 'after' }))
      expect(decodeReply((await req.receive())[0]!)).toMatchObject({ event: 'pong', id: 'after' })
    } finally {
      req.close()
    }
  })

  it('a DEALER that speaks REQ (empty delimiter by hand) gets [delimiter, reply]', async () => {
    const d = rawDealer(bridge.server.endpoint)
    try {
      await d.send(['', mp({ command: 'ping', id: 'd' })])
      const frames = await d.receive()
      expect(frames).toHaveLength(2)
      expect(frames[0]!.length).toBe(0)
      expect(decodeReply(frames[1]!)).toMatchObject({ event: 'pong', id: 'd' })
    } finally {
      d.close()
    }
  })
})

describe('DEALER clients', () => {
  it('any frames before the request come back unchanged, in order, before the reply', async () => {
    const d = rawDealer(bridge.server.endpoint)
    try {
      const envelope = [Buffer.from('hop-1'), Buffer.alloc(0), Buffer.from([0, 1, 2, 255]), Buffer.from('{"not":"the request"}')]
      await d.send([...envelope, mp({ command: 'ping', id: 'env' })])
      const frames = await d.receive()
      expect(frames.slice(0, -1)).toEqual(envelope)
      expect(decodeReply(frames[frames.length - 1]!)).toMatchObject({ event: 'pong', id: 'env' })
      // an undecodable request keeps its envelope too
      await d.send([...envelope, Buffer.from('garbage')])
      const bad = await d.receive()
      expect(bad.slice(0, -1)).toEqual(envelope)
      expect(decodeReply(bad[bad.length - 1]!).error.code).toBe('bad_frame')
    } finally {
      d.close()
    }
  })

  it('a DEALER with its own routing id, and two DEALERs: each reply goes to its sender only', async () => {
    const a = rawDealer(bridge.server.endpoint, { routingId: 'client-a' })
    const b = rawDealer(bridge.server.endpoint, { routingId: 'client-b', receiveTimeout: 300 })
    try {
      await a.send(mp({ command: 'ping', id: 'for-a' }))
      expect(decodeReply((await a.receive())[0]!)).toMatchObject({ id: 'for-a' })
      expect(await receiveOrNothing(b)).toBeUndefined()
      await b.send(mp({ command: 'ping', id: 'for-b' }))
      expect(decodeReply((await b.receive())[0]!)).toMatchObject({ id: 'for-b' })
    } finally {
      a.close(); b.close()
    }
  })

  it('pipelined requests of one client are handled and answered in order, one reply each', async () => {
    const d = rawDealer(bridge.server.endpoint)
    const N = 240 // under the per-client cap (maxInFlightPerClient, 256)
    try {
      const replies: Record<string, any>[] = []
      const reading = (async () => { while (replies.length < N) replies.push(decodeReply((await d.receive())[0]!)) })()
      for (let i = 0; i < N; i++) {
        // a mix of fast and slow commands, good and bad frames
        const body = i % 3 === 0 ? mp({ command: 'update_property', id: i, property_name: 'seq', property_value: i })
          : i % 3 === 1 ? json({ command: 'ping', id: i })
            : Buffer.from([0x92, 0x01]) // truncated: no id to echo
        await d.send(body)
      }
      await reading
      expect(replies).toHaveLength(N)
      replies.forEach((r, i) => {
        if (i % 3 === 2) expect(r.error.code).toBe('bad_frame')
        else expect(r.id).toBe(i)
      })
      const tids = replies.filter((r) => r.event === 'ack').map((r) => r.tid as number)
      expect(tids).toEqual([...tids].sort((x, y) => x - y))
      expect(new Set(tids).size).toBe(tids.length)
      const tx = bridge.image.begin()
      expect(tx.genesis.seq).toBe(N - 3)
      tx.abort()
      // nothing extra arrives
      d.receiveTimeout = 200
      expect(await receiveOrNothing(d)).toBeUndefined()
    } finally {
      d.close()
    }
  })
})
