// Gorgias answers -> typed errors. Pure: the client decides *when*, this decides *what it says*.
import { LivechatError, type ErrorKind } from '../errors.js';

export type GorgiasErrorKind = Extract<
  ErrorKind,
  'auth' | 'forbidden' | 'not_found' | 'validation' | 'rate_limited' | 'server' | 'unreachable' | 'timeout'
>;

export class GorgiasError extends LivechatError {
  readonly status?: number;
  /** A 429's Retry-After, in ms: how long Gorgias asked us to wait. */
  retryAfterMs?: number;

  constructor(message: string, options: { kind: GorgiasErrorKind; status?: number; details?: string[]; cause?: unknown }) {
    super(message, { kind: options.kind, details: options.details, cause: options.cause });
    this.name = 'GorgiasError';
    this.status = options.status;
  }
}

export interface ParsedErrorBody {
  msg?: string;
  data?: unknown;
}

/** `{"error": {"msg", "data"}}`, tolerating `{"error": "text"}` and `{"message": ...}`. Never returns the raw body. */
export function parseErrorBody(text: string): ParsedErrorBody {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return {};
  }
  if (!body || typeof body !== 'object') return {};
  const b = body as Record<string, unknown>;
  const e = b.error;
  if (typeof e === 'string') return { msg: oneLine(e) };
  if (e && typeof e === 'object') {
    const { msg, message, data } = e as Record<string, unknown>;
    const m = typeof msg === 'string' ? msg : typeof message === 'string' ? message : undefined;
    return { msg: m === undefined ? undefined : oneLine(m), data };
  }
  if (typeof b.message === 'string') return { msg: oneLine(b.message) };
  return {};
}

/** Field details as `field: problem` lines; nested objects become dotted paths. */
export function fieldDetails(data: unknown, prefix = ''): string[] {
  if (data === undefined || data === null) return [];
  if (typeof data !== 'object') {
    const text = oneLine(typeof data === 'string' ? data : (JSON.stringify(data) ?? typeof data));
    return [prefix ? `${prefix}: ${text}` : text];
  }
  if (Array.isArray(data)) {
    if (data.every((d) => typeof d !== 'object' || d === null)) {
      const text = data.map((d) => oneLine(String(d))).join('; ');
      return text ? [prefix ? `${prefix}: ${text}` : text] : [];
    }
    return data.flatMap((d, i) => fieldDetails(d, prefix ? `${prefix}.${i}` : String(i)));
  }
  return Object.entries(data as Record<string, unknown>).flatMap(([k, v]) => fieldDetails(v, prefix ? `${prefix}.${k}` : k));
}

function oneLine(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 300 ? `${t.slice(0, 297)}...` : t;
}

/** What an HTTP error answer means to the user. `what` is e.g. `GET /api/macros/5`. */
export function errorFromResponse(status: number, bodyText: string, what: string, safe: (t: string) => string = (t) => t): GorgiasError {
  const parsed = parseErrorBody(bodyText);
  const msg = parsed.msg === undefined ? undefined : safe(parsed.msg);
  const data = parsed.data;
  const said = msg ? `: ${msg}` : '';
  if (status === 401) {
    return new GorgiasError(`Gorgias credentials rejected (401${said}); check the username (email) and API key`, {
      kind: 'auth',
      status,
    });
  }
  if (status === 403) {
    return new GorgiasError(`Gorgias refused access (403${said}); the account may be inactive or the user lacks permission`, {
      kind: 'forbidden',
      status,
    });
  }
  if (status === 404) return new GorgiasError(`Gorgias found nothing at ${what} (404${said})`, { kind: 'not_found', status });
  if (status === 400 || status === 422) {
    return new GorgiasError(`Gorgias rejected ${what} (${status}${said || ': invalid request'})`, {
      kind: 'validation',
      status,
      details: fieldDetails(data).map(safe),
    });
  }
  if (status === 429) {
    return new GorgiasError(`Gorgias rate limit still reached after waiting (429${said}); try again in a minute`, {
      kind: 'rate_limited',
      status,
    });
  }
  if (status >= 500) return new GorgiasError(`Gorgias server error on ${what} (${status}${said})`, { kind: 'server', status });
  return new GorgiasError(`Gorgias answered ${status} to ${what}${said}`, { kind: 'server', status });
}

/** A network failure (no HTTP answer). */
export function errorFromNetwork(
  err: unknown,
  baseUrl: string,
  what: string,
  timeoutMs: number,
  safe: (t: string) => string = (t) => t,
): GorgiasError {
  if (isTimeout(err)) {
    return new GorgiasError(`Gorgias did not answer ${what} within ${formatMs(timeoutMs)}`, { kind: 'timeout', cause: err });
  }
  const code = safe(networkCode(err));
  return new GorgiasError(`cannot reach Gorgias at ${baseUrl} (${code})`, { kind: 'unreachable', cause: err });
}

export function isTimeout(err: unknown): boolean {
  const e = err as { name?: string; code?: string; cause?: unknown } | undefined;
  if (!e) return false;
  if (e.name === 'TimeoutError') return true;
  if (e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT') return true;
  if (e.code === 'ETIMEDOUT') return true;
  return e.cause !== undefined && e.cause !== err && isTimeout(e.cause);
}

/** Refused or unknown host: a wrong domain, not a blip; retrying only delays the answer. */
const PERMANENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_INVALID_URL',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Worth another try: timeouts, resets, dropped sockets, DNS hiccups (EAI_AGAIN). */
export function isTransientNetworkError(err: unknown): boolean {
  return isTimeout(err) || !PERMANENT_CODES.has(networkCode(err));
}

/** The code of a network failure (ECONNREFUSED, ENOTFOUND...), or its message. */
export function networkCode(err: unknown): string {
  let e = err as { code?: string; message?: string; cause?: unknown } | undefined;
  for (let i = 0; e && i < 4; i++) {
    if (typeof e.code === 'string' && !e.code.startsWith('UND_ERR_')) return e.code;
    e = e.cause as typeof e;
  }
  const top = err as { code?: string; message?: string } | undefined;
  return top?.code ?? (top?.message ? oneLine(top.message) : 'network error');
}

function formatMs(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000}s` : ms >= 1000 ? `${(ms / 1000).toFixed(1)}s` : `${ms}ms`;
}
