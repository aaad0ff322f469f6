// Webhook rate of the real receiver against a bare node `http` server answering 200 (the ceiling),
// both on this machine, each in its own child process, driven by the same load generator here:
// node http, keep-alive, fixed concurrency, fixed-length rounds interleaved bare/receiver/...,
// medians. The requests are what Gorgias sends: POST, no body, the template's params in the URL,
// encoded agent text. Every answer must be a 200; anything else is counted as a failure.
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { webhookUrlTemplate, WEBHOOK_EVENT } from '../src/webhook/template.js';

const SERVER = resolve(import.meta.dirname, 'receiver-server.ts');
const TOKEN = 'bench-token-7f3a9c2e5b1d4f6a8c0e';

export interface ReceiverFigures {
  concurrency: number;
  rounds: number;
  roundMs: number;
  bareRps: number;
  receiverRps: number;
  /** receiver / bare, goal >= 0.5 */
  ratio: number;
  /** Each counted round's rate, in the order run (to judge the noise). */
  perRound: { bare: number[]; receiver: number[] };
  requests: { bare: number; receiver: number };
  failures: { bare: number; receiver: number };
  /** A few failure reasons with counts, e.g. "receiver: HTTP 400 x3". */
  failureSamples: string[];
  /** Webhooks that reached the receiver's onEvent (should equal its 200s, warm-up included). */
  receiverEvents: number;
  receiverOk: number;
}

interface Server {
  child: ChildProcess;
  port: number;
  /** Closes stdin; resolves with the server's last line (the receiver's event count). */
  stop(): Promise<{ events?: number }>;
}

function startServer(args: string[]): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return new Promise((ok, fail) => {
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`bench server ${args[0]} exited ${code}`)));
    void lines.next().then(({ value, done }) => {
      if (done) return fail(new Error(`bench server ${args[0]} printed no port`));
      const { port } = JSON.parse(String(value)) as { port: number };
      child.removeAllListeners('exit');
      ok({
        child,
        port,
        stop: async () => {
          child.stdin.end();
          const last = await lines.next();
          await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(null)));
          return last.done ? {} : (JSON.parse(String(last.value)) as { events?: number });
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

/** Request paths of realistic webhooks: the real template, filled in, text encoded. */
export function webhookPaths(n: number): string[] {
  const template = webhookUrlTemplate('http://bench.invalid/gorgias/webhook', TOKEN);
  return Array.from({ length: n }, (_, i) => {
    const values: Record<string, string> = {
      '{{ticket.external_id}}': `conv-${(i % 97) + 1}`,
      '{{ticket.id}}': String(40_000 + (i % 97)),
      '{{event.type}}': WEBHOOK_EVENT,
      '{{event.id}}': String(9_000_000 + i),
      '{{event.object_id}}': String(7_000_000 + i),
      '{{message.body_text}}': `${REPLIES[i % REPLIES.length]} (${i})`,
      '{{message.from_agent}}': 'true',
    };
    const url = template.replace(/\{\{[^}]+\}\}/g, (v) => encodeURIComponent(values[v] ?? ''));
    return url.slice(url.indexOf('/gorgias/'));
  });
}

interface Round {
  ok: number;
  failed: Map<string, number>;
  rps: number;
}

/** `concurrency` loops, each sending one webhook after another until `ms` have passed. */
async function drive(port: number, paths: string[], concurrency: number, ms: number): Promise<Round> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const failed = new Map<string, number>();
  const fail = (why: string) => failed.set(why, (failed.get(why) ?? 0) + 1);
  let ok = 0;
  let next = 0;
  const one = (path: string) =>
    new Promise<void>((done) => {
      const req = request(
        {
          agent,
          host: '127.0.0.1',
          port,
          method: 'POST',
          path,
          headers: { 'content-type': 'application/json', 'content-length': 0, 'user-agent': 'livechat-bench' },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) ok++;
            else fail(`HTTP ${res.statusCode}`);
            done();
          });
        },
      );
      req.on('error', (err) => {
        fail(err.message);
        done();
      });
      req.end();
    });
  const t0 = performance.now();
  const deadline = t0 + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) await one(paths[next++ % paths.length]);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  return { ok, failed, rps: ok / seconds };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export async function measureReceiver(options: { concurrency?: number; rounds?: number; roundMs?: number } = {}): Promise<ReceiverFigures> {
  const concurrency = options.concurrency ?? 32;
  const rounds = options.rounds ?? 3;
  const roundMs = options.roundMs ?? 2000;
  const paths = webhookPaths(512);
  const [bare, receiver] = await Promise.all([startServer(['bare']), startServer(['receiver', TOKEN])]);
  const servers = { bare, receiver };
  const rps = { bare: [] as number[], receiver: [] as number[] };
  const requests = { bare: 0, receiver: 0 };
  const failures = { bare: 0, receiver: 0 };
  const reasons = new Map<string, number>();
  let receiverOk = 0;
  let receiverEvents = 0;
  try {
    for (let round = -1; round < rounds; round++) {
      for (const name of ['bare', 'receiver'] as const) {
        // Round -1 warms up the JIT on both sides and is not counted.
        const r = await drive(servers[name].port, paths, concurrency, round < 0 ? Math.min(500, roundMs) : roundMs);
        if (name === 'receiver') receiverOk += r.ok;
        for (const [why, n] of r.failed) {
          failures[name] += n;
          reasons.set(`${name}: ${why}`, (reasons.get(`${name}: ${why}`) ?? 0) + n);
        }
        if (round < 0) continue;
        rps[name].push(r.rps);
        requests[name] += r.ok;
      }
    }
  } finally {
    const [, last] = await Promise.all([bare.stop(), receiver.stop()]);
    receiverEvents = last.events ?? -1;
  }
  const bareRps = median(rps.bare);
  const receiverRps = median(rps.receiver);
  return {
    concurrency,
    rounds,
    roundMs,
    bareRps,
    receiverRps,
    ratio: receiverRps / bareRps,
    perRound: rps,
    requests,
    failures,
    failureSamples: [...reasons].slice(0, 5).map(([why, n]) => `${why} x${n}`),
    receiverEvents,
    receiverOk,
  };
}
