// The Gorgias client against the emulator: real HTTP on 127.0.0.1.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { afterEach, beforeEach, test } from 'node:test';
import { createGorgiasClient, type ClientOptions } from '../src/gorgias/client.ts';
import { GorgiasError } from '../src/gorgias/errors.ts';
import type { Macro, NewMacro } from '../src/gorgias/types.ts';
import type { Clock } from '../src/clock.ts';
import { startEmulator, type Emulator } from '../src/emulator/index.ts';

let emu: Emulator;
// An emulator of each test's own: a request a test left in flight (a retry, a late delete) can
// never land in the next test's counts.
beforeEach(async () => {
  emu = await startEmulator({ port: 0, email: 'ada@example.com', apiKey: 'emu-key-0123456789abcdef', rateLimit: false });
});
afterEach(() => emu.close());

/** Waits between attempts happen at once and are recorded: no real sleeping, no timing. */
function recordingClock(): Clock & { sleeps: number[] } {
  let t = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    setTimer: (ms, fn) => {
      const h = setImmediate(fn);
      return { cancel: () => clearImmediate(h) };
    },
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}

function client(extra: Partial<ClientOptions> = {}) {
  const notices: string[] = [];
  const debugs: string[] = [];
  const clock = recordingClock();
  const c = createGorgiasClient({
    domain: emu.url,
    username: emu.email,
    apiKey: emu.apiKey,
    clock,
    notice: (l) => notices.push(l),
    debug: (l) => debugs.push(l),
    random: () => 1,
    ...extra,
  });
  return { c, notices, debugs, clock };
}

async function rejectsWith(p: Promise<unknown>, kind: string, status?: number): Promise<GorgiasError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof GorgiasError, String(err));
    assert.equal(err.kind, kind, err.message);
    if (status !== undefined) assert.equal(err.status, status);
    return err;
  }
  assert.fail(`expected a ${kind} error`);
}

const macro = (i: number): NewMacro => ({
  name: `Macro ${i}`,
  actions: [
    { name: 'setResponseText', title: 'Add response text', type: 'user', arguments: { body_text: `text ${i}`, body_html: `<p>text ${i}</p>` } },
  ],
});

test('auth: account and current user with Basic email:key', async () => {
  const { c, debugs } = client();
  assert.equal(c.baseUrl, `${emu.url}/api`);
  const account = await c.getAccount();
  assert.equal(typeof account.domain, 'string');
  const user = await c.getCurrentUser();
  assert.equal(user.email, 'ada@example.com');
  assert.deepEqual(
    emu.requests.map((r) => `${r.method} ${r.path} ${r.status}`),
    ['GET /api/account 200', 'GET /api/users/0 200'],
  );
  assert.match(debugs[0], /^GET \/api\/account 200 \d+ms$/);
});

test('a wrong key is 401 "credentials rejected", not retried, and the key is nowhere', async () => {
  const wrong = 'wrong-key-zyxwvutsrq98765';
  const { c, notices, debugs } = client({ apiKey: wrong });
  const err = await rejectsWith(c.getAccount(), 'auth', 401);
  assert.match(err.message, /credentials rejected/);
  assert.match(err.message, /Unauthorized/, 'carries the Gorgias message');
  assert.equal(emu.requests.length, 1);
  for (const text of [err.message, err.stack ?? '', ...notices, ...debugs]) assert.ok(!text.includes(wrong));
});

test('pagination follows next_cursor through every page', async () => {
  const { c } = client();
  const created: Macro[] = [];
  for (let i = 0; i < 7; i++) created.push(await c.createMacro(macro(i)));
  emu.requests.length = 0;
  const seen: Macro[] = [];
  for await (const m of c.paginate<Macro>('/macros', { limit: 2 })) seen.push(m);
  const ids = new Set(seen.map((m) => m.id));
  for (const m of created) assert.ok(ids.has(m.id), `macro ${m.id} listed`);
  assert.equal(seen.length, ids.size, 'no duplicates');
  assert.ok(emu.requests.filter((r) => r.path === '/api/macros').length >= 4, 'at least 4 pages of 2');
  const all: Macro[] = [];
  for await (const m of c.listMacros()) all.push(m);
  assert.equal(all.length, seen.length);
});

test('429 then success: waits Retry-After on the clock and says so', async () => {
  const { c, notices, clock } = client();
  emu.faults.rateLimitStorm(2, 3);
  const account = await c.getAccount();
  assert.ok(account.domain);
  assert.deepEqual(clock.sleeps, [3000, 3000]);
  assert.deepEqual(notices, ['Gorgias rate limit reached; retrying in 3s (1/3)', 'Gorgias rate limit reached; retrying in 3s (2/3)']);
  assert.deepEqual(
    emu.requests.map((r) => r.status),
    [429, 429, 200],
  );
});

test('a 429 that lasts longer than the bounded waits becomes rate_limited', async () => {
  const { c, clock } = client({ maxRateLimitWaits: 2 });
  emu.faults.rateLimitStorm(5, 1);
  await rejectsWith(c.getAccount(), 'rate_limited', 429);
  assert.equal(clock.sleeps.length, 2);
  assert.equal(emu.requests.length, 3);
});

test('500 then success: an idempotent call is retried with backoff', async () => {
  const { c, notices, clock } = client();
  emu.faults.failNext(2, 500);
  const user = await c.getCurrentUser();
  assert.equal(user.email, 'ada@example.com');
  assert.deepEqual(clock.sleeps, [500, 1000], 'exponential (random() = 1 gives the full step)');
  assert.deepEqual(notices, ['Gorgias answered 500; retrying in 0.5s (1/3)', 'Gorgias answered 500; retrying in 1s (2/3)']);
  assert.deepEqual(
    emu.requests.map((r) => r.status),
    [500, 500, 200],
  );
});

test('5xx beyond the retries is a server error carrying the Gorgias message', async () => {
  const { c } = client({ maxRetries: 1 });
  emu.faults.failNext(5, 503);
  const err = await rejectsWith(c.getAccount(), 'server', 503);
  assert.match(err.message, /Injected fault/);
  assert.equal(emu.requests.length, 2);
});

test('a plain POST is not retried on 500; an idempotent one is', async () => {
  const { c } = client();
  emu.faults.failNext(1, 500);
  await rejectsWith(c.createMacro(macro(100)), 'server', 500);
  assert.equal(emu.requests.length, 1);
  emu.requests.length = 0;
  emu.faults.failNext(1, 500);
  const made = await c.request<Macro>('POST', '/macros', { body: macro(101), idempotent: true });
  assert.equal(made.name, 'Macro 101');
  assert.equal(emu.requests.length, 2);
  assert.equal(emu.requests[0].status, 500);
  assert.ok(emu.requests[1].status < 300);
});

test('a validation error carries the field details', async () => {
  const { c } = client();
  const err = await rejectsWith(c.request('POST', '/macros', { body: { actions: [] } }), 'validation');
  assert.ok(
    err.details.some((d) => /^name: /.test(d)),
    err.details.join('|'),
  );
});

test('404 is not_found', async () => {
  const { c } = client();
  await rejectsWith(c.getMacro(987654), 'not_found', 404);
});

test('a slow answer times out (timeoutMs)', async () => {
  const { c } = client({ timeoutMs: 150, maxRetries: 0 });
  emu.faults.setLatency(1000);
  const err = await rejectsWith(c.getAccount(), 'timeout');
  assert.match(err.message, /did not answer GET \/api\/account within 150ms/);
});

test('a timeout is retried for a GET, then succeeds', async () => {
  const { c, notices, clock } = client({ timeoutMs: 150 });
  emu.faults.setLatency(1000);
  // The emulator is fast again by the time the client waits before its second attempt.
  const sleep = clock.sleep;
  clock.sleep = async (ms) => {
    emu.faults.setLatency(0);
    await sleep(ms);
  };
  assert.ok((await c.getAccount()).domain);
  assert.deepEqual(notices, ['Gorgias timed out; retrying in 0.5s (1/3)']);
});

test('an unreachable host (closed port) fails at once as unreachable', async () => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  const { c, clock } = client({ domain: `http://127.0.0.1:${port}` });
  const err = await rejectsWith(c.getAccount(), 'unreachable');
  assert.equal(err.message, `cannot reach Gorgias at http://127.0.0.1:${port}/api (ECONNREFUSED)`);
  assert.deepEqual(clock.sleeps, []);
});

test('clientFromFlags: flags > env > file, notices and debug lines go to stderr, never the key', async () => {
  const { clientFromFlags } = await import('../src/gorgias/connect.ts');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'livechat-connect-'));
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ domain: 'http://127.0.0.1:1', username: 'ada@example.com', apiKey: emu.apiKey }));
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      out: (t: string) => void out.push(t),
      err: (t: string) => void err.push(t),
      stdoutIsTTY: false,
      stderrIsTTY: false,
      stdinIsTTY: false,
      color: false,
      env: { LIVECHAT_CONFIG_DIR: dir, GORGIAS_DOMAIN: 'http://127.0.0.1:2' },
    };
    const c = await clientFromFlags({ domain: emu.url }, io, { debug: true, clock: recordingClock() });
    assert.equal(c.baseUrl, `${emu.url}/api`, 'the flag wins over env and file');
    emu.faults.rateLimitStorm(1, 1);
    assert.equal((await c.getCurrentUser()).email, 'ada@example.com', 'username and key from the file');
    assert.ok(err.includes('Gorgias rate limit reached; retrying in 1s (1/3)'));
    assert.ok(err.some((l) => /^debug: GET \/api\/users\/0 200 \d+ms$/.test(l)));
    assert.ok(!err.join('\n').includes(emu.apiKey));
    const fromEnv = await clientFromFlags({}, io);
    assert.equal(fromEnv.baseUrl, 'http://127.0.0.1:2/api', 'env wins over file');
    await assert.rejects(clientFromFlags({}, { ...io, env: { LIVECHAT_CONFIG_DIR: join(dir, 'none') } }), /missing --domain \(or GORGIAS_DOMAIN\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every path the client calls, listed: none is deprecated', async () => {
  const { c } = client();
  await c.getAccount();
  await c.getCurrentUser();
  const customer = await c.createCustomer({ email: 'paths@example.com' });
  await c.findCustomers({ email: customer.email! });
  const ticket = await c.createTicket({
    external_id: 'paths-1',
    channel: 'chat',
    via: 'api',
    customer: { email: 'paths@example.com' },
    messages: [{ channel: 'chat', via: 'api', from_agent: false, sender: { email: 'paths@example.com' }, body_text: 'hi' }],
  });
  for await (const t of c.listTickets({ external_id: 'paths-1' })) assert.equal(t.id, ticket.id);
  await c.getTicket(ticket.id);
  const m = await c.createMessage(ticket.id, {
    channel: 'chat',
    via: 'api',
    from_agent: false,
    sender: { email: 'paths@example.com' },
    body_text: 'again',
  });
  for await (const x of c.listMessages(ticket.id)) assert.equal(x.ticket_id, ticket.id);
  assert.equal((await c.getMessage(ticket.id, m.id))?.body_text, 'again');
  assert.ok(await c.listRecentMessages({ afterId: 0 }));
  await c.updateTicket(ticket.id, { status: 'closed' });
  const made = await c.createMacro(macro(300));
  for await (const x of c.listMacros()) assert.ok(x.id);
  await c.getMacro(made.id);
  await c.updateMacro(made.id, { name: 'renamed' });
  await c.deleteMacro(made.id);
  const integration = await c.createIntegration({
    type: 'http',
    name: 'paths',
    http: {
      url: 'http://127.0.0.1:9/',
      method: 'POST',
      request_content_type: 'application/json',
      response_content_type: 'application/json',
      headers: {},
      triggers: {},
    },
  });
  for await (const x of c.listIntegrations()) assert.ok(x.id);
  await c.getIntegration(integration.id);
  await c.updateIntegration(integration.id, { name: 'renamed' });
  await c.deleteIntegration(integration.id);

  const called = [...new Set(emu.requests.map((r) => `${r.method} ${r.path.replace(/\/\d+/g, '/{id}')}`))].sort();
  assert.deepEqual(called, [
    'DELETE /api/integrations/{id}',
    'DELETE /api/macros/{id}',
    'GET /api/account',
    'GET /api/customers',
    'GET /api/integrations',
    'GET /api/integrations/{id}',
    'GET /api/macros',
    'GET /api/macros/{id}',
    'GET /api/messages',
    'GET /api/tickets',
    'GET /api/tickets/{id}',
    'GET /api/tickets/{id}/messages/{id}',
    'GET /api/users/{id}',
    'POST /api/customers',
    'POST /api/integrations',
    'POST /api/macros',
    'POST /api/tickets',
    'POST /api/tickets/{id}/messages',
    'PUT /api/integrations/{id}',
    'PUT /api/macros/{id}',
    'PUT /api/tickets/{id}',
  ]);
  assert.deepEqual(
    emu.requests.filter((r) => r.deprecated),
    [],
    'no deprecated endpoint (GET /api/tickets/{id}/messages)',
  );
  assert.ok(emu.requests.every((r) => r.status < 300));
});

test('ticket lookups send trashed=false; messages are listed oldest first with GET /api/messages?ticket_id=', async () => {
  const seen: string[] = [];
  const { c } = client({ debug: (l) => seen.push(l) });
  for await (const t of c.listTickets({ external_id: 'nobody' })) assert.fail(`unexpected ticket ${t.id}`);
  assert.match(seen[0], /^GET \/api\/tickets\?external_id=nobody&trashed=false&limit=100 200/);
  const ticket = emu.store.createTicket({
    external_id: 'order-1',
    channel: 'chat',
    via: 'api',
    customer: { email: 'order@example.com' },
    messages: [{ channel: 'chat', via: 'api', from_agent: false, sender: { email: 'order@example.com' }, body_text: 'one' }],
  });
  emu.store.createMessage(ticket.id, { channel: 'chat', via: 'api', from_agent: false, body_text: 'two' });
  const texts: string[] = [];
  for await (const m of c.listMessages(ticket.id)) texts.push(m.body_text);
  assert.deepEqual(texts, ['one', 'two']);
  assert.match(seen.at(-1)!, new RegExp(`^GET /api/messages\\?ticket_id=${ticket.id}&limit=100&order_by=created_datetime%3Aasc 200`));
  assert.equal(await c.getMessage(ticket.id, 99_999_999), undefined, '404: no such message');
});

test('[guess] listRecentMessages: the account, newest first down to the boundary, returned oldest first', async () => {
  const { c } = client();
  const t = emu.store.createTicket({
    external_id: 'recent-1',
    channel: 'chat',
    via: 'api',
    customer: { email: 'recent@example.com' },
    messages: [{ channel: 'chat', via: 'api', from_agent: false, sender: { email: 'recent@example.com' }, body_text: 'r0' }],
  });
  const boundary = emu.store.listMessages(t.id)[0].id;
  for (let i = 1; i <= 150; i++) emu.store.createMessage(t.id, { channel: 'chat', via: 'api', from_agent: false, body_text: `r${i}` });
  emu.requests.length = 0;
  const recent = await c.listRecentMessages({ afterId: boundary });
  assert.deepEqual(
    recent?.messages.map((m) => m.body_text),
    Array.from({ length: 150 }, (_, i) => `r${i + 1}`),
  );
  assert.equal(recent?.complete, true);
  assert.equal(emu.requests.length, 2, 'two pages of 100, stopped at the boundary');
  const capped = await c.listRecentMessages({ afterId: boundary, maxPages: 1 });
  assert.equal(capped?.messages.length, 100);
  assert.equal(capped?.messages.at(-1)?.body_text, 'r150');
  assert.equal(capped?.complete, false, 'cut by maxPages before the boundary');
});

test('[guess] listRecentMessages falls back cleanly when Gorgias refuses a listing without ticket_id', async () => {
  const http = await import('node:http');
  const server = http.createServer((req, res) => {
    const refused = req.url?.startsWith('/api/messages?') && !req.url.includes('ticket_id=');
    res.writeHead(refused ? 400 : 500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { msg: 'ticket_id is required' } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as { port: number };
    const { c } = client({ domain: `http://127.0.0.1:${port}`, maxRetries: 0 });
    assert.equal(await c.listRecentMessages({ afterId: 1 }), undefined);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('deletes: any 2xx is success; a 404 on the retry of a delete that got no answer is success; a first 404 is not', async () => {
  const { c, clock } = client({ timeoutMs: 150 });
  const m = await c.createMacro(macro(400));
  // The first try is carried out but answered too late; the retry finds it gone.
  emu.faults.setLatency(1000);
  const sleep = clock.sleep;
  clock.sleep = async (ms) => {
    emu.faults.setLatency(0);
    await sleep(ms);
  };
  emu.requests.length = 0;
  await c.deleteMacro(m.id);
  // The late first answer is recorded when it is finally written (bounded wait).
  const deletes = () => emu.requests.filter((r) => r.path === `/api/macros/${m.id}`).map((r) => `${r.method} ${r.status}`);
  for (let i = 0; i < 100 && deletes().length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(deletes().sort(), ['DELETE 204', 'DELETE 404']);
  assert.throws(() => emu.store.getMacro(m.id), /not found/i);
  clock.sleep = sleep;
  await rejectsWith(c.deleteMacro(m.id), 'not_found', 404);

  const http = await import('node:http');
  const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('deleted, not JSON'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as { port: number };
    await client({ domain: `http://127.0.0.1:${port}` }).c.deleteMacro(1);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});
