// The emulator follows what we learned about the real API: messages listed with GET /api/messages,
// one message read by id, trashed tickets, internal notes, the {{context}} body and |tojson,
// Python-style None/True/False, deactivation after 100 failed calls, one retry after a timeout,
// and a rate limit that runs on the clock it is given.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { FakeClock } from '../src/clock.ts';
import { parseEmulatorOptions } from '../src/commands/emulator.ts';
import { startEmulator, type Emulator } from '../src/emulator/index.ts';
import { DEACTIVATE_AFTER_FAILURES } from '../src/emulator/guesses.ts';
import { call, customerMessage, httpIntegration, newTicket, startReceiver, type Receiver } from './emulator-helpers.ts';

const note = (text: string, extra: Record<string, unknown> = {}) => ({
  channel: 'internal-note',
  via: 'helpdesk',
  from_agent: true,
  body_text: text,
  ...extra,
});

describe('messages: GET /api/messages and one message by id', () => {
  let emu: Emulator;
  let a: number;
  let b: number;
  before(async () => {
    emu = await startEmulator({ rateLimit: false });
    a = emu.store.createTicket(newTicket('lm-a', 'a0')).id;
    b = emu.store.createTicket(newTicket('lm-b', 'b0')).id;
    for (let i = 1; i <= 120; i++) emu.store.createMessage(i % 2 ? a : b, customerMessage(`${i % 2 ? 'a' : 'b'}${i}`));
  });
  after(() => emu.close());

  async function texts(path: string): Promise<{ texts: string[]; pages: number }> {
    const out: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await call(emu, 'GET', cursor ? `${path}&cursor=${encodeURIComponent(cursor)}` : path);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      out.push(...r.body.data.map((m: { body_text: string }) => m.body_text));
      cursor = r.body.meta.next_cursor;
      assert.ok(++pages < 50, 'runaway pagination');
    } while (cursor);
    return { texts: out, pages };
  }

  test('?ticket_id= lists that ticket only, oldest first, across pages; limit is capped at 100', async () => {
    const all = await texts(`/api/messages?ticket_id=${a}&limit=7`);
    assert.deepEqual(all.texts, ['a0', ...Array.from({ length: 60 }, (_, i) => `a${2 * i + 1}`)]);
    assert.equal(all.pages, 9);
    const capped = await call(emu, 'GET', `/api/messages?ticket_id=${b}&limit=1000`);
    assert.equal(capped.body.data.length, 61);
    const big = await call(emu, 'GET', '/api/messages?limit=1000');
    assert.equal(big.body.data.length, 100, 'capped at 100');
  });

  test('order_by=created_datetime:desc lists newest first, with cursors both ways', async () => {
    const desc = await texts(`/api/messages?ticket_id=${b}&limit=10&order_by=created_datetime:desc`);
    assert.deepEqual(desc.texts, [...Array.from({ length: 60 }, (_, i) => `b${120 - 2 * i}`), 'b0']);
    const p1 = await call(emu, 'GET', `/api/messages?ticket_id=${b}&limit=10&order_by=created_datetime:desc`);
    const p2 = await call(emu, 'GET', `/api/messages?ticket_id=${b}&limit=10&order_by=created_datetime:desc&cursor=${p1.body.meta.next_cursor}`);
    const back = await call(emu, 'GET', `/api/messages?ticket_id=${b}&limit=10&order_by=created_datetime:desc&cursor=${p2.body.meta.prev_cursor}`);
    assert.deepEqual(back.body.data, p1.body.data);
  });

  test('[guess] without ticket_id: the whole account, newest first when asked', async () => {
    const r = await call(emu, 'GET', '/api/messages?limit=3&order_by=created_datetime:desc');
    assert.deepEqual(
      r.body.data.map((m: { body_text: string }) => m.body_text),
      ['b120', 'a119', 'b118'],
    );
    assert.equal((await texts('/api/messages?limit=100')).texts.length, 122);
  });

  test('an unknown ticket_id lists nothing; a bad one is a 400', async () => {
    assert.deepEqual((await call(emu, 'GET', '/api/messages?ticket_id=999999')).body.data, []);
    assert.equal((await call(emu, 'GET', '/api/messages?ticket_id=abc')).status, 400);
  });

  test('GET /api/tickets/{id}/messages/{message_id}: the message; 404 for another ticket or an unknown id', async () => {
    const first = emu.store.listMessages(a)[1];
    const r = await call(emu, 'GET', `/api/tickets/${a}/messages/${first.id}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, first);
    assert.equal((await call(emu, 'GET', `/api/tickets/${b}/messages/${first.id}`)).status, 404);
    assert.equal((await call(emu, 'GET', `/api/tickets/${a}/messages/99999999`)).status, 404);
    assert.equal((await call(emu, 'GET', `/api/tickets/99999999/messages/${first.id}`)).status, 404);
  });

  test('the deprecated per-ticket listing still answers, and is marked deprecated in emu.requests', async () => {
    const r = await call(emu, 'GET', `/api/tickets/${a}/messages?limit=2`);
    assert.equal(r.status, 200);
    assert.equal(emu.requests.at(-1)!.deprecated, true);
    await call(emu, 'GET', `/api/messages?ticket_id=${a}&limit=2`);
    assert.equal(emu.requests.at(-1)!.deprecated, undefined);
  });
});

describe('tickets: trashed, and lookups by key that follow updates', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ rateLimit: false });
  });
  after(() => emu.close());

  test('trashed=false hides trashed tickets, trashed=true shows only them, no filter shows both ([guess])', async () => {
    const keep = emu.store.createTicket(newTicket('tr-1'));
    const gone = emu.store.createTicket(newTicket('tr-1'));
    const put = await call(emu, 'PUT', `/api/tickets/${gone.id}`, { trashed_datetime: '2026-01-02T00:00:00Z' });
    assert.equal(put.body.trashed_datetime, '2026-01-02T00:00:00Z');
    const ids = async (q: string) => (await call(emu, 'GET', `/api/tickets?external_id=tr-1${q}`)).body.data.map((t: { id: number }) => t.id);
    assert.deepEqual(await ids('&trashed=false'), [keep.id]);
    assert.deepEqual(await ids('&trashed=true'), [gone.id]);
    assert.deepEqual(await ids(''), [keep.id, gone.id]);
    assert.equal((await call(emu, 'GET', '/api/tickets?trashed=maybe')).status, 400);
  });

  test('external_id and customer lookups follow a PUT that changes them', async () => {
    const t = emu.store.createTicket(newTicket('key-1'));
    const other = emu.store.createCustomer({ email: 'other@example.com' });
    emu.store.updateTicket(t.id, { external_id: 'key-2', customer: { id: other.id } });
    assert.deepEqual(emu.store.listTickets({ external_id: 'key-1' }), []);
    assert.deepEqual(
      emu.store.listTickets({ external_id: 'key-2' }).map((x) => x.id),
      [t.id],
    );
    assert.deepEqual(
      emu.store.listTickets({ customer_id: other.id }).map((x) => x.id),
      [t.id],
    );
    assert.deepEqual(
      emu.store.listTickets({ customer_id: t.customer.id }).map((x) => x.id),
      [],
    );
    assert.deepEqual(
      emu.store.listCustomers({ email: 'OTHER@example.com' }).map((c) => c.id),
      [other.id],
    );
  });
});

describe('internal notes', () => {
  let emu: Emulator;
  let rx: Receiver;
  before(async () => {
    rx = await startReceiver();
    emu = await startEmulator({ rateLimit: false });
    emu.store.createIntegration(httpIntegration(`${rx.url}?id={{message.id}}&channel={{message.channel}}&from_agent={{message.from_agent}}`));
  });
  after(async () => {
    await emu.close();
    await rx.close();
  });
  beforeEach(() => (rx.received.length = 0));

  test('a note through the API is from the key user, fires the webhook with its channel, and does not reopen a ticket', async () => {
    const t = emu.store.createTicket(newTicket('note-1'));
    emu.store.updateTicket(t.id, { status: 'closed' });
    await emu.idle();
    rx.received.length = 0;
    const r = await call(emu, 'POST', `/api/tickets/${t.id}/messages`, note('fraud risk, refuse the refund'));
    assert.equal(r.status, 201);
    assert.equal(r.body.channel, 'internal-note');
    assert.equal(r.body.from_agent, true);
    assert.equal(r.body.sender.email, emu.email);
    assert.equal(emu.store.getTicket(t.id).status, 'closed');
    await emu.idle();
    assert.deepEqual(
      rx.received.map((x) => [x.query.get('id'), x.query.get('channel'), x.query.get('from_agent')]),
      [[String(r.body.id), 'internal-note', 'True']],
    );
  });

  test('a note must be from an agent, and its sender a user', async () => {
    const t = emu.store.createTicket(newTicket('note-2'));
    const fromCustomer = await call(emu, 'POST', `/api/tickets/${t.id}/messages`, note('x', { from_agent: false }));
    assert.equal(fromCustomer.status, 400);
    assert.ok(fromCustomer.body.error.data.from_agent);
    const customerSender = await call(emu, 'POST', `/api/tickets/${t.id}/messages`, note('x', { sender: { email: 'note-2@example.com' } }));
    assert.equal(customerSender.status, 400);
    assert.ok(customerSender.body.error.data.sender);
  });

  test('emu.agent.note writes the same note', async () => {
    const t = emu.store.createTicket(newTicket('note-3'));
    await emu.idle();
    rx.received.length = 0;
    const m = await emu.agent.note(t.id, 'for agents only');
    assert.equal(m.channel, 'internal-note');
    assert.equal(m.from_agent, true);
    await emu.idle();
    assert.equal(rx.received[0].query.get('channel'), 'internal-note');
  });
});

describe('templates: {{context}} body, |tojson, None/True/False', () => {
  let emu: Emulator;
  let rx: Receiver;
  before(async () => {
    rx = await startReceiver();
  });
  after(() => rx.close());
  beforeEach(async () => {
    emu = await startEmulator({ rateLimit: false });
    rx.received.length = 0;
  });
  afterEach(() => emu.close());

  const TEXT = 'Tom & Jerry #1 + 2 = 3? 100%\n"quoted" مرحبا 🎉';

  test('form "{{context}}" sends the ticket, the message and the event as JSON', async () => {
    emu.store.createIntegration(httpIntegration(`${rx.url}?ctx=1`, { form: '{{context}}' }));
    const t = emu.store.createTicket(newTicket('ctx-1'));
    await emu.idle();
    rx.received.length = 0;
    const m = await emu.agent.reply(t.id, TEXT);
    await emu.idle();
    const got = rx.received[0];
    assert.match(String(got.headers['content-type']), /application\/json/);
    const body = JSON.parse(got.body) as { ticket: { id: number; external_id: string }; message: Record<string, unknown>; event: { type: string } };
    assert.equal(body.ticket.id, t.id);
    assert.equal(body.ticket.external_id, 'ctx-1');
    assert.equal(body.message.id, m.id);
    assert.equal(body.message.body_text, TEXT);
    assert.equal(body.message.from_agent, true);
    assert.equal(body.message.channel, 'chat');
    assert.equal(body.event.type, 'ticket-message-created');
  });

  test('|tojson makes JSON text of a value; None, True and False in plain substitutions', async () => {
    const form = '{"text": {{message.body_text|tojson}}, "agent": {{ message.from_agent | tojson }}, "missing": {{ticket.nope|tojson}}}';
    emu.store.createIntegration(httpIntegration(`${rx.url}?ext={{ticket.external_id}}&fa={{message.from_agent}}&u={{nope.x}}`, { form }));
    const t = emu.store.createTicket({ ...newTicket('x'), external_id: undefined });
    await emu.idle();
    const got = rx.received[0];
    assert.deepEqual(JSON.parse(got.body), { text: 'I need a human', agent: false, missing: null });
    assert.equal(got.query.get('ext'), 'None');
    assert.equal(got.query.get('fa'), 'False');
    assert.equal(got.query.get('u'), '');
    assert.equal(emu.store.getTicket(t.id).external_id, null);
  });

  test('an unknown filter: the call is not made, the delivery records a bad template', async () => {
    emu.store.createIntegration(httpIntegration(`${rx.url}?x={{message.body_text|upper}}`));
    emu.store.createTicket(newTicket('bad-filter'));
    await emu.idle();
    assert.equal(rx.received.length, 0);
    assert.match(emu.deliveries[0].error!, /bad template: unknown filter "upper"/);
  });
});

describe('deactivation and timeouts', () => {
  let rx: Receiver;
  before(async () => {
    rx = await startReceiver();
  });
  after(() => rx.close());
  beforeEach(() => {
    rx.received.length = 0;
    rx.status = 200;
  });

  test(`${DEACTIVATE_AFTER_FAILURES} failed calls in a row deactivate the integration; a success resets the count; a PUT reactivates`, async () => {
    const emu = await startEmulator({ rateLimit: false });
    try {
      const i = emu.store.createIntegration(httpIntegration(rx.url));
      const t = emu.store.createTicket(newTicket('deact'));
      await emu.idle();
      rx.status = 500;
      const post = async (n: number) => {
        for (let k = 0; k < n; k++) emu.store.createMessage(t.id, customerMessage(`m${k}`));
        await emu.idle();
      };
      await post(DEACTIVATE_AFTER_FAILURES - 1);
      rx.status = 200;
      await post(1);
      rx.status = 500;
      await post(DEACTIVATE_AFTER_FAILURES - 1);
      assert.equal(emu.store.getIntegration(i.id).deactivated_datetime, null, 'a success in between reset the count');
      await post(1);
      const off = emu.store.getIntegration(i.id);
      assert.notEqual(off.deactivated_datetime, null);
      assert.equal(emu.deliveries.at(-1)!.deactivated, true);
      const calls = rx.received.length;
      await post(3);
      assert.equal(rx.received.length, calls, 'a deactivated integration is not called');
      const put = await call(emu, 'PUT', `/api/integrations/${i.id}`, { deactivated_datetime: null });
      assert.equal(put.body.deactivated_datetime, null);
      rx.status = 200;
      await post(1);
      assert.equal(rx.received.length, calls + 1);
    } finally {
      await emu.close();
    }
  });

  test('a call that times out is made once more with the same event: the receiver gets it twice', async () => {
    const emu = await startEmulator({ rateLimit: false, webhookTimeoutMs: 150 });
    try {
      emu.store.createIntegration(httpIntegration(`${rx.url}?e={{event.id}}`));
      const release = rx.hold();
      emu.store.createTicket(newTicket('slow'));
      await emu.idle();
      release();
      assert.equal(rx.received.length, 2);
      assert.equal(rx.received[0].query.get('e'), rx.received[1].query.get('e'));
      assert.deepEqual(
        emu.deliveries.map((d) => [d.timedOut, d.retry]),
        [
          [true, undefined],
          [true, true],
        ],
      );
    } finally {
      await emu.close();
    }
  });
});

describe('the rate limit runs on the clock it is given', () => {
  test('Retry-After and the call-limit header follow a fake clock, not the wall clock', async () => {
    const clock = new FakeClock();
    const emu = await startEmulator({ clock, rateLimit: { limit: 2, windowMs: 10_000 } });
    try {
      assert.equal((await call(emu, 'GET', '/api/account')).status, 200);
      assert.equal((await call(emu, 'GET', '/api/account')).status, 200);
      const limited = await call(emu, 'GET', '/api/account');
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '5', 'one drop drains in 5 s of emulator time');
      // Wall-clock time changes nothing while the fake clock stands still.
      await new Promise((resolve) => setTimeout(resolve, 30));
      assert.equal((await call(emu, 'GET', '/api/account')).status, 429);
      clock.advance(4_000);
      const still = await call(emu, 'GET', '/api/account');
      assert.equal(still.status, 429);
      assert.equal(still.headers.get('retry-after'), '1');
      clock.advance(1_000);
      const ok = await call(emu, 'GET', '/api/account');
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('x-gorgias-account-api-call-limit'), '2/2');
      clock.advance(10_000);
      assert.equal((await call(emu, 'GET', '/api/account')).headers.get('x-gorgias-account-api-call-limit'), '1/2');
    } finally {
      await emu.close();
    }
  });
});

test('livechat emulator --rate-limit off (or 0) turns the limit off; other words are refused', () => {
  assert.equal(parseEmulatorOptions({ rateLimit: 'off' }).rateLimit, false);
  assert.equal(parseEmulatorOptions({ rateLimit: 'OFF' }).rateLimit, false);
  assert.equal(parseEmulatorOptions({ rateLimit: '0' }).rateLimit, false);
  assert.deepEqual(parseEmulatorOptions({ rateLimit: '80', rateWindow: '10' }).rateLimit, { limit: 80, windowMs: 10_000 });
  assert.throws(() => parseEmulatorOptions({ rateLimit: 'none' }), /--rate-limit/);
});
