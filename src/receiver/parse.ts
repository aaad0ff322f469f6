// Turning one Gorgias webhook request into an AgentWebhook. Pure: no I/O, no clock.
//
// Two forms arrive (see src/webhook/template.ts):
// - installed: a JSON body that is the whole template context (`{{context}}`): `body.ticket`,
//   `body.message` and maybe `body.event` [guess]. Ids, text, flag and channel come from there,
//   exact; the URL adds the event id and type; the token is in a header.
// - pasted by hand: everything in the query, the text too. Whether Gorgias URL-encodes the values
//   it puts in a URL is not documented ([guess]), so the text may arrive:
//     - form-encoded:       "a+b%26c"      (space as "+")
//     - percent-encoded:    "a%20b%26c%2B" (encodeURIComponent: "+" never appears)
//     - raw, or only partly encoded by the sender's HTTP library (spaces, newlines and non-ASCII as
//       %XX, but "&", "#", "+" and "=" as they are): "a%20&%20b+c#d", and a raw "#" ends the URL.
//   The params come in the template's order, so the text is taken structurally: everything between
//   `text=` and the last `&from_agent=`. `%XX` is always decoded (as UTF-8; a stray "%" stays);
//   "+" means a space only when nothing else shows how spaces travel (no raw whitespace, no `%20`)
//   and no character an encoder would have escaped is there.
//
// Values are rendered by Gorgias in Python [likely]: `None`, `null` and an empty value mean
// missing; `True`/`False` (any case) and `1`/`0` are the flag.
//
// When the webhook alone cannot be trusted, the event is marked `verify` and the engine reads the
// message back from the API before it shows anything:
// - `channel`: the channel is not given (a template from before it had `&channel=`), so an
//   internal note cannot be told from a reply;
// - `text`: the text came from the query and may not be exact. That is when (1) no `&from_agent=`
//   follows it (the query ended early: a raw "#", or a cut), (2) it holds a "+" that may be a space
//   or a plus (form-encoded, or raw with nothing else to tell), (3) it was sent unencoded and holds
//   a `%XX` that may have been typed as such, or (4) it, or the flag, is missing or `None` while the
//   message id is known.
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

const KNOWN = new Set(['external_id', 'ticket_id', 'event_type', 'event_id', 'message_id', 'text', 'from_agent', 'channel', 'token']);
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

const plusIsSpace = (raw: string) => !RAW_HINT.test(raw) && !/%20/i.test(raw);

/** The text value, whichever way it was (or was not) encoded. See the header comment. */
export function decodeText(raw: string): string {
  return percentDecode(plusIsSpace(raw) ? raw.replace(/\+/g, ' ') : raw);
}

/**
 * Whether a query text, as it came (`raw`), may differ from what the agent wrote. `complete`: a
 * `&from_agent=` followed it. Rules (2) and (3) of the header comment; (1) is `!complete`.
 */
export function textInDoubt(raw: string, complete: boolean): boolean {
  if (!complete) return true;
  if (raw.includes('+') && plusIsSpace(raw)) return true;
  return RAW_HINT.test(raw) && /%[0-9a-fA-F]{2}/.test(raw);
}

/** A plain form-style value (ids, flags, the token). */
function decodeValue(raw: string): string {
  return percentDecode(raw.replace(/\+/g, ' '));
}

interface QueryText {
  raw: string;
  /** A `&from_agent=` followed it: the query did not end early. */
  complete: boolean;
}

function setParam(params: Map<string, string>, key: string, value: string): void {
  if (!KNOWN.has(key)) return; // tolerate extra params
  const before = params.get(key);
  if (before !== undefined && before !== value) throw new WebhookFormatError(`parameter "${key}" is given twice`);
  params.set(key, value);
}

/** Split `a=1&b=2` into known params (a form body, or the query once the text is cut out). */
function splitParams(query: string, params: Map<string, string>): void {
  for (const part of query.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    setParam(params, decodeValue(eq < 0 ? part : part.slice(0, eq)), eq < 0 ? '' : decodeValue(part.slice(eq + 1)));
  }
}

/** The query -> params, with the text cut out structurally first (see the header comment). */
export function parseQuery(query: string): { params: Map<string, string>; text?: QueryText } {
  const params = new Map<string, string>();
  let rest = query;
  let text: QueryText | undefined;
  const textAt = query.startsWith('text=') ? 0 : query.indexOf('&text=') + 1;
  if (textAt > 0 || query.startsWith('text=')) {
    const valueAt = textAt + 'text='.length;
    let end = query.lastIndexOf('&from_agent=');
    const complete = end >= valueAt;
    if (end < valueAt) end = query.lastIndexOf('&token=');
    if (end < valueAt) end = query.length;
    text = { raw: query.slice(valueAt, end), complete };
    params.set('text', decodeText(text.raw));
    rest = `${query.slice(0, Math.max(0, textAt - 1))}${query.slice(end)}`;
  }
  splitParams(rest, params);
  return { params, text };
}

/** Query or form body -> params (kept for callers that want the map only). */
export function parseParams(query: string): Map<string, string> {
  return parseQuery(query).params;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JSON value as a param: strings, numbers, booleans; null is missing. */
function jsonValue(key: string, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new WebhookFormatError(`"${key}" must be a string`);
}

/**
 * Params from a JSON body. The installed form: `{ticket, message, event?}` (the `{{context}}`
 * body); we take `ticket.id`, `ticket.external_id`, `message.id`, `message.body_text`,
 * `message.from_agent`, `message.channel`, and `event.id` and `event.type` when given. Otherwise a
 * flat object of the known keys.
 */
function paramsFromJson(text: string): Map<string, string> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new WebhookFormatError('the body is not valid JSON');
  }
  if (!isObject(body)) throw new WebhookFormatError('the JSON body must be an object');
  const params = new Map<string, string>();
  const put = (key: string, v: unknown) => {
    const value = jsonValue(key, v);
    if (value !== undefined) params.set(key, value);
  };
  if (isObject(body.message) || isObject(body.ticket)) {
    const ticket = isObject(body.ticket) ? body.ticket : {};
    const message = isObject(body.message) ? body.message : {};
    const event = isObject(body.event) ? body.event : {};
    put('external_id', ticket.external_id);
    put('ticket_id', ticket.id ?? message.ticket_id);
    put('message_id', message.id);
    put('text', message.body_text);
    put('from_agent', message.from_agent);
    put('channel', message.channel);
    put('event_id', event.id);
    put('event_type', event.type);
    return params;
  }
  for (const [k, v] of Object.entries(body)) if (KNOWN.has(k)) put(k, v);
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
  if (type === 'application/x-www-form-urlencoded') {
    // A form body is encoded whole by the sender: "+" is a space, as in any form.
    const params = new Map<string, string>();
    splitParams(text, params);
    return params;
  }
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

/** Missing: absent, empty, Python's `None`, JSON's `null`, or a template variable left unfilled. */
export function blank(v: string | undefined): v is undefined {
  if (v === undefined) return true;
  const t = v.trim();
  return t === '' || t === 'None' || t === 'null' || /^\{\{.*\}\}$/.test(t);
}

export function parseWebhook(rawUrl: string, body: Buffer | string, contentType: string | undefined, options: ParseOptions = {}): ParseResult {
  const bad = (reason: string): ParseResult => ({ ok: false, status: 400, reason });
  let params: Map<string, string>;
  let queryText: QueryText | undefined;
  let fromBody: Map<string, string>;
  try {
    const q = rawUrl.indexOf('?');
    const parsed = q < 0 ? { params: new Map<string, string>() } : parseQuery(rawUrl.slice(q + 1));
    params = parsed.params;
    queryText = parsed.text;
    fromBody = bodyParams(body, contentType);
    // A body is unambiguous: what it says wins, and a missing value there does not erase the query's.
    for (const [k, v] of fromBody) if (!blank(v) || k === 'text') params.set(k, v);
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
    if (!/^\d{1,15}$/.test(ticketId.trim())) return bad('ticket_id must be a number');
    event.ticketId = Number(ticketId);
  }
  if (event.conversationId === undefined && event.ticketId === undefined) return bad('missing external_id (and ticket_id)');
  const eventType = params.get('event_type');
  if (!blank(eventType)) event.eventType = eventType;
  const eventId = params.get('event_id');
  const messageId = params.get('message_id');
  if (!blank(eventId)) event.eventId = eventId.trim();
  if (!blank(messageId)) event.messageId = messageId.trim();
  if (event.eventId === undefined && event.messageId === undefined) return bad('missing event_id and message_id');
  // Only a message id lets the engine read the message back.
  const canRead = event.messageId !== undefined && /^\d{1,15}$/.test(event.messageId);

  const text = params.get('text');
  const textFromBody = fromBody.has('text');
  let doubt = false;
  if (blank(text)) {
    // `None` or nothing: an empty message is shown as nothing, a missing one is read back.
    if (!canRead) return bad('missing text');
    doubt = true;
  } else {
    event.text = text;
    if (!textFromBody && queryText) doubt = textInDoubt(queryText.raw, queryText.complete);
  }

  const fromAgent = params.get('from_agent');
  if (blank(fromAgent)) {
    if (!canRead) return bad('missing from_agent');
    // Read back: Gorgias says who wrote it.
    event.fromAgent = true;
    doubt = true;
  } else {
    const flag = parseFromAgent(fromAgent.trim());
    if (flag === undefined) return bad('from_agent must be true or false');
    event.fromAgent = flag;
  }

  const channel = params.get('channel');
  if (!blank(channel)) event.channel = channel.trim();
  // A customer's message is an echo whatever its text: nothing to read back.
  if (event.fromAgent) {
    if (doubt) event.verify = 'text';
    else if (event.channel === undefined) event.verify = 'channel';
  }
  return { ok: true, event };
}

/** Whether the event is the one our integration subscribes to (others are acknowledged and ignored). */
export function isMessageCreated(event: AgentWebhook): boolean {
  return event.eventType === undefined || event.eventType === WEBHOOK_EVENT;
}
