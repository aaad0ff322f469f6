// HTTP integrations: when an event fires, call every active `http` integration that listens for
// it. The call is built here from the integration's templates; `webhook-faults.ts` may drop,
// duplicate, delay or reorder it; `delivery.ts` makes it. Never before the API answer, and every
// attempt is recorded.
import type { Integration, Ticket, TicketMessage } from '../gorgias/types.js';
import type { Clock } from '../clock.js';
import { createDelivery, type Job, type WebhookEvent } from './delivery.js';
import { EMPTY_BODY_WITHOUT_FORM, EVENT_OBJECT_TYPE, WEBHOOK_TIMEOUT_MS, webhookContext, type TemplateEncoding } from './guesses.js';
import type { StoreEvent } from './store.js';
import { fillTemplate, fillUrl } from './template.js';
import { createFaultStage, type WebhookFaults } from './webhook-faults.js';

export type { WebhookDelivery, WebhookEvent } from './delivery.js';
export type { WebhookFaults } from './webhook-faults.js';
export { shuffle } from './webhook-faults.js';

export interface DispatcherOptions {
  clock: Clock;
  encoding: TemplateEncoding;
  integrations: () => Integration[];
  isActive: (integrationId: number) => boolean;
  deactivate: (integrationId: number, iso: string) => void;
  /** Real ms before a call with no answer times out (default WEBHOOK_TIMEOUT_MS). */
  timeoutMs?: number;
  log: (line: string) => void;
}

/** The context templates are filled from. */
export function templateContext(ticket: Ticket, message: TicketMessage | undefined, event: WebhookEvent): Record<string, unknown> {
  return webhookContext(ticket, message ?? {}, event);
}

/** Which integrations an event calls. */
export function listeners(integrations: Integration[], eventType: string): Integration[] {
  return integrations.filter(
    (i) => i.type === 'http' && i.deactivated_datetime === null && i.http?.triggers?.[eventType as 'ticket-message-created'] === true,
  );
}

/** The request an integration makes for one event. Throws on a bad URL or template. */
export function buildRequest(integration: Integration, context: Record<string, unknown>, encoding: TemplateEncoding) {
  const settings = integration.http!;
  const method = settings.method.toUpperCase();
  // The URL parser does what a client would do with a raw value (see guesses.ts).
  const url = new URL(fillUrl(settings.url, context, encoding)).toString();
  const headers: Record<string, string> = { 'user-agent': 'livechat-gorgias-emulator', ...settings.headers };
  let body: string | null = null;
  const form = typeof settings.form === 'string' ? settings.form : settings.form && Object.keys(settings.form).length ? settings.form : null;
  if (method !== 'GET' && (form !== null || !EMPTY_BODY_WITHOUT_FORM)) {
    const type = settings.request_content_type || 'application/json';
    if (typeof form === 'string') body = fillTemplate(form, context);
    else {
      const values = Object.fromEntries(Object.entries(form ?? {}).map(([k, v]) => [k, fillTemplate(v, context)]));
      body = /form-urlencoded/i.test(type) ? new URLSearchParams(values).toString() : JSON.stringify(values);
    }
    headers['content-type'] = type;
  }
  return { url, method, headers, body };
}

export function createDispatcher(options: DispatcherOptions) {
  const { clock } = options;
  let nextEventId = 1;
  let pending = 0;
  let closed = false;
  let waiters: Array<{ ready: () => boolean; resolve: () => void }> = [];
  const delivery = createDelivery({
    clock,
    timeoutMs: options.timeoutMs ?? WEBHOOK_TIMEOUT_MS,
    log: options.log,
    isActive: options.isActive,
    deactivate: options.deactivate,
  });
  const faults = createFaultStage<Job>(
    clock,
    (job) => delivery.enqueue(job, () => settle()),
    () => closed,
  );

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
      const base = {
        integrationId: integration.id,
        event: webhookEvent,
        ticketId: event.ticket.id,
        messageId: event.type === 'ticket-message-created' ? event.message.id : null,
        duplicate: false,
      };
      let job: Job;
      try {
        job = { ...base, ...buildRequest(integration, context, options.encoding) };
      } catch (err) {
        const what = err instanceof TypeError ? 'bad URL' : 'bad template';
        const settings = { url: integration.http?.url ?? '', method: integration.http?.method ?? '', headers: {}, body: null };
        delivery.record({ ...base, ...settings }, { error: `${what}: ${(err as Error).message}` });
        continue;
      }
      const copies = faults.copies();
      if (copies === 0) delivery.record(job, { dropped: true });
      for (let i = 0; i < copies; i++) {
        pending++;
        faults.route({ ...job, duplicate: i > 0 });
      }
    }
  }

  return {
    deliveries: delivery.deliveries,
    dispatch,
    setFaults: (f: WebhookFaults) => faults.set(f),
    resetFaults: () => faults.reset(),
    /** Deliveries queued or in flight, not counting those held on the clock (a delay, a reorder window). */
    underWay: () => Math.max(0, pending - faults.waiting),
    /** No delivery pending; with `scheduled: false`, none under way (ignoring those waiting on the clock). */
    idle(opts: { scheduled?: boolean } = {}): Promise<void> {
      const ready = opts.scheduled === false ? () => pending - faults.waiting <= 0 : () => pending === 0;
      if (ready()) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ ready, resolve }));
    },
    close(): void {
      closed = true;
      faults.close();
      delivery.close();
      settle(pending);
    },
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
