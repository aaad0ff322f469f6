// A redis-server of the test's own (Debian's /usr/bin/redis-server, or REDIS_SERVER): on a unix
// socket in a temp dir, persistence off, gone with the test. Nothing uses a Redis already running.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnCli, waitFor, type Spawned } from './serve-helpers.ts';

const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

/** Why the Redis tests cannot run here, or undefined when they can. */
export function redisMissing(): string | undefined {
  if (!existsSync(REDIS_SERVER)) return `${REDIS_SERVER} is missing (apt-get install redis-server; .ci/run does)`;
  const r = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${REDIS_SERVER} --version failed: ${r.stderr}`;
}

export interface TestRedis {
  /** `redis+unix:///.../redis.sock` */
  url: string;
  socket: string;
  /** Stop it (SIGKILL when `hard`), e.g. to test an outage. */
  stop(hard?: boolean): Promise<void>;
  /** Start it again on the same socket (empty: persistence is off). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startRedis(extra: string[] = []): Promise<TestRedis> {
  // every wait below has a deadline (waitFor)
  const dir = mkdtempSync(join(tmpdir(), 'livechat-redis-'));
  const socket = join(dir, 'redis.sock');
  let proc: ChildProcess | undefined;
  let log = '';
  const launch = async () => {
    const p = spawn(
      REDIS_SERVER,
      ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc = p;
    p.stdout.setEncoding('utf8').on('data', (d: string) => (log += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (log += d));
    let exited = false;
    p.on('exit', () => (exited = true));
    await waitFor(`redis-server on ${socket}`, () => {
      if (exited) throw new Error(`redis-server exited: ${log}`);
      return /ready to accept connections/i.test(log) && existsSync(socket);
    });
  };
  const stop = async (hard = false) => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise((r) => p.on('exit', r));
    p.kill(hard ? 'SIGKILL' : 'SIGTERM');
    await gone;
    log = '';
  };
  await launch();
  return {
    url: `redis+unix://${socket}`,
    socket,
    stop,
    restart: launch,
    async close() {
      await stop(true);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A tiny HTTP balancer: each request goes to one of `targets()`, picked by `pick`. Counts per target. */
export async function balancer(
  targets: () => string[],
  pick: (n: number, i: number) => number = (n) => Math.floor(Math.random() * n),
): Promise<{ url: string; sent: number[]; statuses: number[]; close(): Promise<void> }> {
  const sent: number[] = [];
  const statuses: number[] = [];
  let i = 0;
  const server = http.createServer((req, res) => {
    const list = targets();
    const k = pick(list.length, i++);
    sent[k] = (sent[k] ?? 0) + 1;
    const up = new URL(req.url ?? '/', list[k]);
    const out = http.request(up, { method: req.method, headers: req.headers }, (answer) => {
      statuses.push(answer.statusCode ?? 502);
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sent,
    statuses,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** A TCP door to the Redis socket that the test can shut (an outage that loses no data) and open again. */
export async function redisDoor(socket: string): Promise<{ port: number; shut(): void; open(): void; close(): Promise<void> }> {
  let isOpen = true;
  const pairs = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (!isOpen) return client.destroy();
    const upstream = net.connect(socket);
    for (const s of [client, upstream]) {
      pairs.add(s);
      s.on('close', () => pairs.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    shut() {
      isOpen = false;
      for (const s of pairs) s.destroy();
    },
    open() {
      isOpen = true;
    },
    close: () =>
      new Promise<void>((r) => {
        isOpen = false;
        for (const s of pairs) s.destroy();
        server.close(() => r());
      }),
  };
}

/** `livechat serve` on a shared store, named `instance`; Gorgias's call limit out of the way (the emulator runs without one). */
export function spawnShared(instance: string, store: string, deliverUrl: string, env: NodeJS.ProcessEnv, extra: string[] = []): Promise<Spawned> {
  return spawnCli(
    [
      'serve',
      '--port',
      '0',
      '--json',
      '--log-format',
      'json',
      '--deliver-url',
      deliverUrl,
      '--instance',
      instance,
      '--call-limit',
      '100000',
      '--call-window',
      '1',
      ...extra,
    ],
    { ...env, LIVECHAT_STORE: store },
  );
}
