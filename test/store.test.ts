// The session store port, the same contract on every store: in memory, the SQLite file, and Redis
// (a redis-server of the test's own; skipped, saying why, where there is none). The shared part
// (claims, unclaimed work) runs on the shared memory store and on Redis.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
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

describe('sqlite store schema', () => {
  it('moves a file of schema 1 (conversations WITHOUT ROWID) on to schema 2, every row kept, and refuses a newer one', async () => {
    const path = join(dir, 'schema1.db');
    const live = { ...initialState('old'), mode: 'LIVECHAT' as const };
    const raw = new Database(path);
    raw.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO meta VALUES ('schema', '1');
      CREATE TABLE conversations (id TEXT PRIMARY KEY, version INTEGER NOT NULL, state TEXT NOT NULL, timers TEXT NOT NULL,
        live INTEGER NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX conversations_live ON conversations (live) WHERE live = 1;
      CREATE INDEX conversations_idle ON conversations (at) WHERE live = 0;
      CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, conversation TEXT NOT NULL, op TEXT NOT NULL);
      CREATE TABLE deliveries (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, conversation TEXT NOT NULL,
        body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE tickets (ticket_id INTEGER PRIMARY KEY, conversation TEXT NOT NULL);`);
    raw.prepare('INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?)').run('old', 7, JSON.stringify(live), '{"expiry":5000}', 1, 10);
    raw.prepare('INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?)').run('idle', 2, JSON.stringify(initialState('idle')), '{}', 0, 10);
    raw.close();

    const store = openSqliteStore(path);
    assert.deepEqual(await store.load('old'), { version: 7, state: live, timers: { expiry: 5000 } });
    assert.equal((await store.load('idle'))?.version, 2);
    assert.deepEqual((await store.recover()).timers, [{ conversationId: 'old', timers: { expiry: 5000 } }]);
    await store.commit(commitOf({ conversationId: 'old', expectVersion: 7, state: live, timers: { expiry: 6000 } }));
    await assert.rejects(store.commit(commitOf({ conversationId: 'old', expectVersion: 7 })), CommitConflict);
    assert.equal(await store.forget(100), 1, 'the idle one, by the index on idle rows');
    await store.close();

    const check = new Database(path, { readonly: true });
    const table = check.prepare<[], { sql: string }>("SELECT sql FROM sqlite_master WHERE name = 'conversations'").get()!.sql;
    const indexes = check
      .prepare<[], { name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'conversations' AND sql IS NOT NULL ORDER BY name",
      )
      .all()
      .map((r) => r.name);
    const schema = check.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'schema'").get()!.value;
    check.close();
    assert.doesNotMatch(table, /WITHOUT ROWID/);
    assert.deepEqual(indexes, ['conversations_idle', 'conversations_live']);
    assert.equal(schema, '2');

    const newer = new Database(path);
    newer.prepare("UPDATE meta SET value = '3' WHERE key = 'schema'").run();
    newer.close();
    assert.throws(() => openSqliteStore(path), /written by a newer livechat \(schema 3\)/);
  });
});

/** Transactions in the file's WAL (frames that end a commit, of the WAL's current generation): what is on disk. */
function walCommits(db: string): number {
  const wal = readFileSync(`${db}-wal`);
  if (wal.length < 32) return 0;
  const pageSize = wal.readUInt32BE(8);
  const [salt1, salt2] = [wal.readUInt32BE(16), wal.readUInt32BE(20)];
  let commits = 0;
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    if (wal.readUInt32BE(at + 8) !== salt1 || wal.readUInt32BE(at + 12) !== salt2) break;
    if (wal.readUInt32BE(at + 4) !== 0) commits++;
  }
  return commits;
}

/** The conversations a copy of the file as it is on disk now holds (what a crash at this instant would leave). */
function onDisk(db: string): string[] {
  const copy = join(mkdtempSync(join(dir, 'copy-')), 'copy.db');
  copyFileSync(db, copy);
  if (existsSync(`${db}-wal`)) copyFileSync(`${db}-wal`, `${copy}-wal`);
  const raw = new Database(copy);
  try {
    return raw
      .prepare<[], { id: string }>('SELECT id FROM conversations ORDER BY id')
      .all()
      .map((r) => r.id);
  } finally {
    raw.close();
  }
}

describe('sqlite group commit', () => {
  const delivery = (id: string, conversationId: string) => ({ id, conversationId, createdAt: 1, user: { text: id } });

  it('commits what is asked in one tick in one transaction; a commit that fails is undone alone, the others stand', async () => {
    const path = join(dir, 'batch.db');
    const store = openSqliteStore(path);
    await store.commit(commitOf({ conversationId: 'a', state: initialState('a') }));
    const before = walCommits(path);
    const settled = await Promise.allSettled([
      store.commit(commitOf({ conversationId: 'a', expectVersion: 1, state: initialState('a') })),
      // Read the same version as the one above, which is applied first: a conflict.
      store.commit(commitOf({ conversationId: 'a', expectVersion: 1, state: initialState('a'), deliveries: [delivery('lost', 'a')] })),
      store.commit(commitOf({ conversationId: 'b', state: initialState('b'), deliveries: [delivery('d-b', 'b')] })),
      // Fails halfway, after its conversation row was written: the delivery id is taken. Its savepoint undoes the row.
      store.commit(commitOf({ conversationId: 'c', state: initialState('c'), deliveries: [delivery('d-b', 'c')] })),
      store.commit(commitOf({ conversationId: 'e', state: initialState('e') })),
    ]);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled'],
    );
    assert.ok((settled[1] as PromiseRejectedResult).reason instanceof CommitConflict);
    assert.match(String((settled[3] as PromiseRejectedResult).reason), /UNIQUE/);
    assert.equal((settled[0] as PromiseFulfilledResult<{ version: number }>).value.version, 2);
    assert.equal(walCommits(path) - before, 1, 'the five commits were one transaction');
    await store.close();
    const again = openSqliteStore(path);
    assert.equal((await again.load('a'))?.version, 2);
    assert.ok(await again.load('b'));
    assert.equal(await again.load('c'), undefined, 'the failed commit left nothing behind');
    assert.ok(await again.load('e'));
    assert.deepEqual(
      (await again.recover()).deliveries.map((d) => [d.id, d.conversationId]),
      [['d-b', 'b']],
    );
    await again.close();
  });

  it('answers no commit before its transaction is committed on disk', async () => {
    const path = join(dir, 'durable.db');
    const store = openSqliteStore(path);
    const seen: Array<{ id: string; commits: number; disk: string[] }> = [];
    const before = walCommits(path);
    await Promise.all(
      ['x', 'y', 'z'].map((id) =>
        store
          .commit(commitOf({ conversationId: id, state: initialState(id) }))
          .then(() => seen.push({ id, commits: walCommits(path), disk: onDisk(path) })),
      ),
    );
    for (const s of seen) {
      assert.equal(s.commits, before + 1, `${s.id}: its transaction was in the WAL when it was answered`);
      assert.deepEqual(s.disk, ['x', 'y', 'z'], `${s.id}: a crash at that instant keeps the whole batch`);
    }
    await store.close();
  });

  it('refuses every commit of a batch whose COMMIT fails, and answered none of them before', async () => {
    const path = join(dir, 'poison.db');
    await openSqliteStore(path).close();
    // A deferred foreign key fails at COMMIT, after every statement of the batch went through.
    const raw = new Database(path);
    raw.exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY);
      CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
      CREATE TRIGGER poison AFTER INSERT ON conversations WHEN NEW.id = 'poison' BEGIN INSERT INTO child (p) VALUES (42); END;`);
    raw.close();
    const store = openSqliteStore(path);
    await store.commit(commitOf({ conversationId: 'before', state: initialState('before') }));
    const answered: string[] = [];
    const settled = await Promise.allSettled(
      ['p1', 'poison', 'p2'].map((id) => store.commit(commitOf({ conversationId: id, state: initialState(id) })).then(() => answered.push(id))),
    );
    assert.deepEqual(answered, []);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['rejected', 'rejected', 'rejected'],
    );
    assert.match(String((settled[0] as PromiseRejectedResult).reason), /FOREIGN KEY/);
    // The store goes on: the next batch commits.
    await store.commit(commitOf({ conversationId: 'after', state: initialState('after') }));
    await store.close();
    assert.deepEqual(onDisk(path), ['after', 'before']);
  });
});
