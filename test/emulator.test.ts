// The emulator's REST API through real HTTP: auth, validation, 404, endpoints, pagination, rate limit.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../src/emulator/index.ts';
import { FakeClock } from '../src/clock.ts';
import { basic, call, customerMessage, newTicket } from './emulator-helpers.ts';

describe('emulator API', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ rateLimit: false, email: 'agent@acme.test', apiKey: 'key-123456789' });
  });
  after(() => emu.close());

  test('url is 127.0.0.1 with a real port; the key is what we set', () => {
    assert.match(emu.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(emu.url, 'http://127.0.0.1:0');
    assert.equal(emu.apiKey, 'key-123456789');
  });

  test('wrong key, wrong email, no auth: 401 with the Gorgias error body', async () => {
    for (const auth of [basic('agent@acme.test', 'nope'), basic('other@acme.test', 'key-123456789'), '', 'Bearer key-123456789']) {
      const r = await call(emu, 'GET', '/api/account', undefined, auth);
      assert.equal(r.status, 401, auth);
      assert.equal(typeof r.body.error.msg, 'string');
      assert.deepEqual(Object.keys(r.body), ['error']);
    }
    const ok = await call(emu, 'GET', '/api/account');
    assert.equal(ok.status, 200);
    assert.equal(ok.body.status, 'active');
    assert.equal(typeof ok.body.domain, 'string');
  });

  test('GET /api/users/0 is the key owner; another id is 404', async () => {
    const me = await call(emu, 'GET', '/api/users/0');
    assert.equal(me.status, 200);
    assert.equal(me.body.email, 'agent@acme.test');
    assert.equal(typeof me.body.id, 'number');
    assert.deepEqual((await call(emu, 'GET', `/api/users/${me.body.id}`)).body, me.body);
    assert.equal((await call(emu, 'GET', '/api/users/999')).status, 404);
  });

  test('unknown route: 404 JSON; wrong method: 405 JSON; bad JSON: 400', async () => {
    const r = await call(emu, 'GET', '/api/nothing-here');
    assert.equal(r.status, 404);
    assert.equal(typeof r.body.error.msg, 'string');
    const m = await call(emu, 'DELETE', '/api/account');
    assert.equal(m.status, 405);
    assert.equal(typeof m.body.error.msg, 'string');
    const res = await fetch(`${emu.url}/api/macros`, {
      method: 'POST',
      headers: { authorization: basic(emu.email, emu.apiKey), 'content-type': 'application/json' },
      body: '{"name": ',
    });
    assert.equal(res.status, 400);
    assert.equal(typeof ((await res.json()) as any).error.msg, 'string');
  });

  test('missing required fields: 400 with error.data field details', async () => {
    const macro = await call(emu, 'POST', '/api/macros', { actions: [] });
    assert.equal(macro.status, 400);
    assert.deepEqual(macro.body.error.data, { name: ['Missing data for required field.'] });

    const integ = await call(emu, 'POST', '/api/integrations', { type: 'http', name: 'x', http: { method: 'POST' } });
    assert.equal(integ.status, 400);
    assert.deepEqual(integ.body.error.data, { http: { url: ['Missing data for required field.'] } });

    const ticket = await call(emu, 'POST', '/api/tickets', { channel: 'chat', customer: { email: 'a@b.c' } });
    assert.equal(ticket.status, 400);
    assert.deepEqual(ticket.body.error.data, { messages: ['Missing data for required field.'] });

    const badMsg = await call(emu, 'POST', '/api/tickets', {
      customer: { email: 'a@b.c' },
      messages: [{ channel: 'chat', via: 'api', body_text: 'hi' }],
    });
    assert.equal(badMsg.status, 400);
    assert.deepEqual(badMsg.body.error.data, { messages: { 0: { from_agent: ['Missing data for required field.'] } } });

    const status = await call(emu, 'POST', '/api/tickets', { ...newTicket('v-1'), status: 'pending' });
    assert.equal(status.status, 400);
    assert.deepEqual(Object.keys(status.body.error.data), ['status']);
    // Nothing was created by the refused calls.
    assert.equal((await call(emu, 'GET', '/api/tickets?external_id=v-1')).body.data.length, 0);
  });

  test('unknown ids: 404 on get, update, delete and on a message to a missing ticket', async () => {
    for (const [method, path, body] of [
      ['GET', '/api/tickets/9999'],
      ['PUT', '/api/tickets/9999', { status: 'closed' }],
      ['GET', '/api/tickets/9999/messages'],
      ['POST', '/api/tickets/9999/messages', customerMessage('hi')],
      ['GET', '/api/customers/9999'],
      ['GET', '/api/macros/9999'],
      ['PUT', '/api/macros/9999', { name: 'x' }],
      ['DELETE', '/api/macros/9999'],
      ['GET', '/api/integrations/9999'],
      ['DELETE', '/api/integrations/9999'],
    ] as const) {
      const r = await call(emu, method, path, body);
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(typeof r.body.error.msg, 'string');
    }
  });

  test('customers: create, get, find by email and external_id', async () => {
    const c = await call(emu, 'POST', '/api/customers', { name: 'Bo', email: 'bo@example.com', external_id: 'ext-bo', data: { plan: 'pro' } });
    assert.equal(c.status, 201);
    assert.equal(c.body.email, 'bo@example.com');
    assert.deepEqual(c.body.channels, [{ type: 'email', address: 'bo@example.com' }]);
    assert.deepEqual((await call(emu, 'GET', `/api/customers/${c.body.id}`)).body, c.body);
    assert.deepEqual((await call(emu, 'GET', '/api/customers?email=bo@example.com')).body.data, [c.body]);
    assert.deepEqual((await call(emu, 'GET', '/api/customers?external_id=ext-bo')).body.data, [c.body]);
    assert.deepEqual((await call(emu, 'GET', '/api/customers?email=nobody@example.com')).body.data, []);
    const noEmail = await call(emu, 'POST', '/api/customers', { name: 'Anon', external_id: 'anon-1' });
    assert.equal(noEmail.status, 201);
    assert.equal(noEmail.body.email, null);
    const neither = await call(emu, 'POST', '/api/customers', { name: 'Nobody' });
    assert.equal(neither.status, 400);
    assert.ok(neither.body.error.data.email);
  });

  test('tickets: create with first message, find-or-create customer, get, update, list filters, messages', async () => {
    const t = await call(emu, 'POST', '/api/tickets', { ...newTicket('conv-1'), meta: { livechat: { conversation_id: 'conv-1' } } });
    assert.equal(t.status, 201);
    assert.equal(t.body.external_id, 'conv-1');
    assert.equal(t.body.status, 'open');
    assert.equal(t.body.customer.email, 'conv-1@example.com');
    assert.equal(t.body.requester.email, 'conv-1@example.com');
    assert.equal(t.body.messages.length, 1);
    assert.equal(t.body.messages[0].body_text, 'I need a human');
    assert.equal(t.body.messages[0].from_agent, false);
    assert.equal(t.body.messages[0].ticket_id, t.body.id);
    assert.deepEqual(t.body.meta, { livechat: { conversation_id: 'conv-1' } });

    // The same customer email is found, not duplicated.
    const t2 = await call(emu, 'POST', '/api/tickets', { ...newTicket('conv-1b'), customer: { email: 'conv-1@example.com' } });
    assert.equal(t2.body.customer.id, t.body.customer.id);
    // By id.
    const t3 = await call(emu, 'POST', '/api/tickets', { ...newTicket('conv-1c'), customer: { id: t.body.customer.id } });
    assert.equal(t3.body.customer.id, t.body.customer.id);
    // By external_id only.
    const t4 = await call(emu, 'POST', '/api/tickets', { ...newTicket('conv-1d'), customer: { external_id: 'ext-only', name: 'X' } });
    assert.equal(t4.status, 201);
    assert.equal(t4.body.customer.external_id, 'ext-only');
    const unknownCustomer = await call(emu, 'POST', '/api/tickets', { ...newTicket('conv-1e'), customer: { id: 424242 } });
    assert.equal(unknownCustomer.status, 400);

    const m = await call(emu, 'POST', `/api/tickets/${t.body.id}/messages`, customerMessage('second'));
    assert.equal(m.status, 201);
    assert.equal(m.body.ticket_id, t.body.id);
    assert.equal(m.body.sender.email, 'conv-1@example.com');
    assert.equal(typeof m.body.created_datetime, 'string');
    const agentMsg = await call(emu, 'POST', `/api/tickets/${t.body.id}/messages`, {
      channel: 'chat',
      via: 'api',
      from_agent: true,
      body_text: 'hello',
    });
    assert.equal(agentMsg.body.sender.email, 'agent@acme.test');

    const msgs = await call(emu, 'GET', `/api/tickets/${t.body.id}/messages`);
    assert.deepEqual(
      msgs.body.data.map((x: any) => x.body_text),
      ['I need a human', 'second', 'hello'],
    );
    const got = await call(emu, 'GET', `/api/tickets/${t.body.id}`);
    assert.equal(got.body.messages.length, 3);

    const up = await call(emu, 'PUT', `/api/tickets/${t.body.id}`, { status: 'closed', tags: [{ name: 'livechat' }, { name: 'done' }] });
    assert.equal(up.status, 200);
    assert.equal(up.body.status, 'closed');
    assert.deepEqual(up.body.tags, [{ name: 'livechat' }, { name: 'done' }]);
    assert.equal((await call(emu, 'GET', `/api/tickets/${t.body.id}`)).body.status, 'closed');

    const byExt = await call(emu, 'GET', '/api/tickets?external_id=conv-1');
    assert.deepEqual(
      byExt.body.data.map((x: any) => x.id),
      [t.body.id],
    );
    const byCustomer = await call(emu, 'GET', `/api/tickets?customer_id=${t.body.customer.id}`);
    assert.deepEqual(
      byCustomer.body.data.map((x: any) => x.id),
      [t.body.id, t2.body.id, t3.body.id],
    );
    assert.equal((await call(emu, 'GET', '/api/tickets?customer_id=abc')).status, 400);
  });

  test('tickets: delete (204) removes the ticket and its messages from every listing; the Date header is sent', async () => {
    const t = await call(emu, 'POST', '/api/tickets', newTicket('del-1', 'to be deleted'));
    assert.equal(t.status, 201);
    assert.ok(t.headers.get('date'), 'every answer carries Date, as a real server does');
    const messageId = t.body.messages[0].id;
    const del = await call(emu, 'DELETE', `/api/tickets/${t.body.id}`);
    assert.equal(del.status, 204);
    assert.equal(del.body, undefined);
    assert.equal((await call(emu, 'GET', `/api/tickets/${t.body.id}`)).status, 404);
    assert.equal((await call(emu, 'GET', `/api/tickets/${t.body.id}/messages/${messageId}`)).status, 404);
    assert.deepEqual((await call(emu, 'GET', '/api/tickets?external_id=del-1')).body.data, []);
    assert.ok(!(await call(emu, 'GET', '/api/tickets?limit=100')).body.data.some((x: any) => x.id === t.body.id));
    assert.ok(!(await call(emu, 'GET', '/api/messages?limit=100')).body.data.some((m: any) => m.id === messageId));
    assert.deepEqual((await call(emu, 'GET', `/api/messages?ticket_id=${t.body.id}`)).body.data, []);
    assert.equal((await call(emu, 'DELETE', `/api/tickets/${t.body.id}`)).status, 404, 'twice: already gone');
  });

  test('macros: create, get, update, list, delete (204)', async () => {
    const body = {
      name: 'End livechat',
      intent: null,
      actions: [
        {
          name: 'setResponseText',
          type: 'user',
          title: 'Add response text',
          arguments: { body_text: 'Bye LIVECHAT_SESSION_END', body_html: '<p>Bye LIVECHAT_SESSION_END</p>' },
        },
      ],
    };
    const m = await call(emu, 'POST', '/api/macros', body);
    assert.equal(m.status, 201);
    assert.deepEqual(m.body.actions, body.actions);
    assert.deepEqual((await call(emu, 'GET', `/api/macros/${m.body.id}`)).body, m.body);
    const up = await call(emu, 'PUT', `/api/macros/${m.body.id}`, { name: 'Sign off' });
    assert.equal(up.body.name, 'Sign off');
    assert.deepEqual(up.body.actions, body.actions);
    assert.ok((await call(emu, 'GET', '/api/macros')).body.data.some((x: any) => x.id === m.body.id));
    const del = await call(emu, 'DELETE', `/api/macros/${m.body.id}`);
    assert.equal(del.status, 204);
    assert.equal(del.body, undefined);
    assert.equal((await call(emu, 'GET', `/api/macros/${m.body.id}`)).status, 404);
  });

  test('integrations: create, get, update (http merged), list by type, delete', async () => {
    const created = await call(emu, 'POST', '/api/integrations', {
      type: 'http',
      name: 'Bridge',
      http: { url: 'http://127.0.0.1:9/x', method: 'POST', triggers: { 'ticket-message-created': true } },
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.deactivated_datetime, null);
    assert.equal(created.body.http.request_content_type, 'application/json');
    assert.deepEqual(created.body.http.headers, {});
    const up = await call(emu, 'PUT', `/api/integrations/${created.body.id}`, { http: { url: 'http://127.0.0.1:9/y' } });
    assert.equal(up.body.http.url, 'http://127.0.0.1:9/y');
    assert.equal(up.body.http.method, 'POST');
    const bad = await call(emu, 'PUT', `/api/integrations/${created.body.id}`, { http: { method: 'FETCH' } });
    assert.equal(bad.status, 400);
    assert.ok(bad.body.error.data.http.method);
    assert.ok((await call(emu, 'GET', '/api/integrations?type=http')).body.data.some((x: any) => x.id === created.body.id));
    assert.equal((await call(emu, 'DELETE', `/api/integrations/${created.body.id}`)).status, 204);
    assert.equal((await call(emu, 'GET', `/api/integrations/${created.body.id}`)).status, 404);
  });
});

describe('emulator pagination', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ rateLimit: false, defaultPageSize: 4, maxPageSize: 5 });
    for (let i = 1; i <= 11; i++) emu.store.createMacro({ name: `macro ${i}`, actions: [] });
  });
  after(() => emu.close());

  async function all(path: string): Promise<{ pages: string[][]; cursors: Array<string | null> }> {
    const pages: string[][] = [];
    const cursors: Array<string | null> = [];
    let cursor: string | null = null;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const r = await call(emu, 'GET', cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path);
      assert.equal(r.status, 200);
      assert.deepEqual(Object.keys(r.body.meta).sort(), ['next_cursor', 'prev_cursor']);
      pages.push(r.body.data.map((m: any) => m.name));
      cursor = r.body.meta.next_cursor;
      cursors.push(cursor);
      assert.ok(pages.length < 20, 'runaway pagination');
    } while (cursor);
    return { pages, cursors };
  }

  test('limit=3 spans 4 pages, in creation order, last next_cursor null', async () => {
    const { pages } = await all('/api/macros?limit=3');
    assert.deepEqual(
      pages.map((p) => p.length),
      [3, 3, 3, 2],
    );
    assert.deepEqual(
      pages.flat(),
      Array.from({ length: 11 }, (_, i) => `macro ${i + 1}`),
    );
  });

  test('default page size applies without limit; limit above the cap is capped', async () => {
    assert.deepEqual(
      (await all('/api/macros')).pages.map((p) => p.length),
      [4, 4, 3],
    );
    assert.deepEqual(
      (await all('/api/macros?limit=1000')).pages.map((p) => p.length),
      [5, 5, 1],
    );
  });

  test('prev_cursor goes back one page; the first page has none', async () => {
    const p1 = await call(emu, 'GET', '/api/macros?limit=3');
    assert.equal(p1.body.meta.prev_cursor, null);
    const p2 = await call(emu, 'GET', `/api/macros?limit=3&cursor=${p1.body.meta.next_cursor}`);
    assert.notEqual(p2.body.meta.prev_cursor, null);
    const back = await call(emu, 'GET', `/api/macros?limit=3&cursor=${p2.body.meta.prev_cursor}`);
    assert.deepEqual(back.body.data, p1.body.data);
  });

  test('order_by=created_datetime:desc lists newest first across pages', async () => {
    const { pages } = await all('/api/macros?limit=4&order_by=created_datetime:desc');
    assert.deepEqual(
      pages.flat(),
      Array.from({ length: 11 }, (_, i) => `macro ${11 - i}`),
    );
  });

  test('bad limit or cursor: 400 with field details', async () => {
    const l = await call(emu, 'GET', '/api/macros?limit=0');
    assert.equal(l.status, 400);
    assert.ok(l.body.error.data.limit);
    const c = await call(emu, 'GET', '/api/macros?cursor=garbage');
    assert.equal(c.status, 400);
    assert.ok(c.body.error.data.cursor);
  });

  test('tickets, messages, customers and integrations lists paginate too', async () => {
    const t = emu.store.createTicket(newTicket('pg'));
    for (let i = 0; i < 6; i++) emu.store.createMessage(t.id, customerMessage(`m${i}`));
    for (let i = 0; i < 4; i++)
      emu.store.createIntegration({
        type: 'http',
        name: `i${i}`,
        http: {
          url: 'http://127.0.0.1:9/',
          method: 'POST',
          request_content_type: 'application/json',
          response_content_type: 'application/json',
          headers: {},
          triggers: {},
        },
      });
    for (let i = 0; i < 4; i++) emu.store.createCustomer({ email: `c${i}@example.com` });
    assert.deepEqual(
      (await all(`/api/tickets/${t.id}/messages?limit=3`)).pages.map((p) => p.length),
      [3, 3, 1],
    );
    assert.deepEqual(
      (await all('/api/integrations?limit=2')).pages.map((p) => p.length),
      [2, 2],
    );
    assert.deepEqual(
      (await all('/api/customers?limit=2')).pages.map((p) => p.length),
      [2, 2, 1],
    );
  });
});

describe('emulator rate limit', () => {
  test('over the limit: 429 + Retry-After; the call-limit header on every answer; drains with the clock', async () => {
    const clock = new FakeClock();
    const emu = await startEmulator({ clock, rateLimit: { limit: 3, windowMs: 3000 } });
    try {
      const seen: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await call(emu, 'GET', '/api/account');
        assert.equal(r.status, 200);
        seen.push(r.headers.get('x-gorgias-account-api-call-limit')!);
      }
      assert.deepEqual(seen, ['1/3', '2/3', '3/3']);
      const limited = await call(emu, 'GET', '/api/account');
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '1');
      assert.equal(limited.headers.get('x-gorgias-account-api-call-limit'), '3/3');
      assert.equal(typeof limited.body.error.msg, 'string');
      // A 401 and a 404 carry the header too.
      const unauth = await call(emu, 'GET', '/api/account', undefined, basic('x@y.z', 'nope'));
      assert.equal(unauth.status, 401);
      assert.match(unauth.headers.get('x-gorgias-account-api-call-limit') ?? '', /^\d+\/3$/);
      clock.advance(1000);
      const again = await call(emu, 'GET', '/api/nope');
      assert.equal(again.status, 404);
      assert.equal(again.headers.get('x-gorgias-account-api-call-limit'), '3/3');
      clock.advance(3000);
      const drained = await call(emu, 'GET', '/api/account');
      assert.equal(drained.status, 200);
      assert.equal(drained.headers.get('x-gorgias-account-api-call-limit'), '1/3');
    } finally {
      await emu.close();
    }
  });

  test('rateLimit: false never refuses', async () => {
    const emu = await startEmulator({ rateLimit: false });
    try {
      for (let i = 0; i < 60; i++) assert.equal((await call(emu, 'GET', '/api/account')).status, 200);
    } finally {
      await emu.close();
    }
  });

  test('a generated key is random hex, and the defaults are used', async () => {
    const a = await startEmulator();
    const b = await startEmulator();
    try {
      assert.match(a.apiKey, /^[0-9a-f]{32,}$/);
      assert.notEqual(a.apiKey, b.apiKey);
      assert.equal(a.email, 'agent@example.com');
      const r = await call(a, 'GET', '/api/account');
      assert.equal(r.headers.get('x-gorgias-account-api-call-limit'), '1/40');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
