// Catch-ups of many sessions with one account-wide listing (issue 12), against a fake port that
// keeps an account's messages like Gorgias does (ids grow across tickets).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catchUpBatcher, catchUpPriority, sweepStart, type CatchUpPort } from '../src/session/catch-up.ts';
import type { HelpdeskMessage } from '../src/session/types.ts';

function account(options: { refuse?: boolean; perCall?: number } = {}) {
  const messages: HelpdeskMessage[] = [];
  const calls: string[] = [];
  let now = 1_000_000;
  let gate: Promise<void> | undefined;
  const say = (ticketId: number, text: string, fromAgent = true) => {
    const m = { id: messages.length + 1, ticketId, text, fromAgent, createdAt: now };
    messages.push(m);
    return m;
  };
  const port: Required<Omit<CatchUpPort, 'ready'>> = {
    async listMessagesSince(ticketId, after) {
      calls.push(`ticket ${ticketId} after ${after}`);
      await Promise.resolve();
      return messages.filter((m) => m.ticketId === ticketId && (after === undefined || m.id > after)).map(({ ticketId: _t, ...m }) => m);
    },
    async listRecentMessages(after, how = {}) {
      calls.push(`account after ${after}`);
      if (gate) await gate;
      if (options.refuse) return undefined;
      const above = messages.filter((m) => m.id > after);
      const max = (how.maxCalls ?? 10) * (options.perCall ?? 2); // messages a "page" holds
      return { messages: above.slice(-max), complete: above.length <= max };
    },
  };
  return {
    port,
    calls,
    say,
    tick: (ms: number) => (now += ms),
    now: () => now,
    /** Hold account listings until the returned function is called. */
    hold(): () => void {
      let release!: () => void;
      gate = new Promise<void>((r) => (release = r));
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

const texts = (l: { messages: HelpdeskMessage[] }) => l.messages.map((m) => m.text);

describe('catch-up batcher', () => {
  it('background catch-ups asked together share one account listing; each gets its own ticket above its own id', async () => {
    const a = account({ perCall: 10 });
    const batcher = catchUpBatcher({ port: a.port, now: a.now, perCall: 10 });
    const h1 = a.say(1, 'hand-off 1', false);
    const h2 = a.say(2, 'hand-off 2', false);
    a.say(1, 'agent to 1');
    a.say(3, 'someone else');
    a.say(2, 'agent to 2');
    a.say(2, 'a note', true);
    const [l1, l2] = await Promise.all([batcher.list(1, h1.id, 'background'), batcher.list(2, h2.id, 'background')]);
    assert.deepEqual(a.calls, [`account after ${h1.id}`]);
    assert.deepEqual(texts(l1), ['agent to 1']);
    assert.deepEqual(texts(l2), ['agent to 2', 'a note']);
    assert.equal(l1.upTo, 6, 'everything up to the newest listed id is accounted for');
    assert.deepEqual(batcher.stats(), { sweeps: 1, sweepCalls: 1, served: 2, perTicket: 0, refused: false });
  });

  it('the next sweep only lists what is new since the last one, and still serves what the last one saw', async () => {
    const a = account();
    const batcher = catchUpBatcher({ port: a.port, now: a.now, perCall: 2 });
    const h1 = a.say(1, 'hand-off 1', false);
    const h2 = a.say(2, 'hand-off 2', false);
    const early = a.say(1, 'early agent message');
    await Promise.all([batcher.list(1, h1.id, 'background'), batcher.list(2, h2.id, 'background')]);
    a.tick(60_000);
    a.say(2, 'later');
    const l1 = await batcher.list(1, h1.id, 'background'); // its catch-up from before was lost
    const l2 = await batcher.list(2, early.id, 'background');
    assert.deepEqual(a.calls, [`account after ${h1.id}`, `account after ${early.id}`, `account after 4`]);
    assert.deepEqual(texts(l1), ['early agent message']);
    assert.deepEqual(texts(l2), ['later']);
  });

  it('while a sweep waits for its turn, the catch-ups asked meanwhile gather for the next one', async () => {
    const a = account();
    const batcher = catchUpBatcher({ port: a.port, now: a.now, perCall: 2 });
    const hs = [1, 2, 3, 4, 5].map((t) => a.say(t, `hand-off ${t}`, false));
    const release = a.hold();
    const first = Promise.all([batcher.list(1, hs[0].id, 'background'), batcher.list(2, hs[1].id, 'background')]);
    await new Promise<void>((r) => setImmediate(r));
    const later = Promise.all([3, 4, 5].map((t) => batcher.list(t, hs[t - 1].id, 'background')));
    await new Promise<void>((r) => setImmediate(r));
    assert.equal(a.calls.length, 1, 'one sweep at a time');
    release();
    await Promise.all([first, later]);
    assert.equal(a.calls.filter((c) => c.startsWith('account')).length, 2);
    assert.equal(batcher.stats().served, 5);
  });

  it('sign-offs, operators and expiry checks list their own ticket at once; so does a lone catch-up', async () => {
    const a = account();
    const batcher = catchUpBatcher({ port: a.port, now: a.now });
    const h = a.say(1, 'hand-off', false);
    a.say(1, 'bye LIVECHAT_SESSION_END');
    assert.deepEqual(texts(await batcher.list(1, h.id, catchUpPriority('signoff'))), ['bye LIVECHAT_SESSION_END']);
    await batcher.list(1, h.id, catchUpPriority('expiry'));
    await batcher.list(1, h.id, 'background');
    await batcher.list(1, undefined, 'background');
    assert.deepEqual(a.calls, ['ticket 1 after 1', 'ticket 1 after 1', 'ticket 1 after 1', 'ticket 1 after undefined']);
    assert.deepEqual((['signoff', 'manual', 'expiry', 'timer', 'activity', 'restart'] as const).map(catchUpPriority), [
      'interactive',
      'interactive',
      'housekeeping',
      'background',
      'background',
      'background',
    ]);
  });

  it('when Gorgias refuses the account listing, every catch-up lists its ticket, and the listing is not asked again', async () => {
    const a = account({ refuse: true });
    const batcher = catchUpBatcher({ port: a.port, now: a.now });
    const h1 = a.say(1, 'h1', false);
    const h2 = a.say(2, 'h2', false);
    a.say(2, 'agent');
    const [, l2] = await Promise.all([batcher.list(1, h1.id, 'background'), batcher.list(2, h2.id, 'background')]);
    assert.deepEqual(texts(l2), ['agent']);
    await Promise.all([batcher.list(1, h1.id, 'background'), batcher.list(2, h2.id, 'background')]);
    assert.equal(a.calls.filter((c) => c.startsWith('account')).length, 1);
    assert.equal(batcher.stats().refused, true);
  });

  it('a listing cut by its call cap serves only the catch-ups it reaches; the others list their ticket', async () => {
    const a = account();
    const batcher = catchUpBatcher({ port: a.port, now: a.now, perCall: 2 });
    const old = a.say(1, 'old hand-off', false);
    for (let i = 0; i < 20; i++) a.say(9, `busy ${i}`);
    const h2 = a.say(2, 'hand-off 2', false);
    const h3 = a.say(3, 'hand-off 3', false);
    a.say(1, 'agent to 1');
    a.say(3, 'agent to 3');
    const [l1, , l3] = await Promise.all([1, 2, 3].map((t, i) => batcher.list(t, [old, h2, h3][i].id, 'background')));
    assert.deepEqual(texts(l1), ['agent to 1']);
    assert.deepEqual(texts(l3), ['agent to 3']);
    assert.ok(a.calls.includes(`ticket 1 after ${old.id}`), 'the old one listed its own ticket');
  });

  it('sweepStart: only where one listing costs fewer calls than listing each ticket', () => {
    assert.equal(sweepStart([500], 500, 100), undefined);
    assert.deepEqual(sweepStart([500, 450], 500, 100), { boundary: 450, members: 2 });
    assert.deepEqual(sweepStart([500, 450, 100], 500, 100), { boundary: 450, members: 2 }, 'the far one costs 4 calls alone');
    assert.deepEqual(sweepStart([500, 450, 400, 350, 200], 500, 100), { boundary: 200, members: 5 });
  });
});
