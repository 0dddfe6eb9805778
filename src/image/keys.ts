/**
 * The image's key space. Fixed-width hex keeps LevelDB's byte order equal to
 * numeric order, so a range read walks revisions and transactions in tid order.
 *   m:meta            image metadata
 *   o:<oid>           an object's current revision
 *   r:<oid>:<tid>     an earlier revision, kept until pack
 *   t:<tid>           a transaction record
 */
const BYTE_HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
const TWO_32 = 2 ** 32

// Every commit makes a key per object it writes, and `toString(16)` of a number is a runtime call
// in V8 (over a tenth of a bulk commit's preparation): byte by byte from a table instead.
function hex(n: number): string {
  if (n < 0 || n >= 2 ** 48 || !Number.isInteger(n)) return n.toString(16).padStart(12, '0')
  const hi = Math.floor(n / TWO_32)
  const lo = n >>> 0
  return BYTE_HEX[hi >>> 8]! + BYTE_HEX[hi & 255]! + BYTE_HEX[lo >>> 24]! + BYTE_HEX[(lo >>> 16) & 255]! + BYTE_HEX[(lo >>> 8) & 255]! + BYTE_HEX[lo & 255]!
}

export const META = 'm:meta'
export const objectKey = (oid: number): string => 'o:' + hex(oid)
export const revisionKey = (oid: number, tid: number): string => `r:${hex(oid)}:${hex(tid)}`
export const revisionPrefix = (oid: number): string => `r:${hex(oid)}:`
export const txKey = (tid: number): string => 't:' + hex(tid)

export const OBJECTS = { gte: 'o:', lt: 'o;' } as const
export const REVISIONS = { gte: 'r:', lt: 'r;' } as const
export const TRANSACTIONS = { gte: 't:', lt: 't;' } as const

export function oidOfObjectKey(key: string): number {
  return parseInt(key.slice(2), 16)
}

export function parseRevisionKey(key: string): { oid: number; tid: number } {
  return { oid: parseInt(key.slice(2, 14), 16), tid: parseInt(key.slice(15), 16) }
}

export function tidOfTxKey(key: string): number {
  return parseInt(key.slice(2), 16)
}
