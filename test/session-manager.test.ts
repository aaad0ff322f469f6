// The session manager with a FakeClock and a recording HelpdeskPort written here (a unit test of
// our engine; the end-to-end path against the Gorgias emulator is the simulator's).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../src/clock.js';
import { FAILED_TEXT } from '../src/session/machine.js';
import { createSessionManager, NO_RETRY, type BotInput, type HelpdeskPort, type ReportEntry, type UserOutput } from '../src/session/manager.js';
import { SESSION_END, SESSION_EXPIRED, SESSION_START } from '../src/protocol.js';

const TIMEOUT = 30 * 60_000;

interface Gate {
  promise: Promise<void>;
  open(): void;
}
function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** Records every call; each call can be held behind a gate or made to fail. */
function recordingHelpdesk() {
  const calls: Array<{ call: string; [k: string]: unknown }> = [];
  const gates: Gate[] = [];
  const failures: Error[] = [];
  let nextTicket = 100;
  let nextMessage = 1000;
  const tickets = new Map<string, number>(); // open tickets by external_id
  let hold = false;
  const maybeWait = async () => {
    if (hold) {
      const g = gate();
      gates.push(g);
      await g.promise;
    }
    const f = failures.shift();
    if (f) throw f;
  };
  const port: HelpdeskPort = {
    async openTicket(input) {
      calls.push({ call: 'openTicket', ...input });
      await maybeWait();
      const existing = tickets.get(input.conversationId);
      const ticketId = existing ?? nextTicket++;
      if (!existing) calls.push({ call: 'created', ticketId });
      tickets.set(input.conversationId, ticketId);
      return { ticketId, messageId: nextMessage++ };
    },
    async postUserMessage(input) {
      calls.push({ call: 'postUserMessage', ticketId: input.ticketId, text: input.text });
      await maybeWait();
      calls.push({ call: 'posted', text: input.text });
      return { messageId: nextMessage++ };
    },
    async endSession(input) {
      calls.push({ call: 'endSession', ticketId: input.ticketId, reason: input.reason });
      await maybeWait();
      tickets.delete(input.conversationId);
    },
  };
  return {
    port,
    calls,
    gates,
    failures,
    hold(on: boolean) {
      hold = on;
    },
    named: (name: string) => calls.filter((c) => c.call === name),
  };
}

function setup(options: { retry?: Parameters<typeof createSessionManager>[0]['retry'] } = {}) {
  const clock = new FakeClock();
  const helpdesk = recordingHelpdesk();
  const user: Array<{ id: string; out: UserOutput }> = [];
  const bot: Array<{ id: string; input: BotInput }> = [];
  const reports: ReportEntry[] = [];
  const manager = createSessionManager({
    clock,
    helpdesk: helpdesk.port,
    timeoutMs: TIMEOUT,
    retry: options.retry,
    sinks: {
      toUser: (id, out) => user.push({ id, out }),
      toBot: (id, input) => bot.push({ id, input }),
      report: (e) => reports.push(e),
    },
  });
  /** Move the fake clock, then let what its timers started be applied and delivered. */
  const tick = async (ms: number) => {
    clock.advance(ms);
    await manager.idle();
  };
  return { clock, helpdesk, manager, user, bot, reports, tick };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

describe('session manager', () => {
  it('plays a whole hand-off: history to the ticket, bot muted, agent reply, END', async () => {
    const { manager, helpdesk, user, bot } = setup();
    const ada = { name: 'Ada', email: 'ada@example.com', channel: 'webchat' };
    await manager.userMessage('c1', 'where is my order?', ada);
    await manager.botSaid('c1', 'I can get you a human');
    await manager.userPayload('c1', SESSION_START);
    assert.equal(manager.state('c1'), 'LIVECHAT');
    const [open] = helpdesk.named('openTicket');
    assert.deepEqual(open, {
      call: 'openTicket',
      conversationId: 'c1',
      user: ada,
      text: 'Ada asked to talk to an agent.',
      history: [
        { from: 'user', text: 'where is my order?' },
        { from: 'bot', text: 'I can get you a human' },
      ],
      retry: false,
    });
    await manager.userMessage('c1', 'hello?');
    assert.deepEqual(helpdesk.named('postUserMessage'), [{ call: 'postUserMessage', ticketId: 100, text: 'hello?' }]);
    assert.equal(
      await manager.agentWebhook({ conversationId: 'c1', ticketId: 100, eventId: 'e1', messageId: '5', text: `Hi! ${SESSION_END}`, fromAgent: true }),
      'delivered',
    );
    assert.deepEqual(user, [{ id: 'c1', out: { text: 'Hi!', buttons: [{ title: 'End chat', payload: SESSION_END }] } }]);
    await manager.userPayload('c1', SESSION_END);
    assert.equal(manager.state('c1'), 'BOT');
    assert.deepEqual(helpdesk.named('endSession'), [{ call: 'endSession', ticketId: 100, reason: 'ended' }]);
    await manager.userMessage('c1', 'back to you, bot');
    assert.deepEqual(
      bot.map((b) => b.input),
      [
        { kind: 'message', text: 'where is my order?' },
        { kind: 'payload', payload: SESSION_END },
        { kind: 'message', text: 'back to you, bot' },
      ],
    );
    manager.close();
  });

  it('keeps user messages in order per conversation while Gorgias is slow', async () => {
    const { manager, helpdesk } = setup();
    helpdesk.hold(true);
    void manager.userPayload('c1', SESSION_START);
    const sent = ['one', 'two', 'three'].map((t) => manager.userMessage('c1', t));
    void manager.userPayload('c2', SESSION_START); // another conversation is not held behind c1
    await flush();
    assert.equal(helpdesk.named('openTicket').length, 2, 'both opens started, c2 not queued behind c1');
    assert.equal(helpdesk.named('postUserMessage').length, 0, 'no post before its ticket exists');
    helpdesk.hold(false);
    while (helpdesk.gates.length) {
      helpdesk.gates.shift()!.open();
      await flush();
    }
    await Promise.all(sent);
    await manager.idle();
    assert.deepEqual(
      helpdesk.named('posted').map((c) => c.text),
      ['one', 'two', 'three'],
    );
    assert.ok(helpdesk.named('postUserMessage').every((c) => c.ticketId === 100));
    manager.close();
  });

  it('expires at exactly the timeout on the fake clock, tells the bot once, closes the ticket', async () => {
    const { manager, helpdesk, bot, tick, user } = setup();
    await manager.userPayload('c1', SESSION_START);
    await tick(TIMEOUT - 1);
    assert.equal(manager.state('c1'), 'LIVECHAT');
    assert.equal(bot.length, 0);
    await tick(1);
    assert.equal(manager.state('c1'), 'BOT');
    assert.deepEqual(
      bot.map((b) => b.input),
      [{ kind: 'event', event: SESSION_EXPIRED }],
    );
    await manager.idle();
    assert.deepEqual(helpdesk.named('endSession'), [{ call: 'endSession', ticketId: 100, reason: 'expired' }]);
    await tick(TIMEOUT * 3);
    assert.equal(bot.length, 1, 'expired once');
    assert.equal(await manager.agentWebhook({ conversationId: 'c1', ticketId: 100, eventId: 'late', text: 'hello?', fromAgent: true }), 'late');
    assert.equal(user.length, 0);
    manager.close();
  });

  it('every message, either way, re-arms the expiry', async () => {
    const { manager, bot, tick } = setup();
    await manager.userPayload('c1', SESSION_START);
    await tick(TIMEOUT - 1000);
    await manager.userMessage('c1', 'still here');
    await tick(TIMEOUT - 1000);
    await manager.agentWebhook({ conversationId: 'c1', eventId: 'e1', text: 'me too', fromAgent: true });
    await tick(TIMEOUT - 1);
    assert.equal(manager.state('c1'), 'LIVECHAT');
    await tick(1);
    assert.equal(manager.state('c1'), 'BOT');
    assert.deepEqual(
      bot.map((b) => b.input),
      [{ kind: 'event', event: SESSION_EXPIRED }],
    );
    manager.close();
  });

  it('reports duplicates, echoes and unknown conversations; maps a webhook by ticket id alone', async () => {
    const { manager, user, reports } = setup();
    await manager.userPayload('c1', SESSION_START);
    const ev = { conversationId: 'c1', ticketId: 100, eventId: 'e1', messageId: '1', text: 'hi', fromAgent: true };
    assert.equal(await manager.agentWebhook(ev), 'delivered');
    assert.equal(await manager.agentWebhook(ev), 'duplicate');
    assert.equal(await manager.agentWebhook({ ...ev, eventId: 'e2', messageId: '2', fromAgent: false }), 'echo');
    assert.equal(await manager.agentWebhook({ ...ev, conversationId: 'ghost', ticketId: 7, eventId: 'e3' }), 'unknown');
    assert.equal(await manager.agentWebhook({ ticketId: 100, eventId: 'e4', text: 'by ticket', fromAgent: true }), 'delivered');
    assert.deepEqual(
      user.map((u) => u.out.text),
      ['hi', 'by ticket'],
    );
    assert.deepEqual(
      reports.map((r) => r.kind),
      ['duplicate', 'echo', 'unknown'],
    );
    manager.close();
  });

  it('an END while the ticket is still opening still closes that ticket, once', async () => {
    const { manager, helpdesk, bot } = setup();
    helpdesk.hold(true);
    void manager.userPayload('c1', SESSION_START);
    await flush();
    const ended = manager.userPayload('c1', SESSION_END);
    helpdesk.hold(false);
    helpdesk.gates.shift()!.open();
    await ended;
    await manager.idle();
    assert.deepEqual(helpdesk.named('endSession'), [{ call: 'endSession', ticketId: 100, reason: 'ended' }]);
    assert.deepEqual(
      bot.map((b) => b.input),
      [{ kind: 'payload', payload: SESSION_END }],
    );
    manager.close();
  });

  it('when Gorgias fails, the user and the bot are told and the session is not left half-open', async () => {
    const { manager, helpdesk, user, bot, reports, clock } = setup({ retry: NO_RETRY });
    helpdesk.failures.push(new Error('HTTP 503'));
    await manager.userPayload('c1', SESSION_START);
    assert.equal(manager.state('c1'), 'BOT');
    assert.deepEqual(
      user.map((u) => u.out.text),
      [FAILED_TEXT],
    );
    assert.deepEqual(
      bot.map((b) => b.input),
      [{ kind: 'event', event: 'LIVECHAT_SESSION_FAILED' }],
    );
    assert.ok(reports.some((r) => r.kind === 'error' && r.detail.includes('HTTP 503')));
    clock.advance(TIMEOUT);
    assert.equal(bot.length, 1, 'no expiry after a failed start');
    manager.close();
  });

  it('bounded retries slot in: a failing open is retried and creates one ticket', async () => {
    const { manager, helpdesk, clock } = setup({ retry: { attempts: 3, delayMs: () => 1000 } });
    helpdesk.failures.push(new Error('HTTP 502'), new Error('HTTP 429'));
    const started = manager.userPayload('c1', SESSION_START);
    for (let i = 0; i < 10 && helpdesk.named('created').length === 0; i++) {
      await flush();
      clock.advance(1000);
    }
    await started;
    assert.equal(manager.state('c1'), 'LIVECHAT');
    assert.equal(helpdesk.named('openTicket').length, 3);
    assert.equal(helpdesk.named('created').length, 1);
    manager.close();
  });

  it('START twice opens one ticket', async () => {
    const { manager, helpdesk, reports } = setup();
    await manager.userPayload('c1', SESSION_START);
    await manager.userPayload('c1', SESSION_START);
    assert.equal(helpdesk.named('openTicket').length, 1);
    assert.equal(reports.at(-1)?.kind, 'noop');
    manager.close();
  });
});
