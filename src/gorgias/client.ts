// The Gorgias REST client, on undici. Timeouts on every call, bounded waits on 429, retries with
// backoff and jitter for idempotent calls, typed errors, and the API key in no line it prints.
import { request as undiciRequest } from 'undici';
import { redact } from '../mask.js';
import { realClock, type Clock } from '../clock.js';
import type { CallGate, CallPriority } from '../budget/budget.js';
import { gorgiasBaseUrl } from './base-url.js';
import { errorFromNetwork, errorFromResponse, GorgiasError, isTransientNetworkError } from './errors.js';
import type {
  Account,
  Customer,
  Integration,
  ListPage,
  Macro,
  NewCustomer,
  NewIntegration,
  NewMacro,
  NewMessage,
  NewTicket,
  Ticket,
  TicketMessage,
  User,
} from './types.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
export type Query = Record<string, string | number | undefined>;

export interface ClientOptions {
  /** `acme`, `acme.gorgias.com`, `https://acme.gorgias.com` or a full URL (emulator). */
  domain: string;
  /** The Gorgias user's email. */
  username: string;
  apiKey: string;
  /** Per call, headers and body included. */
  timeoutMs?: number;
  /** Retries of 5xx and network errors, idempotent calls only. */
  maxRetries?: number;
  /** How many times a 429 is waited out before giving up. */
  maxRateLimitWaits?: number;
  clock?: Clock;
  /** One-line notices for the user (stderr), e.g. rate-limit waits. */
  notice?: (line: string) => void;
  /** `--debug` request lines. */
  debug?: (line: string) => void;
  /** Every answer or failure, for metrics: the HTTP status, or the error kind (`timeout`, `unreachable`). */
  onCall?: (call: { method: Method; status: number | string; ms: number }) => void;
  /** Every answer's status and headers, as they arrive (`doctor` reads the call-limit and `Date` headers). */
  onAnswer?: (answer: { status: number; headers: Record<string, string | string[] | undefined> }) => void;
  /** First retry wait (doubled each time, with jitter); 500 ms by default. */
  backoffBaseMs?: number;
  /** For tests of the jitter; defaults to Math.random. */
  random?: () => number;
  /**
   * Asked before every try of every call, told every answer (the call-limit header, a 429's
   * Retry-After): the key's call budget (src/budget/). Default: none, calls go at once.
   */
  gate?: CallGate;
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** A POST that cannot create twice may be retried like a GET. */
  idempotent?: boolean;
  /** Its place in the call budget's queue. Default: the client's (`at`), else interactive. */
  priority?: CallPriority;
}

/** Options of `listRecentMessages`. */
export interface RecentMessagesQuery {
  /** Stop at this message id: only messages above it are returned. */
  afterId?: number;
  /** Stop at messages created before this time (ms since the epoch). */
  since?: number;
  /** At most this many pages (100 messages each); default 10. */
  maxPages?: number;
}

/** What `listRecentMessages` found: oldest first, and whether it reached the boundary (not cut by `maxPages`). */
export interface RecentMessages {
  messages: TicketMessage[];
  complete: boolean;
}

export interface GorgiasClient {
  readonly baseUrl: string;
  /** The Gorgias user's email: the user whose key this is, the sender of the bridge's notes. */
  readonly username: string;
  /** `path` is relative to the base URL (`/macros`); a leading `/api` is accepted too. */
  request<T>(method: Method, path: string, options?: RequestOptions): Promise<T>;
  /** Every item of a list, following `meta.next_cursor`. */
  paginate<T>(path: string, query?: Query): AsyncIterable<T>;
  getAccount(): Promise<Account>;
  getCurrentUser(): Promise<User>;
  findCustomers(query: { email?: string; external_id?: string }): Promise<Customer[]>;
  createCustomer(body: NewCustomer): Promise<Customer>;
  createTicket(body: NewTicket): Promise<Ticket>;
  getTicket(id: number): Promise<Ticket>;
  updateTicket(id: number, patch: Record<string, unknown>): Promise<Ticket>;
  deleteTicket(id: number): Promise<void>;
  /** Sends `trashed=false` unless told otherwise: a trashed ticket is never reused. */
  listTickets(query: { external_id?: string; customer_id?: number; trashed?: boolean }): AsyncIterable<Ticket>;
  createMessage(ticketId: number, body: NewMessage): Promise<TicketMessage>;
  /** The ticket's messages, oldest first (`GET /api/messages?ticket_id=`). */
  listMessages(ticketId: number): AsyncIterable<TicketMessage>;
  /** One message; undefined when Gorgias has no such message on that ticket (404). */
  getMessage(ticketId: number, messageId: number): Promise<TicketMessage | undefined>;
  /**
   * [guess] The account's newest messages across all tickets, down to a boundary, oldest first:
   * one listing to catch up many tickets. Undefined when Gorgias refuses a listing without
   * `ticket_id`: then list per ticket.
   */
  listRecentMessages(query?: RecentMessagesQuery): Promise<RecentMessages | undefined>;
  listMacros(): AsyncIterable<Macro>;
  getMacro(id: number): Promise<Macro>;
  createMacro(b: NewMacro): Promise<Macro>;
  updateMacro(id: number, b: Partial<NewMacro>): Promise<Macro>;
  deleteMacro(id: number): Promise<void>;
  listIntegrations(): AsyncIterable<Integration>;
  getIntegration(id: number): Promise<Integration>;
  createIntegration(b: NewIntegration): Promise<Integration>;
  updateIntegration(id: number, b: Partial<NewIntegration>): Promise<Integration>;
  deleteIntegration(id: number): Promise<void>;
  /** The same client, its calls queued at `priority` in the call budget. */
  at(priority: CallPriority): GorgiasClient;
  /** Resolves when a call at `priority` would go at once in the call budget (at once without one). */
  ready(priority: CallPriority): Promise<void>;
}

export const DEFAULTS = { timeoutMs: 10_000, maxRetries: 3, maxRateLimitWaits: 3 } as const;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 8_000;
/** Used when a 429 carries no usable Retry-After. [guess] Gorgias always sends one. */
const DEFAULT_RETRY_AFTER_S = 2;
/** A CLI should not sit silent for minutes on one call. */
const MAX_RETRY_AFTER_S = 60;
/** [sure] Gorgias caps list pages at 100. */
export const PAGE_LIMIT = 100;
/** [likely] The form `order_by` takes. */
const OLDEST_FIRST = 'created_datetime:asc';
const NEWEST_FIRST = 'created_datetime:desc';
/** [sure] The used/limit header on every answer. */
const CALL_LIMIT_HEADER = 'x-gorgias-account-api-call-limit';
/** [guess] How Gorgias would refuse `GET /api/messages` without `ticket_id`. */
const REFUSED_LISTING = new Set([400, 404, 405, 422]);
const DEFAULT_RECENT_PAGES = 10;

/** Exponential backoff with jitter: half fixed, half random, capped. `attempt` starts at 1. */
export function backoffMs(attempt: number, random: () => number = Math.random, baseMs = BACKOFF_BASE_MS): number {
  const full = Math.min(BACKOFF_MAX_MS, baseMs * 2 ** (attempt - 1));
  return Math.round(full / 2 + (full / 2) * random());
}

/** `used/limit` from the call-limit header; undefined when absent or unreadable. */
export function parseCallLimit(header: string | string[] | undefined): { used: number; limit: number } | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value ?? '');
  return m ? { used: Number(m[1]), limit: Number(m[2]) } : undefined;
}

/** `Retry-After` in seconds (or an HTTP date), bounded; the default when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, nowMs: number): number {
  const value = Array.isArray(header) ? header[0] : header;
  let seconds = DEFAULT_RETRY_AFTER_S;
  if (value !== undefined && value.trim() !== '') {
    const n = Number(value.trim());
    if (Number.isFinite(n) && n >= 0) seconds = n;
    else {
      const at = Date.parse(value);
      if (Number.isFinite(at)) seconds = Math.max(0, (at - nowMs) / 1000);
    }
  }
  return Math.round(Math.min(seconds, MAX_RETRY_AFTER_S) * 1000);
}

export function buildUrl(baseUrl: string, path: string, query?: Query): string {
  let p = path.startsWith('/') ? path : `/${path}`;
  if (baseUrl.endsWith('/api') && (p === '/api' || p.startsWith('/api/'))) p = p.slice(4);
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.append(k, String(v));
  const qs = params.toString();
  return `${baseUrl}${p}${qs ? `${p.includes('?') ? '&' : '?'}${qs}` : ''}`;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

export function createGorgiasClient(options: ClientOptions): GorgiasClient {
  const baseUrl = gorgiasBaseUrl(options.domain);
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const maxRetries = options.maxRetries ?? DEFAULTS.maxRetries;
  const maxRateLimitWaits = options.maxRateLimitWaits ?? DEFAULTS.maxRateLimitWaits;
  const clock = options.clock ?? realClock;
  const random = options.random ?? Math.random;
  const backoffBaseMs = options.backoffBaseMs ?? BACKOFF_BASE_MS;
  const secrets = [options.apiKey, Buffer.from(`${options.username}:${options.apiKey}`).toString('base64')];
  const safe = (line: string) => redact(line, secrets);
  const notice = (line: string) => options.notice?.(safe(line));
  const debug = (line: string) => options.debug?.(safe(line));
  const headers: Record<string, string> = {
    authorization: `Basic ${secrets[1]}`,
    accept: 'application/json',
    'user-agent': 'livechat-cli',
  };
  const origin = new URL(baseUrl).origin;
  const gate = options.gate;

  async function call<T>(method: Method, path: string, opts: RequestOptions = {}): Promise<T> {
    const url = buildUrl(baseUrl, path, opts.query);
    const shown = safe(url.slice(origin.length));
    const what = `${method} ${shown.split('?')[0]}`;
    const retryable = method !== 'POST' || opts.idempotent === true;
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    let failures = 0;
    let rateWaits = 0;
    /** An earlier try got no answer: it may have taken effect. */
    let unanswered = false;
    const priority = opts.priority ?? 'interactive';
    for (;;) {
      await gate?.take(priority);
      const started = clock.now();
      let status: number;
      let text: string;
      let retryAfter: string | string[] | undefined;
      let callLimit: string | string[] | undefined;
      try {
        const res = await undiciRequest(url, {
          method,
          headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
          body,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          // Network timeouts run on real timers; waits between attempts use the injected clock.
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = res.statusCode;
        retryAfter = res.headers['retry-after'];
        callLimit = res.headers[CALL_LIMIT_HEADER];
        options.onAnswer?.({ status, headers: res.headers });
        text = await res.body.text();
      } catch (err) {
        gate?.done({});
        const error = errorFromNetwork(err, baseUrl, what, timeoutMs, safe);
        debug(`${method} ${shown} -> ${error.kind} ${clock.now() - started}ms`);
        options.onCall?.({ method, status: error.kind, ms: clock.now() - started });
        if (retryable && failures < maxRetries && isTransientNetworkError(err)) {
          failures++;
          unanswered = true;
          const wait = backoffMs(failures, random, backoffBaseMs);
          notice(
            `${error.kind === 'timeout' ? 'Gorgias timed out' : 'cannot reach Gorgias'}; retrying in ${seconds(wait)} (${failures}/${maxRetries})`,
          );
          await clock.sleep(wait);
          continue;
        }
        throw error;
      }
      debug(`${method} ${shown} ${status} ${clock.now() - started}ms`);
      options.onCall?.({ method, status, ms: clock.now() - started });
      const retryAfterMsNow = status === 429 ? retryAfterMs(retryAfter, clock.now()) : undefined;
      gate?.done({ ...parseCallLimit(callLimit), rateLimited: status === 429, retryAfterMs: retryAfterMsNow });
      // A delete answers 204 with no body [sure]; whatever a 2xx carries, it is done.
      if (status >= 200 && status < 300) return method === 'DELETE' ? (undefined as T) : parseOk<T>(status, text, what);
      // A try that got no answer deleted it after all: gone is what we wanted.
      if (method === 'DELETE' && status === 404 && unanswered) return undefined as T;
      if (status === 429 && rateWaits < maxRateLimitWaits) {
        rateWaits++;
        const wait = retryAfterMsNow!;
        notice(`Gorgias rate limit reached; retrying in ${seconds(wait)} (${rateWaits}/${maxRateLimitWaits})`);
        await clock.sleep(wait);
        continue;
      }
      if (status >= 500 && retryable && failures < maxRetries) {
        failures++;
        const wait = backoffMs(failures, random, backoffBaseMs);
        notice(`Gorgias answered ${status}; retrying in ${seconds(wait)} (${failures}/${maxRetries})`);
        await clock.sleep(wait);
        continue;
      }
      const error = errorFromResponse(status, text, what, safe);
      if (retryAfterMsNow !== undefined) error.retryAfterMs = retryAfterMsNow;
      throw error;
    }
  }

  function parseOk<T>(status: number, text: string, what: string): T {
    if (status === 204 || text.trim() === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new GorgiasError(`Gorgias sent an unreadable answer to ${what} (${status}, not JSON)`, { kind: 'server', status });
    }
  }

  async function* pages<T>(path: string, query: Query = {}, priority?: CallPriority): AsyncIterable<T> {
    let cursor: string | undefined;
    const seen = new Set<string>();
    for (;;) {
      const page = await call<ListPage<T>>('GET', path, { query: { ...query, cursor }, priority });
      if (!page || !Array.isArray(page.data)) {
        throw new GorgiasError(`Gorgias sent an unexpected list answer to GET ${path}`, { kind: 'server' });
      }
      yield* page.data;
      const next = page.meta?.next_cursor;
      if (!next) return;
      if (seen.has(next)) throw new GorgiasError(`Gorgias repeated a page cursor on GET ${path}`, { kind: 'server' });
      seen.add(next);
      cursor = next;
    }
  }

  async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
    const out: T[] = [];
    for await (const item of iterable) out.push(item);
    return out;
  }

  async function getMessage(ticketId: number, messageId: number, priority?: CallPriority): Promise<TicketMessage | undefined> {
    try {
      return await call<TicketMessage>('GET', `/tickets/${ticketId}/messages/${messageId}`, { priority });
    } catch (err) {
      if (err instanceof GorgiasError && err.status === 404) return undefined;
      throw err;
    }
  }

  async function listRecentMessages(q: RecentMessagesQuery = {}, priority?: CallPriority): Promise<RecentMessages | undefined> {
    const out: TicketMessage[] = [];
    const maxPages = q.maxPages ?? DEFAULT_RECENT_PAGES;
    const beyond = (m: TicketMessage) =>
      (q.afterId !== undefined && m.id <= q.afterId) || (q.since !== undefined && Date.parse(m.created_datetime) < q.since);
    let cursor: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      let answer: ListPage<TicketMessage>;
      try {
        answer = await call<ListPage<TicketMessage>>('GET', '/messages', {
          query: { limit: PAGE_LIMIT, order_by: NEWEST_FIRST, cursor },
          priority,
        });
      } catch (err) {
        if (page === 0 && err instanceof GorgiasError && err.status !== undefined && REFUSED_LISTING.has(err.status)) return undefined;
        throw err;
      }
      if (!answer || !Array.isArray(answer.data))
        throw new GorgiasError('Gorgias sent an unexpected list answer to GET /messages', { kind: 'server' });
      for (const m of answer.data) {
        if (beyond(m)) return { messages: out.reverse(), complete: true };
        out.push(m);
      }
      const next = answer.meta?.next_cursor;
      if (!next || next === cursor) return { messages: out.reverse(), complete: true };
      cursor = next;
    }
    return { messages: out.reverse(), complete: false };
  }

  /** The client with its calls at `priority` (undefined: each call's own, else interactive). */
  function view(priority: CallPriority | undefined): GorgiasClient {
    const request = <T>(method: Method, path: string, o: RequestOptions = {}) => call<T>(method, path, { ...o, priority: o.priority ?? priority });
    const paginate = <T>(path: string, query?: Query) => pages<T>(path, query, priority);
    return {
      baseUrl,
      username: options.username,
      request,
      paginate,
      getAccount: () => request<Account>('GET', '/account'),
      getCurrentUser: () => request<User>('GET', '/users/0'), // [likely] 0 = the key's owner
      findCustomers: (q) => all(paginate<Customer>('/customers', { email: q.email, external_id: q.external_id, limit: PAGE_LIMIT })),
      createCustomer: (b) => request<Customer>('POST', '/customers', { body: b }),
      createTicket: (b) => request<Ticket>('POST', '/tickets', { body: b }),
      getTicket: (id) => request<Ticket>('GET', `/tickets/${id}`),
      updateTicket: (id, patch) => request<Ticket>('PUT', `/tickets/${id}`, { body: patch }),
      deleteTicket: async (id) => void (await request<unknown>('DELETE', `/tickets/${id}`)),
      listTickets: (q) =>
        paginate<Ticket>('/tickets', {
          external_id: q.external_id,
          customer_id: q.customer_id,
          trashed: String(q.trashed ?? false), // [likely] the default is documented both ways
          limit: PAGE_LIMIT,
        }),
      createMessage: (ticketId, b) => request<TicketMessage>('POST', `/tickets/${ticketId}/messages`, { body: b }),
      // Not the deprecated GET /tickets/{id}/messages.
      listMessages: (ticketId) => paginate<TicketMessage>('/messages', { ticket_id: ticketId, limit: PAGE_LIMIT, order_by: OLDEST_FIRST }),
      getMessage: (ticketId, messageId) => getMessage(ticketId, messageId, priority),
      listRecentMessages: (q) => listRecentMessages(q, priority),
      listMacros: () => paginate<Macro>('/macros', { limit: PAGE_LIMIT }),
      getMacro: (id) => request<Macro>('GET', `/macros/${id}`),
      createMacro: (b) => request<Macro>('POST', '/macros', { body: b }),
      updateMacro: (id, b) => request<Macro>('PUT', `/macros/${id}`, { body: b }),
      deleteMacro: async (id) => void (await request<unknown>('DELETE', `/macros/${id}`)),
      listIntegrations: () => paginate<Integration>('/integrations', { limit: PAGE_LIMIT }),
      getIntegration: (id) => request<Integration>('GET', `/integrations/${id}`),
      createIntegration: (b) => request<Integration>('POST', '/integrations', { body: b }),
      updateIntegration: (id, b) => request<Integration>('PUT', `/integrations/${id}`, { body: b }),
      deleteIntegration: async (id) => void (await request<unknown>('DELETE', `/integrations/${id}`)),
      at: (p) => at(p),
      ready: async (p) => {
        await gate?.ready?.(p);
      },
    };
  }
  const views = new Map<CallPriority | undefined, GorgiasClient>();
  function at(priority: CallPriority | undefined): GorgiasClient {
    let v = views.get(priority);
    if (!v) views.set(priority, (v = view(priority)));
    return v;
  }
  return at(undefined);
}
