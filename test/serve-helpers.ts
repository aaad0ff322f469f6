// Plumbing for tests of `livechat serve` as a child process: spawn it (and `livechat emulator`),
// a deliver URL that records and checks signed deliveries, and channel API calls.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifySignature } from '../src/outbox/signature.ts';
import { BIN, runInProcess } from './helpers.ts';

/** Wait for `check` to hold, polling; fails with `what` after `ms`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Spawned {
  proc: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  /** The first JSON line on stdout. */
  info: Record<string, string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawn the CLI and wait for its first JSON line on stdout. */
export async function spawnCli(args: string[], env: NodeJS.ProcessEnv, ms = 15_000): Promise<Spawned> {
  const full: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...env };
  for (const k of ['GORGIAS_DOMAIN', 'GORGIAS_USERNAME', 'GORGIAS_API_KEY', 'LIVECHAT_DEBUG', 'PORT', 'LIVECHAT_DATA', 'LIVECHAT_DELIVER_URL']) {
    if (!(k in env)) delete full[k];
  }
  const proc = spawn(process.execPath, [BIN, ...args], { env: full, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('close', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  const line = await waitFor(
    `a JSON line from livechat ${args[0]} (stderr: ${err})`,
    () => {
      if (gone) throw new Error(`livechat ${args.join(' ')} exited early: ${err}`);
      const nl = out.indexOf('\n');
      return nl > 0 ? out.slice(0, nl) : undefined;
    },
    ms,
  );
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    info: JSON.parse(line) as Record<string, string>,
    exited,
    kill(signal = 'SIGTERM') {
      if (!gone) proc.kill(signal);
      return exited;
    },
  };
}

export interface Delivered {
  id: string;
  type: string;
  conversation_id: string;
  text?: string;
  buttons?: Array<{ title: string; payload: string }>;
  event?: string;
  notice?: boolean;
  created_at: string;
}

export interface DeliverSink {
  url: string;
  /** Every accepted delivery, in arrival order (a retry of an id that was accepted appears again). */
  got: Delivered[];
  /** Deliveries whose signature did not verify (must stay empty). */
  badSignatures: string[];
  /** Answer this status instead of 200 (e.g. 500 while the bot is down). */
  status: number;
  /** Hold every answer until released. */
  hold(): () => void;
  of(conversation: string): Delivered[];
  close(): Promise<void>;
}

/** The bot's side: a deliver URL on 127.0.0.1:0 that verifies `X-Livechat-Signature`. */
export async function deliverSink(secret: () => string): Promise<DeliverSink> {
  const got: Delivered[] = [];
  const badSignatures: string[] = [];
  let gate: Promise<void> = Promise.resolve();
  const sink = {
    status: 200,
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      void gate.then(() => {
        const status = sink.status;
        if (status >= 200 && status < 300) {
          const sig = req.headers['x-livechat-signature'];
          if (!verifySignature(typeof sig === 'string' ? sig : undefined, body, secret(), { now: Date.now() / 1000 })) badSignatures.push(body);
          got.push(JSON.parse(body) as Delivered);
        }
        res.writeHead(status).end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/deliveries`,
    got,
    badSignatures,
    get status() {
      return sink.status;
    },
    set status(s: number) {
      sink.status = s;
    },
    hold() {
      let release!: () => void;
      gate = new Promise<void>((resolve) => (release = resolve));
      return () => {
        gate = Promise.resolve();
        release();
      };
    },
    of: (c) => got.filter((d) => d.conversation_id === c),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface Answer {
  status: number;
  body: any;
}

export async function httpJson(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed };
}

/** Channel API calls on a running bridge. */
export function channel(base: () => string, secret: () => string) {
  const auth = () => ({ authorization: `Bearer ${secret()}` });
  const path = (c: string, what = '') => `${base()}/v1/conversations/${encodeURIComponent(c)}${what}`;
  return {
    say: (c: string, text: string, user?: Record<string, unknown>) =>
      httpJson('POST', path(c, '/messages'), { text, ...(user ? { user } : {}) }, auth()),
    press: (c: string, payload: string, user?: Record<string, unknown>) =>
      httpJson('POST', path(c, '/payloads'), { payload, ...(user ? { user } : {}) }, auth()),
    botSaid: (c: string, text: string) => httpJson('POST', path(c, '/bot-turns'), { text }, auth()),
    get: (c: string) => httpJson('GET', path(c), undefined, auth()),
  };
}

/** Gorgias API calls against an emulator (the agent's side). */
export function gorgias(url: string, email: string, key: string) {
  const auth = { authorization: `Basic ${Buffer.from(`${email}:${key}`).toString('base64')}` };
  return {
    get: (path: string) => httpJson('GET', `${url}/api${path}`, undefined, auth),
    post: (path: string, body: unknown) => httpJson('POST', `${url}/api${path}`, body, auth),
    put: (path: string, body: unknown) => httpJson('PUT', `${url}/api${path}`, body, auth),
    /** The conversation's tickets, newest last. */
    async tickets(externalId: string) {
      return (await httpJson('GET', `${url}/api/tickets?external_id=${encodeURIComponent(externalId)}`, undefined, auth)).body.data as any[];
    },
    reply: (ticketId: number, text: string) =>
      httpJson('POST', `${url}/api/tickets/${ticketId}/messages`, { channel: 'chat', via: 'helpdesk', from_agent: true, body_text: text }, auth),
  };
}

/** A scratch folder with a config dir and a data file path. */
export function scratch(): { dir: string; config: string; data: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'livechat-serve-'));
  return { dir, config: join(dir, 'cfg'), data: join(dir, 'data', 'livechat.db'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `livechat webhook install` against the emulator, pointing at the bridge's webhook URL. */
export async function installWebhook(env: NodeJS.ProcessEnv, webhookUrl: string): Promise<void> {
  const r = await runInProcess(['webhook', 'install', '--base-url', webhookUrl, '--yes', '--json'], { env });
  if (r.code !== 0) throw new Error(`webhook install failed: ${r.stderr}`);
}
