// `npm run bench`: every speed figure, measured in one run on this machine.
import { budgetLines, measureBudget } from './budget.ts';
import { measureReceiver } from './receiver.ts';
import { measureDefaultSimulate, measureLoad } from './simulate.ts';
import { measureStartup } from './startup.ts';

const fmt = (n: number) => n.toFixed(1);

const s = measureStartup(Number(process.env.BENCH_RUNS ?? 30));
console.log(`start-up (median of ${s.runs} interleaved runs)`);
console.log(`  node -e 0               ${fmt(s.baselineMs)} ms`);
console.log(`  livechat --help         ${fmt(s.helpMs)} ms   ratio ${s.helpRatio.toFixed(2)}  (goal <= 1.5)`);
console.log(`  livechat webhook-url    ${fmt(s.webhookUrlMs)} ms   ratio ${s.webhookUrlRatio.toFixed(2)}  (goal <= 2.0)`);

// Webhook receiver against a bare node http server (the ceiling), same load generator, same run.
const r = await measureReceiver();
const rps = (n: number) => `${Math.round(n).toLocaleString('en-US').padStart(7)} req/s`;
const kilo = (xs: number[]) => xs.map((n) => `${(n / 1000).toFixed(1)}k`).join(' ');
console.log(`\nwebhook receiver (median of ${r.rounds} interleaved ${r.roundMs / 1000} s rounds, ${r.concurrency} keep-alive connections)`);
console.log(`  bare node http          ${rps(r.bareRps)}   rounds ${kilo(r.perRound.bare)}`);
console.log(`  livechat receiver       ${rps(r.receiverRps)}   rounds ${kilo(r.perRound.receiver)}`);
console.log(`  receiver / bare         ${r.ratio.toFixed(2)}  (goal >= 0.5)`);
console.log(
  `  non-200 answers         ${r.failures.bare + r.failures.receiver}${r.failureSamples.length ? `  (${r.failureSamples.join(', ')})` : ''}`,
);
if (r.receiverEvents !== r.receiverOk) console.log(`  WARNING: ${r.receiverOk} receiver 200s but ${r.receiverEvents} events recorded`);

// The simulator: the default run as a user runs it, then 1,000 conversations under load.
const sim = measureDefaultSimulate();
console.log(`\nlivechat simulate (default run, whole process)`);
console.log(`  wall time               ${fmt(sim.processMs)} ms  (goal < 2000 ms)`);
console.log(`  simulated time          ${(sim.simulatedMs / 60_000).toFixed(1)} min`);
console.log(`  speed-up                ${Math.round(sim.speedup).toLocaleString('en-US')}x  (simulated / wall)`);

const sessions = Number(process.env.BENCH_SESSIONS ?? 1000);
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
