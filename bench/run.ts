// `npm run bench`: every speed figure, measured in one run on this machine. BENCH_QUICK=1 runs a
// shorter version (fewer rounds and runs) to check that it all works.
import { measureHeap } from './heap.ts';
import { LABELS, measureIngest, SERVERS, type ServerName } from './ingest.ts';
import { measureRestart } from './restart.ts';
import { budgetLines, measureBudget } from './budget.ts';
import { measureDefaultSimulate, measureLoad } from './simulate.ts';
import { measureStartup } from './startup.ts';
import { measureRedis, redisLines } from './redis.ts';

const quick = Boolean(process.env.BENCH_QUICK);
const fmt = (n: number) => n.toFixed(1);
const say = (line: string) => process.stderr.write(`  ... ${line}\n`);

const s = measureStartup(Number(process.env.BENCH_RUNS ?? (quick ? 10 : 30)));
console.log(`start-up (median of ${s.runs} interleaved runs)`);
console.log(`  node -e 0               ${fmt(s.baselineMs)} ms`);
console.log(`  livechat --help         ${fmt(s.helpMs)} ms   ratio ${s.helpRatio.toFixed(2)}  (goal <= 1.25)`);
console.log(`  livechat webhook-url    ${fmt(s.webhookUrlMs)} ms   ratio ${s.webhookUrlRatio.toFixed(2)}  (goal <= 1.4)`);

// Webhook ingest: every server against the bare node http server, same generator, same run.
const ingest = await measureIngest({ rounds: quick ? 1 : 3, roundMs: quick ? 1000 : 2000, progress: process.stderr.isTTY ? say : undefined });
const f = ingest.figures;
const [low, high] = ingest.concurrency;
const rps = (n: number) => Math.round(n).toLocaleString('en-US').padStart(7);
const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(0)}`.padStart(5);
console.log(
  `\nwebhook ingest (${ingest.generator === 'wrk' ? 'wrk, 1 thread' : 'node client'}${ingest.pinned ? ' on core 0, each server alone on core 1' : ', not pinned'}; ` +
    `median of ${ingest.rounds} interleaved ${ingest.roundMs / 1000} s rounds; POST, ~${ingest.pathBytes}-byte URLs, each a fresh agent message)`,
);
if (ingest.generator === 'node')
  console.log('  WARNING: wrk is not installed (apt-get install wrk): the node client tops out below a bare node server, so these are its ceiling');
console.log(`                                   ${`${low} connections`.padEnd(31)}${`${high} connections`.padEnd(31)}CPU per`);
console.log(`  server                           req/s  ratio  p50 ms  p99 ms   req/s  ratio  p50 ms  p99 ms  request`);
for (const name of SERVERS as readonly ServerName[]) {
  const a = f[low][name];
  const b = f[high][name];
  console.log(
    `  ${LABELS[name].padEnd(31)}${rps(a.rps)}  ${(a.rps / f[low].bare.rps).toFixed(2)}   ${ms(a.p50Ms)}   ${ms(a.p99Ms)} ` +
      `${rps(b.rps)}  ${(b.rps / f[high].bare.rps).toFixed(2)}   ${ms(b.p50Ms)}   ${ms(b.p99Ms)}  ${a.cpuUsPerRequest.toFixed(0).padStart(4)} µs`,
  );
}
console.log(
  `  goals: receiver >= 0.6 x bare at ${low} (${(f[low].receiver.rps / f[low].bare.rps).toFixed(2)}); its p99 at ${high} <= fastify's ` +
    `(${ms(f[high].receiver.p99Ms).trim()} vs ${ms(f[high].fastify.p99Ms).trim()} ms); serve >= 0.3 x bare (${(f[low].serve.rps / f[low].bare.rps).toFixed(2)} at ${low}, ${(f[high].serve.rps / f[high].bare.rps).toFixed(2)} at ${high})`,
);
const serve = ingest.counted.serve;
const others = Object.entries(serve.outcomes).filter(([k]) => k !== 'delivered');
console.log(
  `  serve: ${serve.outcomes.delivered ?? 0} webhooks delivered and committed (state and outbox row in one SQLite transaction), ` +
    `${serve.deliveries} deliveries made${others.length ? `, other outcomes ${JSON.stringify(Object.fromEntries(others))}` : ''}; ` +
    `${serve.gorgiasCalls} Gorgias calls during the load`,
);
const failures = SERVERS.flatMap((n) => ingest.concurrency.map((c) => [n, f[c][n].failures] as const)).filter(([, k]) => k > 0);
if (failures.length) console.log(`  WARNING: non-200 answers or socket errors: ${failures.map(([n, k]) => `${n} ${k}`).join(', ')}`);
if ((serve.outcomes.delivered ?? 0) !== serve.deliveries || others.length) process.exitCode = 1;

// `serve` after a restart, and what idle conversations cost it.
const restart = await measureRestart(10_000);
console.log(`\nlivechat serve, restarted on a data file with ${restart.sessions.toLocaleString('en-US')} open sessions`);
console.log(`  until it listens        ${fmt(restart.listeningMs)} ms`);
console.log(
  `  until /readyz is 200    ${fmt(restart.readyMs)} ms  (goal < 2000 ms; ${restart.openAfter.toLocaleString('en-US')} sessions open after it)`,
);
const heap = measureHeap(quick ? 20_000 : 30_000, quick ? 4 : 6);
console.log(`\nheap per idle conversation (bot-only, serve's SQLite store, cache of ${heap.cacheSize.toLocaleString('en-US')})`);
console.log(`  while the cache fills   ${Math.round(heap.perConversationFilling)} bytes`);
console.log(`  beyond the cache        ${Math.round(heap.perConversationBeyond)} bytes  (goal: ~0, bounded by the cache)`);
console.log(`  heap                    ${heap.points.map(([n, b]) => `${n / 1000}k: ${(b / 2 ** 20).toFixed(1)} MiB`).join(', ')}`);

// The simulator: the default run as a user runs it, then 1,000 conversations under load.
const sim = measureDefaultSimulate();
console.log(`\nlivechat simulate (default run, whole process)`);
console.log(`  wall time               ${fmt(sim.processMs)} ms  (goal < 2000 ms)`);
console.log(`  simulated time          ${(sim.simulatedMs / 60_000).toFixed(1)} min`);
console.log(`  speed-up                ${Math.round(sim.speedup).toLocaleString('en-US')}x  (simulated / wall)`);

const sessions = Number(process.env.BENCH_SESSIONS ?? (quick ? 200 : 1000));
const load = measureLoad(sessions, 50);
console.log(`\nlivechat simulate --sessions ${load.sessions} --concurrency ${load.concurrency}`);
console.log(`  wall time               ${fmt(load.wall_ms)} ms`);
console.log(`  throughput              ${fmt(load.conversations_per_s)} conversations/s, ${fmt(load.relays_per_s)} agent relays/s`);
console.log(
  `  relay latency           p50 ${load.relay_ms.p50.toFixed(2)} ms, p99 ${load.relay_ms.p99.toFixed(2)} ms (webhook in -> user, ${load.relay_ms.count} relays)`,
);
console.log(
  `  end to end              p50 ${load.end_to_end_ms.p50.toFixed(1)} ms, p99 ${load.end_to_end_ms.p99.toFixed(1)} ms (agent message created in Gorgias -> user)`,
);
console.log(`  memory                  ${(load.bytes_per_conversation / 1024).toFixed(1)} KiB per conversation (heap: engine, emulator, timeline)`);
console.log(
  `  lost or doubled         ${
    load.ok
      ? 'none: every check passed'
      : `FAILED: ${load.checks
          .filter((c) => !c.ok)
          .map((c) => `${c.name} (${c.detail})`)
          .join('; ')}`
  }`,
);
if (!load.ok) process.exitCode = 1;

// Gorgias's call limit (issue 12): calls per session, the steady hand-off rate, 20,000 sessions.
const budget = budgetLines(await measureBudget());
for (const line of budget.lines) console.log(line);
if (!budget.ok) process.exitCode = 1;

// Several serve processes on one Redis (issue 18): one against two, and SQLite against Redis.
for (const line of redisLines(await measureRedis({ ms: quick ? 1000 : 3000 }))) console.log(line);
