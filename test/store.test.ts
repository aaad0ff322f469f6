// The session store port, the same contract on both stores: in memory and the SQLite file.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { initialState } from '../src/session/machine.ts';
import { CommitConflict, memoryStore, type Commit, type SessionStore } from '../src/session/store.ts';
import { openSqliteStore } from '../src/store/sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'livechat-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const kinds: Array<[string, () => SessionStore]> = [
  ['memory', () => memoryStore()],
  ['sqlite', () => openSqliteStore(join(dir, `s${++files}.db`))],
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

for (const [name, open] of kinds) {
  describe(`${name} store`, () => {
    it('commits, loads and refuses a stale version', async () => {
      const store = open();
      assert.equal(await store.load('c1'), undefined);
      const first = await store.commit(commitOf());
      assert.equal(first.version, 1);
      const live = { ...initialState('c1'), mode: 'LIVECHAT' as const };
      await store.commit(commitOf({ expectVersion: 1, state: live, timers: { expiry: 5000 } }));
      const loaded = await store.load('c1');
      assert.equal(loaded?.version, 2);
      assert.equal(loaded?.state.mode, 'LIVECHAT');
      assert.deepEqual(loaded?.timers, { expiry: 5000 });
      assert.deepEqual(store.peek?.('c1')?.timers, { expiry: 5000 });
      await assert.rejects(store.commit(commitOf({ expectVersion: 1 })), CommitConflict);
      await assert.rejects(store.commit(commitOf({ expectVersion: 0 })), CommitConflict);
      await store.close();
    });

    it('keeps jobs and deliveries in order until they are done, and recovers them', async () => {
      const store = open();
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
      const store = open();
      await store.commit(commitOf({ conversationId: 'a', state: initialState('a'), timers: { expiry: 10, catchUp: 5 } }));
      await store.commit(commitOf({ conversationId: 'b', state: initialState('b') }));
      const rec = await store.recover();
      assert.deepEqual(rec.timers, [{ conversationId: 'a', timers: { expiry: 10, catchUp: 5 } }]);
      await store.close();
    });

    it('forgets idle conversations with nothing pending, and their ticket links', async () => {
      const store = open();
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
