// `livechat serve` as a child process against `livechat emulator` (another child process), with a
// deliver URL in the test: the whole lifecycle over HTTP, signatures checked.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SESSION_END, SESSION_EXPIRED, SESSION_START } from '../src/protocol.ts';
import { runCli } from './helpers.ts';
import { channel, deliverSink, gorgias, installWebhook, scratch, spawnCli, waitFor, type DeliverSink, type Spawned } from './serve-helpers.ts';

describe('livechat serve, end to end', () => {
  const dirs = scratch();
  let emulator: Spawned;
  let bridge: Spawned;
  let sink: DeliverSink;
  let secret = '';
  let env: NodeJS.ProcessEnv;
  const api = () => gorgias(emulator.info.url, emulator.info.email, emulator.info.api_key);
  const ch = channel(
    () => bridge.info.url,
    () => secret,
  );

  before(async () => {
    emulator = await spawnCli(['emulator', '--port', '0', '--json', '--rate-limit', '0'], {});
    env = {
      LIVECHAT_CONFIG_DIR: dirs.config,
      GORGIAS_DOMAIN: emulator.info.url,
      GORGIAS_USERNAME: emulator.info.email,
      GORGIAS_API_KEY: emulator.info.api_key,
    };
    sink = await deliverSink(() => secret);
    const printed = await runCli(['serve', '--print-secret'], { env });
    assert.equal(printed.code, 0, printed.stderr);
    secret = printed.stdout.trim();
    assert.match(secret, /^[A-Za-z0-9_-]{32}$/);
    bridge = await spawnCli(['serve', '--port', '0', '--json', '--data', dirs.data, '--deliver-url', sink.url, '--timeout', '0.05'], env);
    await installWebhook(env, bridge.info.webhook_url);
  });

  after(async () => {
    await bridge?.kill();
    await emulator?.kill();
    await sink?.close();
    dirs.cleanup();
  });

  it('prints where it listens, and never the secret', () => {
    assert.match(bridge.info.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(bridge.info.data_file, dirs.data);
    assert.ok(!bridge.stdout().includes(secret) && !bridge.stderr().includes(secret), 'the channel secret is masked');
    assert.match(bridge.info.channel_secret, /^\*\*\*\*/);
  });

  it('START, messages both ways, the sign-off button, END back to the bot', async () => {
    const c = 'conv-e2e-1';
    assert.deepEqual((await ch.say(c, 'hi bot', { name: 'Ada', email: 'ada@example.com' })).body, { routed: 'bot', mode: 'BOT' });
    assert.equal((await ch.botSaid(c, 'Shall I get you a human?')).status, 204);
    assert.deepEqual((await ch.press(c, SESSION_START)).body, { routed: 'livechat', mode: 'LIVECHAT' });
    assert.deepEqual((await ch.say(c, 'my order #1042 is late')).body, { routed: 'livechat', mode: 'LIVECHAT' });
    const [ticket] = await waitFor('the ticket', async () => {
      const t = await api().tickets(c);
      return t.length && t[0].messages.length >= 2 ? t : undefined;
    });
    assert.match(ticket.messages[0].body_text, /Ada asked to talk to an agent/);
    assert.match(ticket.messages[0].body_text, /Bot: Shall I get you a human\?/);
    assert.equal(ticket.messages[1].body_text, 'my order #1042 is late');
    const view = await ch.get(c);
    assert.equal(view.body.mode, 'LIVECHAT');
    assert.equal(view.body.ticket_id, ticket.id);

    await api().reply(ticket.id, 'Hi Ada, Grace here. Checking #1042 & more');
    await api().reply(ticket.id, `Anything else? ${SESSION_END}`);
    const got = await waitFor('two agent messages delivered', () => (sink.of(c).length >= 2 ? sink.of(c) : undefined));
    assert.deepEqual(
      got.map((d) => [d.type, d.text, d.buttons]),
      [
        ['user.message', 'Hi Ada, Grace here. Checking #1042 & more', undefined],
        ['user.message', 'Anything else?', [{ title: 'End chat', payload: SESSION_END }]],
      ],
    );
    assert.deepEqual((await ch.press(c, SESSION_END)).body, { routed: 'livechat', mode: 'BOT' });
    const end = await waitFor('END for the bot', () => sink.of(c).find((d) => d.type === 'bot.event'));
    assert.equal(end.event, SESSION_END);
    assert.deepEqual((await ch.say(c, 'back to you, bot')).body, { routed: 'bot', mode: 'BOT' });
    await waitFor('the ticket closed', async () => (await api().tickets(c))[0].status === 'closed');
    assert.deepEqual(sink.badSignatures, []);
    assert.equal(new Set(sink.got.map((d) => d.id)).size, sink.got.length, 'no id twice');
  });

  it('expiry: the bot gets LIVECHAT_SESSION_EXPIRED once, at the timeout', async () => {
    const c = 'conv-e2e-expiry';
    const started = Date.now();
    await ch.press(c, SESSION_START);
    const event = await waitFor('EXPIRED', () => sink.of(c).find((d) => d.type === 'bot.event'), 15_000);
    const waited = Date.now() - started;
    assert.equal(event.event, SESSION_EXPIRED);
    assert.ok(waited >= 3000, `expired after ${waited} ms, not before the 3 s timeout`);
    assert.equal((await ch.get(c)).body.mode, 'BOT');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sink.of(c).filter((d) => d.type === 'bot.event').length, 1, 'expired once');
  });

  it('the deliver URL answers 500 for a while, then recovers: everything arrives, in order, no id twice', async () => {
    const convs = ['conv-500-a', 'conv-500-b', 'conv-500-c'];
    for (const c of convs) await ch.press(c, SESSION_START);
    const tickets = await Promise.all(convs.map((c) => waitFor(`${c} ticket`, async () => (await api().tickets(c))[0])));
    sink.status = 500;
    for (let i = 1; i <= 4; i++) for (const [k, t] of tickets.entries()) await api().reply(t.id, `${convs[k]} #${i}`);
    await waitFor('failed tries', () => /failed \(try 2\)/.test(bridge.stderr()), 10_000);
    sink.status = 200;
    for (const c of convs) {
      // Only the agent's messages: on a loaded machine the 3 s timeout may pass while deliveries
      // fail, and the bot's EXPIRED then arrives too.
      const toUser = () => sink.of(c).filter((d) => d.type === 'user.message');
      const got = await waitFor(`${c} delivered`, () => (toUser().length >= 4 ? toUser() : undefined), 15_000);
      assert.deepEqual(
        got.map((d) => d.text),
        [1, 2, 3, 4].map((i) => `${c} #${i}`),
      );
      assert.equal(new Set(got.map((d) => d.id)).size, 4);
    }
    for (const c of convs) await ch.press(c, SESSION_END);
  });

  it('refuses channel calls without the secret, and bad input with one clear line', async () => {
    const base = bridge.info.url;
    const no = await fetch(`${base}/v1/conversations/x/messages`, { method: 'POST', body: '{"text":"hi"}' });
    assert.equal(no.status, 401);
    const wrong = await fetch(`${base}/v1/conversations/x/messages`, {
      method: 'POST',
      headers: { authorization: 'Bearer nope' },
      body: '{"text":"hi"}',
    });
    assert.equal(wrong.status, 401);
    const h = { authorization: `Bearer ${secret}` };
    const cases: Array<[string, string, number, RegExp]> = [
      ['/v1/conversations/x/messages', 'not json', 400, /JSON/],
      ['/v1/conversations/x/messages', '{"text": 5}', 400, /"text" must be a non-empty string/],
      ['/v1/conversations/x/payloads', '{}', 400, /"payload"/],
      ['/v1/conversations/x/messages', '{"text":"hi","user":"Ada"}', 400, /"user" must be an object/],
      ['/v1/conversations/x/nope', '{}', 404, /no such route/],
    ];
    for (const [path, body, status, why] of cases) {
      const res = await fetch(`${base}${path}`, { method: 'POST', headers: h, body });
      assert.equal(res.status, status, `${path} ${body}`);
      assert.match(((await res.json()) as { error: string }).error, why);
    }
    const big = await fetch(`${base}/v1/conversations/x/messages`, {
      method: 'POST',
      headers: h,
      body: JSON.stringify({ text: 'x'.repeat(70_000) }),
    }).catch((e: Error) => e);
    assert.ok(big instanceof Error || big.status === 413, 'a body over 64 KiB is refused');
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^livechat_webhooks_total\{outcome="delivered"\} \d+/m);
    assert.match(metrics, /^livechat_channel_calls_total\{route="messages",status="401"\} 2/m);
    assert.match(metrics, /^livechat_open_sessions \d+/m);
    assert.match(metrics, /^livechat_gorgias_calls_total\{status="201"\} \d+/m);
  });

  it('a second serve on the same data file refuses to start with one clear line', async () => {
    const r = await runCli(['serve', '--port', '0', '--data', dirs.data, '--deliver-url', sink.url], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: data file .* is in use by another process/m);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });

  it('fails at once without a deliver URL, naming the flag', async () => {
    const r = await runCli(['serve', '--port', '0', '--data', `${dirs.dir}/other.db`], { env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing --deliver-url \(or LIVECHAT_DELIVER_URL\)/);
  });

  it('SIGTERM stops it cleanly: exit 0', async () => {
    const other = await spawnCli(['serve', '--port', '0', '--json', '--data', `${dirs.dir}/term.db`, '--deliver-url', sink.url], env);
    assert.equal((await fetch(`${other.info.url}/readyz`)).status, 200);
    const { code } = await other.kill('SIGTERM');
    assert.equal(code, 0, other.stderr());
    const int = await spawnCli(['serve', '--port', '0', '--json', '--data', `${dirs.dir}/int.db`, '--deliver-url', sink.url], env);
    assert.equal((await int.kill('SIGINT')).code, 0, int.stderr());
  });
});
