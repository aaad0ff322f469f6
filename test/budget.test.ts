// The call budget (issue 12): its leaky bucket, its priorities, and what it learns from Gorgias.
// Everything runs on a FakeClock; no test waits on real time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../src/clock.ts';
import { added, createCallBudget, drained, emptyBucket, msUntilRoom, observed, type CallPriority } from '../src/budget/budget.ts';

/** Resolves to the order in which the takes were let through, advancing the clock one timer at a time. */
async function order(clock: FakeClock, takes: Array<[string, Promise<void>]>, maxMs = 120_000): Promise<string[]> {
  const done: string[] = [];
  for (const [name, p] of takes) void p.then(() => done.push(name));
  const end = clock.now() + maxMs;
  for (let i = 0; i < 10_000 && done.length < takes.length; i++) {
    await new Promise<void>((r) => setImmediate(r));
    const next = clock.nextTimerAt();
    if (next === undefined || next > end) break;
    clock.advance(next - clock.now());
  }
  await new Promise<void>((r) => setImmediate(r));
  return done;
}

describe('the bucket (pure)', () => {
  it('drains capacity per window, and says when one more call fits', () => {
    const b0 = emptyBucket(32, 20_000, 0);
    let b = b0;
    for (let i = 0; i < 32; i++) b = added(b, 0);
    assert.equal(b.level, 32);
    assert.equal(msUntilRoom(b, 0), 625, 'one call drains in 20 s / 32');
    assert.equal(msUntilRoom(b, 625), 0);
    assert.equal(drained(b, 20_000).level, 0);
    assert.equal(msUntilRoom(b0, 0), 0);
  });

  it('follows Gorgias: the used count (other tools too), its limit, and a 429 pauses everything', () => {
    const b = emptyBucket(32, 20_000, 0);
    assert.equal(observed(b, { used: 30, limit: 40 }, 0, 0.8, 20_000).level, 30, 'other tools used the key');
    assert.equal(observed(b, { used: 3, limit: 80 }, 0, 0.8, 20_000).capacity, 64, 'an OAuth app gets 80');
    const paused = observed(b, { rateLimited: true, retryAfterMs: 7_000 }, 0, 0.8, 20_000);
    assert.equal(msUntilRoom(paused, 0), 7_000, 'full, and paused for the Retry-After');
    assert.equal(paused.level, 32);
    assert.equal(paused.pausedUntil, 7_000);
  });
});

describe('createCallBudget', () => {
  it('lets a burst of 32 (80% of 40) go at once, then one call every 625 ms', async () => {
    const clock = new FakeClock(0);
    const budget = createCallBudget({ clock });
    for (let i = 0; i < 32; i++) await budget.take('interactive');
    let went = false;
    const p = budget.take('interactive').then(() => (went = true));
    await Promise.resolve();
    assert.equal(went, false);
    clock.advance(624);
    await Promise.resolve();
    assert.equal(went, false);
    clock.advance(1);
    await p;
    assert.equal(budget.stats().granted, 33);
    assert.equal(budget.stats().waits.interactive.maxMs, 625);
  });

  it('serves the first priority first, in order; the others wait while it is busy', async () => {
    const clock = new FakeClock(0);
    const budget = createCallBudget({ clock, limit: 10, share: 0.1 }); // one call in the bucket
    await budget.take('interactive');
    const takes: Array<[string, Promise<void>]> = [
      ['bg1', budget.take('background')],
      ['hk1', budget.take('housekeeping')],
      ['in1', budget.take('interactive')],
      ['bg2', budget.take('background')],
      ['in2', budget.take('interactive')],
    ];
    assert.deepEqual(await order(clock, takes), ['in1', 'in2', 'hk1', 'bg1', 'bg2']);
  });

  it('a call that waited too long goes first: lower priorities wait, never for ever', async () => {
    const clock = new FakeClock(0);
    const budget = createCallBudget({ clock, limit: 10, share: 0.1, maxWaitMs: { background: 5_000 } });
    await budget.take('interactive');
    const takes: Array<[string, Promise<void>]> = [['bg', budget.take('background')]];
    // A steady stream of interactive calls that alone would use every slot.
    for (let i = 0; i < 6; i++) takes.push([`in${i}`, budget.take('interactive')]);
    const done = await order(clock, takes);
    assert.ok(done.indexOf('bg') < done.length - 1, `the background call was served before the stream ended: ${done.join(',')}`);
  });

  it('a 429 pauses every call for its Retry-After; the used count slows us when other tools use the key', async () => {
    const clock = new FakeClock(0);
    const budget = createCallBudget({ clock });
    await budget.take('interactive');
    budget.done({ rateLimited: true, retryAfterMs: 3_000 });
    const t0 = clock.now();
    const p = budget.take('interactive');
    await order(clock, [['x', p]]);
    assert.ok(clock.now() - t0 >= 3_000, `waited ${clock.now() - t0} ms`);
    assert.equal(budget.stats().rateLimited, 1);

    const other = createCallBudget({ clock });
    await other.take('interactive');
    other.done({ used: 32, limit: 40 });
    let went = false;
    void other.take('interactive').then(() => (went = true));
    await Promise.resolve();
    assert.equal(went, false, 'Gorgias counts 32 calls on the key: ours wait');
  });

  it('close refuses waiting and later calls, so nothing waits for ever', async () => {
    const clock = new FakeClock(0);
    const budget = createCallBudget({ clock, limit: 10, share: 0.1 });
    await budget.take('interactive');
    const waiting = budget.take('background');
    budget.close();
    await assert.rejects(waiting, /closed/);
    await assert.rejects(budget.take('interactive'), /closed/);
    assert.equal(clock.pending, 0, 'no timer left behind');
  });

  it('under a steady load above the budget, the rate stays at the budget', async () => {
    const clock = new FakeClock(0);
    const budget = createCallBudget({ clock });
    const priorities: CallPriority[] = ['interactive', 'housekeeping', 'background'];
    const takes: Array<[string, Promise<void>]> = [];
    for (let i = 0; i < 200; i++) takes.push([String(i), budget.take(priorities[i % 3])]);
    await order(clock, takes, 10 * 60_000);
    // 200 calls: 32 at once, then 1.6 a second: 105 s.
    assert.equal(budget.stats().granted, 200);
    assert.ok(Math.abs(clock.now() - 105_000) <= 1_000, `took ${clock.now()} ms`);
  });
});

describe('the flags', () => {
  it('serve: --call-budget, --call-limit, --call-window, then the environment, then 80% of 40 per 20 s', async () => {
    const { callBudgetOptions } = await import('../src/commands/serve.ts');
    assert.deepEqual(callBudgetOptions({}, {}), { share: 0.8, limit: 40, windowMs: 20_000 });
    assert.deepEqual(callBudgetOptions({ callBudget: '50', callLimit: '80', callWindow: '10' }, { LIVECHAT_CALL_BUDGET: '90' }), {
      share: 0.5,
      limit: 80,
      windowMs: 10_000,
    });
    assert.equal(callBudgetOptions({}, { LIVECHAT_CALL_BUDGET: '60' }).share, 0.6);
    assert.throws(() => callBudgetOptions({ callBudget: '0' }, {}), /--call-budget must be a number from 1 to 100/);
    assert.throws(() => callBudgetOptions({ callLimit: 'x' }, {}), /--call-limit/);
  });

  it('simulate: --rate-limit and the progress line (rate and time left)', async () => {
    const { parseRateLimit, progressLine } = await import('../src/commands/simulate.ts');
    assert.deepEqual(parseRateLimit(undefined), { limit: 40, windowMs: 20_000 });
    assert.equal(parseRateLimit('off'), false);
    assert.equal(parseRateLimit('0'), false);
    assert.throws(() => parseRateLimit('-3'), /--rate-limit/);
    assert.equal(progressLine(250, 1000, 10_000), `[${'#'.repeat(8)}${' '.repeat(22)}] 250/1000 conversations, 25.0/s, 30 s left`);
    assert.match(progressLine(1000, 1000, 40_000), /1000\/1000 conversations, 25\.0\/s, done in 40 s$/);
  });
});
