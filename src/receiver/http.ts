// The webhook receiver as a node `http` request handler. Gorgias does not retry a webhook that
// was answered, and turns the integration off after 100 failed calls in a row, so the answer is
// 2xx as soon as the event is recorded by `onEvent` (the session manager records and hands it to
// the user's sink synchronously; no Gorgias call sits in that path), unknown conversations too.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AgentWebhook, WebhookOutcome } from '../session/types.js';
import { TOKEN_HEADER as WEBHOOK_TOKEN_HEADER } from '../webhook/template.js';
import { isMessageCreated, parseWebhook } from './parse.js';

/** An installed integration sends the whole ticket, every message in it, as the body. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** A pasted integration carries the text in the URL; long agent replies make long URLs. */
export const DEFAULT_MAX_URL_BYTES = 32 * 1024;
/** Node's default header limit (16 KiB) would refuse long URLs before we see them. */
export const SERVER_MAX_HEADER_SIZE = DEFAULT_MAX_URL_BYTES + 16 * 1024;
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

function send(res: ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...extraHeaders });
  res.end(text);
}

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

/** Any path is accepted: the base URL's path is the user's choice. Only the query and body count. */
export function createReceiver(options: ReceiverOptions): RequestHandler {
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxUrl = options.maxUrlBytes ?? DEFAULT_MAX_URL_BYTES;

  const reject = (req: IncomingMessage, res: ServerResponse, status: number, reason: string, headers: Record<string, string> = {}) => {
    try {
      options.onRejected?.({ status, reason, method: req.method });
    } catch {
      // logging must not break the answer
    }
    send(res, status, { error: reason }, headers);
  };

  return (req, res) => {
    void (async () => {
      const url = req.url ?? '/';
      if (req.method !== 'GET' && req.method !== 'POST') return reject(req, res, 405, 'method not allowed: use GET or POST', { allow: 'GET, POST' });
      if (Buffer.byteLength(url) > maxUrl) return reject(req, res, 414, `URL longer than ${maxUrl} bytes`, { connection: 'close' });
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > maxBody) {
        res.on('finish', () => req.destroy());
        return reject(req, res, 413, `body larger than ${maxBody} bytes`, { connection: 'close' });
      }
      const body = req.method === 'POST' ? await readBody(req, maxBody) : Buffer.alloc(0);
      if (body === undefined) {
        res.on('finish', () => req.destroy());
        return reject(req, res, 413, `body larger than ${maxBody} bytes`, { connection: 'close' });
      }
      const headerToken = req.headers[TOKEN_HEADER];
      const parsed = parseWebhook(url, body, req.headers['content-type'], {
        token: options.token,
        headerToken: typeof headerToken === 'string' ? headerToken : undefined,
      });
      if (!parsed.ok) return reject(req, res, parsed.status, parsed.reason);
      if (!isMessageCreated(parsed.event)) return send(res, 200, { ok: true, outcome: 'ignored' satisfies ReceiverOutcome });
      let outcome: ReceiverOutcome;
      try {
        outcome = (await options.onEvent(parsed.event)) ?? 'delivered';
      } catch (err) {
        return reject(req, res, 500, `could not record the event: ${err instanceof Error ? err.message : String(err)}`);
      }
      send(res, 200, { ok: true, outcome });
    })().catch((err) => {
      if (!res.headersSent) reject(req, res, 400, `unreadable request: ${err instanceof Error ? err.message : String(err)}`);
      else res.destroy();
    });
  };
}

export interface RunningReceiver {
  server: Server;
  /** `http://host:port` */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A server for the handler on `host:port` (port 0 = any free port). */
export function listenReceiver(handler: RequestHandler, port = 0, host = '127.0.0.1'): Promise<RunningReceiver> {
  const server = createServer({ maxHeaderSize: SERVER_MAX_HEADER_SIZE }, handler);
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
