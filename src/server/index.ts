// The bridge's HTTP server: the channel API under /v1/, health and metrics, and the Gorgias
// webhook receiver on every other path (the integration's URL path is the user's choice).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { realClock, type Clock } from '../clock.js';
import { isDoctorConversation } from '../protocol.js';
import { createReceiver, DEFAULT_MAX_CONNECTIONS, serverOptions } from '../receiver/index.js';
import { secretMatcher } from '../secret.js';
import type { SessionManager } from '../session/manager.js';
import { ChannelError, channelInput, channelRoute, conversationView, submittedBody } from './channel.js';
import type { Logger } from './log.js';
import type { BridgeMetrics } from './metrics.js';
import { messageIdFilter, RECENT_WEBHOOKS_PATH, recentWebhooks } from './recent.js';

export const CHANNEL_MAX_BODY_BYTES = 64 * 1024;
export const WEBHOOK_PATH = '/gorgias/webhook';

export interface BridgeServerOptions {
  manager: SessionManager;
  webhookToken: string;
  channelSecret: string;
  /** The store answers and the bridge is not shutting down. */
  ready(): Promise<boolean>;
  log: Logger;
  metrics?: BridgeMetrics;
  /** Stamps the recent webhooks. Default: the real clock. */
  clock?: Clock;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** The body, or a ChannelError once it passes `max` bytes. */
function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > max) {
        reject(new ChannelError(413, `body larger than ${max} bytes`));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function createBridgeHandler(options: BridgeServerOptions): RequestHandler {
  const { manager, log, metrics } = options;
  const channelAuth = secretMatcher(options.channelSecret);
  const clock = options.clock ?? realClock;
  const recent = recentWebhooks();
  const receiver = createReceiver({
    token: options.webhookToken,
    async onEvent(event) {
      // A doctor's test ticket is nobody's conversation: recorded below, never handed to the engine.
      const outcome = isDoctorConversation(event.conversationId) ? 'unknown' : await manager.agentWebhook(event);
      recent.record(event, outcome, clock.now());
      metrics?.webhook(outcome);
      log.debug('webhook', { conversation: event.conversationId, ticket: event.ticketId, event: event.eventId, message: event.messageId, outcome });
      return outcome;
    },
    onRejected(rej) {
      metrics?.webhook(`refused_${rej.status}`);
      log.warn('webhook refused', { status: rej.status, reason: rej.reason });
    },
  });

  /** The channel secret, checked before any body is read: a stranger cannot hold a socket with a slow body. */
  function authorized(req: IncomingMessage, res: ServerResponse): boolean {
    const auth = req.headers.authorization;
    const given = typeof auth === 'string' && /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, '').trim() : undefined;
    if (channelAuth(given)) return true;
    res.setHeader('www-authenticate', 'Bearer realm="livechat"');
    res.setHeader('connection', 'close');
    return false;
  }
  const refused = { error: 'missing or wrong channel secret (Authorization: Bearer <secret>)' };

  function recentCall(req: IncomingMessage, res: ServerResponse, query: string): void {
    const answer = (status: number, body: unknown) => {
      metrics?.channelCall('webhooks', status);
      send(res, status, body);
    };
    if (req.method !== 'GET') return answer(405, { error: `use GET on ${RECENT_WEBHOOKS_PATH}` });
    if (!authorized(req, res)) return answer(401, refused);
    const messageId = messageIdFilter(query);
    if (messageId instanceof Error) return answer(400, { error: messageId.message });
    answer(200, { webhooks: recent.list(messageId) });
  }

  async function channel(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    let route;
    try {
      route = channelRoute(method, path);
    } catch (err) {
      if (err instanceof ChannelError) return send(res, err.status, { error: err.message });
      throw err;
    }
    if (!route) return send(res, 404, { error: `no such route: ${method} ${path}` });
    const name = route.kind === 'read' ? 'conversation' : route.what;
    const answer = (status: number, body?: unknown) => {
      metrics?.channelCall(name, status);
      send(res, status, body);
    };
    if (!authorized(req, res)) return answer(401, refused);
    try {
      if (route.kind === 'read') {
        const state = await manager.read(route.conversationId);
        return answer(200, conversationView(route.conversationId, state, manager.timersOf(route.conversationId)));
      }
      const input = channelInput(route.what, await readBody(req, CHANNEL_MAX_BODY_BYTES));
      const submitted = await manager.submit(route.conversationId, input);
      log.debug('channel', { route: route.what, conversation: route.conversationId, routed: submitted.routed });
      return route.what === 'bot-turns' ? answer(204) : answer(200, submittedBody(submitted));
    } catch (err) {
      if (err instanceof ChannelError) return answer(err.status, { error: err.message });
      log.error('channel call failed', { route: name, conversation: route.conversationId, error: (err as Error).message });
      return answer(503, { error: `could not record the input: ${(err as Error).message}` });
    }
  }

  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const run = async () => {
      if (path === '/healthz') return send(res, 200, { ok: true });
      if (path === '/readyz') {
        const ok = await options.ready().catch(() => false);
        return send(res, ok ? 200 : 503, { ok });
      }
      if (path === '/metrics') {
        if (!metrics) return send(res, 404, { error: 'metrics are off' });
        const { contentType, body } = await metrics.render();
        res.writeHead(200, { 'content-type': contentType }).end(body);
        return;
      }
      if (path === RECENT_WEBHOOKS_PATH) return recentCall(req, res, q < 0 ? '' : url.slice(q + 1));
      if (path === '/v1' || path.startsWith('/v1/')) return channel(req, res, path);
      receiver(req, res);
    };
    run().catch((err) => {
      log.error('request failed', { path, error: (err as Error).message });
      send(res, 500, { error: 'internal error' });
    });
  };
}

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  /** Stop accepting, let requests in flight finish (idle sockets are closed at once). */
  close(): Promise<void>;
}

export interface ListenOptions {
  port: number;
  host: string;
  maxConnections?: number;
}

export function listenBridge(handler: RequestHandler, options: ListenOptions): Promise<RunningServer> {
  // The receiver's bounds: headers in 10 s, the whole request in 15 s, at most 1024 connections.
  const server = createServer(serverOptions(), handler);
  server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const addr = server.address() as AddressInfo;
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      resolve({
        server,
        port: addr.port,
        url: `http://${host}:${addr.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}
