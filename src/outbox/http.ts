// Deliveries leave the outbox as signed JSON POSTs to the deliver URL. A 2xx is taken; anything
// else, or no answer in time, throws, and the outbox tries again later (in order, same id).
import { request } from 'undici';
import type { Clock } from '../clock.js';
import type { QueuedDelivery } from '../session/store.js';
import { deliveryBody } from './format.js';
import { SIGNATURE_HEADER, signature } from './signature.js';

export interface HttpDeliveryOptions {
  url: string;
  /** Signs every delivery (the channel secret). */
  secret: string;
  clock: Clock;
  timeoutMs?: number;
  /** Deliveries in flight at once, across conversations. */
  concurrency?: number;
  userAgent?: string;
}

export const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000;

export function httpDelivery(options: HttpDeliveryOptions): (d: QueuedDelivery) => Promise<void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
  const limit = Math.max(1, options.concurrency ?? 16);
  let inFlight = 0;
  const waiting: Array<() => void> = [];
  const acquire = async () => {
    while (inFlight >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    inFlight++;
  };
  const release = () => {
    inFlight--;
    waiting.shift()?.();
  };

  return async (d) => {
    const body = JSON.stringify(deliveryBody(d));
    await acquire();
    try {
      const res = await request(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': options.userAgent ?? 'livechat-bridge',
          'x-livechat-delivery': d.id,
          [SIGNATURE_HEADER]: signature(options.secret, body, options.clock.now() / 1000),
        },
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body.dump();
      if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`the deliver URL answered ${res.statusCode}`);
    } catch (err) {
      const e = err as { name?: string; code?: string; message?: string };
      if (e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') {
        throw new Error(`the deliver URL did not answer within ${timeoutMs} ms`);
      }
      throw err;
    } finally {
      release();
    }
  };
}
