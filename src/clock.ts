// Time is injected. This file is the only place in src/ that touches the wall clock or timers.

export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): number;
  /** Run `fn` once after `ms`. */
  setTimer(ms: number, fn: () => void): Timer;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const handle = setTimeout(fn, Math.max(0, ms));
    handle.unref?.();
    return { cancel: () => clearTimeout(handle) };
  },
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
  /** A sleep keeps the process alive, as `realClock.sleep` does; a timer does not. */
  keepAlive?: boolean;
}

/** Whether `a` fires before `b`: earlier first, then in the order they were set. */
const before = (a: Pending, b: Pending): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/**
 * A clock that only moves when told. `advance(ms)` fires due timers in time order. Timers sit in
 * a binary heap, so setting and firing one costs O(log n) however many are pending; a cancelled
 * timer is dropped when it reaches the top, or all at once when they outnumber the live ones.
 */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private heap: Pending[] = [];
  private live = 0;

  constructor(start = Date.UTC(2026, 0, 1, 9, 0, 0)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): Timer {
    const entry: Pending = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.push(entry);
    this.live++;
    return {
      cancel: () => {
        if (entry.cancelled) return;
        entry.cancelled = true;
        this.live--;
        if (this.heap.length > 64 && this.heap.length > 2 * this.live) this.compact();
      },
    };
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(ms, resolve));
  }

  /** Move time forward, firing each due timer at its own instant, in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const next = this.top();
      if (!next || next.at > target) break;
      this.pop();
      next.cancelled = true;
      this.live--;
      this.current = next.at;
      next.fn();
    }
    this.current = Math.max(this.current, target);
  }

  /** Time of the next live timer, if any. */
  nextTimerAt(): number | undefined {
    return this.top()?.at;
  }

  /** Live timers (not fired, not cancelled). */
  get pending(): number {
    return this.live;
  }

  /** The next live timer, dropping cancelled ones on the way. */
  private top(): Pending | undefined {
    while (this.heap.length && this.heap[0].cancelled) this.pop();
    return this.heap[0];
  }

  private push(entry: Pending): void {
    const h = this.heap;
    h.push(entry);
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (!h.length) return;
    h[0] = last;
    this.siftDown(0);
  }

  private siftDown(from: number): void {
    const h = this.heap;
    for (let i = from; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l], h[m])) m = l;
      if (r < h.length && before(h[r], h[m])) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }

  /** Drop every cancelled timer and rebuild the heap (O(n)). */
  private compact(): void {
    this.heap = this.heap.filter((p) => !p.cancelled);
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }
}

/** The longest delay node's timers take (about 24.8 days); a later timer is re-armed on the way. */
const MAX_REAL_DELAY_MS = 2 ** 31 - 1;

/**
 * Real time that can also be told to jump ahead (the playground's fast-forward). Timers fire on
 * the wall clock as usual; `jump(ms)` fires those due meanwhile in time order, each with the
 * clock at its own instant, and lets `settle` finish what one started before the next fires. So a
 * jump ends the way waiting would have. The clock never goes back.
 */
export class JumpClock implements Clock {
  private offset = 0;
  private seq = 0;
  private pending: Pending[] = [];
  private handle: ReturnType<typeof setTimeout> | undefined;
  private jumping: Promise<void> = Promise.resolve();

  now(): number {
    return Date.now() + this.offset;
  }

  /** How far ahead of the wall clock it runs, in ms. */
  get aheadMs(): number {
    return this.offset;
  }

  setTimer(ms: number, fn: () => void): Timer {
    return this.add(ms, fn, false);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.add(ms, resolve, true));
  }

  /** Move `ms` ahead. Jumps asked for meanwhile run one after the other. */
  jump(ms: number, settle: () => Promise<void> = async () => {}): Promise<void> {
    const run = this.jumping.then(() => this.jumpNow(Math.max(0, ms), settle));
    this.jumping = run.catch(() => {});
    return run;
  }

  /** Time of the next live timer, if any. */
  nextTimerAt(): number | undefined {
    return this.nextDue(Number.POSITIVE_INFINITY)?.at;
  }

  close(): void {
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
    for (const p of this.pending) p.cancelled = true;
    this.pending = [];
  }

  // Timers keep firing on the wall clock during a jump too: what `settle` waits for (a retry's
  // back-off, a call's time-out) may need one.
  private add(ms: number, fn: () => void, keepAlive: boolean): Timer {
    const entry: Pending = { at: this.now() + Math.max(0, ms), seq: this.seq++, fn, cancelled: false, keepAlive };
    this.pending.push(entry);
    this.arm();
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  private async jumpNow(ms: number, settle: () => Promise<void>): Promise<void> {
    // Work in flight finishes first, in the time it started in.
    await settle();
    const target = this.now() + ms;
    try {
      for (;;) {
        const next = this.nextDue(target);
        if (!next) break;
        next.cancelled = true;
        this.moveTo(next.at);
        next.fn();
        await settle();
      }
    } finally {
      this.moveTo(target);
      this.arm();
    }
  }

  private moveTo(at: number): void {
    this.offset = Math.max(this.offset, at - Date.now());
  }

  private disarm(): void {
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
  }

  private arm(): void {
    this.disarm();
    this.pending = this.pending.filter((p) => !p.cancelled);
    const next = this.nextDue(Number.POSITIVE_INFINITY);
    if (!next) return;
    this.handle = setTimeout(() => this.fireDue(), Math.min(MAX_REAL_DELAY_MS, Math.max(0, next.at - this.now())));
    if (!this.pending.some((p) => p.keepAlive)) this.handle.unref?.();
  }

  private fireDue(): void {
    this.handle = undefined;
    try {
      for (;;) {
        const next = this.nextDue(this.now());
        if (!next) break;
        next.cancelled = true;
        next.fn();
      }
    } finally {
      this.arm();
    }
  }

  private nextDue(limit: number): Pending | undefined {
    return earliest(this.pending, limit);
  }
}

function earliest(pending: Pending[], limit: number): Pending | undefined {
  let best: Pending | undefined;
  for (const p of pending) {
    if (p.cancelled || p.at > limit) continue;
    if (!best || p.at < best.at || (p.at === best.at && p.seq < best.seq)) best = p;
  }
  return best;
}

/** Monotonic real milliseconds, for measuring (load runs, benchmarks); never for domain time. */
export const stopwatch = (): number => performance.now();
