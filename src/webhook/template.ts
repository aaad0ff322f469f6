// The Gorgias HTTP-integration URL template, shared by `webhook-url`, `webhook install`,
// the receiver's parser and the simulator.
import { usageError } from '../errors.js';

export const WEBHOOK_EVENT = 'ticket-message-created';

/** Query parameter → Gorgias template variable, in the order the URL carries them. */
export const WEBHOOK_VARIABLES = [
  ['external_id', '{{ticket.external_id}}'],
  ['ticket_id', '{{ticket.id}}'],
  ['event_type', '{{event.type}}'],
  ['event_id', '{{event.id}}'],
  ['message_id', '{{event.object_id}}'],
  ['text', '{{message.body_text}}'],
  ['from_agent', '{{message.from_agent}}'],
] as const;

export type WebhookParam = (typeof WEBHOOK_VARIABLES)[number][0] | 'token';

export interface BaseUrlCheck {
  url: string;
  warnings: string[];
}

/** Refuse what Gorgias cannot call; warn about what it cannot reach. */
export function checkBaseUrl(raw: string): BaseUrlCheck {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw usageError(`base URL "${raw}" is not a valid URL (expected e.g. https://bot.example.com/gorgias/webhook)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw usageError(`base URL must be http(s), got "${u.protocol}"`);
  }
  if (u.hash || raw.includes('#')) throw usageError('base URL must not contain a fragment (#...)');
  if (u.search) throw usageError('base URL must not contain a query string (?...); livechat adds its own');
  if (u.username || u.password) throw usageError('base URL must not contain credentials');
  const warnings: string[] = [];
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost') || /^127\./.test(host) || host === '::1' || host === '0.0.0.0') {
    warnings.push(`${u.host} is local: Gorgias cannot reach it (fine for the emulator and tests)`);
  } else if (u.protocol === 'http:') {
    warnings.push('the base URL is plain http: the token would travel unencrypted; use https for a real account');
  }
  return { url: u.toString(), warnings };
}

/** The exact URL to paste into Gorgias. */
export function webhookUrlTemplate(baseUrl: string, token: string): string {
  const query = WEBHOOK_VARIABLES.map(([param, variable]) => `${param}=${variable}`).join('&');
  return `${baseUrl}?${query}&token=${encodeURIComponent(token)}`;
}
