// FakeClock: timers fire in time order (then in the order they were set), cancelled ones never,
// however many are pending (a binary heap since issue 12).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../src/clock.ts';

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
