// Leaky bucket per API key: each call adds one drop, the bucket drains `limit` drops per window.
// Everything, Retry-After and the call-limit header included, runs on the injected clock, so a
// fake clock that fast-forwards drains the bucket as real time would.
import type { Clock } from '../clock.js';

export interface RateLimitConfig {
  limit: number;
  windowMs: number;
}

export interface RateDecision {
  allowed: boolean;
  /** For the X-Gorgias-Account-Api-Call-Limit header. */
  used: number;
  limit: number;
  /** Seconds to wait, when refused. */
  retryAfter: number;
}

interface Bucket {
  level: number;
  at: number;
}

export function createRateLimiter(config: RateLimitConfig, clock: Clock) {
  const buckets = new Map<string, Bucket>();
  const drainPerMs = config.limit / config.windowMs;

  function drained(key: string): Bucket {
    const now = clock.now();
    const b = buckets.get(key) ?? { level: 0, at: now };
    b.level = Math.max(0, b.level - (now - b.at) * drainPerMs);
    b.at = now;
    buckets.set(key, b);
    return b;
  }

  return {
    config,
    /** Count one call against `key`, or refuse it. */
    take(key: string): RateDecision {
      const b = drained(key);
      if (b.level + 1 > config.limit + 1e-9) {
        const waitMs = (b.level + 1 - config.limit) / drainPerMs;
        return { allowed: false, used: config.limit, limit: config.limit, retryAfter: Math.max(1, Math.ceil(waitMs / 1000 - 1e-9)) };
      }
      b.level += 1;
      return { allowed: true, used: Math.min(config.limit, Math.ceil(b.level - 1e-9)), limit: config.limit, retryAfter: 0 };
    },
    /** The current state without counting a call (for answers that are not counted, e.g. 401). */
    peek(key: string): RateDecision {
      const b = drained(key);
      return { allowed: true, used: Math.ceil(b.level - 1e-9), limit: config.limit, retryAfter: 0 };
    },
    reset(): void {
      buckets.clear();
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
