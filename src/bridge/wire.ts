import { Packr } from 'msgpackr'

export type WireFormat = 'msgpack' | 'json'

/**
 * Frame payloads: MessagePack maps, or JSON when the first byte is `{` (the
 * seeds' Kivy client uses send_json). A reply goes back in the request's format.
 */
export class WireCodec {
  // Plain maps and arrays only: no msgpackr records or structures on the wire, so any msgpack client can read it.
  private readonly packr = new Packr({ useRecords: false, mapsAsObjects: true, useBigIntExtension: false, int64AsType: 'number' })

  formatOf(frame: Uint8Array): WireFormat {
    return frame.length > 0 && frame[0] === 0x7b ? 'json' : 'msgpack'
  }

  /** Decode a request payload; throws with a message a person can act on. */
  decode(frame: Uint8Array, format: WireFormat): unknown {
    if (format === 'json') {
      try {
        return JSON.parse(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('utf8'))
      } catch (e) {
        throw new Error(`the frame starts with "{" but is not valid JSON: ${(e as Error).message}`)
      }
    }
    if (frame.length === 0) throw new Error('empty frame: a request is a MessagePack map (or a JSON object)')
    try {
      return this.packr.unpack(frame)
    } catch (e) {
      throw new Error(`the frame is not valid MessagePack: ${(e as Error).message}`)
    }
  }

  encode(value: unknown, format: WireFormat): Buffer {
    if (format === 'json') return Buffer.from(JSON.stringify(value, jsonSafe))
    return this.packr.pack(value)
  }
}

/** JSON has no bigint or bytes: they travel as {"$bigint": "123"} and {"$bytes": base64}. */
function jsonSafe(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return { $bigint: v.toString() }
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('base64') }
  if (v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
    return { $bytes: Buffer.from((v as { data: number[] }).data).toString('base64') }
  }
  return v
}
