// Comparing secrets (tokens, the channel secret) in constant time. `sameSecret` hashes both sides
// to one length; `secretMatcher` (on every webhook and channel call) copies the given secret into a
// buffer the length of the expected one instead, which costs no hash and tells a caller nothing
// about the expected length either.
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** One-shot sha256 (no Hash object per call). */
const digest = (value: string): Buffer => hash('sha256', value, 'buffer');

/** A check against one expected secret. */
export function secretMatcher(expected: string): (given: string | undefined) => boolean {
  const want = Buffer.from(expected, 'utf8');
  // Reused: the check is synchronous, so no two calls share it at once.
  const scratch = Buffer.alloc(want.length);
  return (given) => {
    if (given === undefined) return false;
    scratch.fill(0);
    const written = scratch.write(given, 'utf8');
    // Every byte is compared whatever the given length; a longer or shorter secret still fails.
    const same = timingSafeEqual(scratch, want);
    return same && written === want.length && Buffer.byteLength(given, 'utf8') === want.length;
  };
}

export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** 192 bits of randomness, URL-safe (base64url, no padding): 32 characters. */
export function newSecret(): string {
  return randomBytes(24).toString('base64url');
}
