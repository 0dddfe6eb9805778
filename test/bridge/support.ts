/**
 * Helpers for the Synaptic Bridge tests: a bridge on loopback over a scratch
 * image, raw zeromq.js sockets, and an independent MessagePack codec (the
 * tests encode and decode frames themselves, not through the server's WireCodec).
 */
import { join } from 'node:path'
import * as zmq from 'zeromq'
import { Packr } from 'msgpackr'
import { afterAll, beforeAll, expect } from 'vitest'
import { openImage } from '../../src/index.js'
import type { HardenedRealm } from '../../src/act/index.js'
import type { Image } from '../../src/image/index.js'
import { BridgeServer } from '../../src/bridge/index.js'
import type { BridgeOptions } from '../../src/bridge/index.js'
import { Reply } from '../../src/covenant/index.js'
import { memoryDb, tempDir } from '../support/images.js'

export const LOOPBACK = 'tcp://127.0.0.1:0'

export interface Bridge {
  image: Image
  realm: HardenedRealm
  server: BridgeServer
  /** Stop the server and close the image (idempotent). */
  dispose(): Promise<void>
}

export interface BridgeTestOptions extends BridgeOptions {
  /** A durable classic-level image in a temp folder instead of a memory-level one. */
  classic?: boolean
}

/** A bridge bound to ephemeral loopback ports (ROUTER and PUB) over a fresh image. */
export async function startBridge(opts: BridgeTestOptions = {}): Promise<Bridge> {
  const { classic, ...bridgeOpts } = opts
  const dir = classic ? await tempDir('uvm-bridge-') : undefined
  const { image, realm } = await openImage(dir ? join(dir.path, 'image.db') : memoryDb(), {
    durable: classic === true,
    ...(opts.cpuTimeoutMs !== undefined && { cpuTimeoutMs: opts.cpuTimeoutMs }),
    ...(opts.wallTimeoutMs !== undefined && { wallTimeoutMs: opts.wallTimeoutMs }),
  })
  const server = await BridgeServer.start(image, realm, { bind: LOOPBACK, pub: LOOPBACK, ...bridgeOpts })
  let disposed = false
  return {
    image,
    realm,
    server,
    async dispose() {
      if (disposed) return
      disposed = true
      await server.stop()
      await image.close()
      await dir?.cleanup()
    },
  }
}

/** A bridge and a raw DEALER on it, made before the tests of the enclosing suite (or file) and closed after them. */
export function useBridge(opts: BridgeTestOptions = {}): { readonly bridge: Bridge; readonly dealer: zmq.Dealer } {
  let bridge: Bridge | undefined
  let dealer: zmq.Dealer | undefined
  beforeAll(async () => {
    bridge = await startBridge(opts)
    dealer = rawDealer(bridge.server.endpoint)
  })
  afterAll(async () => {
    dealer?.close()
    await bridge?.dispose()
  })
  return { get bridge() { return bridge! }, get dealer() { return dealer! } }
}

// ------------------------------------------------------------------ frames

/** An ordinary MessagePack encoder, as a client in any language would use (plain maps, no msgpackr records). */
export const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' })

export function mp(value: unknown): Buffer {
  return packr.pack(value)
}

export function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value))
}

/** Decode a reply payload: JSON when it starts with "{", else MessagePack. */
export function decode(frame: Buffer): Record<string, any> {
  return (frame[0] === 0x7b ? JSON.parse(frame.toString('utf8')) : packr.unpack(frame)) as Record<string, any>
}

/** Decode a reply and check it against the covenant's Reply schema. */
export function decodeReply(frame: Buffer): Record<string, any> {
  const value = decode(frame)
  const parsed = Reply.safeParse(value)
  if (!parsed.success) expect.fail(`reply does not match the covenant: ${JSON.stringify(value)}: ${parsed.error.message}`)
  return value
}

// ------------------------------------------------------------------ raw sockets

/** A raw DEALER: `ask` sends one message and awaits the next message back. */
export function rawDealer(endpoint: string, opts: ConstructorParameters<typeof zmq.Dealer>[0] = {}): zmq.Dealer {
  const sock = new zmq.Dealer({ linger: 0, receiveTimeout: 10_000, sendTimeout: 10_000, ...opts })
  sock.connect(endpoint)
  return sock
}

export async function ask(sock: zmq.Dealer | zmq.Request, frames: Buffer | string | (Buffer | string)[]): Promise<Buffer[]> {
  await sock.send(frames)
  return sock.receive()
}

/** Send one message on a raw socket and decode the (last frame of the) reply, checked against the covenant. */
export async function askReply(sock: zmq.Dealer | zmq.Request, payload: Buffer | string): Promise<Record<string, any>> {
  const frames = await ask(sock, payload)
  return decodeReply(frames[frames.length - 1]!)
}

/** A socket.receive() that resolves undefined instead of throwing when nothing comes within the socket's receiveTimeout. */
export async function receiveOrNothing(sock: zmq.Readable & zmq.Socket): Promise<Buffer[] | undefined> {
  try {
    return await sock.receive()
  } catch (e) {
    if ((e as { code?: string }).code === 'EAGAIN') return undefined
    throw e
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Read a slot of the Genesis Object straight from the image (a fresh read-only transaction). */
export function genesisSlot(image: Image, name: string): unknown {
  const tx = image.begin()
  try {
    return tx.genesis[name]
  } finally {
    tx.abort()
  }
}

export async function transactionCount(image: Image): Promise<number> {
  return (await image.check()).transactions
}
