// HTTP integrations fire to a real receiver; the agent console goes through the same path.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../src/emulator/index.ts';
import { fillTemplate, fillUrl, resolvePath } from '../src/emulator/template.ts';
import { call, customerMessage, httpIntegration, livechatTemplate, newTicket, startReceiver, type Receiver } from './emulator-helpers.ts';

const TRICKY = 'Tom & Jerry #1 + 2 = 3?\nsecond line: café 🎉 100% a=b;c/d';

describe('template filling (unit)', () => {
  const ctx = {
    ticket: { id: 7, external_id: 'c-1', customer: { email: 'a@b.c' }, messages: [{ body_text: 'first' }, { body_text: 'last' }] },
    message: { id: 9, from_agent: false, body_text: 'x & y' },
    event: { id: 3, type: 'ticket-message-created' },
  };
  test('dotted paths, negative indexes, booleans, unknown -> empty', () => {
    assert.equal(resolvePath(ctx, 'ticket.messages[-1].body_text'), 'last');
    assert.equal(resolvePath(ctx, 'ticket.messages[0].body_text'), 'first');
    assert.equal(fillTemplate('{{message.from_agent}}|{{ ticket.id }}|{{nope.x}}|{{ticket.constructor}}', ctx), 'False|7||');
  });
  test('encoded vs raw', () => {
    assert.equal(fillUrl('http://h/?t={{message.body_text}}', ctx, 'encoded'), 'http://h/?t=x%20%26%20y');
    assert.equal(fillUrl('http://h/?t={{message.body_text}}', ctx, 'raw'), 'http://h/?t=x & y');
  });
});

describe('HTTP integrations fire', () => {
  let emu: Emulator;
  let rx: Receiver;
  before(async () => {
    rx = await startReceiver();
  });
  after(() => rx.close());
  beforeEach(async () => {
    emu = await startEmulator({ rateLimit: false });
    rx.received.length = 0;
    rx.status = 200;
  });
  afterEach(() => emu.close());

  test('a message created through the API calls the integration with the template filled and encoded', async () => {
    const integ = await call(emu, 'POST', '/api/integrations', httpIntegration(livechatTemplate(rx.url)));
    assert.equal(integ.status, 201);
    const t = await call(emu, 'POST', '/api/tickets', newTicket('conv-42'));
    const m = await call(emu, 'POST', `/api/tickets/${t.body.id}/messages`, { channel: 'chat', via: 'api', from_agent: true, body_text: TRICKY });
    assert.equal(m.status, 201);
    await emu.idle();

    // The first message of the ticket fires too, then the agent's.
    assert.equal(rx.received.length, 2);
    const [first, got] = rx.received;
    assert.equal(first.query.get('text'), 'I need a human');
    assert.equal(first.query.get('from_agent'), 'False');
    assert.equal(got.method, 'POST');
    assert.equal(got.query.get('text'), TRICKY);
    assert.equal(got.query.get('from_agent'), 'True');
    assert.equal(got.query.get('external_id'), 'conv-42');
    assert.equal(got.query.get('ticket_id'), String(t.body.id));
    assert.equal(got.query.get('event_type'), 'ticket-message-created');
    assert.equal(got.query.get('message_id'), String(m.body.id));
    assert.match(got.query.get('event_id')!, /^\d+$/);
    assert.notEqual(got.query.get('event_id'), first.query.get('event_id'));
    assert.equal(got.headers['x-livechat-secret'], 's3cret');
    assert.equal(got.body, '');

    assert.equal(emu.deliveries.length, 2);
    const d = emu.deliveries[1];
    assert.equal(d.status, 200);
    assert.equal(d.integrationId, integ.body.id);
    assert.equal(d.messageId, m.body.id);
    assert.equal(d.eventId, Number(got.query.get('event_id')));
    assert.equal(d.method, 'POST');
  });

  test('deeper variables, form body as JSON and as form-urlencoded, GET without body', async () => {
    const url = `${rx.url}?c={{ticket.customer.email}}&r={{ticket.requester.email}}&last={{ticket.messages[-1].body_text}}&s={{ticket.subject}}&st={{ticket.status}}&ot={{event.object_type}}&html={{message.body_html}}&se={{message.sender.email}}&u={{unknown.var}}`;
    emu.store.createIntegration(httpIntegration(url, { form: { text: '{{message.body_text}}', who: '{{ticket.customer.email}}' } }));
    emu.store.createIntegration(
      httpIntegration(`${rx.url}?form=1`, { request_content_type: 'application/x-www-form-urlencoded', form: { text: '{{message.body_text}}' } }),
    );
    emu.store.createIntegration(httpIntegration(`${rx.url}?get=1&text={{message.body_text}}`, { method: 'GET', form: { ignored: 'x' } }));
    const t = emu.store.createTicket(newTicket('deep', TRICKY));
    await emu.idle();
    assert.equal(rx.received.length, 3);
    const json = rx.received.find((r) => r.query.has('c'))!;
    assert.equal(json.query.get('c'), 'deep@example.com');
    assert.equal(json.query.get('r'), 'deep@example.com');
    assert.equal(json.query.get('last'), TRICKY);
    assert.equal(json.query.get('s'), 'Livechat with deep');
    assert.equal(json.query.get('st'), 'open');
    assert.equal(json.query.get('ot'), 'TicketMessage');
    assert.equal(json.query.get('html'), t.messages[0].body_html);
    assert.equal(json.query.get('se'), 'deep@example.com');
    assert.equal(json.query.get('u'), '');
    assert.match(String(json.headers['content-type']), /application\/json/);
    assert.deepEqual(JSON.parse(json.body), { text: TRICKY, who: 'deep@example.com' });
    const form = rx.received.find((r) => r.query.has('form'))!;
    assert.match(String(form.headers['content-type']), /x-www-form-urlencoded/);
    assert.equal(new URLSearchParams(form.body).get('text'), TRICKY);
    const get = rx.received.find((r) => r.query.has('get'))!;
    assert.equal(get.method, 'GET');
    assert.equal(get.body, '');
    assert.equal(get.query.get('text'), TRICKY);
  });

  test('templateEncoding raw: values go in as they are, so & and # cut the text', async () => {
    await emu.close();
    emu = await startEmulator({ rateLimit: false, templateEncoding: 'raw' });
    emu.store.createIntegration(httpIntegration(livechatTemplate(rx.url)));
    emu.store.createTicket(newTicket('raw', 'Tom & Jerry'));
    await emu.idle();
    assert.equal(rx.received[0].query.get('text'), 'Tom ');
  });

  test('only active http integrations with the trigger fire; a failing receiver is recorded, not retried', async () => {
    const active = emu.store.createIntegration(httpIntegration(`${rx.url}?n=active`));
    const off = emu.store.createIntegration(httpIntegration(`${rx.url}?n=off`));
    emu.store.updateIntegration(off.id, { deactivated_datetime: '2026-01-01T00:00:00Z' });
    emu.store.createIntegration(httpIntegration(`${rx.url}?n=notrigger`, { triggers: { 'ticket-created': false } }));
    emu.store.createIntegration({ type: 'email', name: 'not http' } as never);
    emu.store.createIntegration(httpIntegration('http://127.0.0.1:1/refused'));
    rx.status = 500;
    emu.store.createTicket(newTicket('only'));
    await emu.idle();
    assert.deepEqual(
      rx.received.map((r) => r.query.get('n')),
      ['active'],
    );
    const byIntegration = new Map(emu.deliveries.map((d) => [d.integrationId, d]));
    assert.equal(byIntegration.get(active.id)!.status, 500);
    const refused = emu.deliveries.find((d) => d.url.includes('refused'))!;
    assert.equal(refused.status, undefined);
    assert.match(refused.error!, /ECONNREFUSED|connect/i);
    assert.equal(emu.deliveries.length, 2);
  });

  test('the API answer does not wait for the receiver', async () => {
    emu.store.createIntegration(httpIntegration(rx.url));
    const t = emu.store.createTicket(newTicket('async'));
    await emu.idle();
    rx.received.length = 0;
    const release = rx.hold();
    const r = await call(emu, 'POST', `/api/tickets/${t.id}/messages`, customerMessage('hi'));
    assert.equal(r.status, 201);
    // The receiver has not answered yet, so the delivery is still open.
    assert.equal(emu.deliveries.length, 1);
    let idle = false;
    const done = emu.idle().then(() => (idle = true));
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(idle, false);
    release();
    await done;
    assert.equal(rx.received.length, 1);
    assert.equal(emu.deliveries.length, 2);
    assert.equal(emu.deliveries[1].status, 200);
  });
});

describe('agent console', () => {
  let emu: Emulator;
  let rx: Receiver;
  before(async () => {
    rx = await startReceiver();
    emu = await startEmulator({ rateLimit: false });
    emu.store.createIntegration(httpIntegration(livechatTemplate(rx.url)));
  });
  after(async () => {
    await emu.close();
    await rx.close();
  });

  test('reply fires the webhook exactly like an API-created agent message', async () => {
    const t = emu.store.createTicket(newTicket('agent-1'));
    await emu.idle();
    rx.received.length = 0;
    const viaApi = await call(emu, 'POST', `/api/tickets/${t.id}/messages`, {
      channel: 'chat',
      via: 'helpdesk',
      from_agent: true,
      body_text: TRICKY,
    });
    const viaConsole = await emu.agent.reply(t.id, TRICKY);
    await emu.idle();
    assert.equal(rx.received.length, 2);
    const strip = (q: URLSearchParams) => {
      const o = Object.fromEntries(q);
      delete o.event_id;
      delete o.message_id;
      return o;
    };
    assert.deepEqual(strip(rx.received[1].query), strip(rx.received[0].query));
    assert.equal(rx.received[1].query.get('from_agent'), 'True');
    assert.equal(rx.received[1].query.get('message_id'), String(viaConsole.id));
    assert.equal(rx.received[0].query.get('message_id'), String(viaApi.body.id));
    assert.equal(viaConsole.sender.email, emu.email);
    assert.equal((await call(emu, 'GET', `/api/tickets/${t.id}/messages`)).body.data.length, 3);
  });

  test('applyMacro posts setResponseText as the reply and applies addTags and setStatus', async () => {
    const t = emu.store.createTicket(newTicket('agent-2'));
    const macro = emu.store.createMacro({
      name: 'End livechat',
      actions: [
        {
          name: 'setResponseText',
          type: 'user',
          title: 'Add response text',
          arguments: { body_text: 'Thanks! LIVECHAT_SESSION_END', body_html: '<p>Thanks! LIVECHAT_SESSION_END</p>' },
        },
        { name: 'addTags', type: 'user', title: 'Add tags', arguments: { tags: 'resolved, livechat' } },
        { name: 'setStatus', type: 'user', title: 'Close', arguments: { status: 'closed' } },
      ],
    });
    await emu.idle();
    rx.received.length = 0;
    const msg = await emu.agent.applyMacro(t.id, macro.id);
    assert.equal(msg.body_text, 'Thanks! LIVECHAT_SESSION_END');
    assert.equal(msg.body_html, '<p>Thanks! LIVECHAT_SESSION_END</p>');
    assert.equal(msg.from_agent, true);
    await emu.idle();
    assert.equal(rx.received.length, 1);
    assert.equal(rx.received[0].query.get('text'), 'Thanks! LIVECHAT_SESSION_END');
    assert.equal(rx.received[0].query.get('from_agent'), 'True');
    const after = (await call(emu, 'GET', `/api/tickets/${t.id}`)).body;
    assert.equal(after.status, 'closed');
    assert.deepEqual(after.tags.map((x: any) => x.name).sort(), ['livechat', 'resolved']);
    await assert.rejects(emu.agent.applyMacro(t.id, 9999), /not found/i);
    const noText = emu.store.createMacro({ name: 'tags only', actions: [] });
    await assert.rejects(emu.agent.applyMacro(t.id, noText.id), /setResponseText/);
  });

  test('closeTicket closes it (and fires ticket-updated integrations only)', async () => {
    const updates = emu.store.createIntegration(
      httpIntegration(`${rx.url}?updated=1&status={{ticket.status}}`, { triggers: { 'ticket-updated': true } }),
    );
    const t = emu.store.createTicket(newTicket('agent-3'));
    await emu.idle();
    rx.received.length = 0;
    const closed = await emu.agent.closeTicket(t.id);
    assert.equal(closed.status, 'closed');
    await emu.idle();
    assert.deepEqual(
      rx.received.map((r) => [r.query.get('updated'), r.query.get('status')]),
      [['1', 'closed']],
    );
    emu.store.deleteIntegration(updates.id);
    await assert.rejects(emu.agent.closeTicket(424242), /not found/i);
  });
});
