/**
 * The image's key space. Fixed-width hex keeps LevelDB's byte order equal to
 * numeric order, so a range read walks revisions and transactions in tid order.
 *   m:meta            image metadata
 *   o:<oid>           an object's current revision
 *   r:<oid>:<tid>     an earlier revision, kept until pack
 *   t:<tid>           a transaction record
 */
const hex = (n: number): string => n.toString(16).padStart(12, '0')

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
