// The session store port, the same contract on both stores: in memory and the SQLite file.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
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
