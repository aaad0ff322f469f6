// Shared mode: several managers on one store, as several `serve` processes on one Redis would be.
// Here the store is the in-memory one with claims, and the "processes" share this process.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../src/clock.ts';
import { SESSION_END, SESSION_EXPIRED, SESSION_START } from '../src/protocol.ts';
import { createSessionManager, type BotInput, type SessionManager } from '../src/session/manager.ts';
import { memoryStore } from '../src/session/store.ts';
import { instantRetryClock, memoryHelpdesk } from './session-memory-helpdesk.ts';

const TIMEOUT = 30 * 60_000;

function cluster(n = 2) {
  const clock = new FakeClock();
  const store = memoryStore({ shared: true });
  const helpdesk = memoryHelpdesk(clock);
  const user: Array<{ c: string; text: string; by: string }> = [];
  const bot: Array<{ c: string; input: BotInput; by: string }> = [];
  const make = (name: string): SessionManager =>
    createSessionManager({
      clock,
      retryClock: instantRetryClock(clock),
      helpdesk: helpdesk.port,
      store,
      timeoutMs: TIMEOUT,
      instance: name,
      leaseMs: 5000,
      pollMs: 1000,
      sinks: { toUser: (c, out) => user.push({ c, text: out.text, by: name }), toBot: (c, input) => bot.push({ c, input, by: name }) },
    });
  const managers = Array.from({ length: n }, (_, i) => make(`p${i + 1}`));
  const dead = new Set<SessionManager>();
  /** The process dies: its calls in flight never finish, nothing more runs. */
  const kill = (m: SessionManager) => {
    m.close();
    dead.add(m);
  };
  const settle = async () => {
    for (let i = 0; i < 10; i++) {
      await Promise.all(managers.filter((m) => !dead.has(m)).map((m) => m.idle()));
      await new Promise<void>((r) => setImmediate(r));
    }
  };
  const advance = async (ms: number) => {
    const target = clock.now() + ms;
    for (let next = clock.nextTimerAt(); next !== undefined && next <= target; next = clock.nextTimerAt()) {
      clock.advance(next - clock.now());
      await settle();
    }
    clock.advance(target - clock.now());
    await settle();
  };
  return { clock, store, helpdesk, user, bot, managers, settle, advance, kill };
}

describe('several managers on one shared store', () => {
  it('inputs alternate between processes; the lifecycle holds, messages once and in order', async () => {
    const k = cluster();
    await Promise.all(k.managers.map((m) => m.start()));
    const [a, b] = k.managers;
    await a.userMessage('c1', 'hi bot');
    await b.botSaid('c1', 'want a human?');
    await a.userPayload('c1', SESSION_START, { name: 'Ada' });
    await k.settle();
    for (const [i, text] of ['one', 'two', 'three', 'four'].entries()) await (i % 2 ? a : b).userMessage('c1', text);
    await k.settle();
    const ticket = k.helpdesk.openTicketOf('c1')!;
    assert.deepEqual(
      ticket.messages.slice(1).map((m) => m.text),
      ['one', 'two', 'three', 'four'],
    );
    for (const [i, text] of ['r1', 'r2', `bye ${SESSION_END}`].entries()) {
      const m = k.helpdesk.agentSays(ticket.id, text);
      await (i % 2 ? b : a).agentWebhook({
        conversationId: 'c1',
        ticketId: ticket.id,
        eventId: `e${m.id}`,
        messageId: String(m.id),
        text,
        fromAgent: true,
      });
      // the same webhook twice, at the other process: a duplicate
      await (i % 2 ? a : b).agentWebhook({
        conversationId: 'c1',
        ticketId: ticket.id,
        eventId: `e${m.id}`,
        messageId: String(m.id),
        text,
        fromAgent: true,
      });
    }
    await k.settle();
    assert.deepEqual(
      k.user.map((u) => u.text),
      ['r1', 'r2', 'bye'],
    );
    await b.userPayload('c1', SESSION_END);
    await k.settle();
    assert.equal(ticket.status, 'closed');
    assert.deepEqual(
      k.bot.map((x) => x.input),
      [
        { kind: 'message', text: 'hi bot' },
        { kind: 'payload', payload: SESSION_END },
      ],
    );
    for (const m of k.managers) m.close();
  });

  it('a process that dies with work in hand: another takes its calls, deliveries and timers over after the lease', async () => {
    const k = cluster();
    await Promise.all(k.managers.map((m) => m.start()));
    const [a, b] = k.managers;
    for (const c of ['x1', 'x2', 'x3']) await a.userPayload(c, SESSION_START);
    await k.settle();
    // a commits posts, then dies before making them
    k.helpdesk.faults.hang = true;
    for (const c of ['x1', 'x2', 'x3']) await a.submit(c, { kind: 'userText', text: `from ${c}` });
    k.kill(a);
    k.helpdesk.faults.hang = false;
    await k.advance(6000); // the lease lapses; b's poll finds the work
    for (const c of ['x1', 'x2', 'x3']) {
      assert.deepEqual(
        k.helpdesk
          .openTicketOf(c)!
          .messages.slice(1)
          .map((m) => m.text),
        [`from ${c}`],
        c,
      );
    }
    // Expiry: the deadlines a armed fire once, at b.
    await k.advance(TIMEOUT);
    const expired = k.bot.filter((x) => x.input.kind === 'event' && x.input.event === SESSION_EXPIRED);
    assert.deepEqual(expired.map((x) => x.c).sort(), ['x1', 'x2', 'x3']);
    assert.ok(expired.every((x) => x.by === 'p2'));
    b.close();
  });
});
