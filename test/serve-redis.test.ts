// Two `livechat serve` processes on one Redis (a redis-server of the test's own, with a password,
// reached through a door the test can shut) against `livechat emulator`. The channel calls of each
// conversation alternate between the two, and the webhooks go to either through a round-robin
// balancer: the whole lifecycle, expiry, and a Redis outage (503s, /readyz down, /healthz up).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SESSION_END, SESSION_EXPIRED, SESSION_START } from '../src/protocol.ts';
import { runCli } from './helpers.ts';
import { balancer, redisDoor, redisMissing, spawnShared, startRedis, type TestRedis } from './redis-helpers.ts';
import { channel, deliverSink, gorgias, installWebhook, scratch, spawnCli, waitFor, type DeliverSink, type Spawned } from './serve-helpers.ts';

const PASSWORD = 'redis-pw-7f3a9c';
const TIMEOUT_S = 3;
const skip = redisMissing();

/** The status of a GET, tried again on a socket error (a kept-alive socket the server closed as it was reused). */
const statusOf = async (url: string): Promise<number> => {
  for (let tries = 1; ; tries++) {
    try {
      return (await fetch(url)).status;
    } catch (err) {
      if (tries >= 5) throw err;
      process.stderr.write(`# GET ${url}: ${String((err as { cause?: unknown }).cause ?? err)}; again\n`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
};

describe('two serve processes on one Redis', { skip }, () => {
  const dirs = scratch();
  let redis: TestRedis;
  let door: Awaited<ReturnType<typeof redisDoor>>;
  let emulator: Spawned;
  let procs: Spawned[] = [];
  let sink: DeliverSink;
  let lb: Awaited<ReturnType<typeof balancer>>;
  let secret = '';
  let env: NodeJS.ProcessEnv;
  const api = () => gorgias(emulator.info.url, emulator.info.email, emulator.info.api_key);
  /** The channel API of process `i` (0 or 1). */
  const at = (i: number) =>
    channel(
      () => procs[i % 2].info.url,
      () => secret,
    );

  before(async () => {
    redis = await startRedis(['--requirepass', PASSWORD]);
    door = await redisDoor(redis.socket);
    emulator = await spawnCli(['emulator', '--port', '0', '--json', '--rate-limit', '0'], {});
    env = {
      LIVECHAT_CONFIG_DIR: dirs.config,
      GORGIAS_DOMAIN: emulator.info.url,
      GORGIAS_USERNAME: emulator.info.email,
      GORGIAS_API_KEY: emulator.info.api_key,
    };
    sink = await deliverSink(() => secret);
    secret = (await runCli(['serve', '--print-secret'], { env })).stdout.trim();
    const store = `redis://:${PASSWORD}@127.0.0.1:${door.port}/0`;
    procs = await Promise.all(
      ['a', 'b'].map((name) => spawnShared(name, store, sink.url, env, ['--timeout', String(TIMEOUT_S / 60), '--lease', '2'])),
    );
    lb = await balancer(
      () => procs.map((p) => p.info.url),
      (n, i) => i % n,
    );
    await installWebhook(env, `${lb.url}/gorgias/webhook`);
  });

  after(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    await emulator?.kill();
    await sink?.close();
    await lb?.close();
    await door?.close();
    await redis?.close();
    dirs.cleanup();
  });

  it('a bad store URL, or a Redis that does not answer: one clear line, the password masked', async () => {
    const bad = await runCli(['serve', '--port', '0', '--deliver-url', sink.url, '--store', 'mysql://db/0'], { env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: --store must be a redis:\/\/, rediss:\/\/ or redis\+unix:\/\/ URL/);
    const down = await runCli(['serve', '--port', '0', '--deliver-url', sink.url], {
      env: { ...env, LIVECHAT_STORE: `redis://:${PASSWORD}@127.0.0.1:1/0` },
    });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /^error: cannot reach the store at redis:\/\/:\*\*\*\*@127\.0\.0\.1:1\/0: .*ECONNREFUSED/);
    for (const r of [bad, down]) assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(!down.stderr.includes(PASSWORD) && !down.stdout.includes(PASSWORD));
  });

  it('print the store with its password masked, and their names', () => {
    assert.deepEqual(
      procs.map((p) => p.info.instance),
      ['a', 'b'],
    );
    assert.equal(procs[0].info.store, `redis://:****@127.0.0.1:${door.port}/0`);
    assert.equal(procs[0].info.data_file, undefined);
  });

  it('START, messages both ways, the sign-off button, END: each call at the other process, webhooks to either', async () => {
    const c = 'conv-two-1';
    assert.deepEqual((await at(0).say(c, 'hi bot', { name: 'Ada' })).body, { routed: 'bot', mode: 'BOT' });
    assert.equal((await at(1).botSaid(c, 'Shall I get you a human?')).status, 204);
    assert.deepEqual((await at(0).press(c, SESSION_START)).body, { routed: 'livechat', mode: 'LIVECHAT' });
    for (const [i, text] of ['one', 'two', 'three', 'four'].entries()) {
      assert.deepEqual((await at(i + 1).say(c, text)).body, { routed: 'livechat', mode: 'LIVECHAT' });
    }
    const [ticket] = await waitFor('the ticket with four messages', async () => {
      const t = await api().tickets(c);
      return t.length && t[0].messages.length >= 5 ? t : undefined;
    });
    assert.match(ticket.messages[0].body_text, /Bot: Shall I get you a human\?/);
    assert.deepEqual(
      ticket.messages.slice(1).map((m: { body_text: string }) => m.body_text),
      ['one', 'two', 'three', 'four'],
      'once each, in order',
    );
    assert.equal((await at(1).get(c)).body.ticket_id, ticket.id);
    const sentBefore = [...lb.sent];
    for (const text of ['r1', 'r2', 'r3', `bye ${SESSION_END}`]) await api().reply(ticket.id, text);
    const got = await waitFor('four agent messages', () => (sink.of(c).length >= 4 ? sink.of(c) : undefined));
    assert.deepEqual(
      got.map((d) => d.text),
      ['r1', 'r2', 'r3', 'bye'],
    );
    assert.deepEqual(got[3].buttons, [{ title: 'End chat', payload: SESSION_END }]);
    assert.ok(
      lb.sent.every((n, i) => n > (sentBefore[i] ?? 0)),
      `webhooks reached both processes: ${JSON.stringify(lb.sent)}`,
    );
    assert.deepEqual((await at(1).press(c, SESSION_END)).body, { routed: 'livechat', mode: 'BOT' });
    const end = await waitFor('END for the bot', () => sink.of(c).find((d) => d.type === 'bot.event'));
    assert.equal(end.event, SESSION_END);
    assert.deepEqual((await at(0).say(c, 'back to you, bot')).body, { routed: 'bot', mode: 'BOT' });
    await waitFor('the ticket closed', async () => (await api().tickets(c))[0].status === 'closed');
    assert.equal((await api().tickets(c))[0].messages.filter((m: { body_text: string }) => /ended the chat/.test(m.body_text)).length, 1);
    assert.equal(new Set(sink.got.map((d) => d.id)).size, sink.got.length, 'no delivery id twice');
    assert.deepEqual(sink.badSignatures, []);
  });

  it('expiry fires once, at the timeout, whichever process armed it', async () => {
    const convs = ['conv-exp-a', 'conv-exp-b'];
    const started = Date.now();
    await at(0).press(convs[0], SESSION_START);
    await at(1).press(convs[1], SESSION_START);
    for (const c of convs) {
      const ev = await waitFor(`${c} EXPIRED`, () => sink.of(c).find((d) => d.type === 'bot.event'), 15_000);
      assert.equal(ev.event, SESSION_EXPIRED);
    }
    assert.ok(Date.now() - started >= TIMEOUT_S * 1000, 'not before the timeout');
    await new Promise((r) => setTimeout(r, 1500)); // more than a poll of each process
    for (const c of convs) {
      assert.equal(sink.of(c).filter((d) => d.type === 'bot.event').length, 1, `${c} expired once`);
      assert.equal((await at(1).get(c)).body.mode, 'BOT');
    }
  });

  it('Redis out of reach: inputs get 503 (never a 2xx), /readyz fails, /healthz answers; once back, the catch-up finds the lost webhook', async () => {
    const c = 'conv-outage';
    await at(0).press(c, SESSION_START);
    const ticket = await waitFor('the ticket', async () => (await api().tickets(c))[0]);
    door.shut();
    await waitFor('/readyz down on both', async () => {
      const r = await Promise.all(procs.map((p) => statusOf(`${p.info.url}/readyz`)));
      return r.every((x) => x === 503);
    });
    for (const p of procs) assert.equal(await statusOf(`${p.info.url}/healthz`), 200);
    for (const i of [0, 1]) assert.equal((await at(i).say(c, 'anyone?')).status, 503);
    const before = lb.statuses.length;
    await api().reply(ticket.id, 'written during the outage');
    await waitFor('the webhook refused', () => lb.statuses.length > before);
    assert.deepEqual(lb.statuses.slice(before), [503], 'not acknowledged');
    door.open();
    await waitFor('/readyz back on both', async () => {
      const r = await Promise.all(procs.map((p) => statusOf(`${p.info.url}/readyz`)));
      return r.every((x) => x === 200);
    });
    assert.equal((await at(1).say(c, 'back?')).status, 200);
    const got = await waitFor('the lost message, caught up', () => sink.of(c).find((d) => d.text === 'written during the outage'));
    assert.equal(got.type, 'user.message');
    const ticketNow = (await api().tickets(c))[0];
    assert.deepEqual(
      ticketNow.messages
        .filter((m: { from_agent: boolean }) => !m.from_agent)
        .map((m: { body_text: string }) => m.body_text)
        .slice(1),
      ['back?'],
      'the refused call was not recorded: the channel sends it again if it wants to',
    );
    await at(0).press(c, SESSION_END);
    for (const p of procs) assert.equal(p.proc.exitCode, null, 'both processes lived through the outage');
    const all = procs.map((p) => p.stdout() + p.stderr()).join('\n');
    assert.match(all, /lost the store at redis:\/\/:\*\*\*\*@/);
    assert.ok(!all.includes(PASSWORD), 'the Redis password is never shown');
    const metrics = await (await fetch(`${procs[1].info.url}/metrics`)).text();
    assert.match(metrics, /^livechat_channel_calls_total\{route="messages",status="503",livechat_instance="b"\} 1/m);
  });
});
