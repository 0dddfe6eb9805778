import * as zmq from 'zeromq'

const ZAP_ENDPOINT = 'inproc://zeromq.zap.01'

/**
 * A ZAP handler (RFC 27) admitting only listed CURVE client keys. libzmq fails
 * OPEN when no handler answers, so the server sockets also set zapDomain and
 * zapEnforceDomain, and this handler is bound in the server's own context
 * before they bind.
 */
export class ZapHandler {
  private readonly socket: zmq.Router
  private readonly allowed: Set<string>
  private loop: Promise<void> | undefined

  constructor(context: zmq.Context, allowedZ85: string[]) {
    this.socket = new zmq.Router({ context, linger: 0 })
    this.allowed = new Set(allowedZ85)
  }

  async start(): Promise<void> {
    await this.socket.bind(ZAP_ENDPOINT)
    this.loop = this.serve()
  }

  async stop(): Promise<void> {
    this.socket.close()
    await this.loop?.catch(() => {})
  }

  private async serve(): Promise<void> {
    for (;;) {
      let frames: Buffer[]
      try {
        frames = await this.socket.receive()
      } catch {
        return // closed
      }
      // [routing id, empty, version, request id, domain, address, identity, mechanism, credentials...]
      const [routing, empty, version, requestId, , , , mechanism, credential] = frames
      if (!routing || !requestId) continue
      let status = '400'
      let text = 'unlisted client key'
      if (version?.toString() !== '1.0') { status = '500'; text = 'unsupported ZAP version' }
      else if (mechanism?.toString() !== 'CURVE') text = 'CURVE required'
      else if (credential && credential.length === 32 && this.allowed.has(encodeZ85(credential))) { status = '200'; text = 'OK' }
      try {
        await this.socket.send([routing, empty ?? Buffer.alloc(0), '1.0', requestId, status, text, status === '200' ? 'client' : '', ''])
      } catch {
        return
      }
    }
  }
}

const Z85 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#'

/** Z85 (ZeroMQ RFC 32) for a 32-byte key. */
export function encodeZ85(data: Uint8Array): string {
  let out = ''
  for (let i = 0; i < data.length; i += 4) {
    let value = ((data[i]! << 24) >>> 0) + (data[i + 1]! << 16) + (data[i + 2]! << 8) + data[i + 3]!
    const chunk: string[] = []
    for (let j = 0; j < 5; j++) {
      chunk.unshift(Z85[value % 85]!)
      value = Math.floor(value / 85)
    }
    out += chunk.join('')
  }
  return out
}
