// The engine on the SQLite store: a manager that stops at any point (its process died) and a new
// one on the same file carries on. Nothing lost, nothing doubled. The process-level version of
// this, with SIGKILL, is in serve-crash.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FakeClock } from '../src/clock.ts';
import { SESSION_END, SESSION_EXPIRED, SESSION_START } from '../src/protocol.ts';
import { createSessionManager, type BotInput, type SessionManager, type SessionManagerOptions } from '../src/session/manager.ts';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite.ts';
import { instantRetryClock, memoryHelpdesk } from './session-memory-helpdesk.ts';

const TIMEOUT = 30 * 60_000;
const dir = mkdtempSync(join(tmpdir(), 'livechat-durable-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** One "machine": a data file, Gorgias, a clock, and a manager that can die and come back. */
function world(options: Partial<SessionManagerOptions> = {}) {
  const path = join(dir, `d${++n}.db`);
  const clock = new FakeClock();
  const helpdesk = memoryHelpdesk(clock);
  const user: Array<{ c: string; text: string }> = [];
  const bot: Array<{ c: string; input: BotInput }> = [];
  let store: SqliteStore;
  let manager: SessionManager;
  const boot = async () => {
    store = openSqliteStore(path);
    manager = createSessionManager({
      clock,
      retryClock: instantRetryClock(clock),
      helpdesk: helpdesk.port,
      store,
      timeoutMs: TIMEOUT,
      sinks: { toUser: (c, out) => user.push({ c, text: out.text }), toBot: (c, input) => bot.push({ c, input }) },
      ...options,
    });
    await manager.start();
  };
  /** The process dies: nothing more runs, nothing is flushed. */
  const crash = async () => {
    manager.close();
    await store.close();
  };
  const settle = async () => {
    for (let i = 0; i < 10; i++) {
      await manager.idle();
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
  return {
    clock,
    helpdesk,
    user,
    bot,
    boot,
    crash,
    settle,
    advance,
    get manager() {
      return manager;
    },
    get store() {
      return store;
    },
  };
}

describe('the engine on SQLite, across restarts', () => {
  it('a whole hand-off with a restart between every step', async () => {
    const w = world();
    await w.boot();
    await w.manager.userMessage('c1', 'hi bot');
    await w.manager.botSaid('c1', 'want a human?');
    await w.crash();
    await w.boot();
    await w.manager.userPayload('c1', SESSION_START, { name: 'Ada' });
    await w.settle();
    await w.crash();
    await w.boot();
    assert.equal(w.manager.state('c1'), 'LIVECHAT', 'still in livechat after the restart');
    await w.manager.userMessage('c1', 'my order is late');
    await w.settle();
    const ticket = w.helpdesk.openTicketOf('c1')!;
    assert.match(ticket.messages[0].text, /Ada asked/);
    await w.crash();
    await w.boot();
    const reply = w.helpdesk.agentSays(ticket.id, 'Looking into it');
    assert.equal(
      await w.manager.agentWebhook({
        conversationId: 'c1',
        ticketId: ticket.id,
        eventId: 'e1',
        messageId: String(reply.id),
        text: reply.text,
        fromAgent: true,
      }),
      'delivered',
    );
    await w.settle();
    await w.crash();
    await w.boot();
    assert.equal(
      await w.manager.agentWebhook({
        conversationId: 'c1',
        ticketId: ticket.id,
        eventId: 'e1',
        messageId: String(reply.id),
        text: reply.text,
        fromAgent: true,
      }),
      'duplicate',
      'dedupe ids survive a restart',
    );
    await w.manager.userPayload('c1', SESSION_END);
    await w.settle();
    assert.equal(w.manager.state('c1'), 'BOT');
    assert.deepEqual(
      ticket.messages.filter((m) => !m.fromAgent).map((m) => m.text.split('\n')[0]),
      ['Ada asked to talk to an agent.', 'my order is late', 'note: ended'],
    );
    assert.deepEqual(
      w.user.map((u) => u.text),
      ['Looking into it'],
    );
    assert.deepEqual(
      w.bot.map((b) => b.input),
      [
        { kind: 'message', text: 'hi bot' },
        { kind: 'payload', payload: SESSION_END },
      ],
    );
    assert.equal(ticket.status, 'closed');
    await w.crash();
  });

  it('calls queued when the process died are made after the restart, once each, in order', async () => {
    const w = world();
    await w.boot();
    await w.manager.userPayload('c1', SESSION_START);
    await w.settle();
    // The posts are committed (the user was answered), then the process dies before they reach Gorgias.
    w.helpdesk.faults.hang = true;
    for (const text of ['one', 'two', 'three']) await w.manager.submit('c1', { kind: 'userText', text });
    await w.crash();
    w.helpdesk.faults.hang = false;
    await w.boot();
    await w.settle();
    const ticket = w.helpdesk.openTicketOf('c1')!;
    assert.deepEqual(
      ticket.messages.filter((m) => !m.fromAgent).map((m) => m.text.split('\n')[0]),
      ['The user asked to talk to an agent.', 'one', 'two', 'three'],
    );
    await w.crash();
  });

  it('a deadline that passed while the bridge was down fires at once after the restart, after a catch-up', async () => {
    const w = world();
    await w.boot();
    await w.manager.userPayload('c1', SESSION_START);
    await w.settle();
    await w.crash();
    w.clock.advance(TIMEOUT + 5 * 60_000); // down for 35 minutes
    const before = w.helpdesk.named('listMessagesSince').length;
    await w.boot();
    await w.advance(0); // "at once": the overdue timer fires as soon as the clock is looked at
    assert.equal(w.manager.state('c1'), 'BOT');
    assert.deepEqual(
      w.bot.map((b) => b.input),
      [{ kind: 'event', event: SESSION_EXPIRED }],
    );
    assert.ok(w.helpdesk.named('listMessagesSince').length > before, 'looked for missed messages first');
    await w.crash();
  });

  it('an agent message written while the bridge was down reaches the user after the restart', async () => {
    const w = world();
    await w.boot();
    await w.manager.userPayload('c1', SESSION_START);
    await w.settle();
    const ticket = w.helpdesk.openTicketOf('c1')!;
    await w.crash();
    w.clock.advance(2 * 60_000);
    w.helpdesk.agentSays(ticket.id, 'are you there?'); // its webhook hit a dead bridge
    await w.boot();
    await w.settle();
    assert.deepEqual(
      w.user.map((u) => u.text),
      ['are you there?'],
    );
    assert.equal(w.manager.state('c1'), 'LIVECHAT');
    await w.crash();
  });

  it('deliveries that had not gone out are delivered after the restart, once, in order', async () => {
    let failing = true;
    const got: string[] = [];
    const deliver = (d: { id: string; user?: { text: string } }) => {
      if (failing) throw new Error('deliver URL answered 500');
      got.push(`${d.id}:${d.user?.text}`);
    };
    const w2 = world({ deliver });
    await w2.boot();
    await w2.manager.userPayload('c1', SESSION_START);
    await w2.settle();
    const ticket = w2.helpdesk.openTicketOf('c1')!;
    for (const text of ['a', 'b', 'c']) {
      const m = w2.helpdesk.agentSays(ticket.id, text);
      await w2.manager.agentWebhook({
        conversationId: 'c1',
        ticketId: ticket.id,
        eventId: `e${m.id}`,
        messageId: String(m.id),
        text,
        fromAgent: true,
      });
    }
    await w2.settle();
    assert.equal(got.length, 0);
    const ids = w2.manager.stats().deliveries;
    assert.equal(ids, 3);
    await w2.crash();
    failing = false;
    await w2.boot();
    await w2.advance(1000); // the first one waits out its back-off, the others wait behind it

    assert.deepEqual(
      got.map((g) => g.split(':')[1]),
      ['a', 'b', 'c'],
    );
    assert.equal(new Set(got.map((g) => g.split(':')[0])).size, 3);
    await w2.crash();
  });
});

describe('forgetting', () => {
  it('keeps a bounded cache, and forgets idle bot-only conversations after the retention', async () => {
    const clock = new FakeClock();
    const helpdesk = memoryHelpdesk(clock);
    const store = openSqliteStore(join(dir, `forget-${++n}.db`));
    const manager = createSessionManager({ clock, helpdesk: helpdesk.port, store, cacheSize: 50, retentionMs: 24 * 60 * 60_000, sinks: {} });
    await manager.start();
    for (let i = 0; i < 500; i++) await manager.userMessage(`c${i}`, 'hi');
    await manager.userPayload('open', SESSION_START);
    await manager.idle();
    assert.ok(manager.stats().cached <= 50, `cache ${manager.stats().cached}`);
    assert.equal(store.count().conversations, 501);
    clock.advance(2 * 24 * 60 * 60_000); // two days: the hourly sweeps run
    await manager.idle();
    assert.equal(store.count().conversations, 1, 'only the open session is left');
    assert.ok(await manager.read('open'), 'a conversation with a session is never forgotten while it is open');
    manager.close();
    await store.close();
  });
});
