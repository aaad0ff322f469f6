// The Gorgias port end to end: session manager -> gorgiasHelpdesk -> real client -> emulator over
// HTTP, and the emulator's webhook -> our receiver -> the manager -> the user.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { createGorgiasClient, type GorgiasClient } from '../src/gorgias/client.js';
import { createReceiver, listenReceiver, type RunningReceiver } from '../src/receiver/index.js';
import { handoffTicket, placeholderEmail, gorgiasHelpdesk } from '../src/helpdesk/gorgias.js';
import { createSessionManager, type BotInput, type ReportEntry, type SessionManager, type UserOutput } from '../src/session/manager.js';
import { SESSION_END, SESSION_START } from '../src/protocol.js';
import { desiredIntegration } from '../src/webhook/integration.js';

const TOKEN = 'tok-e2e-0123456789';

describe('hand-off ticket body (pure)', () => {
  it('follows the reference shape; a user with no email gets an external id and a placeholder address', () => {
    const withEmail = handoffTicket({
      conversationId: 'c-1',
      user: { name: 'Ada', email: 'ada@example.com', channel: 'webchat' },
      text: 'Ada asked to talk to an agent.',
      history: [{ from: 'user', text: 'a <b> & c' }],
    });
    assert.equal(withEmail.external_id, 'c-1');
    assert.equal(withEmail.channel, 'chat');
    assert.equal(withEmail.via, 'api');
    assert.deepEqual(withEmail.customer, { email: 'ada@example.com', name: 'Ada' });
    assert.deepEqual(withEmail.tags, [{ name: 'livechat' }]);
    assert.deepEqual(withEmail.meta, {
      livechat: { conversation_id: 'c-1', metadata: { name: 'Ada', email: 'ada@example.com', channel: 'webchat' } },
    });
    const first = withEmail.messages[0];
    assert.equal(first.from_agent, false);
    assert.match(first.body_text, /channel: webchat/);
    assert.match(first.body_text, /User: a <b> & c/);
    assert.match(first.body_html!, /a &lt;b&gt; &amp; c/);
    const anonymous = handoffTicket({ conversationId: 'Conv/9', user: {}, text: 'x', history: [] });
    assert.equal(anonymous.customer.external_id, 'Conv/9');
    assert.equal(anonymous.customer.email, placeholderEmail('Conv/9'));
    assert.match(anonymous.customer.email, /^conv-9\.[0-9a-f]{8}@users\.livechat\.invalid$/);
  });
});

describe('gorgiasHelpdesk against the emulator', () => {
  let emu: Emulator;
  let client: GorgiasClient;
  let rx: RunningReceiver;
  let manager: SessionManager;
  const user: Array<{ id: string; out: UserOutput }> = [];
  const bot: Array<{ id: string; input: BotInput }> = [];
  const reports: ReportEntry[] = [];

  before(async () => {
    emu = await startEmulator({ port: 0, rateLimit: false });
    client = createGorgiasClient({ domain: emu.url, username: emu.email, apiKey: emu.apiKey });
    manager = createSessionManager({
      helpdesk: gorgiasHelpdesk(client),
      sinks: {
        toUser: (id, out) => user.push({ id, out }),
        toBot: (id, input) => bot.push({ id, input }),
        report: (e) => reports.push(e),
      },
    });
    rx = await listenReceiver(createReceiver({ token: TOKEN, onEvent: (e) => manager.agentWebhook(e) }));
    // Exactly what `livechat webhook install` creates.
    await client.createIntegration(desiredIntegration(`${rx.url}/gorgias/webhook`, TOKEN));
  });
  after(async () => {
    manager.close();
    await rx.close();
    await emu.close();
  });

  it('opens the ticket, relays both ways, ignores echoes, and closes on END', async () => {
    const ada = { name: 'Ada', email: 'ada@example.com', channel: 'webchat' };
    await manager.userMessage('conv-7', 'where is order #1042?', ada);
    await manager.botSaid('conv-7', 'Let me find you a human.');
    await manager.userPayload('conv-7', SESSION_START);
    const ticketId = manager.conversation('conv-7')?.session?.ticketId;
    assert.ok(ticketId);
    const ticket = await client.getTicket(ticketId);
    assert.equal(ticket.external_id, 'conv-7');
    assert.equal(ticket.status, 'open');
    assert.match(ticket.messages[0].body_text, /User: where is order #1042\?\nBot: Let me find you a human\./);

    await manager.userMessage('conv-7', 'Tom & Jerry + me');
    await emu.agent.reply(ticketId, `Hello Ada & co #1 + 😀\nline two ${SESSION_END}`);
    await emu.idle();
    await manager.idle(); // a sign-off is shown after a catch-up (nothing lost may come after it)
    assert.deepEqual(user, [
      { id: 'conv-7', out: { text: 'Hello Ada & co #1 + 😀\nline two', buttons: [{ title: 'End chat', payload: SESSION_END }] } },
    ]);
    assert.ok(reports.filter((r) => r.kind === 'echo').length >= 2, 'the first message and the user message came back as echoes');

    await manager.userPayload('conv-7', SESSION_END);
    await manager.idle();
    const closed = await client.getTicket(ticketId);
    assert.equal(closed.status, 'closed');
    const texts: string[] = [];
    for await (const m of client.listMessages(ticketId)) texts.push(m.body_text);
    assert.deepEqual(texts.slice(1), ['Tom & Jerry + me', `Hello Ada & co #1 + 😀\nline two ${SESSION_END}`, 'The user ended the chat.']);
    assert.deepEqual(
      bot.map((b) => b.input),
      [
        { kind: 'message', text: 'where is order #1042?' },
        { kind: 'payload', payload: SESSION_END },
      ],
    );
    await emu.idle();
    assert.equal(user.length, 1, 'nothing more reached the user');
  });

  it('reuses the open ticket of the conversation instead of creating a second one', async () => {
    const port = gorgiasHelpdesk(client);
    const a = await port.openTicket({ conversationId: 'conv-8', user: {}, text: 'first try', history: [] });
    const b = await port.openTicket({ conversationId: 'conv-8', user: {}, text: 'first try', history: [] });
    assert.equal(b.ticketId, a.ticketId);
    let count = 0;
    for await (const t of client.listTickets({ external_id: 'conv-8' })) if (t.external_id === 'conv-8') count++;
    assert.equal(count, 1);
    const since = await port.listMessagesSince!(a.ticketId, undefined);
    assert.deepEqual(
      since.map((m) => [m.text.split('\n')[0], m.fromAgent]),
      [['first try', false]],
    );
  });
});
