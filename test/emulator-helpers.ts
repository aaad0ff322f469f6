// Test plumbing for the emulator: authenticated fetch, a real webhook receiver.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Emulator } from '../src/emulator/index.ts';

export interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

export function basic(email: string, key: string): string {
  return `Basic ${Buffer.from(`${email}:${key}`).toString('base64')}`;
}

export async function call(emu: Emulator, method: string, path: string, body?: unknown, auth = basic(emu.email, emu.apiKey)): Promise<Answer> {
  const res = await fetch(`${emu.url}${path}`, {
    method,
    headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

export interface Received {
  method: string;
  url: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  url: string;
  received: Received[];
  status: number;
  /** Keep answers back until the returned function is called (a slow receiver). */
  hold(): () => void;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1:0 that records what it gets. */
export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const state = { status: 200 };
  let gate: Promise<void> = Promise.resolve();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://receiver.invalid');
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        query: u.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      void gate.then(() => res.writeHead(state.status, { 'content-type': 'application/json' }).end('{"ok":true}'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    get status() {
      return state.status;
    },
    set status(s: number) {
      state.status = s;
    },
    hold() {
      let release!: () => void;
      gate = new Promise<void>((resolve) => (release = resolve));
      return () => {
        gate = Promise.resolve();
        release();
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The URL template from the reference, pointed at `base`. */
export function livechatTemplate(base: string): string {
  return `${base}?external_id={{ticket.external_id}}&ticket_id={{ticket.id}}&event_type={{event.type}}&event_id={{event.id}}&message_id={{event.object_id}}&text={{message.body_text}}&from_agent={{message.from_agent}}`;
}

export function httpIntegration(url: string, extra: Record<string, unknown> = {}) {
  return {
    type: 'http',
    name: 'Livechat bridge',
    http: {
      url,
      method: 'POST',
      request_content_type: 'application/json',
      response_content_type: 'application/json',
      headers: { 'x-livechat-secret': 's3cret' },
      triggers: { 'ticket-message-created': true },
      ...extra,
    },
  } as const;
}

export const newTicket = (externalId: string, text = 'I need a human') => ({
  external_id: externalId,
  channel: 'chat',
  via: 'api',
  subject: `Livechat with ${externalId}`,
  customer: { email: `${externalId}@example.com`, name: 'Ada' },
  tags: [{ name: 'livechat' }],
  messages: [{ channel: 'chat', via: 'api', from_agent: false, sender: { email: `${externalId}@example.com` }, body_text: text }],
});

export const customerMessage = (text: string) => ({ channel: 'chat', via: 'api', from_agent: false, body_text: text });

/** Resolves after pending I/O callbacks (lets setImmediate-scheduled work run). */
export const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
