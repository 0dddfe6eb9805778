import { describe, expect, it } from 'vitest'
import { objectKey, oidOfObjectKey, parseRevisionKey, revisionKey, txKey, tidOfTxKey } from '../../src/image/keys.js'

// Keys are compared as bytes by LevelDB: fixed-width hex must sort as the numbers do.
const reference = (n: number): string => n.toString(16).padStart(12, '0')
const SAMPLES = [0, 1, 15, 16, 255, 256, 0xffff, 0x10000, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1,
  0x123456789abc, 2 ** 48 - 1, 2 ** 48, 2 ** 50 + 3]

describe('image keys', () => {
  it('write every oid and tid as 12 hex digits, as toString(16) would', () => {
    for (const n of SAMPLES) {
      expect(objectKey(n)).toBe('o:' + reference(n))
      expect(txKey(n)).toBe('t:' + reference(n))
      expect(oidOfObjectKey(objectKey(n))).toBe(n)
      expect(tidOfTxKey(txKey(n))).toBe(n)
    }
    expect(parseRevisionKey(revisionKey(0x1234, 2 ** 40 + 7))).toEqual({ oid: 0x1234, tid: 2 ** 40 + 7 })
  })

  it('sort as bytes in numeric order', () => {
    let seed = 7
    const rnd = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff }
    const nums = Array.from({ length: 5000 }, () => Math.floor(rnd() * 2 ** (rnd() * 48)))
    for (const n of nums) expect(objectKey(n)).toBe('o:' + reference(n))
    const byKey = [...nums].sort((a, b) => (objectKey(a) < objectKey(b) ? -1 : objectKey(a) > objectKey(b) ? 1 : 0))
    expect(byKey).toEqual([...nums].sort((a, b) => a - b))
  })
})
