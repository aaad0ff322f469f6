// The bridge's side of `livechat doctor`: webhooks of a doctor's test ticket are recorded and reach
// nothing else (no session, no user, no bot, even for a conversation id that has state), and
// `GET /v1/webhooks/recent` tells them, behind the channel secret.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createBridge, type Bridge } from '../src/bridge/index.ts';
import { startEmulator, type Emulator } from '../src/emulator/index.ts';
import type { RunningServer } from '../src/server/index.ts';
import { RECENT_WEBHOOKS_KEPT, recentWebhooks } from '../src/server/recent.ts';
import type { Delivery } from '../src/session/manager.ts';
import { SESSION_START } from '../src/protocol.ts';
import { TOKEN_HEADER } from '../src/webhook/template.ts';
import { waitFor } from './serve-helpers.ts';

const TOKEN = 'doctor-server-token-0123456789';
const SECRET = 'doctor-server-secret-0123456789';

describe('the bridge and a doctor test ticket', () => {
  let emu: Emulator;
  let bridge: Bridge;
  let server: RunningServer;
  const delivered: Delivery[] = [];

  before(async () => {
    emu = await startEmulator({ port: 0, rateLimit: false });
    bridge = await createBridge({
      gorgias: { domain: emu.url, username: emu.email, apiKey: emu.apiKey },
      webhookToken: TOKEN,
      channelSecret: SECRET,
      deliver: async (d) => void delivered.push(d),
    });
    server = await bridge.listen(0);
    await bridge.installWebhook(`${server.url}/gorgias/webhook`);
  });
  after(async () => {
    await bridge.close({ timeoutMs: 1000 });
    await emu.close();
  });

  const recent = (query = '', secret = SECRET) =>
    fetch(`${server.url}/v1/webhooks/recent${query}`, { headers: secret ? { authorization: `Bearer ${secret}` } : {} });
  const webhook = (conversationId: string, messageId: number, ticketId = 999) =>
    fetch(`${server.url}/gorgias/webhook?event_type=ticket-message-created&event_id=e${messageId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [TOKEN_HEADER]: TOKEN },
      body: JSON.stringify({
        ticket: { id: ticketId, external_id: conversationId },
        message: { id: messageId, from_agent: true, channel: 'chat', body_text: 'hello from the agent' },
      }),
    });

  it('refuses the list without the channel secret, and a bad filter', async () => {
    assert.equal((await recent('', '')).status, 401);
    assert.equal((await recent('', 'wrong')).status, 401);
    assert.equal((await recent('?message_id=abc')).status, 400);
    assert.equal((await fetch(`${server.url}/v1/webhooks/recent`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}` } })).status, 405);
  });

  it("a webhook for a doctor's conversation is recorded and goes nowhere, even where that id has a session", async () => {
    // A bot that (oddly) names a conversation like doctor's test tickets: its session stays untouched.
    const id = 'livechat-doctor-0123456789ab';
    assert.equal((await bridge.userPayload(id, SESSION_START)).mode, 'LIVECHAT');
    const ticketId = await waitFor('the hand-off ticket', () => bridge.manager.conversation(id)?.session?.ticketId);
    await bridge.manager.idle();
    await emu.idle();
    const before = delivered.length;
    const res = await webhook(id, 424242, ticketId);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true, outcome: 'unknown' });
    await bridge.manager.idle();
    assert.equal(delivered.length, before, 'nothing delivered to the user or the bot');
    assert.ok(!bridge.manager.conversation(id)?.seenMessages.includes('424242'), 'the engine never saw it');
    const list = (await (await recent('?message_id=424242')).json()) as { webhooks: Array<Record<string, unknown>> };
    assert.equal(list.webhooks.length, 1);
    assert.deepEqual(
      { ...list.webhooks[0], received_at: typeof list.webhooks[0].received_at },
      { conversation_id: id, ticket_id: ticketId, message_id: '424242', event_id: 'e424242', outcome: 'unknown', received_at: 'string' },
    );
    assert.ok(!JSON.stringify(list).includes('hello from the agent'), 'the text is never kept');
  });

  it("a real conversation's webhook is recorded too, with the outcome the engine gave", async () => {
    await webhook('some-unknown-conversation', 5150);
    const list = (await (await recent('?message_id=5150')).json()) as { webhooks: Array<{ outcome: string }> };
    assert.deepEqual(
      list.webhooks.map((w) => w.outcome),
      ['unknown'],
    );
    const all = (await (await recent()).json()) as { webhooks: unknown[] };
    assert.ok(all.webhooks.length >= 2);
  });

  it('the ring keeps the newest ones only', () => {
    const ring = recentWebhooks(3);
    for (let i = 1; i <= RECENT_WEBHOOKS_KEPT; i++) ring.record({ text: '', fromAgent: true, messageId: String(i) }, 'delivered', i);
    assert.deepEqual(
      ring.list().map((w) => w.message_id),
      [String(RECENT_WEBHOOKS_KEPT - 2), String(RECENT_WEBHOOKS_KEPT - 1), String(RECENT_WEBHOOKS_KEPT)],
    );
    assert.deepEqual(ring.list('1'), []);
  });
});
