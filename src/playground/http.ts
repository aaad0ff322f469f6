// The playground's own endpoints under /playground/: the live event stream, a snapshot, and what
// the page does (the user writes or presses a button, the clock jumps). JSON in and out.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { ChannelError, channelInput } from '../server/channel.js';
import type { Chat } from './chat.js';
import type { EventHub } from './events.js';
import type { ClockView, Snapshot } from './web/wire.js';

export type { BridgeView, ClockView, PlaygroundConfig, Snapshot } from './web/wire.js';

export interface AppOptions {
  chat: Chat;
  hub: EventHub;
  snapshot(): Promise<Snapshot>;
  /** Fast-forward; resolves once what fell due meanwhile has played out. */
  jump(ms: number): Promise<ClockView>;
}

export const MAX_BODY_BYTES = 64 * 1024;
export const MAX_JUMP_MS = 7 * 24 * 60 * 60_000;

class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const collect = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
      // The rest is read and dropped, so the client gets the answer rather than a reset.
      req.off('data', collect);
      req.resume();
      reject(new Refused(413, `body larger than ${MAX_BODY_BYTES} bytes`));
    };
    req.on('data', collect);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * Only this machine's pages may drive the playground. A Host that is a name other than localhost
 * is a DNS-rebinding page; an Origin other than our own is a cross-site form; neither gets in.
 */
export function refusal(req: IncomingMessage): Refused | undefined {
  const host = req.headers.host ?? '';
  const hostname = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (!(hostname === 'localhost' || isIP(hostname))) return new Refused(403, `the playground answers on an address or localhost, not "${host}"`);
  if (req.method === 'POST') {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${host}`) return new Refused(403, `requests from ${origin} are refused`);
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return new Refused(415, 'send JSON (content-type: application/json)');
  }
  return undefined;
}

function jumpOf(raw: string): number {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new Refused(400, 'the body must be JSON');
  }
  const ms = (body as { ms?: unknown } | null)?.ms;
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > MAX_JUMP_MS) {
    throw new Refused(400, `"ms" must be a whole number of milliseconds from 1 to ${MAX_JUMP_MS}`);
  }
  return ms;
}

export function createApp(options: AppOptions): (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void> {
  const { chat, hub } = options;
  return async (req, res, path) => {
    try {
      const refused = refusal(req);
      if (refused) throw refused;
      const method = req.method ?? 'GET';
      const route = `${method} ${path.replace(/\/+$/, '')}`;
      switch (route) {
        case 'GET /playground/events':
          return hub.open(req, res, { event: 'snapshot', data: await options.snapshot() });
        case 'GET /playground/state':
          return send(res, 200, await options.snapshot());
        case 'POST /playground/messages': {
          const input = channelInput('messages', await readBody(req));
          const s = await chat.say(input.kind === 'userText' ? input.text : '');
          return send(res, 200, { routed: s.routed, mode: s.mode });
        }
        case 'POST /playground/payloads': {
          const input = channelInput('payloads', await readBody(req));
          const s = await chat.press(input.kind === 'userPayload' ? input.payload : '');
          return send(res, 200, { routed: s.routed, mode: s.mode });
        }
        case 'POST /playground/clock':
          return send(res, 200, await options.jump(jumpOf(await readBody(req))));
        default:
          throw new Refused(/^(GET|POST) /.test(route) ? 404 : 405, `no such route: ${route}`);
      }
    } catch (err) {
      if (err instanceof Refused || err instanceof ChannelError) return send(res, err.status, { error: err.message });
      send(res, 500, { error: (err as Error).message ?? String(err) });
    }
  };
}
