import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** A fresh page token: 32 random bytes, base64url (URL-safe as it is). */
export function makeToken(): string {
  return randomBytes(32).toString('base64url')
}

/**
 * Whether `given` is the token, in time that does not depend on how much of it matches. Both sides
 * are hashed first: timingSafeEqual needs equal lengths, and comparing lengths would leak the length.
 */
export function tokenMatches(token: string, given: string | null | undefined): boolean {
  if (typeof given !== 'string') return false
  const a = createHash('sha256').update(token).digest()
  const b = createHash('sha256').update(given).digest()
  return timingSafeEqual(a, b)
}
