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

/** Monotonic real milliseconds, for measuring (load runs, benchmarks); never for domain time. */
export const stopwatch = (): number => performance.now();
