// The session store port, the same contract on every store: in memory, the SQLite file, and Redis
// (a redis-server of the test's own; skipped, saying why, where there is none). The shared part
// (claims, unclaimed work) runs on the shared memory store and on Redis.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initialState } from '../src/session/machine.ts';
import { CommitConflict, isShared, memoryStore, timerClaimKey, type Commit, type SessionStore, type SharedStore } from '../src/session/store.ts';
import { openSqliteStore } from '../src/store/sqlite.ts';
import { maskStoreUrl, openRedisStore, redisTarget } from '../src/store/redis.ts';
import { redisMissing, startRedis, type TestRedis } from './redis-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'livechat-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const noRedis = redisMissing();
let redis: TestRedis | undefined;
before(async () => {
  if (!noRedis) redis = await startRedis();
});
after(() => redis?.close());

/** Each Redis store of the test under a prefix of its own, on the one redis-server. */
const openRedis = () => openRedisStore(redis!.url, { prefix: `t${++files}:` });

const kinds: Array<[string, () => SessionStore | Promise<SessionStore>, string | undefined]> = [
  ['memory', () => memoryStore(), undefined],
  ['sqlite', () => openSqliteStore(join(dir, `s${++files}.db`)), undefined],
  ['redis', openRedis, noRedis],
];

const commitOf = (over: Partial<Commit> = {}): Commit => ({
  conversationId: 'c1',
  expectVersion: 0,
  state: initialState('c1'),
  timers: {},
  at: 1000,
  jobs: [],
  deliveries: [],
  ...over,
});

for (const [name, open, skip] of kinds) {
  describe(`${name} store`, { skip }, () => {
    it('commits, loads and refuses a stale version', async () => {
      const store = await open();
      assert.equal(await store.load('c1'), undefined);
      const first = await store.commit(commitOf());
      assert.equal(first.version, 1);
      const live = { ...initialState('c1'), mode: 'LIVECHAT' as const };
      await store.commit(commitOf({ expectVersion: 1, state: live, timers: { expiry: 5000 } }));
      const loaded = await store.load('c1');
      assert.equal(loaded?.version, 2);
      assert.equal(loaded?.state.mode, 'LIVECHAT');
      assert.deepEqual(loaded?.timers, { expiry: 5000 });
      if (store.peek) assert.deepEqual(store.peek('c1')?.timers, { expiry: 5000 });
      await assert.rejects(store.commit(commitOf({ expectVersion: 1 })), CommitConflict);
      await assert.rejects(store.commit(commitOf({ expectVersion: 0 })), CommitConflict);
      await store.close();
    });

    it('keeps jobs and deliveries in order until they are done, and recovers them', async () => {
      const store = await open();
      const op = { kind: 'catchUp' as const, gen: 1, reason: 'timer' as const };
      const res = await store.commit(
        commitOf({
          timers: { expiry: 9 },
          jobs: [op, { kind: 'end', gen: 1, reason: 'ended' }],
          deliveries: [
            { id: 'd1', conversationId: 'c1', createdAt: 1, user: { text: 'hi' } },
            { id: 'd2', conversationId: 'c1', createdAt: 2, bot: { kind: 'event', event: 'LIVECHAT_SESSION_EXPIRED' } },
          ],
          linkTicket: 42,
        }),
      );
      assert.equal(res.jobs.length, 2);
      assert.ok(res.jobs[0].seq < res.jobs[1].seq);
      assert.deepEqual(
        res.deliveries.map((d) => d.id),
        ['d1', 'd2'],
      );
      assert.equal(await store.conversationForTicket(42), 'c1');
      await store.commit(
        commitOf({ expectVersion: 1, doneJob: res.jobs[0].seq, updateJob: { seq: res.jobs[1].seq, op: { kind: 'end', gen: 1, reason: 'expired' } } }),
      );
      await store.delivered(res.deliveries[0].seq);
      await store.deferDelivery(res.deliveries[1].seq, 3, 777);
      const rec = await store.recover();
      assert.deepEqual(rec.timers, [], 'no timer armed any more');
      assert.deepEqual(
        rec.jobs.map((j) => j.op),
        [{ kind: 'end', gen: 1, reason: 'expired' }],
      );
      assert.deepEqual(
        rec.deliveries.map((d) => [d.id, d.attempts, d.nextAt, d.bot]),
        [['d2', 3, 777, { kind: 'event', event: 'LIVECHAT_SESSION_EXPIRED' }]],
      );
      await store.close();
    });

    it('recovers the armed timers of live conversations only', async () => {
      const store = await open();
      await store.commit(commitOf({ conversationId: 'a', state: initialState('a'), timers: { expiry: 10, catchUp: 5 } }));
      await store.commit(commitOf({ conversationId: 'b', state: initialState('b') }));
      const rec = await store.recover();
      assert.deepEqual(rec.timers, [{ conversationId: 'a', timers: { expiry: 10, catchUp: 5 } }]);
      await store.close();
    });

    it('forgets idle conversations with nothing pending, and their ticket links', async () => {
      const store = await open();
      await store.commit(commitOf({ conversationId: 'old', state: initialState('old'), at: 10, linkTicket: 1 }));
      await store.commit(
        commitOf({
          conversationId: 'busy',
          state: initialState('busy'),
          at: 10,
          deliveries: [{ id: 'x', conversationId: 'busy', createdAt: 1, user: { text: 'x' } }],
        }),
      );
      await store.commit(commitOf({ conversationId: 'new', state: initialState('new'), at: 1000 }));
      await store.commit(commitOf({ conversationId: 'open', state: { ...initialState('open'), mode: 'LIVECHAT' }, timers: { expiry: 5 }, at: 10 }));
      assert.equal(await store.forget(500), 1);
      assert.equal(await store.load('old'), undefined);
      assert.equal(await store.conversationForTicket(1), undefined);
      for (const id of ['busy', 'new', 'open']) assert.ok(await store.load(id), id);
      await store.close();
    });
  });
}

const sharedKinds: Array<[string, () => Promise<SessionStore & SharedStore>, string | undefined]> = [
  ['memory (shared)', () => Promise.resolve(memoryStore({ shared: true }) as unknown as SessionStore & SharedStore), undefined],
  ['redis', openRedis, noRedis],
];

for (const [name, open, skip] of sharedKinds) {
  describe(`${name} store, shared by several processes`, { skip }, () => {
    it('claims: one owner at a time, renewed by it, lapsing after the lease, released by it only', async () => {
      const store = await open();
      assert.ok(isShared(store));
      const now = Date.now();
      assert.equal(await store.claim('jobs', 'c1', 'a', { now, ms: 300 }), true);
      assert.equal(await store.claim('jobs', 'c1', 'b', { now, ms: 300 }), false);
      assert.equal(await store.claim('outbox', 'c1', 'b', { now, ms: 300 }), true, 'another kind is another claim');
      assert.equal(await store.claim('jobs', 'c1', 'a', { now, ms: 300 }), true, 'renewed');
      await store.release('jobs', 'c1', 'b');
      assert.equal(await store.claim('jobs', 'c1', 'b', { now, ms: 300 }), false, 'b cannot release what a holds');
      await store.release('jobs', 'c1', 'a');
      assert.equal(await store.claim('jobs', 'c1', 'b', { now, ms: 300 }), true, 'released');
      await new Promise((r) => setTimeout(r, 350));
      assert.equal(await store.claim('jobs', 'c1', 'a', { now: Date.now(), ms: 300 }), true, 'lapsed');
      await store.close();
    });

    it('lists the work no live claim covers: jobs, due deliveries, due timers', async () => {
      const store = await open();
      const now = Date.now();
      const res = await store.commit(
        commitOf({
          timers: { expiry: now - 10, catchUp: now + 60_000 },
          jobs: [{ kind: 'catchUp', gen: 1, reason: 'timer' }],
          deliveries: [{ id: 'd1', conversationId: 'c1', createdAt: 1, user: { text: 'hi' } }],
        }),
      );
      const all = await store.unclaimed(now, 10);
      assert.deepEqual(all.jobs, ['c1']);
      assert.deepEqual(all.deliveries, ['c1']);
      assert.deepEqual(all.timers, [{ conversationId: 'c1', kind: 'expiry', at: now - 10 }], 'the catch-up is not due yet');
      assert.deepEqual(
        (await store.jobsOf('c1')).map((j) => [j.seq, j.started]),
        [[res.jobs[0].seq, undefined]],
      );
      await store.startJob(res.jobs[0].seq);
      assert.equal((await store.jobsOf('c1'))[0].started, true);
      assert.deepEqual(
        (await store.deliveriesOf('c1')).map((d) => [d.id, d.user?.text, d.attempts]),
        [['d1', 'hi', 0]],
      );
      await store.claim('jobs', 'c1', 'a', { now, ms: 5000 });
      await store.claim('outbox', 'c1', 'a', { now, ms: 5000 });
      await store.claim('timer', timerClaimKey('c1', 'expiry', now - 10), 'a', { now, ms: 5000 });
      assert.deepEqual(await store.unclaimed(now, 10), { jobs: [], deliveries: [], timers: [] }, 'all claimed');
      await store.release('outbox', 'c1', 'a');
      await store.deferDelivery(res.deliveries[0].seq, 1, now + 1000);
      assert.deepEqual((await store.unclaimed(now, 10)).deliveries, [], 'backing off');
      assert.deepEqual((await store.unclaimed(now + 1000, 10)).deliveries, ['c1'], 'due again');
      await store.delivered(res.deliveries[0].seq);
      await store.commit(commitOf({ expectVersion: 1, doneJob: res.jobs[0].seq, timers: {} }));
      await store.release('jobs', 'c1', 'a');
      assert.deepEqual(await store.unclaimed(now + 1000, 10), { jobs: [], deliveries: [], timers: [] }, 'nothing left');
      await store.close();
    });
  });
}

describe('redis store URL', () => {
  it('reads redis://, rediss:// and redis+unix:// URLs, and masks the password', () => {
    assert.deepEqual(redisTarget('redis://:pw@cache.local:6380/2?prefix=x:').options, {
      db: 2,
      username: undefined,
      password: 'pw',
      host: 'cache.local',
      port: 6380,
    });
    assert.equal(redisTarget('redis://:pw@cache.local:6380/2?prefix=x:').prefix, 'x:');
    assert.equal(redisTarget('rediss://h').options.tls?.servername, 'h');
    assert.equal(redisTarget('redis+unix:///run/r.sock?db=3').options.path, '/run/r.sock');
    assert.throws(() => redisTarget('mysql://h'), /must be a redis/);
    assert.throws(() => redisTarget('redis://h/abc'), /database must be a number/);
    assert.throws(
      () => redisTarget('redis://:hunter2@'),
      (e: Error) => !e.message.includes('hunter2'),
    );
    assert.equal(maskStoreUrl('redis://u:hunter2@h:1/0'), 'redis://u:****@h:1/0');
    assert.equal(maskStoreUrl('redis://h:1/0'), 'redis://h:1/0');
  });

  it('a Redis that does not answer: one clear line, no password', async () => {
    await assert.rejects(openRedisStore('redis://:hunter2@127.0.0.1:1/0'), (e: Error) => {
      assert.match(e.message, /^cannot reach the store at redis:\/\/:\*\*\*\*@127\.0\.0\.1:1\/0: /);
      assert.ok(!e.message.includes('hunter2'));
      return true;
    });
  });
});

describe('sqlite store file', () => {
  it('survives closing and reopening; a second process on the same file is refused', async () => {
    const path = join(dir, 'lock.db');
    const a = openSqliteStore(path);
    await a.commit(commitOf());
    assert.throws(() => openSqliteStore(path), /in use by another process/);
    await a.close();
    const b = openSqliteStore(path);
    assert.equal((await b.load('c1'))?.version, 1);
    await b.close();
  });
});
