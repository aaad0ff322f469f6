// The Gorgias HTTP-integration templates, shared by `webhook-url`, `webhook install`, the
// receiver's parser and the simulator. Two forms reach the same receiver:
// - pasted by hand (`webhook-url`): everything in the URL, the token too;
// - installed (`webhook install`): the ids in the URL, the whole ticket and message as a JSON
//   body (`{{context}}`, so the text arrives exact), and the token in a header, out of URL logs.
import { usageError } from '../errors.js';

export const WEBHOOK_EVENT = 'ticket-message-created';

/**
 * Query parameter → Gorgias template variable, in the order the URL carries them. The first seven
 * are those of the first guides (pasted templates keep working); `channel` tells an agent's
 * internal note (`internal-note`) from a reply, and goes after `from_agent` so that a raw text
 * stays between `text=` and `&from_agent=`.
 */
export const WEBHOOK_VARIABLES = [
  ['external_id', '{{ticket.external_id}}'],
  ['ticket_id', '{{ticket.id}}'],
  ['event_type', '{{event.type}}'],
  ['event_id', '{{event.id}}'],
  ['message_id', '{{event.object_id}}'],
  ['text', '{{message.body_text}}'],
  ['from_agent', '{{message.from_agent}}'],
  ['channel', '{{message.channel}}'],
] as const;

export type WebhookParam = (typeof WEBHOOK_VARIABLES)[number][0] | 'token';

/** The template of the first guides, without `channel`: still accepted (each message is then read back). */
export const LEGACY_PARAMS: readonly string[] = WEBHOOK_VARIABLES.map(([p]) => p).filter((p) => p !== 'channel');

/**
 * The installed integration's body: the whole template context as JSON, with `ticket` and
 * `message` whole. [sure] Public production code installs exactly this form and reads
 * `body.ticket` and `body.message`. (Explicit fields with `|tojson` would be the other way.)
 */
export const INSTALLED_FORM = '{{context}}';

/** The header that carries the secret in an installed integration. [likely] No signature header exists. */
export const TOKEN_HEADER = 'X-Livechat-Token';

/** What the installed URL carries: the ids and flags, not the text (the body has it) nor the token (a header has it). */
export const INSTALLED_PARAMS: readonly string[] = WEBHOOK_VARIABLES.map(([p]) => p).filter((p) => p !== 'text');

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

const query = (params: readonly string[]) =>
  WEBHOOK_VARIABLES.filter(([param]) => params.includes(param))
    .map(([param, variable]) => `${param}=${variable}`)
    .join('&');

/** The exact URL to paste into Gorgias by hand: every parameter, and the token. */
export function webhookUrlTemplate(baseUrl: string, token: string): string {
  return `${baseUrl}?${query(WEBHOOK_VARIABLES.map(([p]) => p))}&token=${encodeURIComponent(token)}`;
}

/** The URL of the integration that `webhook install` creates (no text, no token: see INSTALLED_PARAMS). */
export function installedUrlTemplate(baseUrl: string): string {
  return `${baseUrl}?${query(INSTALLED_PARAMS)}`;
}
