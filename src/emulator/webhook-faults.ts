// Fault injection for webhook deliveries, emulator-only: drop, duplicate, delay and reorder,
// seeded so runs repeat. Sits between an event's calls and their delivery.
import type { Clock, Timer } from '../clock.js';
import { seededRandom } from '../random.js';

export interface WebhookFaults {
  /** Probability 0..1 that a delivery is dropped (recorded with `dropped: true`, never sent). */
  drop?: number;
  /** Probability 0..1 that a delivery is sent twice (same event id), the copy right after. */
  duplicate?: number;
  /** Each delivery waits this long on the emulator clock before it is sent. */
  delayMs?: number;
  /**
   * Hold deliveries in a batch and release it shuffled (never in the original order when it holds
   * two or more). The batch is released when it holds `reorderBatch` deliveries (default 3) or
   * `reorderWindowMs` (default 1000) after its first one, on the emulator clock.
   */
  reorder?: boolean;
  reorderBatch?: number;
  reorderWindowMs?: number;
  /** Seed of the PRNG behind drop/duplicate/reorder (default 1). */
  seed?: number;
}

/** Fisher-Yates with `random`; a batch of two or more never comes out in its original order. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  if (out.length > 1 && out.every((x, i) => x === items[i])) out.push(out.shift()!);
  return out;
}

export interface FaultStage<J> {
  /** How many copies of a call go out: 0 (dropped), 1, or 2 (duplicated). */
  copies(): 0 | 1 | 2;
  /** Pass a call on to `go`, now or after its delay or reorder window. */
  route(job: J): void;
  /** Calls held on the clock (delay, reorder window), not yet on their way. */
  readonly waiting: number;
  set(faults: WebhookFaults): void;
  /** Back to no faults; held calls go out at once. */
  reset(): void;
  close(): void;
}

export function createFaultStage<J>(clock: Clock, go: (job: J) => void, isClosed: () => boolean): FaultStage<J> {
  let faults: WebhookFaults = {};
  let random = seededRandom(1);
  let waiting = 0;
  const timers = new Set<Timer>();
  let held: J[] = [];
  let heldTimer: Timer | undefined;

  function after(ms: number, fn: () => void): Timer {
    const t = clock.setTimer(ms, () => {
      timers.delete(t);
      if (!isClosed()) fn();
    });
    timers.add(t);
    return t;
  }

  function releaseHeld(): void {
    heldTimer?.cancel();
    if (heldTimer) timers.delete(heldTimer);
    heldTimer = undefined;
    const batch = shuffle(held, random);
    held = [];
    waiting -= batch.length;
    for (const job of batch) go(job);
  }

  function hold(job: J): void {
    held.push(job);
    waiting++;
    if (held.length >= (faults.reorderBatch ?? 3)) releaseHeld();
    else if (!heldTimer) {
      heldTimer = after(faults.reorderWindowMs ?? 1000, () => {
        heldTimer = undefined;
        releaseHeld();
      });
    }
  }

  return {
    copies() {
      if (faults.drop && random() < faults.drop) return 0;
      return faults.duplicate && random() < faults.duplicate ? 2 : 1;
    },
    route(job) {
      const pass = () => (faults.reorder ? hold(job) : go(job));
      if (faults.delayMs && faults.delayMs > 0) {
        waiting++;
        after(faults.delayMs, () => {
          waiting--;
          pass();
        });
      }
      // Not before the API answer has been written.
      else setImmediate(() => (isClosed() ? undefined : pass()));
    },
    get waiting() {
      return waiting;
    },
    set(f) {
      faults = { ...f };
      random = seededRandom(f.seed ?? 1);
    },
    reset() {
      faults = {};
      random = seededRandom(1);
      if (held.length) releaseHeld();
    },
    close() {
      for (const t of timers) t.cancel();
      timers.clear();
      held = [];
      waiting = 0;
    },
  };
}
