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
import { secretMatcher } from '../secret.js';
import { WEBHOOK_EVENT } from '../webhook/template.js';
import type { AgentWebhook } from '../session/types.js';

export type Refusal = { ok: false; status: 400 | 401; reason: string };
export type ParseResult = { ok: true; event: AgentWebhook } | Refusal;

export interface ParseOptions {
  /**
   * The secret the URL (or the header) must carry, or a check of it (`secretMatcher`, which prepares
   * the expected secret once). Without it, the token is not checked (tests of parsing alone).
   */
  token?: string | ((given: string) => boolean);
  /** A token sent in the `X-Livechat-Token` header instead of the query. */
  headerToken?: string;
}

const PARAM_NAMES = ['external_id', 'ticket_id', 'event_type', 'event_id', 'message_id', 'text', 'from_agent', 'channel', 'token'] as const;
export type ParamName = (typeof PARAM_NAMES)[number];
const KNOWN: ReadonlySet<string> = new Set(PARAM_NAMES);
const isKnown = (key: string): key is ParamName => KNOWN.has(key);
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
  if (!raw.includes('+')) return percentDecode(raw);
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
  if (raw.indexOf('+') < 0 && raw.indexOf('%') < 0) return raw; // the usual case: nothing to decode
  return percentDecode(raw.replace(/\+/g, ' '));
}

interface QueryText {
  raw: string;
  /** A `&from_agent=` followed it: the query did not end early. */
  complete: boolean;
}

/** The params of a webhook, by name. */
export type WebhookParams = Partial<Record<ParamName, string>>;

export interface WebhookQuery {
  params: WebhookParams;
  /** The text as it came in the query, when it did. */
  text?: QueryText;
}

function setParam(params: WebhookParams, key: ParamName, value: string): void {
  const before = params[key];
  if (before !== undefined && before !== value) throw new WebhookFormatError(`parameter "${key}" is given twice`);
  params[key] = value;
}

/** The known param named by `query[from, to)`, compared in place (no string is made for it). */
function keyAt(query: string, from: number, to: number): ParamName | undefined {
  const length = to - from;
  for (const name of PARAM_NAMES) if (name.length === length && query.startsWith(name, from)) return name;
  // An encoded key (`ext%65rnal_id`): decode it (rare).
  const percent = query.indexOf('%', from);
  const plus = query.indexOf('+', from);
  if ((percent < 0 || percent >= to) && (plus < 0 || plus >= to)) return undefined;
  const key = decodeValue(query.slice(from, to));
  return isKnown(key) ? key : undefined;
}

/**
 * The known params of `query[from, to)` (`a=1&b=2`), in one pass: a key is decoded only when it
 * needs it, and a value only when its key is one we read (extra params are tolerated, unread).
 */
function scanParams(query: string, from: number, to: number, params: WebhookParams): void {
  for (let i = from; i < to;) {
    let amp = query.indexOf('&', i);
    if (amp < 0 || amp > to) amp = to;
    if (amp > i) {
      let eq = query.indexOf('=', i);
      if (eq < 0 || eq > amp) eq = amp;
      const key = keyAt(query, i, eq);
      if (key !== undefined) setParam(params, key, eq < amp ? decodeValue(query.slice(eq + 1, amp)) : '');
    }
    i = amp + 1;
  }
}

/** Split `a=1&b=2` into known params (a form body). */
function splitParams(query: string, params: WebhookParams): void {
  scanParams(query, 0, query.length, params);
}

/** The query -> params, with the text cut out structurally first (see the header comment). */
export function parseQuery(query: string): WebhookQuery {
  const params: WebhookParams = {};
  const startsWithText = query.startsWith('text=');
  const textAt = startsWithText ? 0 : query.indexOf('&text=') + 1;
  if (textAt === 0 && !startsWithText) {
    scanParams(query, 0, query.length, params);
    return { params };
  }
  const valueAt = textAt + 'text='.length;
  let end = query.lastIndexOf('&from_agent=');
  const complete = end >= valueAt;
  if (end < valueAt) end = query.lastIndexOf('&token=');
  if (end < valueAt) end = query.length;
  const text: QueryText = { raw: query.slice(valueAt, end), complete };
  params.text = decodeText(text.raw);
  scanParams(query, 0, Math.max(0, textAt - 1), params);
  scanParams(query, end, query.length, params);
  return { params, text };
}

/** Query or form body -> params (for callers that want the params only). */
export function parseParams(query: string): WebhookParams {
  return parseQuery(query).params;
}

/** The params of a request URL's query. Throws a WebhookFormatError when it cannot be read. */
export function readQuery(rawUrl: string): WebhookQuery {
  const q = rawUrl.indexOf('?');
  return q < 0 ? { params: {} } : parseQuery(rawUrl.slice(q + 1));
}

/** The token a request carries: the URL's `token=` (a pasted integration), else the header (an installed one). */
export function givenToken(query: WebhookQuery, headerToken: string | undefined): string | undefined {
  const given = query.params.token ?? headerToken;
  return given === '' ? undefined : given;
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
function paramsFromJson(text: string): WebhookParams {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new WebhookFormatError('the body is not valid JSON');
  }
  if (!isObject(body)) throw new WebhookFormatError('the JSON body must be an object');
  const params: WebhookParams = {};
  const put = (key: ParamName, v: unknown) => {
    const value = jsonValue(key, v);
    if (value !== undefined) params[key] = value;
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
  for (const [k, v] of Object.entries(body)) if (isKnown(k)) put(k, v);
  return params;
}

/** The params a body carries. Throws a WebhookFormatError when it cannot be read. */
export function bodyParams(body: Buffer | string, contentType: string | undefined): WebhookParams {
  const size = typeof body === 'string' ? body.length : body.byteLength;
  if (size === 0) return {};
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
    const params: WebhookParams = {};
    splitParams(text, params);
    return params;
  }
  if (!type && /^\s*\{/.test(text)) return paramsFromJson(text);
  return {}; // other bodies carry nothing we read
}

export function parseFromAgent(value: string): boolean | undefined {
  if (/^(true|1)$/i.test(value)) return true;
  if (/^(false|0)$/i.test(value)) return false;
  return undefined;
}

/** Missing: absent, empty, Python's `None`, JSON's `null`, or a template variable left unfilled. */
export function blank(v: string | undefined): v is undefined {
  if (v === undefined) return true;
  const t = v.trim();
  return t === '' || t === 'None' || t === 'null' || (t.startsWith('{{') && /^\{\{.*\}\}$/.test(t));
}

const bad = (reason: string): Refusal => ({ ok: false, status: 400, reason });
/** A request we cannot read is refused the same way whatever part of it is unreadable (the token too). */
const unreadable = (err: unknown): Refusal => bad(err instanceof WebhookFormatError ? err.message : 'unreadable request');

/** 401 unless the request carries the token, in the URL or the header. `undefined`: it does. */
export function checkToken(query: WebhookQuery, headerToken: string | undefined, matches: (given: string) => boolean): Refusal | undefined {
  const given = givenToken(query, headerToken);
  if (given === undefined) return { ok: false, status: 401, reason: 'missing token' };
  if (!matches(given)) return { ok: false, status: 401, reason: 'invalid token' };
  return undefined;
}

/**
 * One webhook request -> an AgentWebhook, in the order the receiver takes it: the query, the token
 * (URL or header, never the body: it is checked before a body is read), then the body.
 */
export function parseWebhook(rawUrl: string, body: Buffer | string, contentType: string | undefined, options: ParseOptions = {}): ParseResult {
  let query: WebhookQuery;
  try {
    query = readQuery(rawUrl);
  } catch (err) {
    return unreadable(err);
  }
  if (options.token !== undefined) {
    const matches = typeof options.token === 'string' ? secretMatcher(options.token) : options.token;
    const refused = checkToken(query, options.headerToken, matches);
    if (refused) return refused;
  }
  let fromBody: WebhookParams | undefined;
  try {
    fromBody = bodyParams(body, contentType);
  } catch (err) {
    return unreadable(err);
  }
  return webhookFrom(query, fromBody);
}

/** The event from a query and the params of the body, if any (the token already checked). */
export function webhookFrom(query: WebhookQuery, fromBody: WebhookParams | undefined): ParseResult {
  const { params, text: queryText } = query;
  // A body is unambiguous: what it says wins, and a missing value there does not erase the query's.
  if (fromBody) {
    for (const k of PARAM_NAMES) {
      const v = fromBody[k];
      if (v !== undefined && (!blank(v) || k === 'text')) params[k] = v;
    }
  }

  const event: AgentWebhook = { text: '', fromAgent: false };
  const externalId = params.external_id;
  if (!blank(externalId)) event.conversationId = externalId;
  const ticketId = params.ticket_id;
  if (!blank(ticketId)) {
    if (!/^\d{1,15}$/.test(ticketId.trim())) return bad('ticket_id must be a number');
    event.ticketId = Number(ticketId);
  }
  if (event.conversationId === undefined && event.ticketId === undefined) return bad('missing external_id (and ticket_id)');
  const eventType = params.event_type;
  if (!blank(eventType)) event.eventType = eventType;
  const eventId = params.event_id;
  const messageId = params.message_id;
  if (!blank(eventId)) event.eventId = eventId.trim();
  if (!blank(messageId)) event.messageId = messageId.trim();
  if (event.eventId === undefined && event.messageId === undefined) return bad('missing event_id and message_id');
  // Only a message id lets the engine read the message back.
  const canRead = event.messageId !== undefined && /^\d{1,15}$/.test(event.messageId);

  const text = params.text;
  const textFromBody = fromBody?.text !== undefined;
  let doubt = false;
  if (blank(text)) {
    // `None` or nothing: an empty message is shown as nothing, a missing one is read back.
    if (!canRead) return bad('missing text');
    doubt = true;
  } else {
    event.text = text;
    if (!textFromBody && queryText) doubt = textInDoubt(queryText.raw, queryText.complete);
  }

  const fromAgent = params.from_agent;
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

  const channel = params.channel;
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
