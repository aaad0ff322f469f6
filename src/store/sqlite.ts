// The session store on one SQLite file (better-sqlite3, WAL): what `livechat serve` runs on. A
// commit is atomic, and a webhook or a channel call is answered only once everything it changed is
// on disk. Group commit: what is asked in one turn of the event loop runs in one transaction, in
// the order asked, and every caller hears back only after that transaction's COMMIT. A commit that
// fails is undone alone: a version conflict writes nothing, and any other failure has the batch
// done again with a SAVEPOINT per commit. One WAL write then serves a whole burst of webhooks
// instead of one each. The file is held with an exclusive lock for as long as the store is open:
// a second process on the same file is refused at once, and the OS drops the lock if we die.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { LivechatError } from '../errors.js';
import type { ConversationState, HelpdeskOp } from '../session/machine.js';
import {
  CommitConflict,
  type Commit,
  type CommitResult,
  type Delivery,
  type Job,
  type QueuedDelivery,
  type Recovery,
  type SessionStore,
  type StoredConversation,
  type Timers,
} from '../session/store.js';

/** 2: conversations in a rowid table (schema 1 had WITHOUT ROWID); files of schema 1 are moved on at open. */
const SCHEMA_VERSION = 2;

// A rowid table, not WITHOUT ROWID: a conversation's state is often over 1 KB, which a WITHOUT
// ROWID table spills into overflow pages (twice the pages written per commit); a rowid table keeps
// up to about 4 KB in the row's own page.
const CONVERSATIONS = (name: string) => `
CREATE TABLE IF NOT EXISTS ${name} (
  id TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  state TEXT NOT NULL,
  timers TEXT NOT NULL,
  -- 1 while a session is open or a timer is armed: what a restart must resume.
  live INTEGER NOT NULL,
  at INTEGER NOT NULL
);`;
const CONVERSATION_INDEXES = `
CREATE INDEX IF NOT EXISTS conversations_live ON conversations (live) WHERE live = 1;
CREATE INDEX IF NOT EXISTS conversations_idle ON conversations (at) WHERE live = 0;`;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
${CONVERSATIONS('conversations')}
${CONVERSATION_INDEXES}
CREATE TABLE IF NOT EXISTS jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, conversation TEXT NOT NULL, op TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  conversation TEXT NOT NULL,
  body TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tickets (ticket_id INTEGER PRIMARY KEY, conversation TEXT NOT NULL);
`;

export interface SqliteStoreOptions {
  /** `synchronous=FULL`: survive a power loss too, at the cost of one fsync per commit. Default NORMAL (survives a crash). */
  fsync?: boolean;
}

interface ConversationRow {
  version: number;
  state: string;
  timers: string;
}

export type SqliteStore = SessionStore & {
  readonly path: string;
  count(): { conversations: number; open: number; jobs: number; deliveries: number };
};

export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: 0 });
    db.pragma('journal_mode = WAL');
    // Hold the file for as long as we run: a second `serve` on it fails at once instead of sharing it.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma(`synchronous = ${options.fsync ? 'FULL' : 'NORMAL'}`);
    // The savepoints' undo journal in memory, not in a temp file written page by page (nothing durable is in it).
    db.pragma('temp_store = MEMORY');
    db.exec('BEGIN IMMEDIATE');
    db.exec(SCHEMA);
    db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)').run('schema', String(SCHEMA_VERSION));
    if (schemaOf(db) === 1) migrateFrom1(db);
    db.exec('COMMIT');
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      throw new LivechatError(`data file ${path} is in use by another process (is another \`livechat serve\` running on it?)`, { kind: 'config' });
    }
    throw new LivechatError(`cannot open data file ${path}: ${(err as Error).message}`, { kind: 'config', cause: err });
  }
  const schema = schemaOf(db);
  if (schema > SCHEMA_VERSION) {
    db.close();
    throw new LivechatError(`data file ${path} was written by a newer livechat (schema ${schema}); upgrade livechat`, { kind: 'config' });
  }

  const q = {
    load: db.prepare<[string], ConversationRow>('SELECT version, state, timers FROM conversations WHERE id = ?'),
    version: db.prepare<[string], { version: number }>('SELECT version FROM conversations WHERE id = ?'),
    insert: db.prepare('INSERT OR IGNORE INTO conversations (id, version, state, timers, live, at) VALUES (?, ?, ?, ?, ?, ?)'),
    update: db.prepare('UPDATE conversations SET version = ?, state = ?, timers = ?, live = ?, at = ? WHERE id = ? AND version = ?'),
    remove: db.prepare('DELETE FROM conversations WHERE id = ?'),
    addJob: db.prepare('INSERT INTO jobs (conversation, op) VALUES (?, ?)'),
    doneJob: db.prepare('DELETE FROM jobs WHERE seq = ?'),
    updateJob: db.prepare('UPDATE jobs SET op = ? WHERE seq = ?'),
    addDelivery: db.prepare('INSERT INTO deliveries (id, conversation, body) VALUES (?, ?, ?)'),
    delivered: db.prepare('DELETE FROM deliveries WHERE seq = ?'),
    defer: db.prepare('UPDATE deliveries SET attempts = ?, next_at = ? WHERE seq = ?'),
    link: db.prepare('INSERT OR REPLACE INTO tickets (ticket_id, conversation) VALUES (?, ?)'),
    ticket: db.prepare<[number], { conversation: string }>('SELECT conversation FROM tickets WHERE ticket_id = ?'),
    live: db.prepare<[], { id: string; timers: string }>('SELECT id, timers FROM conversations WHERE live = 1'),
    jobs: db.prepare<[], { seq: number; conversation: string; op: string }>('SELECT seq, conversation, op FROM jobs ORDER BY seq'),
    deliveries: db.prepare<[], { seq: number; id: string; conversation: string; body: string; attempts: number; next_at: number }>(
      'SELECT seq, id, conversation, body, attempts, next_at FROM deliveries ORDER BY seq',
    ),
    forget: db.prepare(
      `DELETE FROM conversations WHERE live = 0 AND at < ?
         AND id NOT IN (SELECT conversation FROM jobs) AND id NOT IN (SELECT conversation FROM deliveries)`,
    ),
    unlink: db.prepare('DELETE FROM tickets WHERE conversation NOT IN (SELECT id FROM conversations)'),
    counts: db.prepare<[], { conversations: number; open: number; jobs: number; deliveries: number }>(
      `SELECT (SELECT count(*) FROM conversations) AS conversations,
              (SELECT count(*) FROM conversations WHERE live = 1) AS open,
              (SELECT count(*) FROM jobs) AS jobs,
              (SELECT count(*) FROM deliveries) AS deliveries`,
    ),
  };

  const row = (id: string): StoredConversation | undefined => {
    const r = q.load.get(id);
    return r && { version: r.version, state: JSON.parse(r.state) as ConversationState, timers: JSON.parse(r.timers) as Timers };
  };

  // Always run inside the batch's transaction. It throws CommitConflict before it writes anything,
  // so a conflict needs no undo (the group commit's fast path counts on that).
  const commit = (c: Commit): CommitResult => {
    const version = c.expectVersion + 1;
    // The compare-and-set is the write itself (no row written: another writer was first), and it comes before any other write.
    if (!c.state) {
      const current = q.version.get(c.conversationId)?.version ?? 0;
      if (current !== c.expectVersion) throw new CommitConflict(c.conversationId);
      q.remove.run(c.conversationId);
    } else {
      const live = c.state.mode === 'LIVECHAT' || Object.keys(c.timers).length > 0 ? 1 : 0;
      const state = JSON.stringify(c.state);
      const timers = JSON.stringify(c.timers);
      const written =
        c.expectVersion === 0
          ? q.insert.run(c.conversationId, version, state, timers, live, c.at).changes
          : q.update.run(version, state, timers, live, c.at, c.conversationId, c.expectVersion).changes;
      if (written !== 1) throw new CommitConflict(c.conversationId);
    }
    if (c.doneJob !== undefined) q.doneJob.run(c.doneJob);
    if (c.updateJob) q.updateJob.run(JSON.stringify(c.updateJob.op), c.updateJob.seq);
    const jobs: Job[] = c.jobs.map((op) => ({
      seq: Number(q.addJob.run(c.conversationId, JSON.stringify(op)).lastInsertRowid),
      conversationId: c.conversationId,
      op,
    }));
    const deliveries: QueuedDelivery[] = c.deliveries.map((d) => ({
      ...d,
      seq: Number(q.addDelivery.run(d.id, d.conversationId, JSON.stringify(deliveryBody(d))).lastInsertRowid),
      attempts: 0,
      nextAt: 0,
    }));
    if (c.linkTicket !== undefined) q.link.run(c.linkTicket, c.conversationId);
    return { version, jobs, deliveries };
  };

  // The group commit. A read joins the queue too, so it sees every write asked before it.
  const queue: Queued[] = [];
  let scheduled = false;
  /**
   * The batch as one transaction, with no savepoint per commit (each costs two statements). A
   * commit that fails after it wrote something (a failure other than its version check) throws
   * Redo: the whole batch is rolled back, and done again the careful way.
   */
  const applyFast = db.transaction((items: Queued[]): Outcome[] =>
    items.map((item): Outcome => {
      try {
        return { ok: true, value: item.fn() };
      } catch (err) {
        if (!db.inTransaction) throw err;
        if (item.savepoint && !(err instanceof CommitConflict)) throw new Redo();
        return { ok: false, err };
      }
    }),
  );
  /** One write of the batch, in its own SAVEPOINT (a transaction function nested in another). */
  const inSavepoint = db.transaction((fn: () => unknown) => fn());
  /** The careful way: a commit that fails is undone alone, by its savepoint; the others stand. */
  const applyCareful = db.transaction((items: Queued[]): Outcome[] =>
    items.map((item): Outcome => {
      try {
        return { ok: true, value: item.savepoint ? inSavepoint(item.fn) : item.fn() };
      } catch (err) {
        // SQLite rolled the whole transaction back (disk full, I/O error): the others are gone too.
        if (!db.inTransaction) throw err;
        return { ok: false, err };
      }
    }),
  );
  const applyAll = (items: Queued[]): Outcome[] => {
    try {
      return applyFast(items);
    } catch (err) {
      if (err instanceof Redo) return applyCareful(items);
      throw err;
    }
  };
  const flush = () => {
    scheduled = false;
    const items = queue.splice(0);
    if (!items.length) return;
    let outcomes: Outcome[];
    try {
      outcomes = applyAll(items);
    } catch (err) {
      for (const item of items) item.reject(err);
      return;
    }
    // After COMMIT: only now may anyone be answered.
    outcomes.forEach((o, i) => (o.ok ? items[i].resolve(o.value) : items[i].reject(o.err)));
  };
  let closed = false;
  const enqueue = <T>(fn: () => T, savepoint: boolean): Promise<T> => {
    if (closed) return Promise.reject(new Error('the data file is closed'));
    return new Promise<T>((resolve, reject) => {
      queue.push({ fn, savepoint, resolve: resolve as (value: unknown) => void, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
  };
  /** A read, or a write of one statement (SQLite undoes a failed statement on its own). */
  const run = <T>(fn: () => T) => enqueue(fn, false);
  /** Several statements that stand or fall together. */
  const atomically = <T>(fn: () => T) => enqueue(fn, true);

  return {
    path,
    load: (id) => run(() => row(id)),
    peek: (id) => (closed ? undefined : row(id)),
    commit: (c) => atomically(() => commit(c)),
    conversationForTicket: (ticketId) => run(() => q.ticket.get(ticketId)?.conversation),
    recover: () =>
      run((): Recovery => ({
        timers: q.live.all().map((r) => ({ conversationId: r.id, timers: JSON.parse(r.timers) as Timers })),
        jobs: q.jobs.all().map((r) => ({ seq: r.seq, conversationId: r.conversation, op: JSON.parse(r.op) as HelpdeskOp })),
        deliveries: q.deliveries.all().map((r) => ({
          ...(JSON.parse(r.body) as Omit<Delivery, 'id' | 'conversationId'>),
          id: r.id,
          conversationId: r.conversation,
          seq: r.seq,
          attempts: r.attempts,
          nextAt: r.next_at,
        })),
      })),
    delivered: (seq) => run(() => void q.delivered.run(seq)),
    deferDelivery: (seq, attempts, nextAt) => run(() => void q.defer.run(attempts, nextAt, seq)),
    forget: (before) =>
      atomically(() => {
        const n = q.forget.run(before).changes;
        if (n > 0) q.unlink.run();
        return n;
      }),
    healthy: () => run(() => db.prepare('SELECT 1').get() !== undefined),
    count: () => q.counts.get()!,
    close: () => {
      if (!closed) {
        closed = true;
        flush(); // what was asked before close is committed (and answered) first
        db.close();
      }
      return Promise.resolve();
    },
  };
}

interface Queued {
  fn: () => unknown;
  savepoint: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown };

/** A commit failed halfway in the fast path: the batch is rolled back and done again with savepoints. */
class Redo extends Error {}

function schemaOf(db: Database.Database): number {
  return Number((db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as { value: string }).value);
}

/** Schema 1 to 2: the conversations into a rowid table (same columns, same rows), inside the opening transaction. */
function migrateFrom1(db: Database.Database): void {
  db.exec(`${CONVERSATIONS('conversations_v2')}
INSERT INTO conversations_v2 (id, version, state, timers, live, at) SELECT id, version, state, timers, live, at FROM conversations;
DROP TABLE conversations;
ALTER TABLE conversations_v2 RENAME TO conversations;
${CONVERSATION_INDEXES}
UPDATE meta SET value = '2' WHERE key = 'schema';`);
}

function deliveryBody(d: Delivery): Omit<Delivery, 'id' | 'conversationId'> {
  return { createdAt: d.createdAt, ...(d.user ? { user: d.user } : {}), ...(d.bot ? { bot: d.bot } : {}) };
}
