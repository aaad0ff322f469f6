// Turning one Gorgias webhook request into an AgentWebhook. Pure: no I/O, no clock.
//
// Gorgias fills `{{message.body_text}}` into our URL template, and whether it URL-encodes the value
// is not documented ([guess], see ../shared/reference/gorgias-api.md). So the text may arrive:
//   - form-encoded:       "a+b%26c"      (space as "+")
//   - percent-encoded:    "a%20b%26c%2B" (encodeURIComponent: "+" never appears)
//   - raw, or only partly encoded by the sender's HTTP library (spaces, newlines and non-ASCII as
//     %XX, but "&", "#", "+" and "=" as they are): "a%20&%20b+c#d"
// The params come in the template's known order, so the text is taken structurally: everything
// between `text=` and the last `&from_agent=`. Then:
//   - `%XX` sequences are always decoded (as UTF-8; an invalid "%" is kept as it is);
//   - "+" means a space only when the text shows no other sign of how spaces travel (no raw
//     whitespace, no `%20`) and no character an encoder would have escaped (`&`, `#`, `=`, ...).
//     Otherwise "+" is a plus. The one ambiguous case, raw text with "+" and nothing else special
//     (e.g. "C++"), reads as spaces: form-encoded sentences are far more common than that.
import { createHash, timingSafeEqual } from 'node:crypto';
import { WEBHOOK_EVENT } from '../webhook/template.js';
import type { AgentWebhook } from '../session/types.js';

export type ParseResult = { ok: true; event: AgentWebhook } | { ok: false; status: 400 | 401; reason: string };

export interface ParseOptions {
  /** The secret the URL must carry. Without it, the token is not checked (tests of parsing alone). */
  token?: string;
  /** A token sent in the `X-Livechat-Token` header instead of the query. */
  headerToken?: string;
}

const KNOWN = new Set(['external_id', 'ticket_id', 'event_type', 'event_id', 'message_id', 'text', 'from_agent', 'token']);
/** Characters that an encoder would have escaped: if one is there, the value was not (fully) encoded. */
const RAW_HINT = /[\s&#=?/:;,@$<>"{}|\\^`[\]]|[^\x00-\x7f]/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class WebhookFormatError extends Error {}

/** Decode `%XX` runs as UTF-8; keep a "%" that starts no valid escape. Throws on invalid UTF-8. */
export function percentDecode(value: string): string {
  if (!value.includes('%')) return value;
  // Fast path for well-formed escapes; the loop below handles a stray "%" and reports bad UTF-8.
  try {
    return decodeURIComponent(value).toWellFormed();
  } catch {
    // fall through
  }
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '%' && /^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const code = value.codePointAt(i)!;
      const ch = String.fromCodePoint(code);
      bytes.push(...Buffer.from(ch, 'utf8'));
      i += ch.length - 1;
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    throw new WebhookFormatError('not valid UTF-8 once decoded');
  }
}

/** The text value, whichever way it was (or was not) encoded. See the header comment. */
export function decodeText(raw: string): string {
  const plusIsSpace = !RAW_HINT.test(raw) && !/%20/i.test(raw);
  return percentDecode(plusIsSpace ? raw.replace(/\+/g, ' ') : raw);
}

/** A plain form-style value (ids, flags, the token). */
function decodeValue(raw: string): string {
  return percentDecode(raw.replace(/\+/g, ' '));
}

/**
 * Query or form body -> params. `text` is cut out structurally first (see above); the rest is
 * split on "&". A parameter given twice with different values is malformed.
 */
export function parseParams(query: string): Map<string, string> {
  const params = new Map<string, string>();
  let rest = query;
  const textAt = query.startsWith('text=') ? 0 : query.indexOf('&text=') + 1;
  if (textAt > 0 || query.startsWith('text=')) {
    const valueAt = textAt + 'text='.length;
    let end = query.lastIndexOf('&from_agent=');
    if (end < valueAt) end = query.lastIndexOf('&token=');
    if (end < valueAt) end = query.length;
    params.set('text', decodeText(query.slice(valueAt, end)));
    rest = `${query.slice(0, Math.max(0, textAt - 1))}${query.slice(end)}`;
  }
  for (const part of rest.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const key = decodeValue(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decodeValue(part.slice(eq + 1));
    if (!KNOWN.has(key)) continue; // tolerate extra params
    const before = params.get(key);
    if (before !== undefined && before !== value) throw new WebhookFormatError(`parameter "${key}" is given twice`);
    params.set(key, value);
  }
  return params;
}

/** Params from a JSON body: strings, numbers and booleans of the known keys. */
function paramsFromJson(text: string): Map<string, string> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new WebhookFormatError('the body is not valid JSON');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new WebhookFormatError('the JSON body must be an object');
  const params = new Map<string, string>();
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    if (!KNOWN.has(k)) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') params.set(k, String(v));
    else if (v !== null && v !== undefined) throw new WebhookFormatError(`"${k}" must be a string`);
  }
  return params;
}

function bodyParams(body: Buffer | string, contentType: string | undefined): Map<string, string> {
  const size = typeof body === 'string' ? body.length : body.byteLength;
  if (size === 0) return new Map();
  let text: string;
  try {
    text = typeof body === 'string' ? body : utf8.decode(body);
  } catch {
    throw new WebhookFormatError('the body is not valid UTF-8');
  }
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json')) return paramsFromJson(text);
  if (type === 'application/x-www-form-urlencoded') return parseParams(text);
  if (!type && /^\s*\{/.test(text)) return paramsFromJson(text);
  return new Map(); // other bodies carry nothing we read
}

export function parseFromAgent(value: string): boolean | undefined {
  if (/^(true|1)$/i.test(value)) return true;
  if (/^(false|0)$/i.test(value)) return false;
  return undefined;
}

/** Constant-time token check: both sides hashed to the same length first. */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** A Gorgias template variable that was left unfilled, or an empty value. */
function blank(v: string | undefined): boolean {
  return v === undefined || v.trim() === '' || /^\{\{.*\}\}$/.test(v.trim());
}

export function parseWebhook(rawUrl: string, body: Buffer | string, contentType: string | undefined, options: ParseOptions = {}): ParseResult {
  const bad = (reason: string): ParseResult => ({ ok: false, status: 400, reason });
  let params: Map<string, string>;
  try {
    const q = rawUrl.indexOf('?');
    params = q < 0 ? new Map<string, string>() : parseParams(rawUrl.slice(q + 1));
    for (const [k, v] of bodyParams(body, contentType)) params.set(k, v); // a body is unambiguous: it wins
  } catch (err) {
    // The token may be unreadable too: a request we cannot read is refused the same way either way.
    return bad(err instanceof WebhookFormatError ? err.message : 'unreadable request');
  }

  if (options.token !== undefined) {
    const given = params.get('token') ?? options.headerToken;
    if (given === undefined || given === '') return { ok: false, status: 401, reason: 'missing token' };
    if (!tokenMatches(given, options.token)) return { ok: false, status: 401, reason: 'invalid token' };
  }

  const event: AgentWebhook = { text: '', fromAgent: false };
  const externalId = params.get('external_id');
  if (!blank(externalId)) event.conversationId = externalId;
  const ticketId = params.get('ticket_id');
  if (!blank(ticketId)) {
    if (!/^\d{1,15}$/.test(ticketId!.trim())) return bad('ticket_id must be a number');
    event.ticketId = Number(ticketId);
  }
  if (event.conversationId === undefined && event.ticketId === undefined) return bad('missing external_id (and ticket_id)');
  const eventType = params.get('event_type');
  if (!blank(eventType)) event.eventType = eventType;
  const eventId = params.get('event_id');
  const messageId = params.get('message_id');
  if (!blank(eventId)) event.eventId = eventId!.trim();
  if (!blank(messageId)) event.messageId = messageId!.trim();
  if (event.eventId === undefined && event.messageId === undefined) return bad('missing event_id and message_id');
  const text = params.get('text');
  if (text === undefined) return bad('missing text');
  event.text = text;
  const fromAgent = params.get('from_agent');
  if (fromAgent === undefined) return bad('missing from_agent');
  const flag = parseFromAgent(fromAgent.trim());
  if (flag === undefined) return bad('from_agent must be true or false');
  event.fromAgent = flag;
  return { ok: true, event };
}

/** Whether the event is the one our integration subscribes to (others are acknowledged and ignored). */
export function isMessageCreated(event: AgentWebhook): boolean {
  return event.eventType === undefined || event.eventType === WEBHOOK_EVENT;
}
