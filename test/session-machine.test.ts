// The pure lifecycle machine: inputs in, decisions out. Time comes from a FakeClock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../src/clock.js';
import {
  agentMessageToUser,
  FAILED_TEXT,
  initialState,
  step,
  type ConversationState,
  type Decision,
  type MachineConfig,
  type MachineInput,
} from '../src/session/machine.js';
import { DEFAULT_SIGNOFF_TEXT, SESSION_END, SESSION_EXPIRED, SESSION_START } from '../src/protocol.js';
import type { AgentWebhook, WebhookOutcome } from '../src/session/types.js';

const TIMEOUT = 30 * 60_000;
const config: MachineConfig = { timeoutMs: TIMEOUT, historySize: 4 };

/** One conversation driven through the machine, keeping every decision. */
function conversation(id = 'c1') {
  const clock = new FakeClock();
  let state: ConversationState | undefined = initialState(id);
  let last: Decision[] = [];
  const all: Decision[] = [];
  const feed = (input: MachineInput): { decisions: Decision[]; outcome?: WebhookOutcome } => {
    const r = step(state, input, clock.now(), config);
    state = r.state;
    last = r.decisions;
    all.push(...r.decisions);
    return r;
  };
  return {
    clock,
    feed,
    get state() {
      return state!;
    },
    get last() {
      return last;
    },
    all,
    start() {
      feed({ kind: 'userPayload', payload: SESSION_START });
      feed({ kind: 'ticketOpened', gen: state!.session!.gen, ticketId: 100 });
    },
    agent(text: string, ids: Partial<AgentWebhook> = {}) {
      return feed({
        kind: 'agentWebhook',
        event: { conversationId: id, ticketId: 100, eventId: `e-${text}`, messageId: undefined, text, fromAgent: true, ...ids },
      }).outcome;
    },
  };
}

const of = <T extends Decision['type']>(ds: Decision[], type: T) => ds.filter((d): d is Extract<Decision, { type: T }> => d.type === type);
const toBot = (ds: Decision[]) => of(ds, 'toBot').map((d) => d.input);
const toUser = (ds: Decision[]) => of(ds, 'toUser').map((d) => d.out);
const ops = (ds: Decision[]) => of(ds, 'helpdesk').map((d) => d.op);

describe('session machine', () => {
  it('BOT state: user messages go to the bot and are kept (bounded) as history with the bot turns', () => {
    const c = conversation();
    c.feed({ kind: 'userText', text: 'hi' });
    assert.deepEqual(toBot(c.last), [{ kind: 'message', text: 'hi' }]);
    c.feed({ kind: 'botText', text: 'hello, how can I help?' });
    for (const t of ['a', 'b', 'c']) c.feed({ kind: 'userText', text: t });
    assert.equal(c.state.mode, 'BOT');
    assert.deepEqual(
      c.state.history.map((t) => `${t.from}:${t.text}`),
      ['bot:hello, how can I help?', 'user:a', 'user:b', 'user:c'],
    );
  });

  it('START opens a ticket with the user meta and the history, mutes the bot, arms the timer', () => {
    const c = conversation();
    c.feed({ kind: 'userText', text: 'where is my order?', user: { name: 'Ada', email: 'ada@example.com' } });
    c.feed({ kind: 'botText', text: 'let me get a human' });
    c.feed({ kind: 'userPayload', payload: SESSION_START });
    const start = c.clock.now();
    assert.equal(c.state.mode, 'LIVECHAT');
    const [open] = ops(c.last);
    assert.equal(open?.kind, 'open');
    assert.ok(open?.kind === 'open');
    assert.deepEqual(open.user, { name: 'Ada', email: 'ada@example.com' });
    assert.equal(open.text, 'Ada asked to talk to an agent.');
    assert.deepEqual(open.history, [
      { from: 'user', text: 'where is my order?' },
      { from: 'bot', text: 'let me get a human' },
    ]);
    assert.deepEqual(of(c.last, 'armTimer'), [{ type: 'armTimer', at: start + TIMEOUT }]);
    assert.deepEqual(toBot(c.last), [], 'the bot hears nothing of the start');
    assert.deepEqual(c.state.history, []);
  });

  it('forwards user messages to the ticket, never to the bot, and resets the timer', () => {
    const c = conversation();
    c.start();
    c.clock.advance(60_000);
    c.feed({ kind: 'userText', text: 'I need a human' });
    assert.deepEqual(ops(c.last), [{ kind: 'post', gen: 1, user: {}, text: 'I need a human', externalId: 'c1:1:1' }]);
    assert.deepEqual(toBot(c.last), []);
    assert.deepEqual(of(c.last, 'armTimer'), [{ type: 'armTimer', at: c.clock.now() + TIMEOUT }]);
    c.feed({ kind: 'userPayload', payload: 'SOME_BUTTON' });
    assert.deepEqual(ops(c.last), [{ kind: 'post', gen: 1, user: {}, text: 'SOME_BUTTON', externalId: 'c1:1:2' }]);
    assert.deepEqual(toBot(c.all), []);
  });

  it('delivers an agent reply to the user and resets the timer', () => {
    const c = conversation();
    c.start();
    c.clock.advance(5 * 60_000);
    assert.equal(c.agent('Hi, Grace here', { messageId: '7' }), 'delivered');
    assert.deepEqual(toUser(c.last), [{ text: 'Hi, Grace here' }]);
    assert.deepEqual(of(c.last, 'armTimer'), [{ type: 'armTimer', at: c.clock.now() + TIMEOUT }]);
    assert.equal(c.state.session?.lastAgentMessageId, 7);
  });

  it('turns LIVECHAT_SESSION_END in an agent message into a button, token removed', () => {
    assert.deepEqual(agentMessageToUser(`Thanks for chatting!  ${SESSION_END}`), {
      text: 'Thanks for chatting!',
      buttons: [{ title: 'End chat', payload: SESSION_END }],
    });
    assert.deepEqual(agentMessageToUser(`Bye ${SESSION_END} see you\nnext ${SESSION_END}`).text, 'Bye see you\nnext');
    // Only the token: a short default text, never an empty bubble.
    assert.deepEqual(agentMessageToUser(SESSION_END), { text: DEFAULT_SIGNOFF_TEXT, buttons: [{ title: 'End chat', payload: SESSION_END }] });
    assert.deepEqual(agentMessageToUser('no token here'), { text: 'no token here' });
    // The token counts only as a whole word: not in LIVECHAT_SESSION_ENDED, not inside a URL.
    for (const text of [`${SESSION_END}ED is a status`, `see https://example.com/?p=${SESSION_END}`, `path/${SESSION_END}`]) {
      assert.deepEqual(agentMessageToUser(text), { text }, text);
    }
    assert.deepEqual(agentMessageToUser(`Bye! (${SESSION_END})`).buttons?.length, 1);
    const c = conversation();
    c.start();
    c.agent(`Anything else? ${SESSION_END}`);
    assert.deepEqual(toUser(c.last), [{ text: 'Anything else?', buttons: [{ title: 'End chat', payload: SESSION_END }] }]);
  });

  it('an internal note never reaches the user: by webhook (any state) or by catch-up', () => {
    const c = conversation();
    c.start();
    assert.equal(c.agent('fraud risk, refuse the refund', { messageId: '5', channel: 'internal-note' }), 'note');
    assert.deepEqual(toUser(c.last), []);
    const gen = c.state.session!.gen;
    c.feed({
      kind: 'agentBacklog',
      gen,
      messages: [
        { id: 6, text: 'another note', fromAgent: true, createdAt: c.clock.now(), channel: 'internal-note' },
        { id: 7, text: 'Hello!', fromAgent: true, createdAt: c.clock.now(), channel: 'chat' },
      ],
    });
    assert.deepEqual(toUser(c.last), [{ text: 'Hello!' }]);
    assert.equal(c.state.session?.caughtUpTo, 7, 'notes count as accounted for');
    c.feed({ kind: 'userPayload', payload: SESSION_END });
    assert.equal(c.agent('The user ended the chat.', { messageId: '9', channel: 'internal-note' }), 'note');
  });

  it('a webhook marked verify is read back first: a note is dropped, a reply is shown with the stored text', () => {
    const clock = new FakeClock();
    const cfg: MachineConfig = { ...config, readMessages: true };
    let state: ConversationState | undefined = initialState('c1');
    const feed = (input: MachineInput) => {
      const r = step(state, input, clock.now(), cfg);
      state = r.state;
      return r;
    };
    feed({ kind: 'userPayload', payload: SESSION_START });
    feed({ kind: 'ticketOpened', gen: 1, ticketId: 100 });
    const hook = (messageId: string, text: string) =>
      feed({
        kind: 'agentWebhook',
        event: { conversationId: 'c1', ticketId: 100, eventId: `e${messageId}`, messageId, text, fromAgent: true, verify: 'channel' },
      });
    const first = hook('5', 'fraud risk');
    assert.equal(first.outcome, 'pending');
    assert.deepEqual(ops(first.decisions), [{ kind: 'read', gen: 1, messageId: 5, ticketId: 100 }]);
    assert.deepEqual(toUser(first.decisions), []);
    assert.equal(hook('5', 'fraud risk').outcome, 'duplicate', 'the same message while it is being read');
    const note = feed({
      kind: 'messageRead',
      gen: 1,
      messageId: 5,
      message: { id: 5, text: 'fraud risk', fromAgent: true, createdAt: 0, channel: 'internal-note' },
    });
    assert.deepEqual(toUser(note.decisions), []);
    hook('6', 'Price: 5 ');
    const reply = feed({
      kind: 'messageRead',
      gen: 1,
      messageId: 6,
      message: { id: 6, text: 'Price: 5 + 3 & tax', fromAgent: true, createdAt: 0, channel: 'chat' },
    });
    assert.deepEqual(toUser(reply.decisions), [{ text: 'Price: 5 + 3 & tax' }], 'the stored text, not the cut one');
    // A read that failed shows nothing now; the id stays unseen, so a catch-up can still show it.
    hook('7', 'later');
    const failed = feed({ kind: 'messageRead', gen: 1, messageId: 7, error: 'Gorgias answered 503' });
    assert.deepEqual(toUser(failed.decisions), []);
    const backlog = feed({
      kind: 'agentBacklog',
      gen: 1,
      messages: [{ id: 7, text: 'later', fromAgent: true, createdAt: clock.now(), channel: 'chat' }],
    });
    assert.deepEqual(toUser(backlog.decisions), [{ text: 'later' }]);
  });

  it('a message never overtakes an older one that is being read back', () => {
    const clock = new FakeClock();
    const cfg: MachineConfig = { ...config, readMessages: true };
    let state: ConversationState | undefined = initialState('c1');
    const feed = (input: MachineInput) => {
      const r = step(state, input, clock.now(), cfg);
      state = r.state;
      return r;
    };
    feed({ kind: 'userPayload', payload: SESSION_START });
    feed({ kind: 'ticketOpened', gen: 1, ticketId: 100 });
    const hook = (messageId: string, text: string, verify?: 'text') =>
      feed({
        kind: 'agentWebhook',
        event: { conversationId: 'c1', ticketId: 100, eventId: `e${messageId}`, messageId, text, fromAgent: true, channel: 'chat', verify },
      });
    assert.equal(hook('5', 'Tom ', 'text').outcome, 'pending');
    const later = hook('6', 'later one');
    assert.equal(later.outcome, 'delivered');
    assert.deepEqual(toUser(later.decisions), [], 'held behind message 5');
    const read = feed({
      kind: 'messageRead',
      gen: 1,
      messageId: 5,
      message: { id: 5, text: 'Tom & Jerry', fromAgent: true, createdAt: 0, channel: 'chat' },
    });
    assert.deepEqual(toUser(read.decisions), [{ text: 'Tom & Jerry' }, { text: 'later one' }]);
    // A read that fails releases what waited behind it too.
    hook('7', 'x+y', 'text');
    hook('8', 'after');
    const failed = feed({ kind: 'messageRead', gen: 1, messageId: 7, error: 'timeout' });
    assert.deepEqual(toUser(failed.decisions), [{ text: 'after' }]);
  });

  it('END by the user (button or typed) ends once: close the ticket, back to the bot', () => {
    for (const how of ['payload', 'typed'] as const) {
      const c = conversation();
      c.start();
      if (how === 'payload') c.feed({ kind: 'userPayload', payload: SESSION_END });
      else c.feed({ kind: 'userText', text: ` ${SESSION_END} ` });
      assert.equal(c.state.mode, 'BOT');
      assert.deepEqual(ops(c.last), [{ kind: 'end', gen: 1, reason: 'ended' }]);
      assert.deepEqual(of(c.last, 'cancelTimer').length, 1);
      assert.deepEqual(toBot(c.last), [{ kind: 'payload', payload: SESSION_END }]);
      // A second END (an old button) does nothing but a report.
      c.feed({ kind: 'userPayload', payload: SESSION_END });
      assert.deepEqual(ops(c.last), []);
      assert.deepEqual(toBot(c.last), []);
      assert.equal(of(c.last, 'report')[0]?.kind, 'noop');
      c.feed({ kind: 'userText', text: 'hello bot' });
      assert.deepEqual(toBot(c.last), [{ kind: 'message', text: 'hello bot' }]);
    }
  });

  it('expires at exactly the timeout, not one ms before, and tells the bot once', () => {
    const c = conversation();
    c.start();
    const deadline = c.state.session!.deadline;
    assert.equal(deadline, c.clock.now() + TIMEOUT);
    c.clock.advance(TIMEOUT - 1);
    c.feed({ kind: 'expire' }); // an early timer
    assert.equal(c.state.mode, 'LIVECHAT');
    assert.deepEqual(toBot(c.last), []);
    assert.deepEqual(of(c.last, 'armTimer'), [{ type: 'armTimer', at: deadline }]);
    c.clock.advance(1);
    c.feed({ kind: 'expire' });
    assert.equal(c.state.mode, 'BOT');
    assert.deepEqual(toBot(c.last), [{ kind: 'event', event: SESSION_EXPIRED }]);
    assert.deepEqual(ops(c.last), [{ kind: 'end', gen: 1, reason: 'expired' }]);
    c.feed({ kind: 'expire' }); // a stale second timer
    assert.deepEqual(c.last, []);
    assert.equal(toBot(c.all).filter((b) => b.kind === 'event').length, 1);
  });

  it('a message resets the timer: the old deadline passes quietly', () => {
    const c = conversation();
    c.start();
    c.clock.advance(TIMEOUT - 10);
    c.feed({ kind: 'userText', text: 'still there?' });
    c.clock.advance(10);
    c.feed({ kind: 'expire' });
    assert.equal(c.state.mode, 'LIVECHAT');
    c.clock.advance(TIMEOUT - 10 - 1);
    c.feed({ kind: 'expire' });
    assert.equal(c.state.mode, 'LIVECHAT');
    c.clock.advance(1);
    c.feed({ kind: 'expire' });
    assert.equal(c.state.mode, 'BOT');
  });

  it('an input that arrives after the deadline, before the timer fired, sees the session expired', () => {
    const c = conversation();
    c.start();
    c.clock.advance(TIMEOUT);
    assert.equal(c.agent('sorry, was away'), 'late');
    assert.deepEqual(toBot(c.last), [{ kind: 'event', event: SESSION_EXPIRED }]);
    assert.deepEqual(toUser(c.last), []);
  });

  it('a late webhook after expiry changes nothing and is reported, never shown', () => {
    const c = conversation();
    c.start();
    c.clock.advance(TIMEOUT);
    c.feed({ kind: 'expire' });
    const before = c.state;
    assert.equal(c.agent('are you there?'), 'late');
    assert.deepEqual(toUser(c.last), []);
    assert.equal(of(c.last, 'report')[0]?.kind, 'late');
    assert.equal(c.state.mode, 'BOT');
    assert.equal(c.state.last, before.last);
  });

  it('a webhook after END is reported as closed', () => {
    const c = conversation();
    c.start();
    c.feed({ kind: 'userPayload', payload: SESSION_END });
    assert.equal(c.agent('bye'), 'closed');
    assert.deepEqual(toUser(c.last), []);
  });

  it('deduplicates by event_id, and by message_id when event ids differ or are missing', () => {
    const c = conversation();
    c.start();
    assert.equal(c.agent('one', { eventId: 'e1', messageId: '1' }), 'delivered');
    assert.equal(c.agent('one', { eventId: 'e1', messageId: '1' }), 'duplicate');
    assert.equal(c.agent('one', { eventId: 'e1-again', messageId: '1' }), 'duplicate');
    assert.equal(c.agent('two', { eventId: undefined, messageId: '2' }), 'delivered');
    assert.equal(c.agent('two', { eventId: undefined, messageId: '2' }), 'duplicate');
    assert.equal(c.agent('three', { eventId: 'e3', messageId: undefined }), 'delivered');
    assert.equal(c.agent('three', { eventId: 'e3', messageId: undefined }), 'duplicate');
    assert.deepEqual(
      toUser(c.all).map((o) => o.text),
      ['one', 'two', 'three'],
    );
    // A message id dedupes its webhook alone: the event id is kept only when there is no message id.
    assert.deepEqual(c.state.seenMessages, ['1', '2']);
    assert.deepEqual(c.state.seenEvents, ['e3']);
  });

  it('ignores from_agent=false echoes', () => {
    const c = conversation();
    c.start();
    assert.equal(c.agent('my own words', { fromAgent: false }), 'echo');
    assert.deepEqual(toUser(c.last), []);
    assert.deepEqual(of(c.last, 'armTimer'), [], 'an echo does not reset the timer');
  });

  it('an unknown conversation, or another ticket, changes nothing', () => {
    const r = step(undefined, { kind: 'agentWebhook', event: { conversationId: 'nope', eventId: 'x', text: 'hi', fromAgent: true } }, 0, config);
    assert.equal(r.outcome, 'unknown');
    assert.equal(r.state, undefined);
    assert.equal(r.decisions[0]?.type, 'report');
    const c = conversation();
    c.feed({ kind: 'userText', text: 'just the bot so far' });
    assert.equal(c.agent('hello?'), 'unknown');
    c.start();
    assert.equal(c.agent('wrong ticket', { ticketId: 999 }), 'unknown');
    assert.deepEqual(toUser(c.all), []);
  });

  it('START while already in LIVECHAT is a reported no-op', () => {
    const c = conversation();
    c.start();
    const before = c.state;
    c.feed({ kind: 'userPayload', payload: SESSION_START });
    assert.equal(c.state, before);
    assert.deepEqual(ops(c.last), []);
    assert.equal(of(c.last, 'report')[0]?.kind, 'noop');
  });

  it('a second session gets a new ticket; webhooks from the old ticket are closed', () => {
    const c = conversation();
    c.start();
    c.feed({ kind: 'userPayload', payload: SESSION_END });
    c.feed({ kind: 'userPayload', payload: SESSION_START });
    assert.equal(c.state.session?.gen, 2);
    assert.equal(c.agent('old', { ticketId: 100 }), 'closed');
    c.feed({ kind: 'ticketOpened', gen: 2, ticketId: 200 });
    assert.equal(c.agent('old again', { ticketId: 100 }), 'closed');
    assert.equal(c.agent('new', { ticketId: 200 }), 'delivered');
  });

  it('a helpdesk failure during the session tells the user and the bot, and ends it once', () => {
    const c = conversation();
    c.start();
    c.feed({ kind: 'helpdeskFailed', gen: 1, op: 'post', error: 'HTTP 503' });
    assert.equal(c.state.mode, 'BOT');
    assert.deepEqual(toUser(c.last), [{ text: FAILED_TEXT, notice: true }]);
    assert.deepEqual(toBot(c.last), [{ kind: 'event', event: 'LIVECHAT_SESSION_FAILED' }]);
    c.feed({ kind: 'helpdeskFailed', gen: 1, op: 'post', error: 'HTTP 503' });
    assert.deepEqual(toBot(c.last), []);
  });

  it('catch-up delivers missed agent messages in id order, once', () => {
    const c = conversation();
    c.start();
    c.agent('first', { messageId: '10' });
    c.feed({
      kind: 'agentBacklog',
      gen: 1,
      messages: [
        { id: 13, text: 'third', fromAgent: true, createdAt: c.clock.now() },
        { id: 10, text: 'first', fromAgent: true, createdAt: c.clock.now() },
        { id: 11, text: 'user echo', fromAgent: false, createdAt: c.clock.now() },
        { id: 12, text: 'second', fromAgent: true, createdAt: c.clock.now() },
      ],
    });
    assert.deepEqual(
      toUser(c.all).map((o) => o.text),
      ['first', 'second', 'third'],
    );
    assert.equal(c.agent('third', { eventId: 'other', messageId: '13' }), 'duplicate');
  });
});

describe('fewer catch-ups (issue 12)', () => {
  const catchUpConfig: MachineConfig = { ...config, catchUp: { afterMs: 60_000 } };
  const catchUps = (ds: Decision[]) => ops(ds).filter((o) => o.kind === 'catchUp');

  it('no catch-up after a user message when a webhook of the ticket (an echo too) arrived within the catch-up delay', () => {
    let state: ConversationState | undefined = initialState('c1');
    const clock = new FakeClock();
    const feed = (input: MachineInput) => {
      const r = step(state, input, clock.now(), catchUpConfig);
      state = r.state;
      return r.decisions;
    };
    feed({ kind: 'userPayload', payload: SESSION_START });
    feed({ kind: 'ticketOpened', gen: 1, ticketId: 100, messageId: 1 });
    assert.equal(catchUps(feed({ kind: 'userText', text: 'nobody wrote yet' })).length, 1, 'no webhook yet: look');
    feed({ kind: 'agentWebhook', event: { conversationId: 'c1', ticketId: 100, eventId: 'e1', messageId: '2', text: 'echo', fromAgent: false } });
    clock.advance(59_999);
    assert.equal(catchUps(feed({ kind: 'userText', text: 'the echo came just now' })).length, 0);
    clock.advance(60_000);
    assert.equal(catchUps(feed({ kind: 'userText', text: 'a minute without webhooks' })).length, 1);
    feed({ kind: 'agentWebhook', event: { conversationId: 'c1', ticketId: 999, eventId: 'e9', messageId: '9', text: 'x', fromAgent: false } });
    assert.equal(catchUps(feed({ kind: 'userText', text: 'another ticket says nothing' })).length, 1);
    feed({ kind: 'agentWebhook', event: { conversationId: 'c1', ticketId: 100, eventId: 'e2', messageId: '3', text: 'echo', fromAgent: false } });
    const always = step(state, { kind: 'userText', text: 'x' }, clock.now(), { ...catchUpConfig, catchUp: { afterMs: 60_000, trustWebhooksMs: 0 } });
    assert.equal(catchUps(always.decisions).length, 1, 'trustWebhooksMs 0: always look');
  });

  it('a listing of the whole account accounts for the ticket up to its newest id, even with nothing on this ticket', () => {
    const c = conversation();
    c.start();
    c.feed({ kind: 'agentBacklog', gen: c.state.session!.gen, messages: [], upTo: 500 });
    assert.equal(c.state.session?.caughtUpTo, 500);
    c.feed({ kind: 'agentBacklog', gen: c.state.session.gen, messages: [], upTo: 400 });
    assert.equal(c.state.session?.caughtUpTo, 500, 'never lowered');
  });
});
