// Signed deliveries, the scheme Stripe uses: `X-Livechat-Signature: t=<unix seconds>,v1=<hex
// HMAC-SHA256 of "<t>.<raw body>" keyed by the channel secret>`. Pure; bots verify with the same
// few lines they already use for Stripe webhooks (or with `verifySignature` from this package).
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-livechat-signature';
/** A signature older (or newer) than this is refused: a replayed delivery cannot be used later. */
export const DEFAULT_TOLERANCE_S = 300;

export function signature(secret: string, body: string, unixSeconds: number): string {
  const t = Math.floor(unixSeconds);
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex');
  return `t=${t},v1=${v1}`;
}

export interface VerifyOptions {
  /** Now, in unix seconds. */
  now: number;
  toleranceS?: number;
}

/** Whether `header` signs `body` with `secret`, recently enough. Any `v1` in the header may match. */
export function verifySignature(header: string | undefined, body: string, secret: string, options: VerifyOptions): boolean {
  if (!header) return false;
  const parts = header.split(',').map((p) => p.trim().split('=') as [string, string?]);
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(options.now - t) > (options.toleranceS ?? DEFAULT_TOLERANCE_S)) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex'), 'utf8');
  return parts.some(([k, v]) => k === 'v1' && v !== undefined && v.length === expected.length && timingSafeEqual(Buffer.from(v, 'utf8'), expected));
}
