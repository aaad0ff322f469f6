// Several `livechat serve` processes on one Redis, against one on SQLite: the real binary, spawned,
// with an emulator for Gorgias and a deliver URL in this process. Each setup gets the same load
// for the same time: channel calls (a user message to a conversation with the bot: one commit, no
// Gorgias call) and agent webhooks (fresh ids on an open session: one commit and one delivery),
// each spread round-robin over the setup's processes. On 2 cores two processes show the cost of
// coordination (claims, one more round trip per input), not a speed-up.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { redisMissing, startRedis } from '../test/redis-helpers.ts';

const BIN = resolve(import.meta.dirname, '..', 'bin', 'livechat.js');
type Lib = typeof import('../src/index.js');
const dist = (module: string) => new URL(`../dist/${module}`, import.meta.url).href;

export interface LoadFigures {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
}

export interface SetupFigures {
  name: string;
  processes: number;
  channel: LoadFigures;
  webhooks: LoadFigures;
}

export type RedisBench = { skipped: string } | { setups: SetupFigures[]; ms: number; concurrency: number; sessions: number };

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
};

/** `concurrency` workers calling `one()` for `ms`. */
async function load(ms: number, concurrency: number, one: (i: number) => Promise<boolean>): Promise<LoadFigures> {
  const samples: number[] = [];
  let failures = 0;
  let n = 0;
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const ok = await one(n++).catch(() => false);
        if (ok) samples.push(performance.now() - t0);
        else failures++;
      }
    }),
  );
  return { rps: samples.length / (ms / 1000), p50Ms: quantile(samples, 0.5), p99Ms: quantile(samples, 0.99), failures };
}

function serveProcess(args: string[], env: NodeJS.ProcessEnv): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--json', '--log-format', 'json', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stderr.resume();
  return new Promise((res, rej) => {
    proc.once('exit', (code) => rej(new Error(`serve exited ${code}`)));
    createInterface({ input: proc.stdout }).once('line', (line) => res({ proc, url: (JSON.parse(line) as { url: string }).url }));
  });
}

export async function measureRedis(options: { ms?: number; concurrency?: number; sessions?: number } = {}): Promise<RedisBench> {
  const missing = redisMissing();
  if (missing) return { skipped: missing };
  const ms = options.ms ?? 3000;
  const concurrency = options.concurrency ?? 32;
  const sessions = options.sessions ?? 100;
  const { startEmulator } = (await import(dist('index.js'))) as Lib;
  const dir = mkdtempSync(join(tmpdir(), 'livechat-bench-redis-'));
  const redis = await startRedis();
  const emulator = await startEmulator({ rateLimit: false });
  const sink = createServer((req, res) => void req.resume().on('end', () => res.writeHead(204).end()));
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LIVECHAT_CONFIG_DIR: join(dir, 'cfg'),
    GORGIAS_DOMAIN: emulator.url,
    GORGIAS_USERNAME: emulator.email,
    GORGIAS_API_KEY: emulator.apiKey,
    LIVECHAT_DELIVER_URL: `http://127.0.0.1:${(sink.address() as AddressInfo).port}/deliver`,
    NO_COLOR: '1',
  };
  const secret = spawnSync(process.execPath, [BIN, 'serve', '--print-secret'], { env, encoding: 'utf8' }).stdout.trim();
  const { webhookToken } = JSON.parse(readFileSync(join(dir, 'cfg', 'config.json'), 'utf8')) as { webhookToken: string };
  const auth = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };
  const common = ['--call-limit', '100000', '--call-window', '1'];
  const plans = [
    { name: 'SQLite, 1 process', args: [['--data', join(dir, 'bench.db'), ...common]] },
    { name: 'Redis, 1 process', args: [['--store', `${redis.url}?prefix=one:`, '--instance', 'one', ...common]] },
    {
      name: 'Redis, 2 processes',
      args: ['a', 'b'].map((name) => ['--store', `${redis.url}?prefix=two:`, '--instance', name, ...common]),
    },
  ];
  const setups: SetupFigures[] = [];
  let messageId = 5_000_000;
  try {
    for (const plan of plans) {
      const procs = await Promise.all(plan.args.map((a) => serveProcess(a, env)));
      try {
        const at = (i: number) => procs[i % procs.length].url;
        const open = Array.from({ length: sessions }, (_, i) => `open-${i}`);
        for (const [i, c] of open.entries()) {
          await fetch(`${at(i)}/v1/conversations/${c}/payloads`, { method: 'POST', headers: auth, body: '{"payload":"LIVECHAT_SESSION_START"}' });
        }
        const tickets: number[] = [];
        for (const c of open) {
          for (let tries = 0; ; tries++) {
            const view = (await (await fetch(`${at(0)}/v1/conversations/${c}`, { headers: auth })).json()) as { ticket_id: number | null };
            if (view.ticket_id !== null) {
              tickets.push(view.ticket_id);
              break;
            }
            if (tries > 500) throw new Error(`no ticket for ${c}`);
            await new Promise((r) => setTimeout(r, 10));
          }
        }
        const channel = await load(ms, concurrency, async (i) => {
          const r = await fetch(`${at(i)}/v1/conversations/bot-${i % 1000}/messages`, {
            method: 'POST',
            headers: auth,
            body: '{"text":"hello bot"}',
          });
          await r.arrayBuffer();
          return r.status === 200;
        });
        const webhooks = await load(ms, concurrency, async (i) => {
          const k = i % sessions;
          const id = ++messageId;
          const q = new URLSearchParams({
            external_id: open[k],
            ticket_id: String(tickets[k]),
            event_type: 'ticket-message-created',
            event_id: `bench-${id}`,
            message_id: String(id),
            text: `agent says ${id}`,
            from_agent: 'true',
            channel: 'chat',
            token: webhookToken,
          });
          const r = await fetch(`${at(i)}/gorgias/webhook?${q.toString()}`, { method: 'POST' });
          await r.arrayBuffer();
          return r.status === 200;
        });
        setups.push({ name: plan.name, processes: procs.length, channel, webhooks });
      } finally {
        for (const p of procs) p.proc.kill('SIGKILL');
      }
    }
  } finally {
    await emulator.close();
    sink.close();
    await redis.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return { setups, ms, concurrency, sessions };
}

export function redisLines(b: RedisBench): string[] {
  if ('skipped' in b) return ['', `several serve processes on Redis: skipped (${b.skipped})`];
  const f = (x: LoadFigures) =>
    `${Math.round(x.rps).toLocaleString('en-US').padStart(7)}  ${x.p50Ms.toFixed(1).padStart(6)}  ${x.p99Ms.toFixed(1).padStart(6)}`;
  const [sqlite, one, two] = b.setups;
  const lines = [
    '',
    `several serve processes on Redis (${b.concurrency} concurrent, ${b.ms / 1000} s per load, round-robin over the processes; ${b.sessions} open sessions for the webhooks)`,
    "  Redis here runs without persistence (the tests' redis-server), SQLite with WAL and synchronous=NORMAL: not the same durability",
    '                                 channel calls (to the bot)   agent webhooks',
    '  setup                            req/s  p50 ms  p99 ms     req/s  p50 ms  p99 ms',
    ...b.setups.map((s) => `  ${s.name.padEnd(30)}${f(s.channel)}   ${f(s.webhooks)}`),
    `  Redis / SQLite, 1 process:      throughput ${(one.channel.rps / sqlite.channel.rps).toFixed(2)} (channel), ${(one.webhooks.rps / sqlite.webhooks.rps).toFixed(2)} (webhooks); ` +
      `p99 ${(one.channel.p99Ms / sqlite.channel.p99Ms).toFixed(2)}, ${(one.webhooks.p99Ms / sqlite.webhooks.p99Ms).toFixed(2)}`,
    `  2 processes / 1, on Redis:      throughput ${(two.channel.rps / one.channel.rps).toFixed(2)} (channel), ${(two.webhooks.rps / one.webhooks.rps).toFixed(2)} (webhooks); ` +
      `p99 ${(two.channel.p99Ms / one.channel.p99Ms).toFixed(2)}, ${(two.webhooks.p99Ms / one.webhooks.p99Ms).toFixed(2)}`,
  ];
  const failed = b.setups.filter((s) => s.channel.failures || s.webhooks.failures);
  if (failed.length) lines.push(`  WARNING: failed calls: ${failed.map((s) => `${s.name} ${s.channel.failures}+${s.webhooks.failures}`).join(', ')}`);
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) for (const line of redisLines(await measureRedis())) console.log(line);
