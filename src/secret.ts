// Comparing secrets (tokens, the channel secret) in constant time: both sides are hashed to the
// same length first, and the expected one only once.
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** One-shot sha256 (no Hash object per call: this runs on every webhook). */
const digest = (value: string): Buffer => hash('sha256', value, 'buffer');

/** A check against one expected secret. */
export function secretMatcher(expected: string): (given: string | undefined) => boolean {
  const want = digest(expected);
  return (given) => given !== undefined && timingSafeEqual(digest(given), want);
}

export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** 192 bits of randomness, URL-safe (base64url, no padding): 32 characters. */
export function newSecret(): string {
  return randomBytes(24).toString('base64url');
}
