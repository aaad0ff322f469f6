// One call budget per Gorgias API key, shared by every conversation of the process (issue 12).
// Gorgias allows 40 calls per 20 s per key, as a leaky bucket, and every other tool on the store
// shares that key. The budget keeps its own bucket at a share of that (80% by default), lets calls
// go in priority order when the bucket is full, and follows what Gorgias says: the used count of
// each answer (other tools' calls included) and the Retry-After of a 429.
import { realClock, type Clock, type Timer } from '../clock.js';

/**
 * Who waits first when the bucket is full: hand-offs, user messages and messages read back for
 * the user; then the notes and closes that end a session, and the check before an expiry; then
 * catch-ups of quiet sessions.
 */
export type CallPriority = 'interactive' | 'housekeeping' | 'background';
export const PRIORITIES: readonly CallPriority[] = ['interactive', 'housekeeping', 'background'];

/** What one call's answer says about the key's bucket. */
export interface CallAnswer {
  /** Gorgias answered 429. */
  rateLimited?: boolean;
  /** Retry-After, in ms. */
  retryAfterMs?: number;
  /** `X-Gorgias-Account-Api-Call-Limit: used/limit`: calls in the key's bucket now, every tool's. */
  used?: number;
  limit?: number;
}

/** What the client asks before each call and tells after it. */
export interface CallGate {
  /** Resolves when a call of this priority may go. Rejects once the budget is closed. */
  take(priority: CallPriority): Promise<void>;
  /** The answer (or the failure: `{}`) of a call that `take` let through. */
  done(answer: CallAnswer): void;
  /**
   * Resolves when a call of this priority would go at once (its turn came), without taking a slot:
   * a caller that can serve many requests with one call gathers them until then.
   */
  ready?(priority: CallPriority): Promise<void>;
}

export interface BudgetOptions {
  clock?: Clock;
  /** Calls Gorgias allows per window and key. Default 40. */
  limit?: number;
  /** Default 20 s. */
  windowMs?: number;
  /** Part of the limit this process may use (0 to 1]. Default 0.8: the rest is for other tools on the key. */
  share?: number;
  /**
   * A call that has waited this long goes with the first priority: under pressure lower priorities
   * wait, but never for ever. Defaults: housekeeping 60 s, background 5 minutes.
   */
  maxWaitMs?: Partial<Record<CallPriority, number>>;
}

export interface WaitStats {
  calls: number;
  /** Calls that had to wait for a slot. */
  waited: number;
  totalMs: number;
  maxMs: number;
}

export interface BudgetStats {
  /** Calls the bucket holds at most: share x limit. */
  capacity: number;
  limit: number;
  windowMs: number;
  /** Calls in the bucket now (ours, or more when Gorgias says other tools use the key). */
  level: number;
  waiting: Record<CallPriority, number>;
  /** Let through and not answered yet. */
  running: number;
  granted: number;
  /** 429s Gorgias answered. */
  rateLimited: number;
  /** Calls wait until then after a 429 (ms since the epoch); 0: no pause. */
  pausedUntil: number;
  waits: Record<CallPriority, WaitStats>;
}

export interface CallBudget extends CallGate {
  ready(priority: CallPriority): Promise<void>;
  stats(): BudgetStats;
  /** When the next waiting call may go (ms since the epoch), if one waits. */
  nextGrantAt(): number | undefined;
  /** Refuse every waiting and later call. */
  close(): void;
}

export const DEFAULT_LIMIT = 40;
export const DEFAULT_WINDOW_MS = 20_000;
export const DEFAULT_SHARE = 0.8;
const DEFAULT_MAX_WAIT_MS: Record<CallPriority, number> = { interactive: 0, housekeeping: 60_000, background: 5 * 60_000 };
/** Used when a 429 carries no usable Retry-After. [guess] Gorgias always sends one. */
const DEFAULT_PAUSE_MS = 2_000;

// ---- the bucket, pure ----------------------------------------------------------------------------

export interface Bucket {
  /** Calls in the bucket at `at`. */
  level: number;
  at: number;
  capacity: number;
  /** Calls drained per ms. */
  drain: number;
  pausedUntil: number;
}

export function emptyBucket(capacity: number, windowMs: number, now: number): Bucket {
  return { level: 0, at: now, capacity, drain: capacity / windowMs, pausedUntil: 0 };
}

/** The bucket at `now`, drained since it was last looked at. */
export function drained(b: Bucket, now: number): Bucket {
  if (now <= b.at) return b;
  return { ...b, level: Math.max(0, b.level - (now - b.at) * b.drain), at: now };
}

/** Ms from `now` until one more call fits (0: now). */
export function msUntilRoom(b: Bucket, now: number): number {
  const d = drained(b, now);
  const full = Math.max(0, Math.ceil((d.level + 1 - d.capacity) / d.drain - 1e-9));
  return Math.max(full, d.pausedUntil - now, 0);
}

/** One call more in the bucket. */
export function added(b: Bucket, now: number): Bucket {
  const d = drained(b, now);
  return { ...d, level: d.level + 1 };
}

/** What an answer says: the level is at least what Gorgias counts; a 429 fills the bucket and pauses it. */
export function observed(b: Bucket, answer: CallAnswer, now: number, share: number, windowMs: number): Bucket {
  let d = drained(b, now);
  if (answer.limit !== undefined && answer.limit > 0 && Math.abs(answer.limit * share - d.capacity) > 1e-9) {
    // The key's limit is not the one we were told (an OAuth app gets 80): follow Gorgias.
    d = { ...d, capacity: answer.limit * share, drain: (answer.limit * share) / windowMs };
  }
  if (answer.used !== undefined && answer.used > d.level) d = { ...d, level: answer.used };
  if (answer.rateLimited) {
    const pause = answer.retryAfterMs ?? DEFAULT_PAUSE_MS;
    d = { ...d, level: Math.max(d.level, d.capacity), pausedUntil: Math.max(d.pausedUntil, now + pause) };
  }
  return d;
}

// ---- the queue --------------------------------------------------------------------------------

interface Waiter {
  priority: CallPriority;
  since: number;
  seq: number;
  resolve: () => void;
  reject: (err: Error) => void;
  /** Only waits for its turn (`ready`): takes no slot. */
  probe?: boolean;
}

/** A FIFO with O(1) shift. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  drain(): T[] {
    const all = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return all;
  }
}

export class BudgetClosedError extends Error {
  constructor() {
    super('the Gorgias call budget is closed');
    this.name = 'BudgetClosedError';
  }
}

export function createCallBudget(options: BudgetOptions = {}): CallBudget {
  const clock = options.clock ?? realClock;
  const limit = options.limit ?? DEFAULT_LIMIT;
  const windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
  const share = Math.min(1, Math.max(0.01, options.share ?? DEFAULT_SHARE));
  const maxWait = { ...DEFAULT_MAX_WAIT_MS, ...options.maxWaitMs };
  let bucket = emptyBucket(limit * share, windowMs, clock.now());
  const queues: Record<CallPriority, Fifo<Waiter>> = { interactive: new Fifo(), housekeeping: new Fifo(), background: new Fifo() };
  const waits = Object.fromEntries(PRIORITIES.map((p) => [p, { calls: 0, waited: 0, totalMs: 0, maxMs: 0 }])) as Record<CallPriority, WaitStats>;
  let seq = 0;
  let running = 0;
  let granted = 0;
  let rateLimited = 0;
  let timer: { at: number; handle: Timer } | undefined;
  let closed = false;

  const waitingCount = () => PRIORITIES.reduce((n, p) => n + queues[p].size, 0);

  /** The waiter to serve next: by priority, a waiter that waited too long counting as the first; then by arrival. */
  function next(now: number): Waiter | undefined {
    let best: Waiter | undefined;
    let bestRank = Infinity;
    PRIORITIES.forEach((p, tier) => {
      const w = queues[p].peek();
      if (!w) return;
      const rank = now - w.since >= maxWait[p] ? 0 : tier;
      if (rank < bestRank || (rank === bestRank && best && w.seq < best.seq)) {
        best = w;
        bestRank = rank;
      }
    });
    return best;
  }

  function grant(w: Waiter, now: number): void {
    if (w.probe) {
      w.resolve();
      return;
    }
    bucket = added(bucket, now);
    running++;
    granted++;
    const s = waits[w.priority];
    const waited = now - w.since;
    s.calls++;
    s.totalMs += waited;
    if (waited > 0) s.waited++;
    s.maxMs = Math.max(s.maxMs, waited);
    w.resolve();
  }

  /** Let waiting calls go while there is room; otherwise wake up when there is. */
  function pump(): void {
    if (closed) return;
    const now = clock.now();
    for (;;) {
      const w = next(now);
      if (!w) break;
      const wait = msUntilRoom(bucket, now);
      if (wait > 0) {
        schedule(now + wait);
        return;
      }
      queues[w.priority].shift();
      grant(w, now);
    }
    if (timer) {
      timer.handle.cancel();
      timer = undefined;
    }
  }

  function schedule(at: number): void {
    if (timer && timer.at <= at) return;
    timer?.handle.cancel();
    timer = {
      at,
      handle: clock.setTimer(at - clock.now(), () => {
        timer = undefined;
        pump();
      }),
    };
  }

  function wait(priority: CallPriority, probe: boolean): Promise<void> {
    if (closed) return Promise.reject(new BudgetClosedError());
    const now = clock.now();
    // Goes at once when there is room and nobody of its priority or a higher one waits before it.
    const ahead = PRIORITIES.slice(0, PRIORITIES.indexOf(priority) + 1).some((p) => queues[p].size > 0);
    if (!ahead && msUntilRoom(bucket, now) === 0) {
      grant({ priority, since: now, seq: seq++, resolve: () => undefined, reject: () => undefined, probe }, now);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      queues[priority].push({ priority, since: now, seq: seq++, resolve, reject, probe });
      pump();
    });
  }

  return {
    take: (priority) => wait(priority, false),
    ready: (priority) => wait(priority, true),
    done(answer) {
      running = Math.max(0, running - 1);
      if (answer.rateLimited) rateLimited++;
      bucket = observed(bucket, answer, clock.now(), share, windowMs);
      if (waitingCount()) pump();
    },
    stats() {
      const now = clock.now();
      const b = drained(bucket, now);
      return {
        capacity: b.capacity,
        limit: b.capacity / share,
        windowMs,
        level: b.level,
        waiting: { interactive: queues.interactive.size, housekeeping: queues.housekeeping.size, background: queues.background.size },
        running,
        granted,
        rateLimited,
        pausedUntil: b.pausedUntil > now ? b.pausedUntil : 0,
        waits: structuredClone(waits),
      };
    },
    nextGrantAt() {
      if (!waitingCount()) return undefined;
      const now = clock.now();
      return now + msUntilRoom(bucket, now);
    },
    close() {
      closed = true;
      timer?.handle.cancel();
      timer = undefined;
      for (const p of PRIORITIES) for (const w of queues[p].drain()) w.reject(new BudgetClosedError());
    },
  };
}

/** Budgets by API key, so every client of one key in this process shares one (`serve` and its webhook install). */
const shared = new Map<string, CallBudget>();

/** The process's budget for `key` (any string naming the key: its hash, or domain + user). */
export function budgetFor(key: string, options: BudgetOptions = {}): CallBudget {
  let b = shared.get(key);
  if (!b) shared.set(key, (b = createCallBudget(options)));
  return b;
}
