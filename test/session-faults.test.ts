// Fault scenarios end to end: the session manager -> gorgiasHelpdesk -> the real Gorgias client ->
// the emulator over HTTP (with its fault injection), and the emulator's webhooks -> our receiver
// -> the manager. Retries wait on real time with small delays; the session clock is a FakeClock.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { createGorgiasClient } from '../src/gorgias/client.js';
import { createReceiver, listenReceiver, type RunningReceiver } from '../src/receiver/index.js';
import { FakeClock, realClock } from '../src/clock.js';
import { gorgiasHelpdesk } from '../src/helpdesk/gorgias.js';
import { FAILED_TEXT } from '../src/session/machine.js';
import { backoffPolicy, createSessionManager, type BotInput, type SessionManager } from '../src/session/manager.js';
import { SESSION_END, SESSION_FAILED, SESSION_START } from '../src/protocol.js';
import { desiredIntegration } from '../src/webhook/integration.js';

const TOKEN = 'tok-faults-0123456789';
const TIMEOUT = 30 * 60_000;

/**
 * A pass-through in front of the emulator that can hold an answer past the client's timeout, so
 * the request is stored by Gorgias but the client sees a timeout (the emulator's latency applies
 * before it reads the request, so it can only lose a request, not an answer).
 */
async function slowAnswers(target: string) {
  let holdNext: { method: string; path: RegExp; ms: number } | undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const up = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
        const body: Buffer[] = [];
        answer.on('data', (c: Buffer) => body.push(c));
        answer.on('end', () => {
          const rule = holdNext;
          const hold = rule && rule.method === req.method && rule.path.test(req.url ?? '') ? rule.ms : 0;
          if (hold) holdNext = undefined;
          setTimeout(() => {
            if (res.destroyed) return;
            res.writeHead(answer.statusCode ?? 502, answer.headers).end(Buffer.concat(body));
          }, hold);
        });
      });
      up.on('error', () => res.destroy());
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    holdNext(method: string, path: RegExp, ms: number) {
      holdNext = { method, path, ms };
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('session engine against the emulator under faults', () => {
  let emu: Emulator;
  let proxy: Awaited<ReturnType<typeof slowAnswers>>;
  let rx: RunningReceiver;
  let manager: SessionManager;
  let clock: FakeClock;
  const user: Array<{ id: string; text: string }> = [];
  const bot: Array<{ id: string; input: BotInput }> = [];

  before(async () => {
    emu = await startEmulator({ port: 0, rateLimit: false });
    proxy = await slowAnswers(emu.url);
    // All retrying is the engine's: the client gives up at once, so each fault is one failed try.
    const client = createGorgiasClient({
      domain: proxy.url,
      username: emu.email,
      apiKey: emu.apiKey,
      timeoutMs: 300,
      maxRetries: 0,
      maxRateLimitWaits: 0,
    });
    clock = new FakeClock();
    manager = createSessionManager({
      clock,
      retryClock: realClock,
      retry: backoffPolicy({ attempts: 5, baseMs: 5, maxMs: 20 }),
      timeoutMs: TIMEOUT,
      catchUpMs: 60_000,
      catchUpTrustWebhooksMs: 10_000,
      helpdesk: gorgiasHelpdesk(client),
      sinks: {
        toUser: (id, out) => user.push({ id, text: out.text }),
        toBot: (id, input) => bot.push({ id, input }),
      },
    });
    rx = await listenReceiver(createReceiver({ token: TOKEN, onEvent: (e) => manager.agentWebhook(e) }));
    // Exactly what `livechat webhook install` creates, put straight into the emulator: through the
    // client it is one try of 300 ms, which a busy machine can miss.
    emu.store.createIntegration(desiredIntegration(`${rx.url}/gorgias/webhook`, TOKEN));
  });
  after(async () => {
    manager.close();
    await rx.close();
    await proxy.close();
    await emu.close();
  });
  beforeEach(() => {
    emu.faults.reset();
    user.length = 0;
    bot.length = 0;
  });

  const ticketOf = (id: string) => manager.conversation(id)!.session!.ticketId!;
  const texts = (ticketId: number) => emu.store.listMessages(ticketId).map((m) => m.body_text);
  const posts = (ticketId: number) => emu.requests.filter((r) => r.method === 'POST' && r.path === `/api/tickets/${ticketId}/messages`);
  const settle = async () => {
    await manager.idle();
    await emu.idle();
    await manager.idle();
  };

  it('500s and a 429 storm, then recovery: queued user messages reach Gorgias in order, none twice', async () => {
    await manager.userPayload('f1', SESSION_START);
    const ticketId = ticketOf('f1');
    emu.faults.failNext(3, 500);
    const sent = ['one', 'two', 'three'].map((t) => manager.userMessage('f1', t));
    await Promise.all(sent);
    emu.faults.rateLimitStorm(2, 0);
    await manager.userMessage('f1', 'four');
    await settle();
    assert.deepEqual(texts(ticketId).slice(1), ['one', 'two', 'three', 'four']);
    assert.ok(emu.requests.some((r) => r.status === 500) && emu.requests.some((r) => r.status === 429), 'the faults happened');
    assert.deepEqual(
      emu.store
        .listMessages(ticketId)
        .slice(1)
        .map((m) => m.external_id),
      ['f1:1:1', 'f1:1:2', 'f1:1:3', 'f1:1:4'],
    );
    assert.equal(manager.state('f1'), 'LIVECHAT');
    assert.equal(bot.length, 0);
  });

  it('a timeout after Gorgias stored the message: looked up by external_id, not posted again', async () => {
    await manager.userPayload('f2', SESSION_START);
    const ticketId = ticketOf('f2');
    const before = posts(ticketId).length;
    proxy.holdNext('POST', new RegExp(`/api/tickets/${ticketId}/messages$`), 600);
    await manager.userMessage('f2', 'did this arrive?');
    await settle();
    assert.deepEqual(texts(ticketId).slice(1), ['did this arrive?']);
    assert.equal(posts(ticketId).length - before, 1, 'one POST reached Gorgias');
  });

  it('a timeout after Gorgias created the ticket: the retry finds it by external_id, no second ticket', async () => {
    const lookups = () => emu.requests.filter((r) => r.method === 'GET' && r.path === '/api/tickets').length;
    const before = lookups();
    proxy.holdNext('POST', /\/api\/tickets$/, 600);
    await manager.userPayload('f6', SESSION_START);
    await settle();
    const tickets = emu.store.listTickets({ external_id: 'f6' });
    assert.equal(tickets.length, 1);
    assert.equal(tickets[0].messages.length, 1, 'one hand-off message');
    assert.equal(ticketOf('f6'), tickets[0].id);
    assert.equal(lookups() - before, 1, 'no lookup before the first try, one before the retry (it found the ticket: no second look)');
  });

  it('a timeout after Gorgias stored the end note: the retry finds it by external_id, the note is on the ticket once', async () => {
    await manager.userPayload('f7', SESSION_START);
    const ticketId = ticketOf('f7');
    await settle();
    proxy.holdNext('POST', new RegExp(`/api/tickets/${ticketId}/messages$`), 600);
    await manager.userPayload('f7', SESSION_END);
    await settle();
    const notes = emu.store.listMessages(ticketId).filter((m) => m.body_text === 'The user ended the chat.');
    assert.equal(notes.length, 1, 'one end note');
    assert.deepEqual([notes[0].channel, notes[0].from_agent], ['internal-note', true]);
    assert.equal(posts(ticketId).length, 1, 'the note was posted once; the retry only looked');
    assert.equal(emu.store.getTicket(ticketId).status, 'closed');
    assert.ok(
      emu.requests.some((r) => r.method === 'GET' && r.path === '/api/messages'),
      'the retry listed the messages (GET /api/messages?ticket_id=)',
    );
  });

  it('retries exhausted: the user and the bot are told, the session ends once, the ticket is closed when Gorgias is back', async () => {
    await manager.userPayload('f3', SESSION_START);
    const ticketId = ticketOf('f3');
    emu.faults.failNext(5, 503); // the 5 tries of the first post (1 POST, then 4 look-ups)
    await manager.userMessage('f3', 'anyone?');
    await manager.userMessage('f3', 'hello??');
    await settle();
    assert.equal(manager.state('f3'), 'BOT');
    assert.deepEqual(
      user.filter((u) => u.id === 'f3').map((u) => u.text),
      [FAILED_TEXT],
    );
    assert.deepEqual(
      bot.filter((b) => b.id === 'f3').map((b) => b.input),
      [
        { kind: 'event', event: SESSION_FAILED },
        { kind: 'message', text: 'hello??' },
      ],
    );
    const ticket = emu.store.getTicket(ticketId);
    assert.equal(ticket.status, 'closed');
    assert.match(ticket.messages.at(-1)!.body_text, /could not be reached/);
    assert.ok(!texts(ticketId).includes('anyone?'));
    // Nothing more ends: no expiry of a failed session.
    clock.advance(2 * TIMEOUT);
    await settle();
    assert.equal(bot.filter((b) => b.id === 'f3').length, 2);
  });

  it('a dropped agent webhook is caught up on the next user message; duplicated webhooks are shown once', async () => {
    await manager.userPayload('f4', SESSION_START);
    const ticketId = ticketOf('f4');
    emu.faults.webhooks({ drop: 1 });
    await emu.agent.reply(ticketId, 'I am looking into it');
    await settle();
    assert.equal(emu.deliveries.filter((d) => d.ticketId === ticketId && d.dropped).length, 1, 'the webhook was dropped');
    assert.equal(user.length, 0);
    // No webhook for longer than the engine trusts them (10 s here): the user's next message looks.
    clock.advance(15_000);
    emu.faults.webhooks({ duplicate: 1 });
    await manager.userMessage('f4', 'thanks');
    await settle();
    assert.deepEqual(
      user.map((u) => u.text),
      ['I am looking into it'],
    );
    await emu.agent.reply(ticketId, 'found it');
    await settle();
    assert.deepEqual(
      user.map((u) => u.text),
      ['I am looking into it', 'found it'],
    );
    assert.ok(
      emu.deliveries.some((d) => d.ticketId === ticketId && d.duplicate),
      'a webhook came twice',
    );
  });

  it('no catch-up after a user message when a webhook of the ticket arrived just now', async () => {
    await manager.userPayload('f6', SESSION_START);
    const ticketId = ticketOf('f6');
    await emu.agent.reply(ticketId, 'hello, Ada here');
    await settle();
    const listings = () => emu.requests.filter((r) => r.method === 'GET' && r.path === '/api/messages').length;
    const before = listings();
    await manager.userMessage('f6', 'hi Ada');
    await settle();
    assert.equal(listings(), before, 'webhooks are coming: no listing');
    assert.deepEqual(texts(ticketId).slice(-1), ['hi Ada']);
    clock.advance(15_000);
    await manager.userMessage('f6', 'still there?');
    await settle();
    assert.equal(listings(), before + 1, 'no webhook for 15 s: the next user message looks');
  });

  it('a dropped agent webhook is caught up on the timer', async () => {
    await manager.userPayload('f5', SESSION_START);
    const ticketId = ticketOf('f5');
    emu.faults.webhooks({ drop: 1 });
    await emu.agent.reply(ticketId, 'still there?');
    await settle();
    assert.equal(user.length, 0);
    clock.advance(60_000);
    await settle();
    assert.deepEqual(
      user.map((u) => u.text),
      ['still there?'],
    );
    assert.equal(manager.state('f5'), 'LIVECHAT');
  });
});
