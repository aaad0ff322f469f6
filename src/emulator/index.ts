// A local Gorgias: HTTP server (node:http), Basic auth, rate limit, faults, webhooks, agent console.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Ticket, TicketMessage } from '../gorgias/types.js';
import { realClock, type Clock } from '../clock.js';
import { sameSecret } from '../secret.js';
import { ApiError } from './errors.js';
import {
  DEFAULT_PAGE_SIZE,
  DEFAULT_TEMPLATE_ENCODING,
  DEPRECATED_ROUTES,
  ERROR_MESSAGES,
  MAX_PAGE_SIZE,
  NOTE_CHANNEL,
  type TemplateEncoding,
} from './guesses.js';
import { createRateLimiter, type RateDecision } from './rate-limit.js';
import { createRoutes, takesBody } from './routes.js';
import { createStore, type EmulatorStore } from './store.js';
import { createDispatcher, type WebhookDelivery, type WebhookFaults } from './webhooks.js';

export type { EmulatorStore } from './store.js';
export type { WebhookDelivery, WebhookFaults } from './webhooks.js';
export type { TemplateEncoding } from './guesses.js';

export interface EmulatorOptions {
  host?: string;
  port?: number;
  email?: string;
  apiKey?: string;
  /** Leaky bucket per key; `false` turns it off. Default 40 calls per 20 s. */
  rateLimit?: { limit: number; windowMs: number } | false;
  defaultPageSize?: number;
  maxPageSize?: number;
  /** Domain time: timestamps, rate-limit draining, webhook delays. */
  clock?: Clock;
  /** One line per API call and per webhook delivery. */
  log?: (line: string) => void;
  /** How values are put into integration URLs ([guess], see guesses.ts). Default 'encoded'. */
  templateEncoding?: TemplateEncoding;
  /** Real ms a webhook call may take before it times out (and is made once more). Default 10 s. */
  webhookTimeoutMs?: number;
  /**
   * No server of its own: another server (the playground) passes requests to `handler` and
   * answers at this URL. `host` and `port` are then unused.
   */
  mountedAt?: string;
  /** Answers the requests outside /api/ that it knows (the agent desk's page) and says so; the API never sees them. */
  pages?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
}

export interface ApiCall {
  method: string;
  path: string;
  status: number;
  /** Injected latency applied to this call, in ms. */
  latencyMs?: number;
  /** The path still answers but is deprecated (see DEPRECATED_ROUTES in guesses.ts). */
  deprecated?: boolean;
}

export interface AgentConsole {
  reply(ticketId: number, text: string): Promise<TicketMessage>;
  /** An internal note: on the ticket for agents, fires the webhook with channel `internal-note`. */
  note(ticketId: number, text: string): Promise<TicketMessage>;
  applyMacro(ticketId: number, macroId: number): Promise<TicketMessage>;
  closeTicket(ticketId: number): Promise<Ticket>;
}

export interface Faults {
  failNext(n: number, status?: number): void;
  setLatency(ms: number): void;
  rateLimitStorm(n: number, retryAfterSeconds?: number): void;
  webhooks(options: WebhookFaults): void;
  reset(): void;
}

export interface Emulator {
  url: string;
  email: string;
  apiKey: string;
  store: EmulatorStore;
  agent: AgentConsole;
  faults: Faults;
  deliveries: WebhookDelivery[];
  requests: ApiCall[];
  /** The node http handler of the API (and `pages`), for a server that mounts it. */
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  /**
   * Resolves when no webhook delivery is pending. With `{scheduled: false}`, when none is queued
   * or in flight, ignoring those held by a delay or reorder window until the clock moves on.
   */
  idle(options?: { scheduled?: boolean }): Promise<void>;
  /** Webhook deliveries queued or in flight now, not counting those held on the clock. */
  webhooksUnderWay(): number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
export const CALL_LIMIT_HEADER = 'X-Gorgias-Account-Api-Call-Limit';

/** `Authorization: Basic base64(email:key)` -> the key if the pair is right. */
export function checkBasicAuth(header: string | undefined, email: string, apiKey: string): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const user = decoded.slice(0, colon);
  const key = decoded.slice(colon + 1);
  // Both compared, always, so timing does not tell which one was wrong.
  const userOk = sameSecret(user.toLowerCase(), email.toLowerCase());
  const keyOk = sameSecret(key, apiKey);
  return userOk && keyOk;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) reject(new ApiError(413, 'Request body too large.'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function formatHostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const clock = options.clock ?? realClock;
  const host = options.host ?? '127.0.0.1';
  const email = options.email ?? 'agent@example.com';
  const apiKey = options.apiKey ?? randomBytes(20).toString('hex');
  const log = options.log ?? (() => {});
  const limits = { defaultPageSize: options.defaultPageSize ?? DEFAULT_PAGE_SIZE, maxPageSize: options.maxPageSize ?? MAX_PAGE_SIZE };
  const rateConfig = options.rateLimit === undefined ? { limit: 40, windowMs: 20_000 } : options.rateLimit;
  const limiter = rateConfig ? createRateLimiter(rateConfig, clock) : undefined;

  const dispatcher = createDispatcher({
    clock,
    encoding: options.templateEncoding ?? DEFAULT_TEMPLATE_ENCODING,
    integrations: () => store.listIntegrations(),
    isActive: (id) => store.integrationActive(id),
    deactivate: (id, at) => void store.updateIntegration(id, { deactivated_datetime: at }),
    timeoutMs: options.webhookTimeoutMs,
    log,
  });
  const store: EmulatorStore = createStore({ clock, email, emit: (e) => dispatcher.dispatch(e) });
  const route = createRoutes(store, limits);
  const requests: ApiCall[] = [];

  const injected = { failCount: 0, failStatus: 500, latencyMs: 0, stormCount: 0, stormRetryAfter: 1 };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    const latencyMs = injected.latencyMs;

    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
    let rate: RateDecision | undefined;
    let answer: { status: number; body?: unknown };
    try {
      const rawBody = await readBody(req);
      if (injected.stormCount > 0) {
        injected.stormCount--;
        rate = limiter
          ? { allowed: false, used: limiter.config.limit, limit: limiter.config.limit, retryAfter: injected.stormRetryAfter }
          : undefined;
        headers['retry-after'] = String(injected.stormRetryAfter);
        throw new ApiError(429, ERROR_MESSAGES.rateLimited);
      }
      if (injected.failCount > 0) {
        injected.failCount--;
        throw new ApiError(injected.failStatus, ERROR_MESSAGES.injected(injected.failStatus));
      }
      if (!checkBasicAuth(req.headers.authorization, email, apiKey)) {
        rate = limiter?.peek(apiKey);
        headers['www-authenticate'] = 'Basic realm="Gorgias API"';
        throw new ApiError(401, ERROR_MESSAGES.unauthorized);
      }
      if (limiter) {
        rate = limiter.take(apiKey);
        if (!rate.allowed) {
          headers['retry-after'] = String(rate.retryAfter);
          throw new ApiError(429, ERROR_MESSAGES.rateLimited);
        }
      }
      let body: unknown;
      if (takesBody(method) && rawBody.trim() !== '') {
        try {
          body = JSON.parse(rawBody);
        } catch {
          throw new ApiError(400, ERROR_MESSAGES.badJson);
        }
      }
      answer = route({ method, path: url.pathname, query: url.searchParams, body: body ?? {} });
    } catch (err) {
      if (err instanceof ApiError) answer = { status: err.status, body: err.body() };
      else {
        log(`internal error on ${method} ${url.pathname}: ${(err as Error)?.message ?? String(err)}`);
        answer = { status: 500, body: { error: { msg: 'Internal server error.' } } };
      }
    }
    // The call has been carried out; only the answer is late. A client that times out meanwhile
    // does not know that it happened: the hard case for retries. Models the network, not domain time.
    if (latencyMs > 0) await realClock.sleep(latencyMs);
    if (limiter && !rate) rate = limiter.peek(apiKey);
    if (rate) headers[CALL_LIMIT_HEADER] = `${rate.used}/${rate.limit}`;
    const deprecated = DEPRECATED_ROUTES.some((r) => r.method === method && r.pattern.test(url.pathname));
    requests.push({
      method,
      path: url.pathname,
      status: answer.status,
      ...(latencyMs > 0 ? { latencyMs } : {}),
      ...(deprecated ? { deprecated } : {}),
    });
    log(`${new Date(clock.now()).toISOString()} ${method} ${url.pathname}${url.search} ${answer.status}`);
    if (answer.body === undefined) {
      delete headers['content-type'];
      res.writeHead(answer.status, headers).end();
    } else {
      res.writeHead(answer.status, headers).end(JSON.stringify(answer.body));
    }
  }

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (options.pages && !/^\/api(\/|$)/.test(req.url ?? '/') && options.pages(req, res)) return;
    handle(req, res).catch((err) => {
      log(`internal error: ${(err as Error)?.message ?? String(err)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { msg: 'Internal server error.' } }));
    });
  };

  const server = options.mountedAt === undefined ? http.createServer(handler) : undefined;
  if (server) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }
  const url = server ? `http://${formatHostForUrl(host)}:${(server.address() as AddressInfo).port}` : options.mountedAt!.replace(/\/+$/, '');

  /** Runs a store call as a promise: errors reject instead of throwing. */
  const act = <T>(fn: () => T): Promise<T> => new Promise((resolve) => resolve(fn()));

  function agentReply(ticketId: number, text: string, html?: string): TicketMessage {
    const ticket = store.getTicket(ticketId);
    return store.createMessage(ticketId, {
      channel: ticket.channel,
      via: 'helpdesk',
      from_agent: true,
      sender: { id: store.user.id, email: store.user.email },
      body_text: text,
      ...(html !== undefined ? { body_html: html } : {}),
    });
  }

  const agent: AgentConsole = {
    reply: (ticketId, text) => act(() => agentReply(ticketId, text)),
    note: (ticketId, text) =>
      act(() =>
        store.createMessage(ticketId, {
          channel: NOTE_CHANNEL,
          via: 'helpdesk',
          from_agent: true,
          sender: { id: store.user.id, email: store.user.email },
          body_text: text,
        }),
      ),
    applyMacro: (ticketId, macroId) =>
      act(() => {
        const macro = store.getMacro(macroId);
        store.getTicket(ticketId);
        const response = macro.actions.find((a) => a.name === 'setResponseText');
        if (!response) throw new ApiError(400, `Macro ${macroId} has no setResponseText action.`);
        const text = typeof response.arguments.body_text === 'string' ? response.arguments.body_text : '';
        const html = typeof response.arguments.body_html === 'string' ? response.arguments.body_html : undefined;
        const message = agentReply(ticketId, text, html);
        const patch: Record<string, unknown> = {};
        for (const a of macro.actions) {
          if (a.name === 'addTags' && typeof a.arguments.tags === 'string') {
            const current = store.getTicket(ticketId).tags.map((t) => t.name);
            const added = a.arguments.tags
              .split(',')
              .map((t) => t.trim())
              .filter(Boolean);
            patch.tags = [...new Set([...current, ...added])].map((name) => ({ name }));
          }
          if (a.name === 'setStatus' && typeof a.arguments.status === 'string') patch.status = a.arguments.status;
        }
        if (Object.keys(patch).length) store.updateTicket(ticketId, patch);
        return message;
      }),
    closeTicket: (ticketId) => act(() => store.updateTicket(ticketId, { status: 'closed' })),
  };

  const faults: Faults = {
    failNext(n, status = 500) {
      injected.failCount = Math.max(0, Math.floor(n));
      injected.failStatus = status;
    },
    setLatency(ms) {
      injected.latencyMs = Math.max(0, ms);
    },
    rateLimitStorm(n, retryAfterSeconds = 1) {
      injected.stormCount = Math.max(0, Math.floor(n));
      injected.stormRetryAfter = Math.max(0, Math.ceil(retryAfterSeconds));
    },
    webhooks(opts) {
      dispatcher.setFaults(opts);
    },
    reset() {
      Object.assign(injected, { failCount: 0, failStatus: 500, latencyMs: 0, stormCount: 0, stormRetryAfter: 1 });
      dispatcher.resetFaults();
      limiter?.reset();
    },
  };

  let closing: Promise<void> | undefined;
  return {
    url,
    email,
    apiKey,
    store,
    agent,
    faults,
    deliveries: dispatcher.deliveries,
    requests,
    handler,
    idle: (options) => dispatcher.idle(options),
    webhooksUnderWay: () => dispatcher.underWay(),
    close() {
      closing ??= new Promise<void>((resolve) => {
        dispatcher.close();
        if (!server) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
