// Webhook ingest: how many agent webhooks a second each server takes, its latency, and its CPU per
// request, against a bare node `http` server (the ceiling) and a fastify hello-world (the peer).
//
// The load generator is `wrk` (C, one thread) when it is installed; otherwise a node client, which
// tops out below a bare node server and so measures itself more than the servers (said so in the
// output). With `taskset`, the generator runs on core 0 and every server on core 1. Each server is
// a child process of its own; rounds are interleaved (server after server, round after round) so
// machine noise hits every server alike; figures are medians of the rounds.
//
// The requests are what Gorgias sends for a pasted integration: POST, no body, the template's
// params in the URL (about 470 bytes), encoded agent text, each with a fresh event and message id,
// for a conversation whose session is open: every one is delivered, and under `serve` committed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { webhookUrlTemplate, WEBHOOK_EVENT } from '../src/webhook/template.js';

const SERVER = resolve(import.meta.dirname, 'server.ts');
const TOKEN = 'bench-token-7f3a9c2e5b1d4f6a8c0e';
export const SERVERS = ['bare', 'fastify', 'receiver', 'manager', 'serve'] as const;
export type ServerName = (typeof SERVERS)[number];
export const LABELS: Record<ServerName, string> = {
  bare: 'bare node http',
  fastify: 'fastify hello-world',
  receiver: 'livechat receiver',
  manager: 'receiver + session manager',
  serve: 'serve, every webhook committed',
};

export interface Sample {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Non-2xx answers and socket errors. */
  failures: number;
  cpuMs: number;
}

export interface ServerFigures {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Server CPU (user + system) per answered request, over the counted rounds. */
  cpuUsPerRequest: number;
  rounds: number[];
  failures: number;
}

export interface IngestFigures {
  generator: 'wrk' | 'node';
  pinned: boolean;
  rounds: number;
  roundMs: number;
  concurrency: number[];
  /** figures[concurrency][server] */
  figures: Record<number, Record<ServerName, ServerFigures>>;
  /** What each server counted: outcomes by kind, deliveries, Gorgias calls made during the load. */
  counted: Record<ServerName, { outcomes: Record<string, number>; deliveries: number; gorgiasCalls: number; answered: number }>;
  pathBytes: number;
}

interface Running {
  child: ChildProcess;
  port: number;
  sessions: Array<[string, number]>;
  stop(): Promise<{ outcomes: Record<string, number>; deliveries: number; gorgiasCalls: number }>;
}

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

function startServer(name: ServerName, pin: string[], nodeArgs: string[]): Promise<Running> {
  const args = [...pin, process.execPath, ...nodeArgs, '--import', 'tsx', SERVER, name, TOKEN];
  const child = spawn(args[0], args.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return new Promise((ok, fail) => {
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`bench server ${name} exited ${code}`)));
    void lines.next().then(({ value, done }) => {
      if (done) return fail(new Error(`bench server ${name} printed no port`));
      const { port, sessions } = JSON.parse(String(value)) as { port: number; sessions: Array<[string, number]> };
      child.removeAllListeners('exit');
      ok({
        child,
        port,
        sessions,
        stop: async () => {
          child.stdin.end();
          const last = await lines.next();
          await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(null)));
          return JSON.parse(String(last.value)) as Awaited<ReturnType<Running['stop']>>;
        },
      });
    }, fail);
  });
}

const REPLIES = [
  'Hi! Thanks for waiting, I am looking at your order now.',
  'Your order #10234 left our warehouse today & should arrive by Thursday. Tracking: https://track.example/AB12?x=1',
  'Sure, 2 × 50% off codes: SAVE50 + EXTRA50. Anything else I can do?',
  'Bonjour ! Votre colis est en route 🚚, livraison prévue jeudi. Désolé pour le retard.',
  'Line one of the answer.\nLine two, with "quotes" and an apostrophe\'s worth.\n\nRegards, Sam',
  'ok 👍',
];
const EVENT_ID = '\u0001';
const MESSAGE_ID = '\u0002';

/**
 * Request paths of realistic webhooks, split around the event id and the message id: the real
 * template, filled in for open sessions (conversation, ticket), text encoded.
 */
export function webhookTemplates(sessions: Array<[string, number]>, n = Math.max(512, sessions.length)): Array<[string, string, string]> {
  const template = webhookUrlTemplate('http://bench.invalid/gorgias/webhook', TOKEN);
  const open = sessions.length ? sessions : [['conv-1', 40_001] as [string, number]];
  return Array.from({ length: n }, (_, i) => {
    const [conversation, ticket] = open[i % open.length];
    const values: Record<string, string> = {
      '{{ticket.external_id}}': conversation,
      '{{ticket.id}}': String(ticket),
      '{{event.type}}': WEBHOOK_EVENT,
      '{{event.id}}': EVENT_ID,
      '{{event.object_id}}': MESSAGE_ID,
      '{{message.body_text}}': `${REPLIES[i % REPLIES.length]} (${i})`,
      '{{message.from_agent}}': 'true',
      '{{message.channel}}': 'chat',
    };
    const url = template.replace(/\{\{[^}]+\}\}/g, (v) =>
      v === '{{event.id}}' || v === '{{event.object_id}}' ? values[v] : encodeURIComponent(values[v] ?? ''),
    );
    const path = url.slice(url.indexOf('/gorgias/'));
    const [head, rest] = path.split(EVENT_ID);
    const [middle, tail] = rest.split(MESSAGE_ID);
    return [head, middle, tail];
  });
}

const luaString = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/** A wrk script: a fresh id per request from `base` (its first argument); JSON results on stdout. */
function wrkScript(templates: Array<[string, string, string]>, port: number): string {
  return `local parts = {
${templates.map((t) => `  {${t.map(luaString).join(', ')}},`).join('\n')}
}
local count = #parts
local n = 0
local base = 0
local tail = " HTTP/1.1\\r\\nHost: 127.0.0.1:${port}\\r\\nContent-Type: application/json\\r\\nContent-Length: 0\\r\\nUser-Agent: livechat-bench\\r\\n\\r\\n"
function init(args) base = tonumber(args[1]) or 0 end
function request()
  n = n + 1
  local p = parts[(n % count) + 1]
  local id = base + n
  return "POST " .. p[1] .. id .. p[2] .. id .. p[3] .. tail
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"duration_us":%d,"failures":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;
}

function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in 1/100 s
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** The fallback: `concurrency` keep-alive loops in this process, until `ms` have passed. */
async function driveNode(port: number, templates: Array<[string, string, string]>, base: number, concurrency: number, ms: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let failures = 0;
  let n = 0;
  const one = () =>
    new Promise<void>((done) => {
      n++;
      const [head, middle, tail] = templates[n % templates.length];
      const id = base + n;
      const t0 = performance.now();
      const req = request(
        {
          agent,
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: `${head}${id}${middle}${id}${tail}`,
          headers: { 'content-type': 'application/json', 'content-length': 0 },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) latencies.push(performance.now() - t0);
            else failures++;
            done();
          });
        },
      );
      req.on('error', () => {
        failures++;
        done();
      });
      req.end();
    });
  const t0 = performance.now();
  const deadline = t0 + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) await one();
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length + failures,
    failures,
    rps: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export interface IngestOptions {
  rounds?: number;
  roundMs?: number;
  concurrency?: number[];
  servers?: readonly ServerName[];
  /** Extra node flags for the servers (e.g. `--cpu-prof`, to find where the time goes). */
  serverNodeArgs?: string[];
  /** Say what is going on (stderr). */
  progress?: (line: string) => void;
}

export async function measureIngest(options: IngestOptions = {}): Promise<IngestFigures> {
  const rounds = options.rounds ?? 3;
  const roundMs = options.roundMs ?? 2000;
  const concurrency = options.concurrency ?? [32, 128];
  const servers = options.servers ?? SERVERS;
  const progress = options.progress ?? (() => {});
  const generator = has('wrk') ? 'wrk' : 'node';
  const pinned = has('taskset') && (spawnSync('nproc').stdout?.toString().trim() ?? '1') !== '1';
  const serverPin = pinned ? ['taskset', '-c', '1'] : [];
  const wrkPin = pinned ? ['taskset', '-c', '0'] : [];
  const dir = mkdtempSync(join(tmpdir(), 'livechat-bench-ingest-'));
  const running = {} as Record<ServerName, Running>;
  const scripts = {} as Record<ServerName, string>;
  const templates = {} as Record<ServerName, Array<[string, string, string]>>;
  const answered = Object.fromEntries(servers.map((s) => [s, 0])) as Record<ServerName, number>;
  const samples: Record<number, Record<string, Sample[]>> = {};
  let base = 1_000_000;
  let pathBytes = 0;

  const one = async (name: ServerName, connections: number, ms: number): Promise<Sample> => {
    const s = running[name];
    base += 10_000_000;
    const cpu0 = cpuMsOf(s.child.pid!);
    let r: { requests: number; failures: number; rps: number; p50Ms: number; p99Ms: number };
    if (generator === 'wrk') {
      const args = [
        ...wrkPin,
        'wrk',
        '-t1',
        `-c${connections}`,
        `-d${Math.max(1, Math.round(ms / 1000))}s`,
        '-s',
        scripts[name],
        `http://127.0.0.1:${s.port}`,
        '--',
        String(base),
      ];
      const out = await new Promise<string>((ok, fail) => {
        const child = spawn(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
        let text = '';
        child.stdout.on('data', (d: Buffer) => (text += d.toString()));
        child.once('error', fail);
        child.once('exit', (code) => (code === 0 ? ok(text) : fail(new Error(`wrk exited ${code}: ${text}`))));
      });
      const w = JSON.parse(out.trim().split('\n').at(-1)!) as {
        requests: number;
        duration_us: number;
        failures: number;
        p50_us: number;
        p99_us: number;
      };
      r = {
        requests: w.requests,
        failures: w.failures,
        rps: (w.requests - w.failures) / (w.duration_us / 1e6),
        p50Ms: w.p50_us / 1000,
        p99Ms: w.p99_us / 1000,
      };
    } else {
      r = await driveNode(s.port, templates[name], base, connections, ms);
    }
    const cpuMs = cpuMsOf(s.child.pid!) - cpu0;
    answered[name] += r.requests - r.failures;
    return { ...r, cpuMs };
  };

  try {
    for (const name of servers) {
      progress(`starting ${name}`);
      running[name] = await startServer(name, serverPin, options.serverNodeArgs ?? []);
      templates[name] = webhookTemplates(running[name].sessions);
      scripts[name] = join(dir, `${name}.lua`);
      writeFileSync(scripts[name], wrkScript(templates[name], running[name].port));
    }
    pathBytes = Math.round(templates.receiver ? templates.receiver.reduce((n, t) => n + t.join('').length + 14, 0) / templates.receiver.length : 0);
    for (const name of servers) await one(name, concurrency.at(-1)!, 1000); // warm-up, not counted
    for (const c of concurrency) {
      samples[c] = {};
      for (let round = 0; round < rounds; round++) {
        // Rotate the order, so no server always runs right after the same one.
        const order = servers.map((_, i) => servers[(i + round) % servers.length]);
        for (const name of order) {
          progress(`${c} connections, round ${round + 1}/${rounds}: ${name}`);
          (samples[c][name] ??= []).push(await one(name, c, roundMs));
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const counted = {} as IngestFigures['counted'];
  for (const name of servers) counted[name] = { ...(await running[name].stop()), answered: answered[name] };
  const figures: IngestFigures['figures'] = {};
  for (const c of concurrency) {
    figures[c] = {} as Record<ServerName, ServerFigures>;
    for (const name of servers) {
      const xs = samples[c][name];
      const ok = xs.reduce((n, x) => n + x.requests - x.failures, 0);
      figures[c][name] = {
        rps: median(xs.map((x) => x.rps)),
        p50Ms: median(xs.map((x) => x.p50Ms)),
        p99Ms: median(xs.map((x) => x.p99Ms)),
        cpuUsPerRequest: ok ? (xs.reduce((n, x) => n + x.cpuMs, 0) * 1000) / ok : 0,
        rounds: xs.map((x) => x.rps),
        failures: xs.reduce((n, x) => n + x.failures, 0),
      };
    }
  }
  return { generator, pinned, rounds, roundMs, concurrency, figures, counted, pathBytes };
}
