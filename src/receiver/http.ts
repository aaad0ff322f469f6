// The webhook receiver as a node `http` request handler. Gorgias does not retry a webhook that
// was answered, and turns the integration off after 100 failed calls in a row, so the answer is
// 2xx as soon as the event is recorded by `onEvent` (the session manager records and hands it to
// the user's sink synchronously; no Gorgias call sits in that path), unknown conversations too.
//
// The token (URL or header) is checked before a body is read: a client without it is answered
// 401 and its socket closed, whatever body it announced. A request without a body is handled with
// no promise at all when `onEvent` answers synchronously (this runs on every webhook).
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { secretMatcher } from '../secret.js';
import type { AgentWebhook, WebhookOutcome } from '../session/types.js';
import { TOKEN_HEADER as WEBHOOK_TOKEN_HEADER } from '../webhook/template.js';
import {
  bodyParams,
  checkToken,
  isMessageCreated,
  readQuery,
  webhookFrom,
  WebhookFormatError,
  type ParseResult,
  type Refusal,
  type WebhookQuery,
} from './parse.js';

/** An installed integration sends the whole ticket, every message in it, as the body. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** A pasted integration carries the text in the URL; long agent replies make long URLs. */
export const DEFAULT_MAX_URL_BYTES = 32 * 1024;
/** Node's default header limit (16 KiB) would refuse long URLs before we see them. */
export const SERVER_MAX_HEADER_SIZE = DEFAULT_MAX_URL_BYTES + 16 * 1024;
/** A client gets this long to send its headers, and its whole request. */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 15_000;
export const KEEP_ALIVE_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_CONNECTIONS = 1024;
/** Lower-cased, as node gives header names. */
export const TOKEN_HEADER = WEBHOOK_TOKEN_HEADER.toLowerCase();

export type ReceiverOutcome = WebhookOutcome | 'ignored';

export interface RejectedRequest {
  status: number;
  reason: string;
  method?: string;
}

export interface ReceiverOptions {
  token: string;
  onEvent(event: AgentWebhook): Promise<WebhookOutcome | void> | WebhookOutcome | void;
  maxBodyBytes?: number;
  maxUrlBytes?: number;
  /** Every refused request (4xx/5xx), for logs and the simulator; never throws into the handler. */
  onRejected?(rejected: RejectedRequest): void;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

const JSON_TYPE = 'application/json; charset=utf-8';

function send(res: ServerResponse, status: number, text: string, extraHeaders?: Record<string, string>): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text), ...extraHeaders });
  res.end(text);
}

/** The answers to an accepted webhook, serialized once. */
const accepted = new Map<string, string>();
const acceptedBody = (outcome: ReceiverOutcome): string => {
  let text = accepted.get(outcome);
  if (text === undefined) accepted.set(outcome, (text = JSON.stringify({ ok: true, outcome })));
  return text;
};

/** Whether the request announces a body (a GET's is never read). */
const hasBody = (req: IncomingMessage): boolean =>
  req.method === 'POST' && (req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0');

/** The whole body, or `undefined` once it passes `max` bytes. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.byteLength;
      if (size > max) {
        over = true;
        chunks.length = 0;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', reject);
  });
}

const isPromise = <T>(v: unknown): v is PromiseLike<T> => typeof (v as PromiseLike<T> | undefined)?.then === 'function';

/** Any path is accepted: the base URL's path is the user's choice. Only the query and body count. */
export function createReceiver(options: ReceiverOptions): RequestHandler {
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxUrl = options.maxUrlBytes ?? DEFAULT_MAX_URL_BYTES;
  const tokenMatches = secretMatcher(options.token);

  const reject = (req: IncomingMessage, res: ServerResponse, status: number, reason: string, headers?: Record<string, string>) => {
    try {
      options.onRejected?.({ status, reason, method: req.method });
    } catch {
      // logging must not break the answer
    }
    send(res, status, JSON.stringify({ error: reason }), headers);
  };
  /** Refused before its body is read: answer, then drop the connection rather than wait for the body. */
  const refuseUnread = (req: IncomingMessage, res: ServerResponse, status: number, reason: string) => {
    if (!hasBody(req)) return reject(req, res, status, reason);
    res.on('finish', () => req.destroy());
    reject(req, res, status, reason, { connection: 'close' });
  };
  const refuse = (req: IncomingMessage, res: ServerResponse, r: Refusal) => reject(req, res, r.status, r.reason);

  function handle(req: IncomingMessage, res: ServerResponse, query: WebhookQuery, body: Buffer | undefined): void {
    let parsed: ParseResult;
    try {
      parsed = webhookFrom(query, body === undefined ? undefined : bodyParams(body, req.headers['content-type']));
    } catch (err) {
      return reject(req, res, 400, err instanceof WebhookFormatError ? err.message : 'unreadable request');
    }
    if (!parsed.ok) return refuse(req, res, parsed);
    if (!isMessageCreated(parsed.event)) return send(res, 200, acceptedBody('ignored'));
    const failed = (err: unknown) => reject(req, res, 503, `could not record the event: ${err instanceof Error ? err.message : String(err)}`);
    let outcome;
    try {
      outcome = options.onEvent(parsed.event);
    } catch (err) {
      return failed(err);
    }
    if (isPromise<WebhookOutcome | void>(outcome)) outcome.then((o) => send(res, 200, acceptedBody(o ?? 'delivered')), failed);
    else send(res, 200, acceptedBody(outcome ?? 'delivered'));
  }

  return (req, res) => {
    const url = req.url ?? '/';
    if (req.method !== 'GET' && req.method !== 'POST') return reject(req, res, 405, 'method not allowed: use GET or POST', { allow: 'GET, POST' });
    if (url.length > maxUrl || Buffer.byteLength(url) > maxUrl)
      return reject(req, res, 414, `URL longer than ${maxUrl} bytes`, { connection: 'close' });
    let query: WebhookQuery;
    try {
      query = readQuery(url);
    } catch (err) {
      // The token may be unreadable too: a request we cannot read is refused the same way either way.
      return refuseUnread(req, res, 400, err instanceof WebhookFormatError ? err.message : 'unreadable request');
    }
    const headerToken = req.headers[TOKEN_HEADER];
    const refused = checkToken(query, typeof headerToken === 'string' ? headerToken : undefined, tokenMatches);
    if (refused) return refuseUnread(req, res, refused.status, refused.reason);
    if (!hasBody(req)) {
      req.resume(); // nothing to read: let the request end now rather than be dumped after the answer
      return handle(req, res, query, undefined);
    }
    if (Number(req.headers['content-length'] ?? 0) > maxBody) return refuseUnread(req, res, 413, `body larger than ${maxBody} bytes`);
    readBody(req, maxBody).then(
      (body) => {
        if (body !== undefined) return handle(req, res, query, body);
        res.on('finish', () => req.destroy());
        reject(req, res, 413, `body larger than ${maxBody} bytes`, { connection: 'close' });
      },
      (err: unknown) => {
        if (!res.headersSent) reject(req, res, 400, `unreadable request: ${err instanceof Error ? err.message : String(err)}`);
        else res.destroy();
      },
    );
  };
}

export interface RunningReceiver {
  server: Server;
  /** `http://host:port` */
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface ServerLimits {
  /** A client gets this long to send its headers (default 10 s)... */
  headersTimeoutMs?: number;
  /** ...and its whole request (default 15 s). */
  requestTimeoutMs?: number;
  /** How often those two are checked (default: a tenth of the headers timeout, at least 100 ms). */
  checkEveryMs?: number;
  keepAliveTimeoutMs?: number;
  /** Connections past this many are dropped at once (default 1024). */
  maxConnections?: number;
}

/** Options for `http.createServer` that bound what a client may hold: header size, headers and request time. */
export function serverOptions(limits: ServerLimits = {}): ServerOptions {
  const headersTimeout = limits.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
  return {
    maxHeaderSize: SERVER_MAX_HEADER_SIZE,
    headersTimeout,
    requestTimeout: Math.max(headersTimeout, limits.requestTimeoutMs ?? REQUEST_TIMEOUT_MS),
    // Node checks the two timeouts every 30 s by default: a slow client would hold on for that long.
    connectionsCheckingInterval: limits.checkEveryMs ?? Math.max(100, Math.floor(headersTimeout / 10)),
    keepAliveTimeout: limits.keepAliveTimeoutMs ?? KEEP_ALIVE_TIMEOUT_MS,
  };
}

/** A server for the handler on `host:port` (port 0 = any free port), with bounded timeouts and connections. */
export function listenReceiver(handler: RequestHandler, port = 0, host = '127.0.0.1', limits: ServerLimits = {}): Promise<RunningReceiver> {
  const server = createServer(serverOptions(limits), handler);
  server.maxConnections = limits.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address() as AddressInfo;
      const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      resolve({
        server,
        port: addr.port,
        url: `http://${shownHost}:${addr.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
  });
}
