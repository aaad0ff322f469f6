// The jumpable clock of the playground: real time that can fast-forward, firing what falls due on
// the way in order, each at its own instant, as waiting would have.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JumpClock } from '../src/clock.ts';

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
