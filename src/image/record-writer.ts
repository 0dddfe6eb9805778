import { Method, Obj, Primitive } from '../kernel/index.js'

/**
 * Records are written one after another into a chunk and handed out as views of it, as msgpackr
 * does with its own 8 KiB buffers: a new ArrayBuffer per record costs more than encoding a small
 * one. The writer only moves forward, so a view's bytes are never written again. A chunk lives
 * while any view of it does: classic-level copies what it is given, memory-level keeps the view
 * (so a record it holds keeps its chunk, which is why chunks are small).
 */
const CHUNK = 8 * 1024

/**
 * Writes object records (`[FORMAT, serial, prevSerial, name1, value1, ...]`, see codec.ts) as
 * MessagePack straight into shared chunks. A commit encodes every object it writes, and
 * through msgpackr each record pays a call's set-up plus an extension-class search for every
 * reference: more than half of a bulk commit's encoding time. Here the common slot values
 * (scalars, strings, references, methods, primitives) are written directly; anything else
 * (arrays, maps, bigints, bytes, -0) goes through `fallback` (msgpackr, with the codec's
 * extensions) and is copied in. The decoder stays msgpackr's: the bytes are plain MessagePack,
 * and a reference is the tag extension msgpackr itself writes (`d4 40 00` then the oid), so
 * records of either writer read alike (test/image/record-writer.test.ts checks each kind of value
 * against msgpackr).
 */
export class RecordWriter {
  private buf = new Uint8Array(CHUNK)
  private view = new DataView(this.buf.buffer)
  private pos = 0
  /** Where the record being written starts in `buf`. */
  private start = 0
  private readonly encoder = new TextEncoder()

  constructor(private readonly fallback: (value: unknown) => Uint8Array) {}

  /** One record's bytes: a view that nothing writes again (see CHUNK). */
  record(format: number, serial: number, prevSerial: number, slots: ReadonlyMap<string, unknown>, origins?: unknown[]): Uint8Array {
    this.start = this.pos
    this.header((origins === undefined ? 3 : 4) + 2 * slots.size, 0x90, 0xdc)
    this.number(format)
    this.number(serial)
    this.number(prevSerial)
    if (origins !== undefined) this.value(origins)
    for (const [name, value] of slots) {
      this.string(name)
      this.value(value)
    }
    return this.done()
  }

  /**
   * A plain map (the transaction record, the image metadata) as msgpackr would write it for
   * `unpack` to read back as an object: numbers, strings, arrays of numbers and empty maps
   * directly; any other value through `plain` (msgpackr, no record extensions).
   */
  map(obj: object, plain: (value: unknown) => Uint8Array): Uint8Array {
    this.start = this.pos
    const keys = Object.keys(obj)
    this.header(keys.length, 0x80, 0xde)
    for (const k of keys) {
      this.string(k)
      const v = (obj as Record<string, unknown>)[k]
      switch (typeof v) {
        case 'number':
          if (!isNegativeZero(v)) { this.number(v); continue }
          break
        case 'string':
          this.string(v)
          continue
        case 'object':
          if (v === null) break
          if (Array.isArray(v) && allNumbers(v)) {
            this.header(v.length, 0x90, 0xdc)
            for (let i = 0; i < v.length; i++) this.number(v[i] as number)
            continue
          }
          if (Object.getPrototypeOf(v) === Object.prototype && Object.keys(v).length === 0) {
            this.ensure(1)
            this.buf[this.pos++] = 0x80
            continue
          }
          break
      }
      this.raw(plain(v))
    }
    return this.done()
  }

  private done(): Uint8Array {
    const out = this.buf.subarray(this.start, this.pos)
    // A chunk grown for one huge record is that record's alone: the next starts a new chunk.
    if (this.buf.length > CHUNK) this.reset(CHUNK)
    return out
  }

  private reset(size: number): void {
    this.buf = new Uint8Array(size)
    this.view = new DataView(this.buf.buffer)
    this.pos = 0
    this.start = 0
  }

  private value(v: unknown): void {
    switch (typeof v) {
      case 'number':
        if (isNegativeZero(v)) break
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
      // Short strings, ASCII the common case: written in one pass, no encoder call (a non-ASCII
      // character abandons the pass; the encoder below writes over it).
      let p = this.pos + 1
      let i = 0
      for (; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        b[p++] = c
      }
      if (i === n) {
        b[this.pos] = 0xa0 | n
        this.pos = p
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

  /** An array (fix 0x90, 16-bit 0xdc) or map (fix 0x80, 16-bit 0xde) header; the 32-bit code follows the 16-bit one. */
  private header(n: number, fix: number, code16: number): void {
    this.ensure(5)
    const b = this.buf
    if (n < 16) b[this.pos++] = fix | n
    else if (n < 0x10000) { b[this.pos++] = code16; this.view.setUint16(this.pos, n); this.pos += 2 }
    else { b[this.pos++] = code16 + 1; this.view.setUint32(this.pos, n); this.pos += 4 }
  }

  private raw(bytes: Uint8Array): void {
    this.ensure(bytes.length)
    this.buf.set(bytes, this.pos)
    this.pos += bytes.length
  }

  /** Room for n more bytes: else a new chunk, with the record so far moved to its start. */
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const old = this.buf
    const from = this.start, written = this.pos - from
    this.reset(Math.max(CHUNK, 2 * (written + n)))
    this.buf.set(old.subarray(from, from + written))
    this.pos = written
  }
}

/** msgpack integers have no sign of zero: -0 is left to msgpackr (the codec's own tag for it in records). */
function isNegativeZero(n: number): boolean {
  return n === 0 && 1 / n < 0
}

/** Numbers only, and no -0. */
function allNumbers(v: readonly unknown[]): boolean {
  for (let i = 0; i < v.length; i++) {
    const x = v[i]
    if (typeof x !== 'number' || isNegativeZero(x)) return false
  }
  return true
}
