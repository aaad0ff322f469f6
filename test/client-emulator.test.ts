// The Gorgias client against the emulator: real HTTP on 127.0.0.1.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { createGorgiasClient, type ClientOptions } from '../src/gorgias/client.ts';
import { GorgiasError } from '../src/gorgias/errors.ts';
import type { Macro, NewMacro } from '../src/gorgias/types.ts';
import type { Clock } from '../src/clock.ts';
import { startEmulator, type Emulator } from '../src/emulator/index.ts';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({ port: 0, email: 'ada@example.com', apiKey: 'emu-key-0123456789abcdef', rateLimit: false });
});
after(() => emu.close());
beforeEach(() => {
  emu.faults.reset();
  emu.requests.length = 0;
});

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
