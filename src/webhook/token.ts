// The secret that the webhook URL carries, so the receiver can refuse strangers.
import { randomBytes } from 'node:crypto';

/** 192 bits of randomness, URL-safe (base64url, no padding): 32 characters. */
export function newWebhookToken(): string {
  return randomBytes(24).toString('base64url');
}
