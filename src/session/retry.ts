// Bounded retries of helpdesk calls (issue 7): which failures are worth another try, and how long
// to wait between tries. Pure; the manager does the waiting on its `retryClock`.

/** Bounded retries of a failed helpdesk call. */
export interface RetryPolicy {
  /** Tries in all, the first included (1 = no retry). */
  attempts: number;
  /** Wait after failed try number `attempt` (1-based). */
  delayMs(attempt: number): number;
  /** Default: `isRetryableError`. */
  retryable?(error: unknown): boolean;
  /** No try starts later than this after the first one (slow failures use the time up sooner). */
  maxElapsedMs?: number;
}

export interface BackoffOptions {
  attempts?: number;
  /** Wait after the first failure; doubled after each next one. */
  baseMs?: number;
  maxMs?: number;
  maxElapsedMs?: number;
}

export const DEFAULT_RETRY_ATTEMPTS = 5;
export const DEFAULT_RETRY_BASE_MS = 1000;
export const DEFAULT_RETRY_MAX_MS = 30_000;

/** Exponential backoff without jitter (deterministic, so a fake clock replays it exactly). */
export function backoffPolicy(options: BackoffOptions = {}): RetryPolicy {
  const attempts = Math.max(1, Math.floor(options.attempts ?? DEFAULT_RETRY_ATTEMPTS));
  const base = Math.max(0, options.baseMs ?? DEFAULT_RETRY_BASE_MS);
  const max = Math.max(base, options.maxMs ?? DEFAULT_RETRY_MAX_MS);
  return {
    attempts,
    delayMs: (attempt) => Math.min(max, base * 2 ** Math.max(0, attempt - 1)),
    retryable: isRetryableError,
    maxElapsedMs: options.maxElapsedMs,
  };
}

/** 5 tries, waits of 1, 2, 4 and 8 s, none started after 15 s: Gorgias gets about 15 s to come back. */
export const DEFAULT_RETRY: RetryPolicy = backoffPolicy({ maxElapsedMs: 15_000 });

export const NO_RETRY: RetryPolicy = { attempts: 1, delayMs: () => 0 };

/** Error kinds (src/gorgias/errors.ts) that say "this request is wrong", not "Gorgias is unwell". */
const PERMANENT_KINDS = new Set(['auth', 'forbidden', 'not_found', 'validation', 'usage', 'config']);

/**
 * 5xx, 429, 408 and network failures (timeouts, resets) are worth another try; 400, 401, 403,
 * 404, 422 fail at once. An error that says nothing about itself is taken as transient.
 */
export function isRetryableError(error: unknown): boolean {
  const e = error as { status?: unknown; kind?: unknown } | null | undefined;
  if (typeof e?.status === 'number') return e.status >= 500 || e.status === 429 || e.status === 408;
  if (typeof e?.kind === 'string') return !PERMANENT_KINDS.has(e.kind);
  return true;
}

/** Gorgias answered 429: it is up and asks us to wait. The engine waits and tries again, without counting a failure. */
export function isRateLimited(error: unknown): boolean {
  const e = error as { status?: unknown; kind?: unknown } | null | undefined;
  return e?.status === 429 || e?.kind === 'rate_limited';
}
