// The Gorgias port end to end: session manager -> gorgiasHelpdesk -> real client -> emulator over
// HTTP, and the emulator's webhook -> our receiver -> the manager -> the user.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startEmulator, type TemplateEncoding } from '../src/emulator/index.js';
import { createGorgiasClient } from '../src/gorgias/client.js';
import { createReceiver, listenReceiver } from '../src/receiver/index.js';
import { handoffTicket, placeholderEmail, gorgiasHelpdesk } from '../src/helpdesk/gorgias.js';
import { createSessionManager, type BotInput, type ReportEntry, type UserOutput } from '../src/session/manager.js';
import { SESSION_END, SESSION_START } from '../src/protocol.js';
import { desiredIntegration } from '../src/webhook/integration.js';
import { webhookUrlTemplate } from '../src/webhook/template.js';

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

type Template = 'installed' | 'pasted' | 'legacy';

/**
 * The real engine, adapter, client and receiver against the emulator, with the integration as
 * `webhook install` creates it, or pasted by hand from `webhook-url` (with or without the channel
 * parameter of the newer template).
 */
async function bridge(template: Template, encoding: TemplateEncoding = 'encoded') {
  const emu = await startEmulator({ port: 0, rateLimit: false, templateEncoding: encoding });
  const client = createGorgiasClient({ domain: emu.url, username: emu.email, apiKey: emu.apiKey });
  const user: Array<{ id: string; out: UserOutput }> = [];
  const bot: Array<{ id: string; input: BotInput }> = [];
  const reports: ReportEntry[] = [];
  const outcomes: string[] = [];
  const manager = createSessionManager({
    helpdesk: gorgiasHelpdesk(client),
    sinks: {
      toUser: (id, out) => user.push({ id, out }),
      toBot: (id, input) => bot.push({ id, input }),
      report: (e) => reports.push(e),
    },
  });
  const rx = await listenReceiver(
    createReceiver({
      token: TOKEN,
      onEvent: async (e) => {
        const outcome = await manager.agentWebhook(e);
        outcomes.push(outcome);
        return outcome;
      },
    }),
  );
  const base = `${rx.url}/gorgias/webhook`;
  const integration = desiredIntegration(base, TOKEN);
  if (template !== 'installed') {
    const url = webhookUrlTemplate(base, TOKEN);
    integration.http = {
      ...integration.http,
      headers: {},
      form: null,
      url: template === 'pasted' ? url : url.replace('&channel={{message.channel}}', ''),
    };
  }
  await client.createIntegration(integration);
  /** Every webhook delivered and every engine call made, twice over (a read-back may follow a webhook). */
  const settle = async () => {
    for (let i = 0; i < 2; i++) {
      await emu.idle();
      await manager.idle();
    }
  };
  const start = async (id: string) => {
    await manager.userPayload(id, SESSION_START, { name: 'Ada', email: `${id}@example.com` });
    await settle();
    const ticketId = manager.conversation(id)?.session?.ticketId;
    assert.ok(ticketId, 'a ticket was opened');
    return ticketId;
  };
  const shown = (id: string) => user.filter((u) => u.id === id).map((u) => u.out.text);
  return {
    emu,
    client,
    manager,
    user,
    bot,
    reports,
    outcomes,
    settle,
    start,
    shown,
    async close() {
      manager.close();
      await rx.close();
      await emu.close();
    },
  };
}

/** Agent text that a URL would cut or change: separators, escapes, newlines, emoji, right-to-left. */
const HARD = 'Tom & Jerry #1 + 2 = 3? 100% off, a=b&c=d;\nsecond line: café 😀 שלום مرحبا %20 +';

describe('gorgiasHelpdesk against the emulator', () => {
  let b: Awaited<ReturnType<typeof bridge>>;
  before(async () => {
    b = await bridge('installed');
  });
  after(() => b.close());

  it('opens the ticket, relays both ways, ignores echoes, and closes on END with an internal note', async () => {
    const { manager, client, emu, user, bot, reports } = b;
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
    await b.settle(); // a sign-off is shown after a catch-up (nothing lost may come after it)
    assert.deepEqual(
      user.filter((u) => u.id === 'conv-7'),
      [{ id: 'conv-7', out: { text: 'Hello Ada & co #1 + 😀\nline two', buttons: [{ title: 'End chat', payload: SESSION_END }] } }],
    );
    assert.ok(reports.filter((r) => r.kind === 'echo').length >= 2, 'the first message and the user message came back as echoes');

    await manager.userPayload('conv-7', SESSION_END);
    await b.settle();
    const closed = await client.getTicket(ticketId);
    assert.equal(closed.status, 'closed');
    assert.deepEqual(closed.tags, [{ name: 'livechat' }], 'closing kept the tags');
    const messages = emu.store.listMessages(ticketId);
    assert.deepEqual(
      messages.slice(1).map((m) => m.body_text),
      ['Tom & Jerry + me', `Hello Ada & co #1 + 😀\nline two ${SESSION_END}`, 'The user ended the chat.'],
    );
    // Agents see the bridge's own notice as an internal note from the key's user, never as the customer.
    const notice = messages.at(-1)!;
    assert.deepEqual([notice.channel, notice.from_agent, notice.sender.email], ['internal-note', true, emu.email]);
    assert.match(notice.external_id ?? '', /^conv-7:/);
    assert.deepEqual(
      bot.filter((x) => x.id === 'conv-7').map((x) => x.input),
      [
        { kind: 'message', text: 'where is order #1042?' },
        { kind: 'payload', payload: SESSION_END },
      ],
    );
    assert.equal(b.shown('conv-7').length, 1, 'nothing more reached the user, the note neither');
  });

  it('a retried hand-off reuses the ticket an earlier try opened instead of creating a second one', async () => {
    const port = gorgiasHelpdesk(b.client, { relookMs: 0 });
    const lookups = () => b.emu.requests.filter((r) => r.method === 'GET' && r.path === '/api/tickets').length;
    const before = lookups();
    const a = await port.openTicket({ conversationId: 'conv-8', user: {}, text: 'first try', history: [] });
    assert.equal(lookups(), before, 'no lookup before a first try');
    const again = await port.openTicket({ conversationId: 'conv-8', user: {}, text: 'first try', history: [], retry: true });
    assert.equal(again.ticketId, a.ticketId);
    assert.equal(again.messageId, a.messageId, 'the hand-off message is not posted twice');
    assert.equal(b.emu.store.listTickets({ external_id: 'conv-8' }).length, 1);
    const since = await port.listMessagesSince!(a.ticketId, undefined);
    assert.deepEqual(
      since.map((m) => [m.text.split('\n')[0], m.fromAgent, m.channel]),
      [['first try', false, 'chat']],
    );
    // A trashed ticket is never reused.
    b.emu.store.updateTicket(a.ticketId, { trashed_datetime: '2026-01-01T00:00:00.000Z' });
    const fresh = await port.openTicket({ conversationId: 'conv-8', user: {}, text: 'first try', history: [], retry: true });
    assert.notEqual(fresh.ticketId, a.ticketId);
  });

  it("an agent's internal note never reaches the user, by webhook or by catch-up; replies around it do", async () => {
    const { emu, manager } = b;
    const ticketId = await b.start('conv-n1');
    await emu.agent.note(ticketId, 'fraud risk, refuse the refund');
    await emu.agent.reply(ticketId, 'Let me check your order.');
    await b.settle();
    assert.deepEqual(b.shown('conv-n1'), ['Let me check your order.']);
    assert.ok(b.outcomes.includes('note'), 'the note webhook arrived and was recognised');
    // Webhooks lost: the catch-up lists the note too, and leaves it out.
    emu.faults.webhooks({ drop: 1 });
    await emu.agent.note(ticketId, 'customer is on the blocklist');
    await emu.agent.reply(ticketId, 'Found it: it ships today.');
    await b.settle();
    emu.faults.reset();
    await manager.catchUp('conv-n1');
    await b.settle();
    assert.deepEqual(b.shown('conv-n1'), ['Let me check your order.', 'Found it: it ships today.']);
  });

  it('agent text with & # + % = newlines, emoji and right-to-left script reaches the user intact', async () => {
    const ticketId = await b.start('conv-h1');
    await b.emu.agent.reply(ticketId, HARD);
    await b.settle();
    assert.deepEqual(b.shown('conv-h1'), [HARD]);
    assert.ok(!b.emu.requests.some((r) => /\/messages\/\d+$/.test(r.path)), 'the body was enough: nothing read back');
  });
});

for (const encoding of ['encoded', 'raw'] as const) {
  describe(`the installed integration, values put in URLs ${encoding} ([guess])`, () => {
    let b: Awaited<ReturnType<typeof bridge>>;
    before(async () => {
      b = await bridge('installed', encoding);
    });
    after(() => b.close());

    it('hard text arrives intact in the JSON body; a note never reaches the user', async () => {
      const ticketId = await b.start('conv-e1');
      await b.emu.agent.note(ticketId, `note: ${HARD}`);
      await b.emu.agent.reply(ticketId, HARD);
      await b.settle();
      assert.deepEqual(b.shown('conv-e1'), [HARD]);
    });
  });
}

for (const template of ['pasted', 'legacy'] as const) {
  for (const encoding of ['encoded', 'raw'] as const) {
    describe(`an integration pasted by hand (${template === 'pasted' ? 'with' : 'without'} the channel parameter), values ${encoding}`, () => {
      let b: Awaited<ReturnType<typeof bridge>>;
      before(async () => {
        b = await bridge(template, encoding);
      });
      after(() => b.close());

      it('a note never reaches the user; agent text does, read back from Gorgias when the URL may have changed it', async () => {
        const AMP = 'Tom & Jerry = 100%';
        const ticketId = await b.start('conv-p1');
        await b.emu.agent.note(ticketId, 'internal: refund refused');
        await b.emu.agent.reply(ticketId, HARD);
        await b.emu.agent.reply(ticketId, AMP);
        await b.emu.agent.reply(ticketId, 'plain words');
        await b.settle();
        const reads = b.emu.requests.filter((r) => r.method === 'GET' && /^\/api\/tickets\/\d+\/messages\/\d+$/.test(r.path)).length;
        if (encoding === 'encoded') {
          assert.deepEqual(b.shown('conv-p1'), [HARD, AMP, 'plain words']);
          // Without the channel every agent message is read back (the note too); with it, none needs to be.
          assert.equal(reads, template === 'legacy' ? 4 : 0);
        } else {
          // Unencoded, the "#" ends the URL before the token: that call is refused, and only a catch-up
          // finds the message. The "&" text arrives, doubtful, and is read back exact.
          // A later message waits for the one being read back, so it never overtakes it.
          assert.deepEqual(b.shown('conv-p1'), [AMP, 'plain words']);
          assert.equal(reads, template === 'legacy' ? 3 : 1);
          await b.manager.catchUp('conv-p1');
          await b.settle();
          // The refused one can only come late, after the newer ones (reported as reordered).
          assert.deepEqual(b.shown('conv-p1'), [AMP, 'plain words', HARD]);
        }
      });
    });
  }
}
