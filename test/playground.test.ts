// The playground's server in process: a fast-forward ends as waiting would have, the live event
// stream, what the page may and may not do, the pages' headers; and the command, spawned.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startPlayground, type Playground } from '../src/playground/index.ts';
import { runInProcess } from './helpers.ts';
import { gorgias, httpJson, spawnCli, waitFor } from './serve-helpers.ts';

const MIN = 60_000;

let shared: Playground | undefined;
async function playground(): Promise<Playground> {
  shared ??= await startPlayground({ timeoutMs: 30 * MIN });
  return shared;
}
after(async () => shared?.close());

/** The open ticket of the playground's conversation. */
async function openTicket(pg: Playground): Promise<number> {
  const api = gorgias(pg.url, pg.emulator.email, pg.emulator.apiKey);
  return waitFor(
    'the hand-off ticket',
    async () => (await api.tickets(pg.chat.conversationId)).find((t) => t.status === 'open')?.id as number | undefined,
  );
}

test('a fast-forward past the deadline expires the session at the deadline, not at the end of the jump', async () => {
  const pg = await startPlayground({ conversationId: 'jump-1' });
  after(() => pg.close());
  const wallStart = Date.now();
  await pg.chat.say('hello');
  await pg.chat.press('LIVECHAT_SESSION_START');
  await openTicket(pg);
  await pg.settle();
  const before = await pg.snapshot();
  assert.equal(before.bridge.mode, 'LIVECHAT');
  const deadline = Date.parse(before.bridge.deadline!);

  // Short of the deadline: nothing happens.
  const first = await pg.jump(29 * MIN);
  assert.ok(first.now - before.clock.now >= 29 * MIN);
  assert.equal((await pg.snapshot()).bridge.mode, 'LIVECHAT');

  // Past it: the session expires at its own instant, give or take the real ms the test took.
  const end = await pg.jump(5 * MIN);
  const after_ = await pg.snapshot();
  assert.equal(after_.bridge.mode, 'BOT');
  assert.equal(after_.bridge.last_session?.ended_by, 'expired');
  const endedAt = Date.parse(after_.bridge.last_session.ended_at);
  const real = Date.now() - wallStart;
  assert.ok(endedAt >= deadline && endedAt - deadline <= real, `expired ${endedAt - deadline} ms after the deadline (the test took ${real} ms)`);
  assert.ok(end.now - endedAt >= 4 * MIN, 'the jump went on past the expiry');
  assert.deepEqual(
    after_.chat.slice(-2).map((e) => [e.from, e.text]),
    [
      ['event', 'the chat expired: back to the bot'],
      ['bot', 'Our agents seem to be away. Is there anything else I can help you with?'],
    ],
  );
  // The bot's words and the Gorgias note carry the simulated times too.
  assert.ok(after_.chat.at(-1)!.at >= deadline);
  const ticket = (await gorgias(pg.url, pg.emulator.email, pg.emulator.apiKey).tickets('jump-1'))[0];
  assert.equal(ticket.status, 'closed');
  const note = (ticket.messages as Array<{ body_text: string; created_datetime: string }>).at(-1)!;
  assert.match(note.body_text, /expired after 30 minutes/);
  assert.ok(Date.parse(note.created_datetime) >= deadline);
});

test('the event stream: a snapshot first, then each chat line and the bridge state as they happen', async () => {
  const pg = await playground();
  const res = await fetch(`${pg.url}/playground/events`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const events: Array<{ event: string; data: any }> = [];
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
    }
  })();
  await waitFor('the snapshot', () => events.length > 0);
  assert.equal(events[0].event, 'snapshot');
  assert.equal(events[0].data.config.store, 'memory');
  assert.equal(events[0].data.config.gorgias.api, '/api');
  assert.equal(events[0].data.bridge.mode, 'BOT');

  const said = await httpJson('POST', `${pg.url}/playground/messages`, { text: 'line\nbreak "quoted"' });
  assert.deepEqual(said.body, { routed: 'bot', mode: 'BOT' });
  await waitFor('the bot line', () => events.some((e) => e.event === 'chat' && e.data.from === 'bot'));
  const lines = events.filter((e) => e.event === 'chat').map((e) => [e.data.from, e.data.text]);
  assert.deepEqual(lines[0], ['user', 'line\nbreak "quoted"']);

  await httpJson('POST', `${pg.url}/playground/payloads`, { payload: 'LIVECHAT_SESSION_START' });
  await waitFor('the bridge in LIVECHAT with a ticket', () =>
    events.some((e) => e.event === 'bridge' && e.data.mode === 'LIVECHAT' && e.data.ticket_id),
  );
  await waitFor('a Gorgias change for the desk', () => events.some((e) => e.event === 'gorgias'));
  const was = (await pg.snapshot()).clock.now;
  const jumped = await httpJson('POST', `${pg.url}/playground/clock`, { ms: MIN });
  assert.equal(jumped.status, 200);
  assert.ok(jumped.body.now - was >= MIN);
  await waitFor('the clock event', () => events.some((e) => e.event === 'clock' && e.data.now - was >= MIN));
  await reader.cancel();
  await pump.catch(() => {});
});

test("only this machine's pages drive it: other hosts, other origins, non-JSON and bad values are refused", async () => {
  const pg = await playground();
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${pg.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as { error?: string },
    }));
  const { port } = new URL(pg.url);
  // fetch will not let a test set Host; node:http will.
  const http = await import('node:http');
  const rebinding = await new Promise<number>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/playground/state', headers: { host: `evil.example:${port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
      .on('error', reject);
  });
  assert.equal(rebinding, 403);
  assert.equal((await post('/playground/messages', '{"text":"hi"}', { origin: 'https://evil.example' })).status, 403);
  assert.equal((await post('/playground/messages', '{"text":"hi"}', { 'content-type': 'text/plain' })).status, 415);
  assert.deepEqual(await post('/playground/messages', '{"text":'), { status: 400, body: { error: 'the body must be JSON' } });
  assert.deepEqual(await post('/playground/messages', '{"text":"  "}'), { status: 400, body: { error: '"text" must be a non-empty string' } });
  assert.equal((await post('/playground/messages', JSON.stringify({ text: 'x'.repeat(70 * 1024) }))).status, 413);
  for (const ms of [0, -5, 1.5, 'soon', 8 * 24 * 60 * MIN]) {
    assert.equal((await post('/playground/clock', JSON.stringify({ ms }))).status, 400, `ms ${String(ms)}`);
  }
  assert.equal((await post('/playground/nope', '{}')).status, 404);
  assert.equal((await fetch(`${pg.url}/playground/clock`, { method: 'PUT' })).status, 405);
  // Same origin is fine.
  assert.equal((await post('/playground/clock', '{"ms":1000}', { origin: pg.url })).status, 200);
});

test('the pages: no inline script allowed, the modules served; any other path goes on to the bridge or the emulator', async () => {
  const pg = await playground();
  for (const path of ['/', '/desk']) {
    const res = await fetch(`${pg.url}${path}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/html/);
    assert.match(res.headers.get('content-security-policy')!, /script-src 'self';/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const html = await res.text();
    assert.doesNotMatch(html, /<script>|<script [^>]*>[^<]/, 'no inline script');
  }
  const js = await fetch(`${pg.url}/assets/desk.js`);
  assert.equal(js.status, 200, 'run npm run build first: the modules come from dist/');
  assert.match(js.headers.get('content-type')!, /^text\/javascript/);
  assert.match(await js.text(), /export function mountDesk/);
  assert.equal((await fetch(`${pg.url}/assets/../package.json`)).status === 200, false);
  assert.equal((await fetch(`${pg.url}/assets/nope.js`)).status, 401, 'not a page: on to the webhook receiver, which wants its token');
  assert.equal((await fetch(`${pg.url}/favicon.ico`)).status, 204);
  assert.equal((await fetch(`${pg.url}/healthz`)).status, 200);
  assert.equal((await fetch(`${pg.url}/api/account`)).status, 401, 'the emulator wants its key');
});

test('the browser modules never write HTML: text only, so hostile words stay words', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const dir = new URL('../src/playground/web/', import.meta.url);
  for (const name of readdirSync(dir)) {
    const code = readFileSync(new URL(name, dir), 'utf8');
    assert.doesNotMatch(code, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/, name);
  }
});

test('livechat playground: bad flags are usage errors; --json prints one line; SIGINT stops it with 0', async () => {
  for (const [args, message] of [
    [['--port', 'abc'], /--port must be a whole number from 0 to 65535/],
    [['--timeout', '0'], /--timeout must be a number from 1 to 1440/],
    [['--host', ' '], /--host must be an interface name or address/],
  ] as const) {
    const r = await runInProcess(['playground', ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
  }
  const run = await spawnCli(['playground', '--port', '0', '--json', '--timeout', '5'], {});
  const info = run.info as unknown as {
    url: string;
    desk_url: string;
    gorgias: { url: string; email: string; api_key: string };
    timeout_minutes: number;
    store: string;
  };
  assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.equal(info.desk_url, `${info.url}desk`);
  assert.equal(info.timeout_minutes, 5);
  assert.equal(info.store, 'memory');
  const account = await gorgias(info.gorgias.url, info.gorgias.email, info.gorgias.api_key).get('/account');
  assert.equal(account.status, 200);
  // The port is taken: a usage error that says what to do.
  const port = new URL(info.url).port;
  const busy = await runInProcess(['playground', '--port', port]);
  assert.equal(busy.code, 2);
  assert.match(busy.stderr, new RegExp(`port ${port} on 127.0.0.1 is already in use \\(try --port 0\\)`));

  const { code } = await run.kill('SIGINT');
  assert.equal(code, 0);
  assert.match(run.stderr(), /playground stopped \(SIGINT\)/);
  assert.equal(run.stdout().trim().split('\n').length, 1, 'one JSON line on stdout');
});
