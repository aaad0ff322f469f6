// The jumpable clock of the playground: real time that can fast-forward, firing what falls due on
// the way in order, each at its own instant, as waiting would have. And FakeClock: timers in time
// order (then in the order they were set), cancelled ones never, however many are pending (a heap).
import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { FakeClock, JumpClock } from '../src/clock.ts';

const MIN = 60_000;

/** Resolves when `done()` holds, checked every few ms; fails after a deadline. */
async function until(what: string, done: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a jump fires the timers due meanwhile in time order, each with the clock at its own instant', async () => {
  const clock = new JumpClock();
  const wallStart = Date.now();
  const start = clock.now();
  const fired: Array<{ name: string; at: number }> = [];
  const at = (name: string) => () => fired.push({ name, at: clock.now() });
  clock.setTimer(30 * MIN, at('expiry'));
  clock.setTimer(1 * MIN, at('catch-up'));
  clock.setTimer(45 * MIN, at('too late'));
  const cancelled = clock.setTimer(2 * MIN, at('cancelled'));
  cancelled.cancel();

  await clock.jump(31 * MIN);
  assert.deepEqual(
    fired.map((f) => f.name),
    ['catch-up', 'expiry'],
  );
  // Each fired at its own instant (plus at most the real ms the test took), not at the jump's end.
  const real = Date.now() - wallStart;
  for (const [i, due] of [1 * MIN, 30 * MIN].entries()) {
    const late = fired[i].at - start - due;
    assert.ok(late >= 0 && late <= real, `${fired[i].name} fired ${late} ms after its instant (the test took ${real} ms)`);
  }
  assert.ok(clock.now() - start >= 31 * MIN);
  assert.ok(clock.aheadMs >= 31 * MIN - real);
  assert.ok(clock.nextTimerAt()! - start >= 45 * MIN);
  clock.close();
});

test('settle runs after each timer, and a timer it arms within the jump fires in the same jump', async () => {
  const clock = new JumpClock();
  const start = clock.now();
  const log: string[] = [];
  clock.setTimer(5 * MIN, () => {
    log.push('first');
    // As the engine does: a timer re-arms the next one from its own instant.
    clock.setTimer(5 * MIN, () => log.push(`second at +${Math.round((clock.now() - start) / MIN)} min`));
  });
  await clock.jump(12 * MIN, async () => {
    log.push('settle');
  });
  assert.deepEqual(log, ['settle', 'first', 'settle', 'second at +10 min', 'settle']);
  clock.close();
});

test('jumps asked for together run one after the other; time never goes back', async () => {
  const clock = new JumpClock();
  const start = clock.now();
  const seen: number[] = [];
  for (const m of [1, 2, 3, 4]) clock.setTimer(m * MIN, () => seen.push(clock.now()));
  await Promise.all([clock.jump(2.5 * MIN), clock.jump(2 * MIN)]);
  assert.equal(seen.length, 4);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1]);
  assert.ok(clock.now() - start >= 4.5 * MIN);
  clock.close();
});

test('between jumps it runs on the wall clock: a short timer fires by itself, sleep resolves', async () => {
  const clock = new JumpClock();
  let fired = false;
  clock.setTimer(10, () => (fired = true));
  await until('the 10 ms timer', () => fired);
  await clock.sleep(5);
  // A timer armed before a jump and due after it still fires on time after the jump.
  let later = false;
  clock.setTimer(MIN + 20, () => (later = true));
  await clock.jump(MIN);
  assert.equal(later, false);
  await until('the timer due 20 ms after the jump', () => later);
  clock.close();
});

test('a timer can wait on the wall clock while a jump settles (a retry back-off), without hanging', async () => {
  const clock = new JumpClock();
  let retried = false;
  const backoff = () => clock.sleep(15).then(() => void (retried = true));
  let pending: Promise<void> | undefined;
  clock.setTimer(MIN, () => {
    pending = backoff();
  });
  await clock.jump(2 * MIN, async () => {
    await pending;
  });
  assert.equal(retried, true);
  clock.close();
});

describe('FakeClock', () => {
  it('fires due timers at their own instant, by time then by the order they were set', () => {
    const clock = new FakeClock(0);
    const fired: string[] = [];
    clock.setTimer(30, () => fired.push(`c@${clock.now()}`));
    clock.setTimer(10, () => fired.push(`a@${clock.now()}`));
    clock.setTimer(10, () => fired.push(`b@${clock.now()}`));
    clock.setTimer(50, () => fired.push('late'));
    clock.advance(40);
    assert.deepEqual(fired, ['a@10', 'b@10', 'c@30']);
    assert.equal(clock.now(), 40);
    assert.equal(clock.nextTimerAt(), 50);
  });

  it('a timer set while firing, due by then, fires in the same advance', () => {
    const clock = new FakeClock(0);
    const fired: number[] = [];
    clock.setTimer(5, () => {
      fired.push(clock.now());
      clock.setTimer(0, () => fired.push(clock.now()));
      clock.setTimer(100, () => fired.push(clock.now()));
    });
    clock.advance(10);
    assert.deepEqual(fired, [5, 5]);
    assert.equal(clock.pending, 1);
  });

  it('cancelled timers never fire and are not the next one; many cancels are compacted away', () => {
    const clock = new FakeClock(0);
    let fired = 0;
    const timers = Array.from({ length: 10_000 }, (_, i) => clock.setTimer(1 + i, () => fired++));
    for (let i = 0; i < timers.length - 1; i++) timers[i].cancel();
    timers[0].cancel(); // twice: still one cancel
    assert.equal(clock.pending, 1);
    assert.equal(clock.nextTimerAt(), 10_000);
    clock.advance(20_000);
    assert.equal(fired, 1);
    assert.equal(clock.pending, 0);
    assert.equal(clock.nextTimerAt(), undefined);
  });

  it('keeps the order among 50,000 timers set in a shuffled order', () => {
    const clock = new FakeClock(0);
    const fired: number[] = [];
    let x = 12345;
    const rand = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 50_000; i++) {
      const at = Math.floor(rand() * 1_000_000);
      const t = clock.setTimer(at, () => fired.push(at));
      if (i % 3 === 0) t.cancel();
    }
    clock.advance(1_000_000);
    assert.equal(fired.length, 50_000 - Math.ceil(50_000 / 3));
    assert.ok(
      fired.every((at, i) => i === 0 || at >= fired[i - 1]),
      'in time order',
    );
  });

  it('sleep resolves when the clock passes it', async () => {
    const clock = new FakeClock(0);
    let done = false;
    const p = clock.sleep(1000).then(() => (done = true));
    clock.advance(999);
    await Promise.resolve();
    assert.equal(done, false);
    clock.advance(1);
    await p;
    assert.equal(done, true);
  });
});
