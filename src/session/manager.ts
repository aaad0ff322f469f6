// Keeps the conversations, feeds the pure machine and carries out its decisions. Each input is
// applied one at a time per conversation and committed to the store (state, timers, the Gorgias
// calls it queued, what it has for the user and the bot) before anyone is answered; then:
//   - timers per conversation (expiry, timed catch-up, reorder window), re-armed from the store after a restart;
//   - a FIFO queue of Gorgias calls per conversation, with bounded retries that never post twice;
//   - an outbox per conversation: deliveries to the user and the bot, in order, at least once.
import { randomUUID } from 'node:crypto';
import { realClock, type Clock, type Timer } from '../clock.js';
import {
  DEFAULT_CATCH_UP_MS,
  DEFAULT_HISTORY_SIZE,
  initialState,
  isOpen,
  noteExternalIdFor,
  step,
  ticketOf,
  type CatchUpReason,
  type ConversationState,
  type HelpdeskOp,
  type MachineConfig,
  type MachineInput,
  type StepResult,
  type TimerKind,
} from './machine.js';
import { DEFAULT_TIMEOUT_MS, SESSION_END } from '../protocol.js';
import { catchUpBatcher, catchUpPriority } from './catch-up.js';
import { DEFAULT_RETRY, isRateLimited, isRetryableError, type RetryPolicy } from './retry.js';
import {
  CommitConflict,
  isShared,
  memoryStore,
  timerClaimKey,
  type Delivery,
  type Job,
  type QueuedDelivery,
  type SessionStore,
  type StoredConversation,
  type Timers,
} from './store.js';
import type { AgentWebhook, BotInput, CallPriority, EndReason, HelpdeskMessage, Turn, UserMeta, UserOutput, WebhookOutcome } from './types.js';

export type { AgentWebhook, BotInput, Turn, UserMeta, UserOutput, WebhookOutcome } from './types.js';
export { backoffPolicy, DEFAULT_RETRY, isRetryableError, NO_RETRY, type BackoffOptions, type RetryPolicy } from './retry.js';
export { DEFAULT_CATCH_UP_MS } from './machine.js';
export type { Delivery, QueuedDelivery, SessionStore } from './store.js';

/**
 * Gorgias, narrowed to what the engine needs. `retry` is true when an earlier try of the same
 * call may have taken effect (it timed out, or the process died while it was in flight): the call
 * must then look for what that try created before it creates anything, so nothing is made twice.
 */
export interface HelpdeskPort {
  /** Opens the conversation's ticket, or (on a retry) reuses the one an earlier try opened. */
  openTicket(input: {
    conversationId: string;
    user: UserMeta;
    text: string;
    history: Turn[];
    retry?: boolean;
  }): Promise<{ ticketId: number; messageId?: number }>;
  /** `externalId` is unique per user message and stored on it; on a retry the message is looked for by it first. */
  postUserMessage(input: {
    ticketId: number;
    conversationId: string;
    user: UserMeta;
    text: string;
    externalId: string;
    retry?: boolean;
  }): Promise<{ messageId: number; /** An earlier try had stored it after all. */ found?: boolean }>;
  /** Tell the agent (an internal note whose external_id is `noteExternalId`, posted once) and close the ticket. */
  endSession(input: { ticketId: number; conversationId: string; reason: EndReason; noteExternalId: string; retry?: boolean }): Promise<void>;
  /**
   * Agent and user messages after `afterMessageId`, oldest first (catch-up of dropped webhooks).
   * `priority`: where the listing waits when the key's call budget is short (default background).
   */
  listMessagesSince?(ticketId: number, afterMessageId: number | undefined, how?: { priority?: CallPriority }): Promise<HelpdeskMessage[]>;
  /**
   * [guess] The messages of every ticket above `afterMessageId`, oldest first, each with its
   * `ticketId`: one listing catches up many sessions. At most `maxCalls` calls (of up to 100
   * messages each); `complete` is false when it stopped before reaching `afterMessageId`.
   * Undefined when Gorgias refuses such a listing: then each ticket is listed on its own.
   */
  listRecentMessages?(afterMessageId: number, how?: { maxCalls?: number }): Promise<{ messages: HelpdeskMessage[]; complete: boolean } | undefined>;
  /** Resolves when a call at `priority` would go at once (the key's call budget has room for it). */
  ready?(priority: CallPriority): Promise<void>;
  /** One message as Gorgias stores it: its exact text and its channel (is it an internal note?). */
  getMessage?(ticketId: number, messageId: number): Promise<HelpdeskMessage | undefined>;
}

export type HelpdeskCall = 'openTicket' | 'postUserMessage' | 'endSession' | 'listMessagesSince' | 'getMessage';

/** One bridge -> Gorgias call, for the simulator's timeline. */
export interface TraceEntry {
  conversationId: string;
  call: HelpdeskCall;
  phase: 'request' | 'response' | 'retry' | 'error';
  ticketId?: number;
  text?: string;
  detail: string;
}

export interface ReportEntry {
  conversationId?: string;
  kind: string;
  detail: string;
}

export interface BridgeSinks {
  toUser?(conversationId: string, out: UserOutput): void;
  toBot?(conversationId: string, input: BotInput): void;
  /** Ignored, duplicate, unknown, late webhooks; helpdesk errors; dropped calls. */
  report?(entry: ReportEntry): void;
  trace?(entry: TraceEntry): void;
}

/** Carries one delivery to the user or the bot. Resolves once it was taken; throws to be retried later. */
export type Deliver = (delivery: QueuedDelivery) => Promise<void> | void;

export interface SessionManagerOptions {
  clock?: Clock;
  helpdesk: HelpdeskPort;
  /** Where deliveries go when no `deliver` is given (`toUser`, `toBot`), and reports and traces. */
  sinks?: BridgeSinks;
  /** Where state lives. Default: in memory (lost with the process). */
  store?: SessionStore;
  /** How deliveries leave the outbox (e.g. an HTTP POST). Default: the `toUser` and `toBot` sinks. */
  deliver?: Deliver;
  /**
   * The caller hands the user's words to its bot itself while no session is open (`livechat
   * serve`): those come back as `routed: 'bot'` and are not delivered. Lifecycle events for the bot
   * (END, EXPIRED, FAILED) are still delivered.
   */
  botRoutedToCaller?: boolean;
  timeoutMs?: number;
  historySize?: number;
  /** Bounded retries of failed helpdesk calls. Default `DEFAULT_RETRY`: 5 tries, 1-2-4-8 s apart. */
  retry?: RetryPolicy;
  /**
   * The clock the retry back-off waits on; default `clock`. A simulator that fast-forwards a
   * FakeClock and awaits `idle()` passes `realClock` (with small delays) so retries never wait on
   * a clock that stands still.
   */
  retryClock?: Clock;
  /**
   * One catch-up of dropped agent webhooks this long after the last message either way (re-armed
   * by the next message, never repeated on a silent session). Default 60 s; `false`: no timer.
   */
  catchUpMs?: number | false;
  /** The back-off between timed catch-ups stops growing here. Default 5 minutes. */
  catchUpMaxMs?: number;
  /** Catch up after each user message posted during a session. Default true. */
  catchUpOnUserMessage?: boolean;
  /**
   * ...except when a webhook of the ticket (an agent message, or the user's own echoed back)
   * arrived less than this long before: webhooks are coming. Default: `catchUpMs`; 0: always.
   */
  catchUpTrustWebhooksMs?: number;
  /** Catch up right before a session expires; a message found then is shown and the session goes on. Default true. */
  catchUpBeforeExpiry?: boolean;
  /** Catch up every open session when the manager starts (after a restart). Default true. */
  catchUpOnStart?: boolean;
  /**
   * Hold each agent webhook this long and show what arrived meanwhile in message-id order, so
   * webhooks reordered within the window reach the user in send order. Default 0: on arrival.
   */
  reorderWindowMs?: number;
  /** Failed deliveries are retried after 1, 2, 4... s, at most this far apart. Default 5 minutes. */
  deliveryRetryMaxMs?: number;
  /** Conversations kept in memory at most (the store holds the rest). Default 10,000. */
  cacheSize?: number;
  /** Forget conversations with no session and no activity for this long; checked hourly. Default: never. */
  retentionMs?: number;
  /** Delivery ids. Default: random UUIDs. */
  newId?: () => string;
  /** This process's name in a shared store's claims. Default: a random UUID. */
  instance?: string;
  /** Shared stores: how often to look for work no live claim covers (a process that died, a due timer). Default 1 s. */
  pollMs?: number;
  /** Shared stores: a claim lapses this long after it was last renewed. Default 30 s. */
  leaseMs?: number;
}

export type Routed = 'bot' | 'livechat';

export interface Submitted {
  /** `bot`: the caller gives the input to its bot as usual; `livechat`: the bridge took it. */
  routed: Routed;
  mode: 'BOT' | 'LIVECHAT';
  /** For agent webhooks. */
  outcome?: WebhookOutcome;
}

/** What a channel can hand the bridge. */
export type ChannelInput =
  { kind: 'userText'; text: string; user?: UserMeta } | { kind: 'userPayload'; payload: string; user?: UserMeta } | { kind: 'botText'; text: string };

export interface ManagerStats {
  cached: number;
  timers: number;
  jobs: number;
  deliveries: number;
}

export interface SessionManager {
  /** Resume after a restart: re-arm stored timers, resume queued calls and deliveries, catch up open sessions. */
  start(): Promise<void>;
  /** Record one channel input; resolves once it is committed (its Gorgias calls and deliveries follow). */
  submit(conversationId: string, input: ChannelInput): Promise<Submitted>;
  /** Like `submit`, and also waits for the Gorgias calls it queued. */
  userMessage(conversationId: string, text: string, user?: UserMeta): Promise<Submitted>;
  userPayload(conversationId: string, payload: string, user?: UserMeta): Promise<Submitted>;
  /** Record what the bot said, for the hand-off history. */
  botSaid(conversationId: string, text: string): Promise<void>;
  /** Resolves once the event is committed; it makes no helpdesk call (unless it must read the message back, after). */
  agentWebhook(event: AgentWebhook): Promise<WebhookOutcome>;
  /** List the open ticket's messages since the last one accounted for, and deliver what was missed. */
  catchUp(conversationId: string): Promise<void>;
  /** The stored state. */
  read(conversationId: string): Promise<ConversationState | undefined>;
  /** From memory only (tests, the simulator): the state if it is cached or the store can tell at once. */
  state(conversationId: string): 'BOT' | 'LIVECHAT';
  conversation(conversationId: string): ConversationState | undefined;
  /** The stored timers of a conversation, from memory (tests, GET /v1/conversations). */
  timersOf(conversationId: string): Timers | undefined;
  stats(): ManagerStats;
  /** Resolves when nothing is being applied, called or delivered (deliveries waiting to retry excepted). */
  idle(): Promise<void>;
  /** Cancel every timer and stop; later timer callbacks and retries do nothing. */
  close(): void;
}

const DEFAULT_CACHE_SIZE = 10_000;
const DEFAULT_DELIVERY_RETRY_MAX_MS = 5 * 60_000;
const SWEEP_EVERY_MS = 60 * 60_000;
const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_POLL_MS = 1000;
const POLL_BATCH = 200;
/** A commit that keeps losing to other writers gives up after this many tries. */
const MAX_CONFLICTS = 8;
/** After a store error, a timer input is tried again this much later. */
const STORE_RETRY_MS = 1000;

type CatchUpOp = Extract<HelpdeskOp, { kind: 'catchUp' }>;

interface JobQueue {
  jobs: Job[];
  running: boolean;
  /** Jobs found in the store at start: an earlier process may have made their call already. */
  recovered: Set<number>;
}

interface Outbox {
  items: QueuedDelivery[];
  running: boolean;
  timer?: Timer;
}

interface ApplyOptions {
  create?: boolean;
  now?: number;
  doneJob?: number;
  /** The timer that fired (cleared unless the machine arms it again). */
  fired?: { kind: TimerKind; at: number };
}

interface Applied {
  result: StepResult;
  routed: Routed;
  jobs: Job[];
}

export function createSessionManager(options: SessionManagerOptions): SessionManager {
  const clock = options.clock ?? realClock;
  const retryClock = options.retryClock ?? clock;
  const { helpdesk } = options;
  const sinks = options.sinks ?? {};
  const store = options.store ?? memoryStore();
  const retry = options.retry ?? DEFAULT_RETRY;
  const newId = options.newId ?? randomUUID;
  const cacheSize = Math.max(1, options.cacheSize ?? DEFAULT_CACHE_SIZE);
  const deliveryRetryMaxMs = options.deliveryRetryMaxMs ?? DEFAULT_DELIVERY_RETRY_MAX_MS;
  // Shared mode (several processes on one store): each conversation's calls and deliveries, and
  // each due timer, are claimed by one process at a time; the store, not memory, says what is left.
  const shared = isShared(store) ? store : undefined;
  const owner = options.instance ?? randomUUID();
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const lease = () => ({ now: clock.now(), ms: leaseMs });
  const config: MachineConfig = {
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    historySize: options.historySize ?? DEFAULT_HISTORY_SIZE,
    reorderWindowMs: Math.max(0, options.reorderWindowMs ?? 0),
    readMessages: helpdesk.getMessage !== undefined,
    catchUp: helpdesk.listMessagesSince
      ? {
          afterMs: options.catchUpMs === undefined ? DEFAULT_CATCH_UP_MS : options.catchUpMs,
          maxEveryMs: options.catchUpMaxMs,
          onUserMessage: options.catchUpOnUserMessage ?? true,
          trustWebhooksMs: options.catchUpTrustWebhooksMs,
          beforeExpiry: options.catchUpBeforeExpiry ?? true,
        }
      : undefined,
  };
  const deliver: Deliver =
    options.deliver ??
    ((d) => {
      if (d.user) safely(() => sinks.toUser?.(d.conversationId, d.user!), d.conversationId);
      if (d.bot) safely(() => sinks.toBot?.(d.conversationId, d.bot!), d.conversationId);
    });

  /** Recently used conversations, oldest first (a Map keeps insertion order). */
  const cache = new Map<string, StoredConversation>();
  /** `${conversation}\u0000${kind}` -> armed timer. */
  const timers = new Map<string, Timer>();
  /** Per conversation: the tail of the inputs being applied, one at a time. */
  const mailboxes = new Map<string, Promise<unknown>>();
  const jobQueues = new Map<string, JobQueue>();
  const jobWaiters = new Map<number, Array<() => void>>();
  const outboxes = new Map<string, Outbox>();
  // Background catch-ups asked together share one account-wide listing where the helpdesk has one.
  const catchUps = catchUpBatcher({ port: helpdesk, now: () => clock.now(), defer: (fn) => void setImmediate(fn) });
  let busy = 0;
  let idleWaiters: Array<() => void> = [];
  let closed = false;
  let sweepTimer: Timer | undefined;
  let pollTimer: Timer | undefined;

  const report = (entry: ReportEntry) => safely(() => sinks.report?.(entry));
  const trace = (entry: TraceEntry) => safely(() => sinks.trace?.(entry));

  function safely(fn: () => void, conversationId?: string): void {
    try {
      fn();
    } catch (err) {
      try {
        sinks.report?.({ conversationId, kind: 'error', detail: `a sink threw: ${messageOf(err)}` });
      } catch {
        // a reporting sink that throws has nobody left to tell
      }
    }
  }

  /** Counts work in progress, for `idle()`. */
  function track<T>(work: Promise<T>): Promise<T> {
    busy++;
    return work.finally(() => {
      if (--busy > 0) return;
      const waiting = idleWaiters;
      idleWaiters = [];
      for (const w of waiting) w();
    });
  }

  /** Run `fn` after every earlier input of this conversation. */
  function serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = mailboxes.get(id) ?? Promise.resolve();
    const next = previous.then(fn);
    const tail = next.catch(() => undefined);
    mailboxes.set(id, tail);
    void tail.then(() => {
      if (mailboxes.get(id) === tail) mailboxes.delete(id);
    });
    return track(next);
  }

  function remember(id: string, row: StoredConversation | undefined): void {
    cache.delete(id);
    if (!row) return;
    cache.set(id, row);
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
  }

  async function load(id: string): Promise<StoredConversation | undefined> {
    // Other processes write to a shared store: what this one remembers may be old.
    const hit = shared ? undefined : cache.get(id);
    if (hit) {
      remember(id, hit);
      return hit;
    }
    const row = await store.load(id);
    remember(id, row);
    return row;
  }

  function peek(id: string): StoredConversation | undefined {
    return cache.get(id) ?? store.peek?.(id);
  }

  /** Whether a toBot decision is the caller's to pass to its bot (serve), rather than a delivery. */
  const passesThrough = (input: BotInput) => input.kind === 'message' || (input.kind === 'payload' && input.payload !== SESSION_END);

  /** One input through the machine, committed with everything it decided; then timers, calls and deliveries go. */
  async function apply(id: string, input: MachineInput | undefined, opts: ApplyOptions): Promise<Applied> {
    for (let tries = 1; ; tries++) {
      const before = await load(id);
      const base = before?.state ?? (opts.create ? initialState(id) : undefined);
      const now = opts.now ?? clock.now();
      const result: StepResult = input ? step(base, input, now, config) : { state: base, decisions: [] };
      // What is queued and not started yet: in a shared store, only the store knows.
      const pending =
        shared && result.decisions.some((d) => d.type === 'helpdesk' && d.op.kind === 'catchUp')
          ? (await shared.jobsOf(id)).filter((j) => !j.started)
          : undefined;
      const oldTimers: Timers = { ...before?.timers };
      const timersNow: Timers = { ...oldTimers };
      if (opts.fired && timersNow[opts.fired.kind] === opts.fired.at) delete timersNow[opts.fired.kind];
      const ops: HelpdeskOp[] = [];
      const deliveries: Delivery[] = [];
      let routed: Routed = 'livechat';
      let updateJob: { seq: number; op: HelpdeskOp } | undefined;
      for (const d of result.decisions) {
        switch (d.type) {
          case 'toUser':
            deliveries.push({ id: newId(), conversationId: id, createdAt: now, user: d.out });
            break;
          case 'toBot':
            if (passesThrough(d.input)) routed = 'bot';
            if (!options.botRoutedToCaller || !passesThrough(d.input))
              deliveries.push({ id: newId(), conversationId: id, createdAt: now, bot: d.input });
            break;
          case 'armTimer':
            timersNow[d.timer ?? 'expiry'] = d.at;
            break;
          case 'cancelTimer':
            for (const k of Object.keys(timersNow) as TimerKind[]) delete timersNow[k];
            break;
          case 'helpdesk': {
            const op = d.op;
            if (op.kind === 'catchUp') {
              // One listing covers every request made before it starts; an expiry check must get its answer.
              const inCommit = ops.find((o): o is CatchUpOp => o.kind === 'catchUp' && o.gen === op.gen);
              if (inCommit) {
                if (op.reason === 'expiry') inCommit.reason = 'expiry';
                break;
              }
              const queued = queuedCatchUp(id, op.gen, pending);
              if (queued?.op.kind === 'catchUp') {
                if (op.reason === 'expiry' && queued.op.reason !== 'expiry') updateJob = { seq: queued.seq, op: { ...queued.op, reason: 'expiry' } };
                break;
              }
            }
            ops.push({ ...op });
            break;
          }
          case 'report':
            break;
        }
      }
      const ticketOpened = input?.kind === 'ticketOpened' ? input.ticketId : undefined;
      const changed =
        (result.state !== base && result.state !== undefined) ||
        !sameTimers(oldTimers, timersNow) ||
        ops.length > 0 ||
        deliveries.length > 0 ||
        opts.doneJob !== undefined ||
        updateJob !== undefined;
      if (!changed || !result.state) {
        reportAll(id, result);
        return { result, routed, jobs: [] };
      }
      let committed;
      try {
        committed = await store.commit({
          conversationId: id,
          expectVersion: before?.version ?? 0,
          state: result.state,
          timers: timersNow,
          at: now,
          jobs: ops,
          doneJob: opts.doneJob,
          updateJob,
          deliveries,
          linkTicket: ticketOpened,
        });
      } catch (err) {
        if (err instanceof CommitConflict && tries < MAX_CONFLICTS) {
          cache.delete(id);
          continue;
        }
        throw err;
      }
      remember(id, { state: result.state, version: committed.version, timers: timersNow });
      if (updateJob) {
        const job = jobQueues.get(id)?.jobs.find((j) => j.seq === updateJob.seq);
        if (job) job.op = updateJob.op;
      }
      reportAll(id, result);
      rearm(id, oldTimers, timersNow, opts.fired);
      if (committed.jobs.length) queueJobs(id, committed.jobs, false);
      if (committed.deliveries.length) queueDeliveries(committed.deliveries);
      return { result, routed, jobs: committed.jobs };
    }
  }

  /** A catch-up of session `gen` queued and not started yet. */
  function queuedCatchUp(id: string, gen: number, pending?: Job[]): Job | undefined {
    const isIt = (j: Job) => j.op.kind === 'catchUp' && j.op.gen === gen;
    if (pending) return pending.find(isIt);
    const q = jobQueues.get(id);
    if (!q) return undefined;
    return q.jobs.find((j, i) => (i > 0 || !q.running) && isIt(j));
  }

  function reportAll(id: string, result: StepResult): void {
    for (const d of result.decisions) if (d.type === 'report') report({ conversationId: id, kind: d.kind, detail: d.detail });
  }

  // ---- timers ---------------------------------------------------------------------------------

  function rearm(id: string, before: Timers, after: Timers, fired?: ApplyOptions['fired']): void {
    for (const kind of TIMER_KINDS) {
      const was = fired?.kind === kind ? undefined : before[kind];
      if (after[kind] === was && (after[kind] === undefined || timers.has(timerKey(id, kind)))) continue;
      arm(id, kind, after[kind]);
    }
  }

  function arm(id: string, kind: TimerKind, at: number | undefined): void {
    const key = timerKey(id, kind);
    timers.get(key)?.cancel();
    timers.delete(key);
    if (at === undefined || closed) return;
    timers.set(
      key,
      clock.setTimer(at - clock.now(), () => {
        timers.delete(key);
        if (!closed) fire(id, kind, at);
      }),
    );
  }

  function fire(id: string, kind: TimerKind, at: number): void {
    const input: MachineInput = kind === 'expiry' ? { kind: 'expire' } : kind === 'catchUp' ? { kind: 'catchUpDue' } : { kind: 'release' };
    // The timer's own instant is "now": a timer that fires late gives the result a punctual one would.
    const run = async () => {
      if (shared && !(await shared.claim('timer', timerClaimKey(id, kind, at), owner, lease()))) return; // another process has it
      await serial(id, () => apply(id, input, { now: at, fired: { kind, at } }));
    };
    run().catch((err) => {
      report({ conversationId: id, kind: 'error', detail: `${kind} timer: ${messageOf(err)}; trying again` });
      if (!closed)
        timers.set(
          timerKey(id, kind),
          clock.setTimer(STORE_RETRY_MS, () => fire(id, kind, at)),
        );
    });
  }

  // ---- Gorgias calls --------------------------------------------------------------------------

  function queueJobs(id: string, jobs: Job[], recovered: boolean): void {
    let q = jobQueues.get(id);
    if (!q) jobQueues.set(id, (q = { jobs: [], running: false, recovered: new Set() }));
    for (const j of jobs) {
      q.jobs.push(j);
      if (recovered) q.recovered.add(j.seq);
    }
    if (!q.running) void track(runJobs(id, q));
  }

  async function runJobs(id: string, q: JobQueue): Promise<void> {
    q.running = true;
    try {
      for (;;) {
        if (shared) {
          // The store says what is left, jobs other processes committed included; one process runs them.
          if (!(await shared.claim('jobs', id, owner, lease()))) return;
          q.jobs = await shared.jobsOf(id);
        }
        await runClaimedJobs(id, q);
        if (closed) return;
        // A job queued while the last one was being recorded: go on (nothing else runs this queue).
        if (!shared) {
          if (q.jobs.length) continue;
          return;
        }
        await shared.release('jobs', id, owner);
        // A job committed by another process while we held the claim: its own attempt to run it failed.
        if (!(await shared.jobsOf(id)).length) return;
      }
    } catch (err) {
      // The shared store failed (Redis out of reach): the calls stay queued there, and the poll takes them up again.
      report({ conversationId: id, kind: 'error', detail: `Gorgias calls: ${messageOf(err)}; trying again` });
    } finally {
      q.running = false;
      if (!q.jobs.length && jobQueues.get(id) === q) jobQueues.delete(id);
    }
  }

  async function runClaimedJobs(id: string, q: JobQueue): Promise<void> {
    {
      while (q.jobs.length && !closed) {
        const job = q.jobs[0];
        if (shared) await shared.startJob(job.seq);
        const resultInput = await execute(id, job, q.recovered.has(job.seq) || job.started === true);
        for (let n = 1; !closed; n++) {
          try {
            await serial(id, () => apply(id, resultInput, { doneJob: job.seq }));
            break;
          } catch (err) {
            report({ conversationId: id, kind: 'error', detail: `could not record the result of ${job.op.kind}: ${messageOf(err)}` });
            await retryClock.sleep(Math.min(30_000, STORE_RETRY_MS * 2 ** (n - 1)));
          }
        }
        q.jobs.shift();
        q.recovered.delete(job.seq);
        for (const w of jobWaiters.get(job.seq) ?? []) w();
        jobWaiters.delete(job.seq);
        if (shared) {
          if (!(await shared.claim('jobs', id, owner, lease()))) return; // lapsed: another process took over
          q.jobs = await shared.jobsOf(id);
        }
      }
    }
  }

  function jobDone(id: string, seq: number): Promise<void> {
    if (!jobQueues.get(id)?.jobs.some((j) => j.seq === seq)) return Promise.resolve();
    return new Promise((resolve) => jobWaiters.set(seq, [...(jobWaiters.get(seq) ?? []), resolve]));
  }

  /** `fn` with bounded retries; `retry` tells it that an earlier try may have taken effect. */
  async function attempt<T>(
    id: string,
    call: HelpdeskCall,
    ticketId: number | undefined,
    first: boolean,
    fn: (retry: boolean) => Promise<T>,
  ): Promise<T> {
    let started = retryClock.now();
    for (let n = 1; ; n++) {
      try {
        return await fn(!first || n > 1);
      } catch (err) {
        if (isRateLimited(err) && !closed) {
          // Gorgias is up and asks us to wait (the call budget waits with us): not a failed try, and
          // the wait does not use up the time the retries have.
          const wait = retryAfterOf(err);
          trace({ conversationId: id, call, phase: 'retry', ticketId, detail: `${messageOf(err)}; waiting ${wait} ms, not counted as a try` });
          const before = retryClock.now();
          await retryClock.sleep(wait);
          started += retryClock.now() - before;
          n--;
          continue;
        }
        const late = retry.maxElapsedMs !== undefined && retryClock.now() - started + retry.delayMs(n) > retry.maxElapsedMs;
        const again = n < retry.attempts && !closed && !late && (retry.retryable ?? isRetryableError)(err);
        trace({ conversationId: id, call, phase: again ? 'retry' : 'error', ticketId, detail: messageOf(err) });
        if (!again) throw err;
        await retryClock.sleep(retry.delayMs(n));
      }
    }
  }

  /** Make one queued call; returns what the machine must hear of it. */
  async function execute(id: string, job: Job, recovered: boolean): Promise<MachineInput | undefined> {
    const op = job.op;
    const state = (await load(id))?.state;
    const ticketId = ticketOf(state, op.gen);
    const first = !recovered;
    const failed = (err: unknown): MachineInput => ({ kind: 'helpdeskFailed', gen: op.gen, op: op.kind, error: messageOf(err) });
    switch (op.kind) {
      case 'open': {
        if (!isOpen(state, op.gen)) {
          report({ conversationId: id, kind: 'dropped', detail: 'the session ended before its ticket was opened: no ticket opened' });
          return undefined;
        }
        trace({ conversationId: id, call: 'openTicket', phase: 'request', text: op.text, detail: `open ticket (external_id ${id})` });
        try {
          const res = await attempt(id, 'openTicket', undefined, first, (retry) =>
            helpdesk.openTicket({ conversationId: id, user: op.user, text: op.text, history: op.history, retry }),
          );
          trace({ conversationId: id, call: 'openTicket', phase: 'response', ticketId: res.ticketId, detail: `ticket ${res.ticketId}` });
          return { kind: 'ticketOpened', gen: op.gen, ticketId: res.ticketId, messageId: res.messageId };
        } catch (err) {
          return failed(err);
        }
      }
      case 'post': {
        // Posted even if the user ended the session meanwhile: it was written while it was open.
        if (ticketId === undefined) {
          report({ conversationId: id, kind: 'dropped', detail: 'no ticket for this session: user message not posted' });
          return undefined;
        }
        // After a failed session the user was told and is back with the bot: what they typed for the
        // agent meanwhile is not posted to a session that no longer exists.
        if (state?.last?.gen === op.gen && state.last.endedBy === 'failed') {
          report({ conversationId: id, kind: 'dropped', detail: `the session failed: user message not posted (${op.externalId})` });
          return undefined;
        }
        trace({ conversationId: id, call: 'postUserMessage', phase: 'request', ticketId, text: op.text, detail: `post to ticket ${ticketId}` });
        const input = { ticketId, conversationId: id, user: op.user, text: op.text, externalId: op.externalId };
        try {
          const res = await attempt(id, 'postUserMessage', ticketId, first, (retry) => helpdesk.postUserMessage({ ...input, retry }));
          const detail = res.found ? `${op.externalId} was stored after all: message ${res.messageId}, not posted again` : `message ${res.messageId}`;
          trace({ conversationId: id, call: 'postUserMessage', phase: 'response', ticketId, detail });
          return undefined;
        } catch (err) {
          return failed(err);
        }
      }
      case 'end': {
        if (ticketId === undefined) {
          report({ conversationId: id, kind: 'dropped', detail: `session ${op.reason} before any ticket existed: nothing to close` });
          return undefined;
        }
        trace({ conversationId: id, call: 'endSession', phase: 'request', ticketId, detail: `note (${op.reason}) and close ticket ${ticketId}` });
        try {
          const noteExternalId = noteExternalIdFor(id, op.gen, op.reason);
          await attempt(id, 'endSession', ticketId, first, (retry) =>
            helpdesk.endSession({ ticketId, conversationId: id, reason: op.reason, noteExternalId, retry }),
          );
          trace({ conversationId: id, call: 'endSession', phase: 'response', ticketId, detail: `ticket ${ticketId} closed` });
          return undefined;
        } catch (err) {
          return failed(err);
        }
      }
      case 'read': {
        const tid = op.ticketId ?? ticketId;
        const read = (result: { message?: HelpdeskMessage; error?: string }): MachineInput => ({
          kind: 'messageRead',
          gen: op.gen,
          messageId: op.messageId,
          ...result,
        });
        if (!helpdesk.getMessage || tid === undefined) return read({ error: 'no ticket to read it from' });
        trace({ conversationId: id, call: 'getMessage', phase: 'request', ticketId: tid, detail: `read message ${op.messageId} back` });
        try {
          return read({ message: await attempt(id, 'getMessage', tid, true, () => helpdesk.getMessage!(tid, op.messageId)) });
        } catch (err) {
          return read({ error: messageOf(err) });
        }
      }
      case 'catchUp': {
        const reason: CatchUpReason = op.reason;
        if (!helpdesk.listMessagesSince || ticketId === undefined || !isOpen(state, op.gen)) return undefined;
        const after = state?.session?.caughtUpTo;
        trace({
          conversationId: id,
          call: 'listMessagesSince',
          phase: 'request',
          ticketId,
          detail: `catch-up (${reason}): messages after ${after ?? 'the start'}`,
        });
        try {
          const listed = await attempt(id, 'listMessagesSince', ticketId, true, () => catchUps.list(ticketId, after, catchUpPriority(reason)));
          const { messages, upTo } = listed;
          trace({ conversationId: id, call: 'listMessagesSince', phase: 'response', ticketId, detail: `${messages.length} message(s)` });
          return { kind: 'agentBacklog', gen: op.gen, messages, reason, upTo };
        } catch (err) {
          return { kind: 'catchUpFailed', gen: op.gen, reason, error: messageOf(err) };
        }
      }
    }
  }

  // ---- the outbox -----------------------------------------------------------------------------

  function queueDeliveries(list: QueuedDelivery[]): void {
    for (const d of list) {
      let box = outboxes.get(d.conversationId);
      if (!box) outboxes.set(d.conversationId, (box = { items: [], running: false }));
      box.items.push(d);
    }
    for (const id of new Set(list.map((d) => d.conversationId))) kick(id);
  }

  function kick(id: string): void {
    const box = outboxes.get(id);
    if (!box || box.running || box.timer || closed) return;
    void track(runOutbox(id, box));
  }

  /** Deliver in order; a failed delivery waits (backing off) and holds the ones after it. */
  async function runOutbox(id: string, box: Outbox): Promise<void> {
    box.running = true;
    try {
      if (shared) {
        if (!(await shared.claim('outbox', id, owner, lease()))) return;
        box.items = await shared.deliveriesOf(id);
      }
      while (box.items.length && !closed) {
        const d = box.items[0];
        const wait = d.nextAt - clock.now();
        if (wait > 0) {
          box.timer = clock.setTimer(wait, () => {
            box.timer = undefined;
            kick(id);
          });
          return;
        }
        try {
          await deliver(d);
        } catch (err) {
          d.attempts++;
          d.nextAt = clock.now() + Math.min(deliveryRetryMaxMs, 1000 * 2 ** (d.attempts - 1));
          report({ conversationId: id, kind: 'error', detail: `delivery ${d.id} failed (try ${d.attempts}): ${messageOf(err)}; retrying` });
          await store.deferDelivery(d.seq, d.attempts, d.nextAt);
          continue;
        }
        await store.delivered(d.seq);
        box.items.shift();
        if (shared) {
          if (!(await shared.claim('outbox', id, owner, lease()))) return;
          box.items = await shared.deliveriesOf(id);
        }
      }
      if (shared && !closed) await shared.release('outbox', id, owner);
    } catch (err) {
      // The store failed: the delivery stays queued and is tried again.
      report({ conversationId: id, kind: 'error', detail: `outbox: ${messageOf(err)}` });
      if (!closed && !box.timer) {
        box.timer = clock.setTimer(STORE_RETRY_MS, () => {
          box.timer = undefined;
          kick(id);
        });
      }
    } finally {
      box.running = false;
      if (!box.items.length && !box.timer && outboxes.get(id) === box) outboxes.delete(id);
    }
  }

  // ---- the API --------------------------------------------------------------------------------

  async function submit(id: string, input: ChannelInput): Promise<Submitted & { jobs: Job[] }> {
    const applied = await serial(id, () => apply(id, input, { create: true }));
    return { routed: applied.routed, mode: applied.result.state?.mode ?? 'BOT', jobs: applied.jobs };
  }

  async function submitAndWait(id: string, input: ChannelInput): Promise<Submitted> {
    const { jobs, ...submitted } = await submit(id, input);
    // In a shared store another process may make the calls: there is nothing here to wait for.
    if (!shared) await Promise.all(jobs.map((j) => jobDone(id, j.seq)));
    return submitted;
  }

  function sweep(): void {
    if (closed || options.retentionMs === undefined) return;
    const before = clock.now() - options.retentionMs;
    void track(
      store.forget(before).then(
        (n) => {
          if (n > 0) report({ kind: 'forgotten', detail: `${n} idle conversation(s) forgotten` });
          for (const [id, row] of cache) if (row.state.mode === 'BOT' && Object.keys(row.timers).length === 0) cache.delete(id);
        },
        (err) => report({ kind: 'error', detail: `forgetting idle conversations failed: ${messageOf(err)}` }),
      ),
    );
    sweepTimer = clock.setTimer(SWEEP_EVERY_MS, sweep);
  }

  /** Shared mode: take over work that no live claim covers (a process died, or a timer is due). */
  async function poll(): Promise<void> {
    if (!shared || closed) return;
    try {
      const work = await shared.unclaimed(clock.now(), POLL_BATCH);
      for (const id of work.jobs) {
        let q = jobQueues.get(id);
        if (!q) jobQueues.set(id, (q = { jobs: [], running: false, recovered: new Set() }));
        if (!q.running) void track(runJobs(id, q));
      }
      for (const id of work.deliveries) {
        if (!outboxes.has(id)) outboxes.set(id, { items: [], running: false });
        kick(id);
      }
      for (const t of work.timers) if (!timers.has(timerKey(t.conversationId, t.kind))) fire(t.conversationId, t.kind, t.at);
    } catch (err) {
      report({ kind: 'error', detail: `looking for unclaimed work failed: ${messageOf(err)}` });
    } finally {
      if (!closed) pollTimer = clock.setTimer(options.pollMs ?? DEFAULT_POLL_MS, () => void track(poll()));
    }
  }

  return {
    async start() {
      if (shared) {
        // Nothing to load: every process finds what is left, and what is due, in the store.
        await track(poll());
        if (options.retentionMs !== undefined) sweepTimer = clock.setTimer(SWEEP_EVERY_MS, sweep);
        return;
      }
      const recovery = await track(store.recover());
      for (const { conversationId, timers: t } of recovery.timers) {
        for (const kind of TIMER_KINDS) if (t[kind] !== undefined) arm(conversationId, kind, t[kind]);
      }
      const byConversation = new Map<string, Job[]>();
      for (const j of [...recovery.jobs].sort((a, b) => a.seq - b.seq))
        byConversation.set(j.conversationId, [...(byConversation.get(j.conversationId) ?? []), j]);
      for (const [id, jobs] of byConversation) queueJobs(id, jobs, true);
      queueDeliveries([...recovery.deliveries].sort((a, b) => a.seq - b.seq));
      // Agent messages written while the bridge was down reached nobody: look for them.
      if (options.catchUpOnStart !== false) {
        for (const { conversationId, timers: t } of recovery.timers) {
          if (t.expiry !== undefined)
            void serial(conversationId, () => apply(conversationId, { kind: 'catchUpRequested', reason: 'restart' }, {})).catch((err) =>
              report({ conversationId, kind: 'error', detail: `catch-up after restart: ${messageOf(err)}` }),
            );
        }
      }
      if (options.retentionMs !== undefined) sweepTimer = clock.setTimer(SWEEP_EVERY_MS, sweep);
    },
    submit: async (id, input) => {
      const { jobs: _jobs, ...submitted } = await submit(id, input);
      return submitted;
    },
    userMessage: (id, text, user) => submitAndWait(id, { kind: 'userText', text, user }),
    userPayload: (id, payload, user) => submitAndWait(id, { kind: 'userPayload', payload, user }),
    async botSaid(id, text) {
      await submit(id, { kind: 'botText', text });
    },
    async agentWebhook(event) {
      const id = event.conversationId || (event.ticketId !== undefined ? await store.conversationForTicket(event.ticketId) : undefined);
      if (!id) {
        const result = step(undefined, { kind: 'agentWebhook', event }, clock.now(), config);
        reportAll('', result);
        return result.outcome ?? 'unknown';
      }
      const applied = await serial(id, () => apply(id, { kind: 'agentWebhook', event }, {}));
      return applied.result.outcome ?? 'unknown';
    },
    async catchUp(id) {
      const applied = await serial(id, () => apply(id, { kind: 'catchUpRequested', reason: 'manual' }, {}));
      await Promise.all(applied.jobs.map((j) => jobDone(id, j.seq)));
    },
    read: async (id) => (await serial(id, () => load(id)))?.state,
    state: (id) => peek(id)?.state.mode ?? 'BOT',
    conversation: (id) => peek(id)?.state,
    timersOf: (id) => peek(id)?.timers,
    stats: () => ({
      cached: cache.size,
      timers: timers.size,
      jobs: [...jobQueues.values()].reduce((n, q) => n + q.jobs.length, 0),
      deliveries: [...outboxes.values()].reduce((n, b) => n + b.items.length, 0),
    }),
    idle() {
      if (busy === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    close() {
      closed = true;
      for (const t of timers.values()) t.cancel();
      timers.clear();
      sweepTimer?.cancel();
      pollTimer?.cancel();
      for (const box of outboxes.values()) box.timer?.cancel();
    },
  };
}

const TIMER_KINDS: readonly TimerKind[] = ['expiry', 'catchUp', 'release'];

function timerKey(conversationId: string, kind: TimerKind): string {
  return `${conversationId}\u0000${kind}`;
}

function sameTimers(a: Timers, b: Timers): boolean {
  return TIMER_KINDS.every((k) => a[k] === b[k]);
}

/** A 429's Retry-After (the Gorgias client sets `retryAfterMs`), else 1 s. */
function retryAfterOf(err: unknown): number {
  const ms = (err as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms : 1000;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
