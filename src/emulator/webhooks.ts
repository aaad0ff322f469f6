// HTTP integrations: when an event fires, call every active `http` integration that listens
// for it. Delivery is asynchronous (never before the API answer), never retried (like Gorgias),
// and every attempt is recorded. Fault injection can drop, duplicate, delay or reorder them.
import http from 'node:http';
import https from 'node:https';
import type { Integration, Ticket, TicketMessage } from '../gorgias/types.js';
import type { Clock, Timer } from '../clock.js';
import { EMPTY_BODY_WITHOUT_FORM, EVENT_OBJECT_TYPE, WEBHOOK_TIMEOUT_MS, type TemplateEncoding } from './guesses.js';
import type { StoreEvent } from './store.js';
import { fillTemplate, fillUrl } from './template.js';
import { seededRandom } from '../random.js';

export interface WebhookEvent {
  id: number;
  type: StoreEvent['type'];
  object_id: number;
  object_type: string;
  created_datetime: string;
}

export interface WebhookDelivery {
  /** Order in which attempts were recorded. */
  seq: number;
  integrationId: number;
  eventId: number;
  eventType: string;
  ticketId: number;
  messageId: number | null;
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | null;
  /** Set when the receiver answered. */
  status?: number;
  /** Set when the call failed (refused, timeout...). */
  error?: string;
  /** Injected: never sent. */
  dropped?: boolean;
  /** Injected: this is the extra copy of a duplicated delivery. */
  duplicate?: boolean;
  /** Emulator-clock time the attempt was made (ISO). */
  at: string;
}

export interface WebhookFaults {
  /** Probability 0..1 that a delivery is dropped (recorded with `dropped: true`, never sent). */
  drop?: number;
  /** Probability 0..1 that a delivery is sent twice (same event id), the copy right after. */
  duplicate?: number;
  /** Each delivery waits this long on the emulator clock before it is sent. */
  delayMs?: number;
  /**
   * Hold deliveries in a batch and release it shuffled (never in the original order when it holds
   * two or more). The batch is released when it holds `reorderBatch` deliveries (default 3) or
   * `reorderWindowMs` (default 1000) after its first one, on the emulator clock.
   */
  reorder?: boolean;
  reorderBatch?: number;
  reorderWindowMs?: number;
  /** Seed of the PRNG behind drop/duplicate/reorder (default 1). */
  seed?: number;
}

interface Job {
  integrationId: number;
  event: WebhookEvent;
  ticketId: number;
  messageId: number | null;
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | null;
  duplicate: boolean;
}

export interface DispatcherOptions {
  clock: Clock;
  encoding: TemplateEncoding;
  integrations: () => Integration[];
  log: (line: string) => void;
}

/** Fisher-Yates with `random`; a batch of two or more never comes out in its original order. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  if (out.length > 1 && out.every((x, i) => x === items[i])) out.push(out.shift()!);
  return out;
}

/** The context templates are filled from. */
export function templateContext(ticket: Ticket, message: TicketMessage | undefined, event: WebhookEvent): Record<string, unknown> {
  return { ticket, message: message ?? {}, event };
}

/** Which integrations an event calls. */
export function listeners(integrations: Integration[], eventType: string): Integration[] {
  return integrations.filter(
    (i) => i.type === 'http' && i.deactivated_datetime === null && i.http?.triggers?.[eventType as 'ticket-message-created'] === true,
  );
}

/** The request an integration makes for one event. */
export function buildRequest(integration: Integration, context: Record<string, unknown>, encoding: TemplateEncoding) {
  const settings = integration.http!;
  const method = settings.method.toUpperCase();
  // The URL parser does what a client would do with a raw value (see guesses.ts).
  const url = new URL(fillUrl(settings.url, context, encoding)).toString();
  const headers: Record<string, string> = { 'user-agent': 'livechat-gorgias-emulator', ...settings.headers };
  let body: string | null = null;
  const form = settings.form && Object.keys(settings.form).length ? settings.form : null;
  if (method !== 'GET' && (form || !EMPTY_BODY_WITHOUT_FORM)) {
    const values = Object.fromEntries(Object.entries(form ?? {}).map(([k, v]) => [k, fillTemplate(v, context)]));
    const type = settings.request_content_type || 'application/json';
    body = /form-urlencoded/i.test(type) ? new URLSearchParams(values).toString() : JSON.stringify(values);
    headers['content-type'] = type;
  }
  return { url, method, headers, body };
}

export function createDispatcher(options: DispatcherOptions) {
  const { clock } = options;
  let faults: WebhookFaults = {};
  let random = seededRandom(1);
  let nextEventId = 1;
  let seq = 1;
  let pending = 0;
  /** Of `pending`, those waiting on a clock timer (delay, reorder window), not yet on their way. */
  let waiting = 0;
  let closed = false;
  let waiters: Array<{ ready: () => boolean; resolve: () => void }> = [];
  const deliveries: WebhookDelivery[] = [];
  const timers = new Set<Timer>();
  const inFlight = new Set<http.ClientRequest>();
  const chains = new Map<string, Promise<void>>();
  let held: Job[] = [];
  let heldTimer: Timer | undefined;

  function wake(): void {
    const ready = waiters.filter((w) => w.ready());
    if (!ready.length) return;
    waiters = waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  function settle(n = 1): void {
    pending = Math.max(0, pending - n);
    wake();
  }

  function record(job: Job, outcome: Partial<WebhookDelivery>): void {
    const d: WebhookDelivery = {
      seq: seq++,
      integrationId: job.integrationId,
      eventId: job.event.id,
      eventType: job.event.type,
      ticketId: job.ticketId,
      messageId: job.messageId,
      url: job.url,
      method: job.method,
      headers: job.headers,
      body: job.body,
      at: new Date(clock.now()).toISOString(),
      ...(job.duplicate ? { duplicate: true } : {}),
      ...outcome,
    };
    deliveries.push(d);
    const u = new URL(job.url);
    const result = d.dropped ? 'dropped (fault)' : d.error ? `failed: ${d.error}` : String(d.status);
    options.log(
      `${d.at} webhook ${job.event.type} event ${job.event.id} -> integration ${job.integrationId} ${job.method} ${u.origin}${u.pathname}${job.duplicate ? ' (duplicate)' : ''}: ${result}`,
    );
  }

  function send(job: Job): Promise<void> {
    if (closed) return Promise.resolve();
    return new Promise((resolve) => {
      const u = new URL(job.url);
      const lib = u.protocol === 'https:' ? https : http;
      const headers: Record<string, string> = { ...job.headers };
      if (job.body !== null) headers['content-length'] = String(Buffer.byteLength(job.body));
      let done = false;
      const finish = (outcome: Partial<WebhookDelivery>) => {
        if (done) return;
        done = true;
        inFlight.delete(req);
        if (!closed) record(job, outcome);
        resolve();
      };
      const req = lib.request(u, { method: job.method, headers, timeout: WEBHOOK_TIMEOUT_MS }, (res) => {
        res.resume();
        res.on('end', () => finish({ status: res.statusCode }));
        res.on('error', (err) => finish({ status: res.statusCode, error: err.message }));
      });
      inFlight.add(req);
      req.on('timeout', () => req.destroy(new Error(`no answer within ${WEBHOOK_TIMEOUT_MS} ms`)));
      req.on('error', (err) => finish({ error: err.message || String(err) }));
      req.end(job.body ?? undefined);
    });
  }

  /**
   * Sends in order per integration and ticket, so without `reorder` a receiver sees a ticket's
   * events in order, while different tickets go out in parallel. [guess] Gorgias's own ordering
   * is not documented; a queue per whole integration made every conversation wait for all others.
   */
  function enqueue(job: Job): void {
    const key = `${job.integrationId}:${job.ticketId}`;
    const prev = chains.get(key) ?? Promise.resolve();
    const nextChain: Promise<void> = prev
      .then(() => send(job))
      .finally(() => {
        if (chains.get(key) === nextChain) chains.delete(key);
        settle();
      });
    chains.set(key, nextChain);
  }

  function after(ms: number, fn: () => void): void {
    const t = clock.setTimer(ms, () => {
      timers.delete(t);
      if (!closed) fn();
    });
    timers.add(t);
  }

  function releaseHeld(): void {
    heldTimer?.cancel();
    if (heldTimer) timers.delete(heldTimer);
    heldTimer = undefined;
    const batch = shuffle(held, random);
    held = [];
    waiting -= batch.length;
    for (const job of batch) enqueue(job);
  }

  function hold(job: Job): void {
    held.push(job);
    waiting++;
    if (held.length >= (faults.reorderBatch ?? 3)) releaseHeld();
    else if (!heldTimer) {
      const t = clock.setTimer(faults.reorderWindowMs ?? 1000, () => {
        timers.delete(t);
        heldTimer = undefined;
        if (!closed) releaseHeld();
      });
      heldTimer = t;
      timers.add(t);
    }
  }

  function schedule(job: Job): void {
    pending++;
    const go = () => (faults.reorder ? hold(job) : enqueue(job));
    if (faults.delayMs && faults.delayMs > 0) {
      waiting++;
      after(faults.delayMs, () => {
        waiting--;
        go();
      });
    }
    // Not before the API answer has been written.
    else setImmediate(() => (closed ? undefined : go()));
  }

  function dispatch(event: StoreEvent): void {
    if (closed) return;
    const targets = listeners(options.integrations(), event.type);
    if (!targets.length) return;
    const message = event.type === 'ticket-message-created' ? event.message : event.ticket.messages[event.ticket.messages.length - 1];
    const webhookEvent: WebhookEvent = {
      id: nextEventId++,
      type: event.type,
      object_id: event.type === 'ticket-message-created' ? event.message.id : event.ticket.id,
      object_type: event.type === 'ticket-message-created' ? EVENT_OBJECT_TYPE.message : EVENT_OBJECT_TYPE.ticket,
      created_datetime: new Date(clock.now()).toISOString(),
    };
    const context = templateContext(event.ticket, message, webhookEvent);
    for (const integration of targets) {
      let request;
      try {
        request = buildRequest(integration, context, options.encoding);
      } catch (err) {
        const u = integration.http?.url ?? '';
        deliveries.push({
          seq: seq++,
          integrationId: integration.id,
          eventId: webhookEvent.id,
          eventType: event.type,
          ticketId: event.ticket.id,
          messageId: message?.id ?? null,
          url: u,
          method: integration.http?.method ?? '',
          headers: {},
          body: null,
          error: `bad URL: ${(err as Error).message}`,
          at: new Date(clock.now()).toISOString(),
        });
        options.log(
          `${new Date(clock.now()).toISOString()} webhook ${event.type} event ${webhookEvent.id} -> integration ${integration.id}: bad URL`,
        );
        continue;
      }
      const job: Job = {
        integrationId: integration.id,
        event: webhookEvent,
        ticketId: event.ticket.id,
        messageId: event.type === 'ticket-message-created' ? event.message.id : null,
        ...request,
        duplicate: false,
      };
      if (faults.drop && random() < faults.drop) {
        record(job, { dropped: true });
        continue;
      }
      const copies = faults.duplicate && random() < faults.duplicate ? 2 : 1;
      for (let i = 0; i < copies; i++) schedule({ ...job, duplicate: i > 0 });
    }
  }

  return {
    deliveries,
    dispatch,
    setFaults(f: WebhookFaults): void {
      faults = { ...f };
      random = seededRandom(f.seed ?? 1);
    },
    resetFaults(): void {
      faults = {};
      random = seededRandom(1);
      if (held.length) releaseHeld();
    },
    /** No delivery pending; with `scheduled: false`, none under way (ignoring those waiting on the clock). */
    idle(options: { scheduled?: boolean } = {}): Promise<void> {
      const ready = options.scheduled === false ? () => pending - waiting <= 0 : () => pending === 0;
      if (ready()) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ ready, resolve }));
    },
    close(): void {
      closed = true;
      for (const t of timers) t.cancel();
      timers.clear();
      held = [];
      for (const req of inFlight) req.destroy();
      inFlight.clear();
      waiting = 0;
      settle(pending);
    },
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
