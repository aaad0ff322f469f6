// Each fault mode: 500s, latency, 429 storms, dropped/duplicated/delayed/reordered webhooks.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../src/emulator/index.ts';
import { shuffle } from '../src/emulator/webhook-faults.ts';
import { seededRandom } from '../src/random.ts';
import { FakeClock } from '../src/clock.ts';
import { call, customerMessage, httpIntegration, livechatTemplate, newTicket, startReceiver, tick, type Receiver } from './emulator-helpers.ts';
import { waitFor } from './serve-helpers.ts';

describe('API faults', () => {
  let emu: Emulator;
  beforeEach(async () => {
    emu = await startEmulator({ rateLimit: { limit: 40, windowMs: 20_000 } });
  });
  afterEach(() => emu.close());

  test('failNext(n, status): the next n calls fail with a Gorgias error body, then all is well', async () => {
    emu.faults.failNext(2, 503);
    const a = await call(emu, 'GET', '/api/account');
    const b = await call(emu, 'POST', '/api/macros', { name: 'x', actions: [] });
    const c = await call(emu, 'GET', '/api/account');
    assert.deepEqual([a.status, b.status, c.status], [503, 503, 200]);
    assert.equal(typeof a.body.error.msg, 'string');
    assert.ok(a.headers.get('x-gorgias-account-api-call-limit'));
    // The failed POST created nothing.
    assert.equal((await call(emu, 'GET', '/api/macros')).body.data.length, 0);
    emu.faults.failNext(1);
    assert.equal((await call(emu, 'GET', '/api/account')).status, 500);
  });

  test('setLatency(ms): every answer waits, and the call log says so', async () => {
    emu.faults.setLatency(40);
    const started = performance.now();
    const r = await call(emu, 'GET', '/api/account');
    const elapsed = performance.now() - started;
    assert.equal(r.status, 200);
    assert.equal(emu.requests.at(-1)!.latencyMs, 40);
    assert.ok(elapsed >= 30, `answered after ${elapsed} ms`);
    emu.faults.setLatency(0);
    await call(emu, 'GET', '/api/account');
    assert.equal(emu.requests.at(-1)!.latencyMs, undefined);
  });

  test('setLatency delays the answer, not the work: a client that gives up has still created the object', async () => {
    emu.faults.setLatency(2000);
    const auth = `Basic ${Buffer.from(`${emu.email}:${emu.apiKey}`).toString('base64')}`;
    // The client gives up once the work is done, not after a fixed 50 ms (a busy machine may not
    // have sent the request by then): the answer must still be pending at that moment.
    const giveUp = new AbortController();
    let answered = false;
    const pending = fetch(`${emu.url}/api/macros`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'late answer', actions: [] }),
      signal: giveUp.signal,
    }).finally(() => (answered = true));
    await waitFor('the emulator to create the macro', () => emu.store.listMacros().length > 0);
    assert.equal(answered, false, 'the work is done before the answer');
    giveUp.abort();
    await assert.rejects(pending, /abort/i);
    emu.faults.setLatency(0);
    assert.deepEqual(
      emu.store.listMacros().map((m) => m.name),
      ['late answer'],
    );
  });

  test('rateLimitStorm(n, s): n answers of 429 with Retry-After s and the call-limit header', async () => {
    emu.faults.rateLimitStorm(3, 7);
    for (let i = 0; i < 3; i++) {
      const r = await call(emu, 'GET', '/api/account');
      assert.equal(r.status, 429);
      assert.equal(r.headers.get('retry-after'), '7');
      assert.equal(r.headers.get('x-gorgias-account-api-call-limit'), '40/40');
      assert.equal(typeof r.body.error.msg, 'string');
    }
    assert.equal((await call(emu, 'GET', '/api/account')).status, 200);
    emu.faults.rateLimitStorm(1);
    assert.equal((await call(emu, 'GET', '/api/account')).headers.get('retry-after'), '1');
  });

  test('reset() clears every fault', async () => {
    emu.faults.failNext(5);
    emu.faults.rateLimitStorm(5);
    emu.faults.setLatency(1000);
    emu.faults.reset();
    assert.equal((await call(emu, 'GET', '/api/account')).status, 200);
    assert.equal(emu.requests.at(-1)!.latencyMs, undefined);
  });
});

describe('webhook faults', () => {
  let rx: Receiver;
  let emu: Emulator;
  let clock: FakeClock;
  let ticketId: number;
  before(async () => {
    rx = await startReceiver();
  });
  after(() => rx.close());
  beforeEach(async () => {
    clock = new FakeClock();
    emu = await startEmulator({ rateLimit: false, clock });
    ticketId = emu.store.createTicket(newTicket('faults')).id; // before the integration: fires nothing
    emu.store.createIntegration(httpIntegration(livechatTemplate(rx.url)));
    rx.received.length = 0;
  });
  afterEach(() => emu.close());

  const texts = () => rx.received.map((r) => r.query.get('text'));
  async function post(n: number): Promise<string[]> {
    const sent: string[] = [];
    for (let i = 1; i <= n; i++) {
      const r = await call(emu, 'POST', `/api/tickets/${ticketId}/messages`, customerMessage(`m${i}`));
      assert.equal(r.status, 201);
      sent.push(`m${i}`);
    }
    return sent;
  }

  test('without faults, deliveries arrive once each and in order', async () => {
    const sent = await post(5);
    await emu.idle();
    assert.deepEqual(texts(), sent);
  });

  test('drop: 1 drops all, recorded as dropped and never sent', async () => {
    emu.faults.webhooks({ drop: 1 });
    await post(3);
    await emu.idle();
    assert.equal(rx.received.length, 0);
    assert.equal(emu.deliveries.length, 3);
    assert.ok(emu.deliveries.every((d) => d.dropped === true && d.status === undefined));
  });

  test('drop: 0.5 with a seed is deterministic', async () => {
    emu.faults.webhooks({ drop: 0.5, seed: 42 });
    await post(12);
    await emu.idle();
    const first = texts();
    assert.ok(first.length > 0 && first.length < 12, `got ${first.length}`);
    // Same seed, same outcome.
    rx.received.length = 0;
    emu.faults.webhooks({ drop: 0.5, seed: 42 });
    await post(12);
    await emu.idle();
    assert.deepEqual(texts(), first);
    assert.equal(emu.deliveries.filter((d) => d.dropped).length, 2 * (12 - first.length));
  });

  test('duplicate: 1 sends every event twice with the same event id', async () => {
    emu.faults.webhooks({ duplicate: 1 });
    await post(2);
    await emu.idle();
    assert.deepEqual(texts(), ['m1', 'm1', 'm2', 'm2']);
    const ids = rx.received.map((r) => r.query.get('event_id'));
    assert.equal(ids[0], ids[1]);
    assert.equal(ids[2], ids[3]);
    assert.notEqual(ids[0], ids[2]);
    assert.deepEqual(
      emu.deliveries.map((d) => Boolean(d.duplicate)),
      [false, true, false, true],
    );
  });

  test('delayMs waits on the emulator clock: nothing arrives until it is advanced', async () => {
    emu.faults.webhooks({ delayMs: 5000 });
    await post(2);
    let idle = false;
    const done = emu.idle().then(() => (idle = true));
    await emu.idle({ scheduled: false }); // nothing under way: both wait on the clock
    await tick();
    await tick();
    assert.equal(idle, false);
    assert.equal(rx.received.length, 0);
    clock.advance(4999);
    await tick();
    assert.equal(rx.received.length, 0);
    clock.advance(1);
    await done;
    assert.deepEqual(texts(), ['m1', 'm2']);
  });

  test('reorder holds a batch of 3 and releases it shuffled; a partial batch goes after the window', async () => {
    emu.faults.webhooks({ reorder: true, seed: 7 });
    const sent = await post(3);
    await emu.idle();
    assert.equal(rx.received.length, 3);
    assert.deepEqual([...texts()].sort(), sent);
    assert.notDeepEqual(texts(), sent);

    rx.received.length = 0;
    await post(2);
    await tick();
    assert.equal(rx.received.length, 0);
    clock.advance(1000);
    await emu.idle();
    assert.deepEqual(texts(), ['m2', 'm1']);
  });

  test('reorderBatch and reorderWindowMs can be set; reset() releases what is held', async () => {
    emu.faults.webhooks({ reorder: true, reorderBatch: 10, reorderWindowMs: 60_000 });
    const sent = await post(4);
    await tick();
    assert.equal(rx.received.length, 0);
    emu.faults.reset();
    await emu.idle();
    assert.deepEqual([...texts()].sort(), sent);
    assert.notDeepEqual(texts(), sent);
  });

  test('shuffle is seeded and never returns the original order', () => {
    for (let seed = 0; seed < 50; seed++) {
      const items = [1, 2, 3];
      const a = shuffle(items, seededRandom(seed));
      assert.deepEqual(a, shuffle(items, seededRandom(seed)));
      assert.notDeepEqual(a, items);
      assert.deepEqual([...a].sort(), items);
    }
  });
});
