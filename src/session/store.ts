// Persistence as a port: what the manager keeps so that a restart or a crash loses nothing. One
// commit holds everything one input changed (the conversation's state and timers, the Gorgias calls
// it queued, what it has for the user and the bot), applied atomically, before anyone is answered.
// The in-memory store here is the default for the embedded engine and the simulator; the SQLite
// store (src/store/) is what `livechat serve` runs on.
import type { ConversationState, HelpdeskOp, TimerKind } from './machine.js';
import type { BotInput, UserOutput } from './types.js';

/** Absolute times at which the conversation's timers fire. */
export type Timers = Partial<Record<TimerKind, number>>;

export interface StoredConversation {
  state: ConversationState;
  /** Grows by one on every commit; a commit names the version it read (compare-and-set). */
  version: number;
  timers: Timers;
}

/** A Gorgias call waiting to be made, in order per conversation. */
export interface Job {
  seq: number;
  conversationId: string;
  op: HelpdeskOp;
  /** A process began it (shared stores): whoever runs it next must look for what that try made. */
  started?: boolean;
}

/** Something for the user or the bot, delivered at least once, in order per conversation. */
export interface Delivery {
  /** Unique, and the same on every retry: the receiver dedupes by it. */
  id: string;
  conversationId: string;
  createdAt: number;
  user?: UserOutput;
  bot?: BotInput;
}

export interface QueuedDelivery extends Delivery {
  seq: number;
  attempts: number;
  /** Not before this time (back-off after a failed try). */
  nextAt: number;
}

export interface Commit {
  conversationId: string;
  /** The version this change was computed from (0: the conversation was not stored). */
  expectVersion: number;
  /** The new state; undefined: delete the conversation. */
  state: ConversationState | undefined;
  timers: Timers;
  /** Last activity, for forgetting idle conversations. */
  at: number;
  jobs: HelpdeskOp[];
  /** The job whose result this commit applies: removed with it. */
  doneJob?: number;
  /** A queued job whose op changed (a catch-up asked again, now for the expiry check). */
  updateJob?: { seq: number; op: HelpdeskOp };
  deliveries: Delivery[];
  /** Remember which conversation a ticket belongs to (webhooks without external_id). */
  linkTicket?: number;
}

export interface CommitResult {
  version: number;
  jobs: Job[];
  deliveries: QueuedDelivery[];
}

export interface Recovery {
  /** Conversations with an open session or armed timers. */
  timers: Array<{ conversationId: string; timers: Timers }>;
  jobs: Job[];
  deliveries: QueuedDelivery[];
}

/** Another writer committed first: read again and recompute. */
export class CommitConflict extends Error {
  constructor(readonly conversationId: string) {
    super(`conversation ${conversationId} changed meanwhile`);
    this.name = 'CommitConflict';
  }
}

/** What a process claims in a shared store: a conversation's calls or outbox, or one due timer. */
export type ClaimKind = 'jobs' | 'outbox' | 'timer';

/** Work that no live claim covers, in a shared store. */
export interface Unclaimed {
  jobs: string[];
  deliveries: string[];
  timers: Array<{ conversationId: string; kind: TimerKind; at: number }>;
}

/**
 * A store that several processes share (Redis). Each conversation's calls and deliveries are made
 * by one process at a time, which holds a claim that lapses after `ms` unless renewed, so the work
 * of a process that died is taken over. The manager runs in shared mode when a store has these.
 */
export interface SharedStore {
  /** Take or renew a claim; false while another owner's claim is live. */
  claim(kind: ClaimKind, key: string, owner: string, lease: { now: number; ms: number }): Promise<boolean>;
  release(kind: ClaimKind, key: string, owner: string): Promise<void>;
  jobsOf(conversationId: string): Promise<Job[]>;
  deliveriesOf(conversationId: string): Promise<QueuedDelivery[]>;
  /** Mark a job begun, before its call is made. */
  startJob(seq: number): Promise<void>;
  unclaimed(now: number, limit: number): Promise<Unclaimed>;
}

/** The claim of one due timer: its conversation, its kind, and the instant it is due. */
export const timerClaimKey = (conversationId: string, kind: TimerKind, at: number): string => `${conversationId}\u0000${kind}\u0000${at}`;

export const isShared = (store: SessionStore): store is SessionStore & SharedStore => 'claim' in store && typeof store.claim === 'function';

export interface SessionStore {
  load(conversationId: string): Promise<StoredConversation | undefined>;
  /** The stored conversation without waiting, where the store can (memory, SQLite); for read-only views. */
  peek?(conversationId: string): StoredConversation | undefined;
  /** Atomic and durable once it resolves. Throws CommitConflict when `expectVersion` is stale. */
  commit(commit: Commit): Promise<CommitResult>;
  conversationForTicket(ticketId: number): Promise<string | undefined>;
  /** What a restart resumes: armed timers, queued jobs, pending deliveries. */
  recover(): Promise<Recovery>;
  delivered(seq: number): Promise<void>;
  deferDelivery(seq: number, attempts: number, nextAt: number): Promise<void>;
  /** Delete conversations with no open session and no activity since `before`; returns how many. */
  forget(before: number): Promise<number>;
  /** Whether the store answers (readiness). */
  healthy?(): Promise<boolean>;
  close(): Promise<void>;
}

interface MemoryRow extends StoredConversation {
  at: number;
}

/**
 * Everything in process memory: survives a restart of the manager, not of the process. With
 * `shared`, it also takes claims, so several managers in one process behave as processes sharing a
 * store would (tests of the shared mode, without a Redis).
 */
export function memoryStore(options: { shared?: boolean } = {}): SessionStore & { readonly size: number } {
  const rows = new Map<string, MemoryRow>();
  const jobs = new Map<number, Job>();
  const deliveries = new Map<number, QueuedDelivery>();
  const links = new Map<number, string>();
  const claims = new Map<string, { owner: string; until: number }>();
  let seq = 1;
  const claimKey = (kind: ClaimKind, key: string) => `${kind}\u0000${key}`;
  const live = (kind: ClaimKind, key: string, now: number) => {
    const c = claims.get(claimKey(kind, key));
    return c !== undefined && c.until > now;
  };
  const shared: SharedStore = {
    claim(kind, key, owner, lease) {
      const c = claims.get(claimKey(kind, key));
      if (c && c.owner !== owner && c.until > lease.now) return Promise.resolve(false);
      claims.set(claimKey(kind, key), { owner, until: lease.now + lease.ms });
      return Promise.resolve(true);
    },
    release(kind, key, owner) {
      if (claims.get(claimKey(kind, key))?.owner === owner) claims.delete(claimKey(kind, key));
      return Promise.resolve();
    },
    jobsOf: (id) => Promise.resolve([...jobs.values()].filter((j) => j.conversationId === id).map((j) => ({ ...j }))),
    deliveriesOf: (id) => Promise.resolve([...deliveries.values()].filter((d) => d.conversationId === id).map((d) => ({ ...d }))),
    startJob(s) {
      const j = jobs.get(s);
      if (j) j.started = true;
      return Promise.resolve();
    },
    unclaimed(now, limit) {
      const jobIds = [...new Set([...jobs.values()].map((j) => j.conversationId))].filter((id) => !live('jobs', id, now));
      const outIds = [...new Set([...deliveries.values()].filter((d) => d.nextAt <= now).map((d) => d.conversationId))].filter(
        (id) => !live('outbox', id, now),
      );
      const timers: Unclaimed['timers'] = [];
      for (const [conversationId, r] of rows) {
        for (const [kind, at] of Object.entries(r.timers) as Array<[TimerKind, number]>) {
          if (at <= now && !live('timer', timerClaimKey(conversationId, kind, at), now)) timers.push({ conversationId, kind, at });
        }
      }
      return Promise.resolve({ jobs: jobIds.slice(0, limit), deliveries: outIds.slice(0, limit), timers: timers.slice(0, limit) });
    },
  };

  return {
    ...(options.shared ? shared : {}),
    get size() {
      return rows.size;
    },
    load: (id) => Promise.resolve(copy(rows.get(id))),
    peek: (id) => copy(rows.get(id)),
    commit(c) {
      const row = rows.get(c.conversationId);
      if ((row?.version ?? 0) !== c.expectVersion) return Promise.reject(new CommitConflict(c.conversationId));
      const version = c.expectVersion + 1;
      if (c.state) rows.set(c.conversationId, { state: c.state, version, timers: { ...c.timers }, at: c.at });
      else rows.delete(c.conversationId);
      if (c.doneJob !== undefined) jobs.delete(c.doneJob);
      if (c.updateJob && jobs.has(c.updateJob.seq)) jobs.set(c.updateJob.seq, { ...jobs.get(c.updateJob.seq)!, op: c.updateJob.op });
      const added = c.jobs.map((op) => ({ seq: seq++, conversationId: c.conversationId, op }));
      for (const j of added) jobs.set(j.seq, j);
      const queued = c.deliveries.map((d) => ({ ...d, seq: seq++, attempts: 0, nextAt: 0 }));
      for (const d of queued) deliveries.set(d.seq, d);
      if (c.linkTicket !== undefined) links.set(c.linkTicket, c.conversationId);
      return Promise.resolve({ version, jobs: added, deliveries: queued.map((d) => ({ ...d })) });
    },
    conversationForTicket: (ticketId) => Promise.resolve(links.get(ticketId)),
    recover() {
      const timers = [...rows]
        .filter(([, r]) => Object.keys(r.timers).length > 0)
        .map(([conversationId, r]) => ({ conversationId, timers: { ...r.timers } }));
      return Promise.resolve({ timers, jobs: [...jobs.values()], deliveries: [...deliveries.values()].map((d) => ({ ...d })) });
    },
    delivered(s) {
      deliveries.delete(s);
      return Promise.resolve();
    },
    deferDelivery(s, attempts, nextAt) {
      const d = deliveries.get(s);
      if (d) Object.assign(d, { attempts, nextAt });
      return Promise.resolve();
    },
    forget(before) {
      let n = 0;
      const busy = new Set([...jobs.values()].map((j) => j.conversationId).concat([...deliveries.values()].map((d) => d.conversationId)));
      for (const [id, r] of rows) {
        if (r.state.mode === 'BOT' && r.at < before && Object.keys(r.timers).length === 0 && !busy.has(id)) {
          rows.delete(id);
          n++;
        }
      }
      for (const [ticket, id] of links) if (!rows.has(id)) links.delete(ticket);
      return Promise.resolve(n);
    },
    healthy: () => Promise.resolve(true),
    close: () => Promise.resolve(),
  };
}

function copy(row: MemoryRow | undefined): StoredConversation | undefined {
  return row && { state: row.state, version: row.version, timers: { ...row.timers } };
}
