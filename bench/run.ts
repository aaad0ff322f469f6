// `npm run bench`: every speed figure, measured in one run on this machine.
import { measureStartup } from './startup.ts';

const fmt = (n: number) => n.toFixed(1);

const s = measureStartup(Number(process.env.BENCH_RUNS ?? 30));
console.log(`start-up (median of ${s.runs} interleaved runs)`);
console.log(`  node -e 0               ${fmt(s.baselineMs)} ms`);
console.log(`  livechat --help         ${fmt(s.helpMs)} ms   ratio ${s.helpRatio.toFixed(2)}  (goal <= 1.5)`);
console.log(`  livechat webhook-url    ${fmt(s.webhookUrlMs)} ms   ratio ${s.webhookUrlRatio.toFixed(2)}  (goal <= 2.0)`);
