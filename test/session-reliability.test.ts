// The session manager under faults, on a FakeClock with the in-memory helpdesk (unit tests of our
// engine; the same paths over HTTP against the emulator are in session-faults.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../src/clock.js';
import { FAILED_TEXT } from '../src/session/machine.js';
import {
  backoffPolicy,
  createSessionManager,
  DEFAULT_RETRY,
  isRetryableError,
  type BotInput,
  type ReportEntry,
  type SessionManagerOptions,
} from '../src/session/manager.js';
import { SESSION_END, SESSION_EXPIRED, SESSION_FAILED, SESSION_START } from '../src/protocol.js';
import { HttpLikeError, instantRetryClock, memoryHelpdesk } from './session-memory-helpdesk.js';

const TIMEOUT = 30 * 60_000;

function setup(options: Partial<SessionManagerOptions> = {}) {
  const clock = new FakeClock();
  const helpdesk = memoryHelpdesk(clock);
  const user: string[] = [];
  const bot: BotInput[] = [];
  const reports: ReportEntry[] = [];
  const manager = createSessionManager({
    clock,
    retryClock: instantRetryClock(clock),
    helpdesk: helpdesk.port,
    timeoutMs: TIMEOUT,
    sinks: { toUser: (_id, out) => user.push(out.text), toBot: (_id, input) => bot.push(input), report: (e) => reports.push(e) },
    ...options,
  });
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
  /** The agent writes; Gorgias's webhook is lost. */
  const agentDropped = (text: string) => helpdesk.agentSays(manager.conversation('c1')!.session!.ticketId!, text);
  return { clock, helpdesk, manager, user, bot, reports, settle, advance, agentDropped };
}

describe('retry policy', () => {
  it('defaults to 5 tries with waits of 1, 2, 4, 8 s; scales; caps', () => {
    assert.equal(DEFAULT_RETRY.attempts, 5);
    assert.deepEqual([1, 2, 3, 4].map(DEFAULT_RETRY.delayMs), [1000, 2000, 4000, 8000]);
    const fast = backoffPolicy({ attempts: 3, baseMs: 10, maxMs: 25 });
    assert.deepEqual([1, 2, 3, 4].map(fast.delayMs), [10, 20, 25, 25]);
  });

  it('retries 5xx, 429, timeouts and network errors; not 400, 401, 403, 404', () => {
    for (const status of [500, 502, 503, 429, 408]) assert.equal(isRetryableError(new HttpLikeError('x', status)), true, String(status));
    for (const status of [400, 401, 403, 404, 422]) assert.equal(isRetryableError(new HttpLikeError('x', status)), false, String(status));
    assert.equal(isRetryableError(new HttpLikeError('x', undefined, 'timeout')), true);
    assert.equal(isRetryableError(new HttpLikeError('x', undefined, 'unreachable')), true);
    assert.equal(isRetryableError(new HttpLikeError('x', undefined, 'auth')), false);
    assert.equal(isRetryableError(new Error('socket hang up')), true);
  });
});

describe('session manager under outbound faults', () => {
  it('queues user messages while Gorgias fails and delivers them in order, once, when it recovers', async () => {
    const { manager, helpdesk, settle } = setup();
    await manager.userPayload('c1', SESSION_START);
    helpdesk.faults.failNext = 3;
    for (const t of ['one', 'two', 'three']) void manager.userMessage('c1', t);
    await settle();
    const ticket = helpdesk.openTicketOf('c1')!;
    assert.deepEqual(
      ticket.messages.slice(1).map((m) => m.text),
      ['one', 'two', 'three'],
    );
    assert.deepEqual(
      ticket.messages.slice(1).map((m) => m.externalId),
      ['c1:1:1', 'c1:1:2', 'c1:1:3'],
    );
    assert.equal(manager.state('c1'), 'LIVECHAT');
  });

  it('the retry waits run on retryClock, with the policy delays', async () => {
    const clock = new FakeClock();
    const retryClock = new FakeClock();
    const helpdesk = memoryHelpdesk(clock);
    const manager = createSessionManager({ clock, retryClock, helpdesk: helpdesk.port, sinks: { toUser() {}, toBot() {} } });
    await manager.userPayload('c1', SESSION_START);
    helpdesk.faults.failNext = 2;
    const sent = manager.userMessage('c1', 'hello');
    const waits: number[] = [];
    while (helpdesk.openTicketOf('c1')!.messages.length < 2) {
      await new Promise<void>((r) => setImmediate(r));
      const next = retryClock.nextTimerAt();
      if (next === undefined) continue;
      waits.push(next - retryClock.now());
      retryClock.advance(next - retryClock.now());
    }
    await sent;
    assert.deepEqual(waits, [1000, 2000]);
    assert.equal(clock.nextTimerAt()! - clock.now(), 60_000, 'the session clock did not move: the next timer is the catch-up');
    manager.close();
  });

  it('a timeout after Gorgias stored the message does not post it twice', async () => {
    const { manager, helpdesk, settle } = setup();
    await manager.userPayload('c1', SESSION_START);
    helpdesk.faults.storeThenTimeout = 1;
    helpdesk.faults.only = 'postUserMessage';
    await manager.userMessage('c1', 'only once please');
    await settle();
    assert.deepEqual(
      helpdesk
        .openTicketOf('c1')!
        .messages.slice(1)
        .map((m) => m.text),
      ['only once please'],
    );
    assert.equal(helpdesk.named('postUserMessage').length, 1);
    assert.equal(helpdesk.named('findUserMessage').length, 1, 'looked it up before retrying');
  });

  it('a timeout after the ticket was created reuses it on retry', async () => {
    const { manager, helpdesk, settle } = setup();
    helpdesk.faults.storeThenTimeout = 1;
    helpdesk.faults.only = 'openTicket';
    await manager.userPayload('c1', SESSION_START);
    await settle();
    assert.equal(helpdesk.tickets.size, 1);
    assert.equal(helpdesk.openTicketOf('c1')!.messages.length, 1, 'one hand-off message');
    assert.equal(manager.conversation('c1')?.session?.ticketId, helpdesk.openTicketOf('c1')!.id);
  });

  it('after the last retry: user and bot told once, session closed once, later queued messages dropped, ticket closed when Gorgias is back', async () => {
    const { manager, helpdesk, user, bot, reports, settle, advance } = setup();
    await manager.userPayload('c1', SESSION_START);
    helpdesk.faults.failNext = 5; // every try of the first post
    void manager.userMessage('c1', 'one');
    void manager.userMessage('c1', 'two');
    await settle();
    assert.equal(manager.state('c1'), 'BOT');
    assert.deepEqual(user, [FAILED_TEXT]);
    assert.deepEqual(bot, [{ kind: 'event', event: SESSION_FAILED }]);
    // Try 1 posts; tries 2-5 first look for "one" (it may have been stored) and fail there.
    assert.equal(helpdesk.named('postUserMessage').length + helpdesk.named('findUserMessage').length, 5, 'bounded: 5 tries');
    assert.ok(
      helpdesk.named('postUserMessage').every((c) => c.text === 'one'),
      '"two" is never posted',
    );
    assert.ok(reports.some((r) => r.kind === 'dropped' && r.detail.includes('c1:1:2')));
    const ticket = [...helpdesk.tickets.values()][0];
    assert.equal(ticket.status, 'closed');
    assert.equal(ticket.messages.at(-1)!.text, 'note: failed');
    await manager.userMessage('c1', 'hello bot');
    await advance(2 * TIMEOUT);
    assert.deepEqual(
      bot,
      [
        { kind: 'event', event: SESSION_FAILED },
        { kind: 'message', text: 'hello bot' },
      ],
      'no expiry, no second end',
    );
  });

  it('a non-retryable error (400, 401, 403, 404) fails at once', async () => {
    const { manager, helpdesk, bot, settle } = setup();
    helpdesk.faults.failNext = 1;
    helpdesk.faults.failStatus = 403;
    await manager.userPayload('c1', SESSION_START);
    await settle();
    assert.equal(helpdesk.named('openTicket').length, 1);
    assert.deepEqual(bot, [{ kind: 'event', event: SESSION_FAILED }]);
  });
});

describe('session manager under inbound faults', () => {
  it('a lost agent webhook is caught up on the next user message; its late webhook is then a duplicate', async () => {
    const { manager, helpdesk, user, settle } = setup({ catchUpMs: false });
    await manager.userPayload('c1', SESSION_START);
    const lost = helpdesk.agentSays(manager.conversation('c1')!.session!.ticketId!, 'are you there?');
    await manager.userMessage('c1', 'hello?');
    await settle();
    assert.deepEqual(user, ['are you there?']);
    const ticketId = manager.conversation('c1')!.session!.ticketId!;
    assert.equal(
      await manager.agentWebhook({
        conversationId: 'c1',
        ticketId,
        eventId: 'e9',
        messageId: String(lost.id),
        text: 'are you there?',
        fromAgent: true,
      }),
      'duplicate',
    );
    assert.deepEqual(user, ['are you there?']);
  });

  it('a lost agent webhook is caught up on the timer; a silent session is checked a bounded number of times', async () => {
    const { manager, helpdesk, user, advance, agentDropped } = setup({ catchUpMs: 60_000 });
    await manager.userPayload('c1', SESSION_START);
    agentDropped('hi, Grace here');
    await advance(59_999);
    assert.deepEqual(user, []);
    await advance(1);
    assert.deepEqual(user, ['hi, Grace here']);
    const listed = helpdesk.named('listMessagesSince').length;
    await advance(3 * TIMEOUT);
    // After the delivery: at +1, +3, +7 min (backing off), then every 5 min (the cap): +12, +17, +22,
    // +27, then the check before expiry at +30, then nothing.
    assert.equal(helpdesk.named('listMessagesSince').length, listed + 8);
    assert.equal(manager.state('c1'), 'BOT');
  });

  it('right before expiry, a last catch-up finds a lost message: shown, and the session goes on', async () => {
    const { manager, user, bot, clock, advance, agentDropped } = setup({ catchUpMs: false, catchUpOnUserMessage: false });
    await manager.userPayload('c1', SESSION_START);
    await advance(TIMEOUT - 60_000);
    agentDropped('sorry for the wait');
    await advance(60_000);
    assert.deepEqual(user, ['sorry for the wait']);
    assert.equal(manager.state('c1'), 'LIVECHAT');
    assert.equal(manager.conversation('c1')!.session!.deadline, clock.now() + TIMEOUT);
    await advance(TIMEOUT);
    assert.equal(manager.state('c1'), 'BOT');
    assert.deepEqual(bot, [{ kind: 'event', event: SESSION_EXPIRED }]);
  });

  it('webhooks reordered within the window reach the user in message-id order; duplicates absorbed', async () => {
    const { manager, helpdesk, user, advance } = setup({ reorderWindowMs: 1000, catchUpMs: false });
    await manager.userPayload('c1', SESSION_START);
    const ticketId = manager.conversation('c1')!.session!.ticketId!;
    const [a, b, c] = ['first', 'second', 'third'].map((t) => helpdesk.agentSays(ticketId, t));
    const hook = (m: typeof a, eventId: string) =>
      manager.agentWebhook({ conversationId: 'c1', ticketId, eventId, messageId: String(m.id), text: m.text, fromAgent: true });
    assert.equal(await hook(c, 'e3'), 'delivered');
    await advance(400);
    assert.equal(await hook(a, 'e1'), 'delivered');
    assert.equal(await hook(c, 'e3'), 'duplicate');
    await advance(599);
    assert.deepEqual(user, [], 'held for the window');
    await advance(1);
    assert.deepEqual(user, ['first', 'third']);
    assert.equal(await hook(b, 'e2'), 'delivered');
    await advance(1000);
    assert.deepEqual(user, ['first', 'third', 'second'], 'more than a window late: shown late, once');
  });

  it('a sign-off is shown after a catch-up: a lost message before it is shown first', async () => {
    const { manager, helpdesk, user, settle } = setup({ catchUpMs: false, catchUpOnUserMessage: false });
    await manager.userPayload('c1', SESSION_START);
    const ticketId = manager.conversation('c1')!.session!.ticketId!;
    helpdesk.agentSays(ticketId, 'it ships tomorrow'); // webhook lost
    const bye = helpdesk.agentSays(ticketId, `anything else? ${SESSION_END}`);
    assert.equal(
      await manager.agentWebhook({ conversationId: 'c1', ticketId, eventId: 'e2', messageId: String(bye.id), text: bye.text, fromAgent: true }),
      'delivered',
    );
    await settle();
    assert.deepEqual(user, ['it ships tomorrow', 'anything else?']);
  });

  it('END shows what is held, then closes', async () => {
    const { manager, helpdesk, user, bot, settle } = setup({ reorderWindowMs: 1000 });
    await manager.userPayload('c1', SESSION_START);
    const ticketId = manager.conversation('c1')!.session!.ticketId!;
    const m = helpdesk.agentSays(ticketId, 'bye!');
    await manager.agentWebhook({ conversationId: 'c1', ticketId, eventId: 'e1', messageId: String(m.id), text: m.text, fromAgent: true });
    await manager.userPayload('c1', SESSION_END);
    await settle();
    assert.deepEqual(user, ['bye!']);
    assert.deepEqual(bot, [{ kind: 'payload', payload: SESSION_END }]);
  });
});
