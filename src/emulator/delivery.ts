// Webhook delivery, as Gorgias does it: one HTTP call per event and integration, in order per
// ticket, never retried once answered, made once more when it timed out (so the receiver may get
// it twice), and the integration deactivated after too many failed calls in a row.
import http from 'node:http';
import https from 'node:https';
import type { Clock } from '../clock.js';
import { DEACTIVATE_AFTER_FAILURES, RETRIES_AFTER_TIMEOUT } from './guesses.js';

export interface WebhookEvent {
  id: number;
  type: 'ticket-message-created' | 'ticket-created' | 'ticket-updated';
  object_id: number;
  object_type: string;
  created_datetime: string;
}

/** One integration's call for one event: where it goes and what it sends. */
interface Call {
  integrationId: number;
  ticketId: number;
  messageId: number | null;
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | null;
}

export interface WebhookDelivery extends Call {
  /** Order in which attempts were recorded. */
  seq: number;
  eventId: number;
  eventType: string;
  /** Set when the receiver answered. */
  status?: number;
  /** Set when the call failed (refused, timeout...). */
  error?: string;
  /** The call got no answer in time (it may still have been received). */
  timedOut?: boolean;
  /** A new attempt of a call that timed out (same event, same body). */
  retry?: boolean;
  /** Injected: never sent. */
  dropped?: boolean;
  /** Injected: this is the extra copy of a duplicated delivery. */
  duplicate?: boolean;
  /** This failure deactivated the integration. */
  deactivated?: boolean;
  /** Emulator-clock time the attempt was made (ISO). */
  at: string;
}

/** One call to make, its request already built. */
export interface Job extends Call {
  event: WebhookEvent;
  duplicate: boolean;
}

export interface DeliveryOptions {
  clock: Clock;
  /** No answer within this many (real) ms is a timeout: the network, not domain time. */
  timeoutMs: number;
  log: (line: string) => void;
  /** Whether the integration is still there and active (checked right before each call). */
  isActive: (integrationId: number) => boolean;
  /** Deactivate it at `iso` time. */
  deactivate: (integrationId: number, iso: string) => void;
}

const answered = (status: number | undefined) => status !== undefined && status >= 200 && status < 300;

export function createDelivery(options: DeliveryOptions) {
  const { clock } = options;
  let seq = 1;
  let closed = false;
  const deliveries: WebhookDelivery[] = [];
  const inFlight = new Set<http.ClientRequest>();
  const chains = new Map<string, Promise<void>>();
  /** Integration -> failed calls in a row. */
  const failures = new Map<number, number>();
  const iso = () => new Date(clock.now()).toISOString();

  function record(job: Job, outcome: Partial<WebhookDelivery>): WebhookDelivery {
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
      at: iso(),
      ...(job.duplicate ? { duplicate: true } : {}),
      ...outcome,
    };
    deliveries.push(d);
    let result = d.dropped ? 'dropped (fault)' : d.error ? `failed: ${d.error}` : String(d.status);
    if (d.deactivated) result += `; integration deactivated after ${DEACTIVATE_AFTER_FAILURES} failed calls in a row`;
    let where = job.url;
    try {
      const u = new URL(job.url);
      where = `${u.origin}${u.pathname}`;
    } catch {
      // a bad URL is logged as it is
    }
    const marks = `${job.duplicate ? ' (duplicate)' : ''}${d.retry ? ' (retry after a timeout)' : ''}`;
    options.log(
      `${d.at} webhook ${job.event.type} event ${job.event.id} -> integration ${job.integrationId} ${job.method} ${where}${marks}: ${result}`,
    );
    return d;
  }

  /** Counts a failed call or resets the count; deactivates at the threshold. */
  function count(integrationId: number, ok: boolean): boolean {
    if (ok) {
      failures.delete(integrationId);
      return false;
    }
    const n = (failures.get(integrationId) ?? 0) + 1;
    if (n < DEACTIVATE_AFTER_FAILURES) {
      failures.set(integrationId, n);
      return false;
    }
    failures.delete(integrationId);
    if (options.isActive(integrationId)) options.deactivate(integrationId, iso());
    return true;
  }

  function call(job: Job): Promise<{ status?: number; error?: string; timedOut?: boolean }> {
    return new Promise((resolve) => {
      const u = new URL(job.url);
      const lib = u.protocol === 'https:' ? https : http;
      const headers: Record<string, string> = { ...job.headers };
      if (job.body !== null) headers['content-length'] = String(Buffer.byteLength(job.body));
      let done = false;
      let timedOut = false;
      const finish = (outcome: { status?: number; error?: string }) => {
        if (done) return;
        done = true;
        inFlight.delete(req);
        resolve(timedOut ? { ...outcome, timedOut } : outcome);
      };
      const req = lib.request(u, { method: job.method, headers, timeout: options.timeoutMs }, (res) => {
        res.resume();
        res.on('end', () => finish({ status: res.statusCode }));
        res.on('error', (err) => finish({ status: res.statusCode, error: err.message }));
      });
      inFlight.add(req);
      req.on('timeout', () => {
        timedOut = true;
        req.destroy(new Error(`no answer within ${options.timeoutMs} ms`));
      });
      req.on('error', (err) => finish({ error: err.message || String(err) }));
      req.end(job.body ?? undefined);
    });
  }

  async function send(job: Job): Promise<void> {
    for (let attempt = 0; attempt <= RETRIES_AFTER_TIMEOUT; attempt++) {
      if (closed) return;
      if (!options.isActive(job.integrationId)) {
        options.log(`${iso()} webhook event ${job.event.id} -> integration ${job.integrationId}: not sent, the integration is deactivated or gone`);
        return;
      }
      const outcome = await call(job);
      if (closed) return;
      const deactivated = count(job.integrationId, answered(outcome.status) && !outcome.error);
      record(job, { ...outcome, ...(attempt > 0 ? { retry: true } : {}), ...(deactivated ? { deactivated } : {}) });
      if (!outcome.timedOut) return;
    }
  }

  return {
    deliveries,
    record,
    /**
     * Sends in order per integration and ticket, so a receiver sees a ticket's events in order,
     * while different tickets go out in parallel. [guess] Gorgias's own ordering is not
     * documented; a queue per whole integration made every conversation wait for all others.
     */
    enqueue(job: Job, done: () => void): void {
      const key = `${job.integrationId}:${job.ticketId}`;
      const prev = chains.get(key) ?? Promise.resolve();
      const nextChain: Promise<void> = prev
        .then(() => send(job))
        .finally(() => {
          if (chains.get(key) === nextChain) chains.delete(key);
          done();
        });
      chains.set(key, nextChain);
    },
    close(): void {
      closed = true;
      for (const req of inFlight) req.destroy();
      inFlight.clear();
    },
  };
}

export type Delivery = ReturnType<typeof createDelivery>;
