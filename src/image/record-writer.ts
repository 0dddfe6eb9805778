import { Method, Obj, Primitive } from '../kernel/index.js'

/**
 * Writes object records (`[FORMAT, serial, prevSerial, name1, value1, ...]`, see codec.ts) as
 * MessagePack straight into one growing buffer. A commit encodes every object it writes, and
 * through msgpackr each record pays a call's set-up plus an extension-class search for every
 * reference: more than half of a bulk commit's encoding time. Here the common slot values
 * (scalars, strings, references, methods, primitives) are written directly; anything else
 * (arrays, maps, bigints, bytes, -0) goes through `fallback` (msgpackr, with the codec's
 * extensions) and is copied in. The decoder stays msgpackr's: the bytes are plain MessagePack,
 * and a reference is the tag extension msgpackr itself writes (`d4 40 00` then the oid), so
 * records of either writer read alike (the codec tests check both ways).
 */
const INITIAL = 64 * 1024
const MAX_KEPT = 1024 * 1024

export class RecordWriter {
  private buf = new Uint8Array(INITIAL)
  private view = new DataView(this.buf.buffer)
  private pos = 0
  private readonly encoder = new TextEncoder()

  constructor(private readonly fallback: (value: unknown) => Uint8Array) {}

  /** One record's bytes (a copy: the caller keeps them). */
  record(format: number, serial: number, prevSerial: number, slots: ReadonlyMap<string, unknown>): Uint8Array {
    this.pos = 0
    this.arrayHeader(3 + 2 * slots.size)
    this.number(format)
    this.number(serial)
    this.number(prevSerial)
    for (const [name, value] of slots) {
      this.string(name)
      this.value(value)
    }
    const out = this.buf.slice(0, this.pos)
    // One huge record must not pin its buffer for the image's lifetime.
    if (this.buf.length > MAX_KEPT) this.reset(INITIAL)
    return out
  }

  private reset(size: number): void {
    this.buf = new Uint8Array(size)
    this.view = new DataView(this.buf.buffer)
  }

  private value(v: unknown): void {
    switch (typeof v) {
      case 'number':
        if (Object.is(v, -0)) break
        this.number(v)
        return
      case 'string':
        this.string(v)
        return
      case 'boolean':
        this.ensure(1)
        this.buf[this.pos++] = v ? 0xc3 : 0xc2
        return
      case 'object':
        if (v === null) {
          this.ensure(1)
          this.buf[this.pos++] = 0xc0
          return
        }
        if (v instanceof Obj) { this.tag(0x40); this.number(v.oid); return }
        if (v instanceof Method) { this.tag(0x41); this.string(v.source); return }
        if (v instanceof Primitive) { this.tag(0x44); this.string(v.name); return }
        break
    }
    this.raw(this.fallback(v))
  }

  /** msgpackr's "tag" extension: fixext 1 of the type with a filler byte, then the value. */
  private tag(type: number): void {
    this.ensure(3)
    const b = this.buf
    b[this.pos++] = 0xd4
    b[this.pos++] = type
    b[this.pos++] = 0
  }

  private number(n: number): void {
    this.ensure(9)
    const b = this.buf
    if (Number.isInteger(n)) {
      if (n >= 0) {
        if (n < 0x80) { b[this.pos++] = n; return }
        if (n < 0x100) { b[this.pos++] = 0xcc; b[this.pos++] = n; return }
        if (n < 0x10000) { b[this.pos++] = 0xcd; this.view.setUint16(this.pos, n); this.pos += 2; return }
        if (n <= 0xffffffff) { b[this.pos++] = 0xce; this.view.setUint32(this.pos, n); this.pos += 4; return }
      } else {
        if (n >= -0x20) { b[this.pos++] = n & 0xff; return }
        if (n >= -0x80) { b[this.pos++] = 0xd0; this.view.setInt8(this.pos, n); this.pos += 1; return }
        if (n >= -0x8000) { b[this.pos++] = 0xd1; this.view.setInt16(this.pos, n); this.pos += 2; return }
        if (n >= -0x80000000) { b[this.pos++] = 0xd2; this.view.setInt32(this.pos, n); this.pos += 4; return }
      }
    }
    // Wider integers and fractions: a float64 holds every JS number exactly.
    b[this.pos++] = 0xcb
    this.view.setFloat64(this.pos, n)
    this.pos += 8
  }

  private string(s: string): void {
    const n = s.length
    // UTF-8 takes at most 3 bytes per UTF-16 unit; reserve for the longest header too.
    this.ensure(5 + 3 * n)
    const b = this.buf
    if (n < 32) {
      // Short strings, ASCII the common case: no encoder call.
      let ascii = true
      for (let i = 0; i < n; i++) if (s.charCodeAt(i) >= 0x80) { ascii = false; break }
      if (ascii) {
        b[this.pos++] = 0xa0 | n
        for (let i = 0; i < n; i++) b[this.pos++] = s.charCodeAt(i)
        return
      }
    }
    // Write after a 5-byte header slot, then move the bytes down if a shorter header fits.
    const start = this.pos
    const written = this.encoder.encodeInto(s, b.subarray(start + 5)).written
    let header: number
    if (written < 32) { b[start] = 0xa0 | written; header = 1 }
    else if (written < 0x100) { b[start] = 0xd9; b[start + 1] = written; header = 2 }
    else if (written < 0x10000) { b[start] = 0xda; this.view.setUint16(start + 1, written); header = 3 }
    else { b[start] = 0xdb; this.view.setUint32(start + 1, written); header = 5 }
    if (header !== 5) b.copyWithin(start + header, start + 5, start + 5 + written)
    this.pos = start + header + written
  }

  private arrayHeader(n: number): void {
    this.ensure(5)
    const b = this.buf
    if (n < 16) b[this.pos++] = 0x90 | n
    else if (n < 0x10000) { b[this.pos++] = 0xdc; this.view.setUint16(this.pos, n); this.pos += 2 }
    else { b[this.pos++] = 0xdd; this.view.setUint32(this.pos, n); this.pos += 4 }
  }

  private raw(bytes: Uint8Array): void {
    this.ensure(bytes.length)
    this.buf.set(bytes, this.pos)
    this.pos += bytes.length
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const old = this.buf
    this.reset(Math.max(old.length * 2, this.pos + n))
    this.buf.set(old.subarray(0, this.pos))
  }
}
