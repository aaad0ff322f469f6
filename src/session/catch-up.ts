// Catch-ups of many sessions with one listing (issue 12). A catch-up lists a ticket's messages to
// find agent messages whose webhook was lost; every quiet session does a few, and they add up on a
// key that allows 40 calls per 20 s. Background catch-ups (timed, after a user message, after a
// restart) therefore go through here: one sweep at a time lists the whole account's recent
// messages (`listRecentMessages`, a [guess] about Gorgias) for every catch-up asked meanwhile.
// While a sweep waits for its turn in the call budget, more catch-ups gather behind it, so the
// busier the key, the more sessions one call serves. Sweeps are contiguous: the agent messages
// they listed are kept a while, so the next sweep only lists what is new since the last one.
// Catch-ups the user waits for (a sign-off), the expiry check and sessions the sweeps do not cover
// list their own ticket, as before; so does everything when Gorgias refuses the account listing.
import type { CatchUpReason } from './machine.js';
import { INTERNAL_NOTE_CHANNEL, type CallPriority, type HelpdeskMessage } from './types.js';

/**
 * Where a catch-up waits in the call budget. The user waits for a sign-off's; the expiry check
 * decides when a session ends; an operator's is asked by a person; the rest can wait, and share.
 */
export function catchUpPriority(reason: CatchUpReason): CallPriority {
  if (reason === 'signoff' || reason === 'manual') return 'interactive';
  if (reason === 'expiry') return 'housekeeping';
  return 'background';
}

/** What the port offers for catch-ups (see HelpdeskPort). */
export interface CatchUpPort {
  listMessagesSince?(ticketId: number, afterMessageId: number | undefined, how?: { priority?: CallPriority }): Promise<HelpdeskMessage[]>;
  listRecentMessages?(afterMessageId: number, how?: { maxCalls?: number }): Promise<{ messages: HelpdeskMessage[]; complete: boolean } | undefined>;
  ready?(priority: CallPriority): Promise<void>;
}

export interface CatchUpListing {
  /** The ticket's messages above the asked id, oldest first (agent messages only when a sweep served it). */
  messages: HelpdeskMessage[];
  /** Every message of the ticket up to this id is accounted for by the listing (a sweep's newest id). */
  upTo?: number;
}

export interface CatchUpBatcherOptions {
  port: CatchUpPort;
  now: () => number;
  /** Runs `fn` once the current turn of the event loop is over, so catch-ups asked together share a sweep. */
  defer?: (fn: () => void) => void;
  /** Messages per call of `listRecentMessages`. Default 100 ([sure] Gorgias pages hold 100). */
  perCall?: number;
  /** How long the agent messages of a sweep serve later ones. Default 10 minutes. */
  horizonMs?: number;
}

export interface CatchUpStats {
  /** Sweeps made, the calls they took, and the catch-ups they served. */
  sweeps: number;
  sweepCalls: number;
  served: number;
  /** Catch-ups that listed their own ticket. */
  perTicket: number;
  /** Gorgias refused the account listing: every catch-up lists its ticket. */
  refused: boolean;
}

export interface CatchUpBatcher {
  list(ticketId: number, afterMessageId: number | undefined, priority: CallPriority): Promise<CatchUpListing>;
  stats(): CatchUpStats;
}

interface Member {
  ticketId: number;
  after: number;
  resolve: (listing: CatchUpListing) => void;
  reject: (err: unknown) => void;
}

/** Ids (from, to] of every ticket are listed; the agent messages among them are in `byTicket`. */
interface Coverage {
  from: number;
  to: number;
  /** When the sweep that reached `to` started. */
  at: number;
  byTicket: Map<number, HelpdeskMessage[]>;
}

const DEFAULT_PER_CALL = 100;
const DEFAULT_HORIZON_MS = 10 * 60_000;
const visible = (m: HelpdeskMessage) => m.fromAgent && m.channel !== INTERNAL_NOTE_CHANNEL;

/**
 * Where a fresh sweep starts: the lowest `after` of the largest group of catch-ups whose listing
 * should cost fewer calls than listing each of their tickets. `afters` is sorted, highest first.
 */
export function sweepStart(afters: number[], top: number, perCall: number): { boundary: number; members: number } | undefined {
  let best: { boundary: number; members: number } | undefined;
  for (let k = 2; k <= afters.length; k++) {
    const calls = Math.max(1, Math.ceil((top - afters[k - 1]) / perCall));
    if (calls < k) best = { boundary: afters[k - 1], members: k };
  }
  return best;
}

export function catchUpBatcher(options: CatchUpBatcherOptions): CatchUpBatcher {
  const { port } = options;
  const perCall = options.perCall ?? DEFAULT_PER_CALL;
  const horizonMs = options.horizonMs ?? DEFAULT_HORIZON_MS;
  const defer = options.defer ?? ((fn) => void Promise.resolve().then(fn));
  const stats: CatchUpStats = { sweeps: 0, sweepCalls: 0, served: 0, perTicket: 0, refused: false };
  let waiting: Member[] = [];
  let sweeping = false;
  let scheduled = false;
  let coverage: Coverage | undefined;
  /** The highest message id any listing showed. */
  let top = 0;

  function perTicket(ticketId: number, after: number | undefined, priority: CallPriority): Promise<CatchUpListing> {
    stats.perTicket++;
    return port.listMessagesSince!(ticketId, after, { priority }).then((messages) => ({ messages }));
  }

  function kick(): void {
    if (sweeping || scheduled || !waiting.length) return;
    scheduled = true;
    defer(() => {
      scheduled = false;
      if (sweeping || !waiting.length) return;
      sweeping = true;
      void run().finally(() => {
        sweeping = false;
        kick();
      });
    });
  }

  /** Under pressure the sweep first waits for its turn in the call budget: catch-ups asked meanwhile join it. */
  async function run(): Promise<void> {
    try {
      await port.ready?.('background');
    } catch {
      // the budget closed: the listing fails below, and every member with it
    }
    const members = waiting;
    waiting = [];
    await sweep(members).catch((err: unknown) => {
      for (const m of members) m.reject(err);
    });
  }

  /** Keep a sweep's agent messages, drop those past the horizon (and the coverage below them). */
  function remember(c: Coverage, messages: HelpdeskMessage[], now: number): void {
    for (const m of messages) {
      if (!visible(m) || m.ticketId === undefined || m.id <= c.from) continue;
      const list = c.byTicket.get(m.ticketId) ?? [];
      if (!list.some((x) => x.id === m.id)) list.push(m);
      c.byTicket.set(m.ticketId, list);
    }
    for (const [ticketId, list] of c.byTicket) {
      const kept = list.filter((m) => m.createdAt >= now - horizonMs);
      for (const m of list) if (m.createdAt < now - horizonMs) c.from = Math.max(c.from, m.id);
      if (kept.length) c.byTicket.set(ticketId, kept);
      else c.byTicket.delete(ticketId);
    }
  }

  async function sweep(members: Member[]): Promise<void> {
    const now = options.now();
    const fresh = coverage && now - coverage.at < horizonMs ? coverage : undefined;
    const afters = members.map((m) => m.after).sort((a, b) => b - a);
    top = Math.max(top, afters[0]);
    // Extend the sweeps so far, or start anew where enough catch-ups share a listing.
    const covered = fresh ? members.filter((m) => m.after >= fresh.from).length : 0;
    const start = fresh && covered > 0 ? { boundary: fresh.to, members: covered } : sweepStart(afters, top, perCall);
    if (!start || stats.refused) {
      for (const m of members) perTicket(m.ticketId, m.after, 'background').then(m.resolve, m.reject);
      return;
    }
    let listing: Awaited<ReturnType<NonNullable<CatchUpPort['listRecentMessages']>>>;
    try {
      listing = await port.listRecentMessages!(start.boundary, { maxCalls: Math.max(2, start.members) });
    } catch (err) {
      for (const m of members) m.reject(err);
      return;
    }
    if (!listing || listing.messages.some((m) => m.ticketId === undefined)) {
      stats.refused = true;
      for (const m of members) perTicket(m.ticketId, m.after, 'background').then(m.resolve, m.reject);
      return;
    }
    const { messages, complete } = listing;
    stats.sweeps++;
    stats.sweepCalls += Math.max(1, Math.ceil(messages.length / perCall));
    const newest = messages.reduce((max, m) => Math.max(max, m.id), start.boundary);
    top = Math.max(top, newest);
    // Cut by its call cap, the listing covers only from its oldest message up.
    const from = complete ? start.boundary : messages[0].id - 1;
    coverage =
      fresh && start.boundary === fresh.to && complete
        ? { ...fresh, to: newest, at: now }
        : { from, to: newest, at: now, byTicket: new Map<number, HelpdeskMessage[]>() };
    remember(coverage, messages, now);
    const c = coverage;
    for (const m of members) {
      if (m.after >= c.from) {
        stats.served++;
        m.resolve({ messages: (c.byTicket.get(m.ticketId) ?? []).filter((x) => x.id > m.after).sort((a, b) => a.id - b.id), upTo: c.to });
      } else perTicket(m.ticketId, m.after, 'background').then(m.resolve, m.reject);
    }
  }

  return {
    list(ticketId, after, priority) {
      if (priority !== 'background' || after === undefined || !port.listRecentMessages || stats.refused) {
        return perTicket(ticketId, after, priority);
      }
      return new Promise((resolve, reject) => {
        waiting.push({ ticketId, after, resolve, reject });
        kick();
      });
    },
    stats: () => ({ ...stats }),
  };
}
