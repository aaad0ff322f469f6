// Gorgias's call limit (issue 12), measured in the simulated world with the limit on (40 calls
// per 20 s per key, the bridge using 80% of it), all from one `npm run bench`:
//   - the calls of a typical session against the floor its own messages need;
//   - the largest steady rate of hand-offs per hour one key's budget sustains with none failed;
//   - `simulate --sessions 20000` wall time against 20 times the 1,000-session time;
//   - `simulate --sessions 5000 --concurrency 50`, several runs in a row, each must finish.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { SESSION_END, SESSION_FAILED, SESSION_START } from '../src/protocol.ts';
import { seededRandom } from '../src/random.ts';
import { runSimulation, THINK_MS } from '../src/simulator/run.ts';
import type { Scenario, Step } from '../src/simulator/scenario.ts';
import { createWorld, type World } from '../src/simulator/world.ts';
import { measureLoad, type LoadFigures } from './simulate.ts';

const BIN = resolve(import.meta.dirname, '..', 'bin', 'livechat.js');
const TIMEOUT_MS = 30 * 60_000;
/** The longest a hand-off or a user message may wait for its turn at a rate the budget holds. */
const MAX_WAIT_MS = 60_000;
/** The budget: 80% of 40 calls per 20 s, in calls per hour. */
const BUDGET_PER_HOUR = 0.8 * 40 * (3_600_000 / 20_000);

/** A typical session: a hand-off, 5 user messages, 3 agent messages, a sign-off, the end. */
const TYPICAL: Step[] = [
  { user: 'Hi, my parcel is late' },
  { payload: SESSION_START },
  { user: 'Order #1042, due on Monday' },
  { agent: 'Hi, Grace here. Let me look.' },
  { user: 'Thanks' },
  { agent: 'It left the depot this morning.' },
  { user: 'Will it come today?' },
  { user: 'I am not home after 5 pm' },
  { agent: 'Before noon, with 20% off for the delay.' },
  { user: 'Great, thank you!' },
  { macro: true },
  { press: 'End chat' },
];

/** Calls the session's own messages need: the hand-off, each user message, the end's note and close. */
const FLOOR = 1 + TYPICAL.filter((s) => 'user' in s).length - 1 + 2;

export interface BudgetFigures {
  typical: { calls: number; floor: number; byCall: Record<string, number> };
  sustained: { perHour: number; calls: number; callsPerHour: number; maxInteractiveWaitMs: number; tried: string[] };
  scale: { oneK: LoadFigures; twentyK: LoadFigures; ratio: number };
  repeats: Array<{ ok: boolean; wallMs: number; error?: string }>;
}

/** One typical session, alone, at the pace of the scenario runs (20 s between steps). */
export async function typicalSession(): Promise<BudgetFigures['typical']> {
  let world: World | undefined;
  let before = 0;
  const scenario: Scenario = { name: 'typical', conversation: 'conv-typical', user: { name: 'Ada', email: 'ada@example.com' }, steps: TYPICAL };
  const r = await runSimulation({
    scenarios: [scenario],
    timeoutMs: TIMEOUT_MS,
    onReady: (w) => {
      world = w;
      before = w.emulator.requests.length;
    },
  });
  if (!r.ok)
    throw new Error(
      `the typical session failed its checks: ${r.checks
        .filter((c) => !c.ok)
        .map((c) => c.detail)
        .join('; ')}`,
    );
  const calls = world!.emulator.requests.slice(before);
  const byCall: Record<string, number> = {};
  for (const c of calls) {
    const k = `${c.method} ${c.path.replace(/\d+/g, '{id}')}`;
    byCall[k] = (byCall[k] ?? 0) + 1;
  }
  return { calls: calls.length, floor: FLOOR, byCall };
}

/**
 * Typical sessions starting at random (Poisson) at `perHour` for one simulated hour, each at the
 * pace of a real chat. It holds when no session failed, Gorgias refused nothing, and the budget
 * keeps up: no hand-off or user message waited more than a minute for its turn (past the rate the
 * budget holds, the queue only grows, and so do the waits).
 */
export async function sustain(perHour: number, seed = 1): Promise<{ ok: boolean; calls: number; maxInteractiveWaitMs: number; why: string }> {
  const world = await createWorld({ timeoutMs: TIMEOUT_MS, keepEntries: true });
  const random = seededRandom(seed);
  const clock = world.clock;
  const before = world.emulator.requests.length;
  const macroId = world.macroId;
  const run = async (i: number, startAt: number) => {
    const id = `steady-${i}`;
    await clock.sleep(startAt);
    for (const step of TYPICAL) {
      await clock.sleep(THINK_MS);
      if ('user' in step) await world.manager.submit(id, { kind: 'userText', text: step.user });
      else if ('payload' in step) await world.manager.submit(id, { kind: 'userPayload', payload: step.payload, user: { name: `User ${i}` } });
      else if ('press' in step) {
        for (let n = 0; n < 6 && !world.lastButtons(id)?.some((b) => b.payload === SESSION_END); n++) await clock.sleep(THINK_MS);
        await world.manager.submit(id, { kind: 'userPayload', payload: SESSION_END });
      } else {
        const ticketId = world.openTicketId(id);
        if (ticketId === undefined) continue; // the hand-off is still waiting: the agent has nothing to answer yet
        if ('agent' in step) await world.emulator.agent.reply(ticketId, step.agent);
        else await world.emulator.agent.applyMacro(ticketId, macroId);
      }
    }
  };
  const sessions: Array<Promise<void>> = [];
  for (let at = 0, i = 0; at < 3_600_000; i++) {
    at += -Math.log(1 - random()) * (3_600_000 / perHour);
    if (at < 3_600_000) sessions.push(run(i, at));
  }
  try {
    await world.until(Promise.all(sessions));
    await world.until(world.manager.idle());
    const failed = world.entries.filter((e) => e.to === 'bot' && e.payload === SESSION_FAILED).length;
    const refused = world.emulator.requests.filter((r) => r.status === 429).length;
    const waits = world.budget!.stats().waits;
    const maxWait = waits.interactive.maxMs;
    const ok = failed === 0 && refused === 0 && maxWait <= MAX_WAIT_MS;
    const why = `${sessions.length} sessions, ${failed} failed, ${refused} refused, hand-offs and messages waited at most ${(maxWait / 1000).toFixed(1)} s`;
    return { ok, calls: world.emulator.requests.length - before, maxInteractiveWaitMs: maxWait, why };
  } finally {
    await world.close();
  }
}

/** The largest rate (to 20 an hour) that holds, by bisection. */
async function largestSteadyRate(): Promise<BudgetFigures['sustained']> {
  let lo = 100;
  let hi = 1200;
  const tried: string[] = [];
  let best = { perHour: 0, calls: 0, maxInteractiveWaitMs: 0 };
  while (hi - lo > 20) {
    const mid = Math.round((lo + hi) / 2);
    const r = await sustain(mid);
    tried.push(`${mid}/h ${r.ok ? 'holds' : 'does not'} (${r.why})`);
    if (r.ok) {
      lo = mid;
      best = { perHour: mid, calls: r.calls, maxInteractiveWaitMs: r.maxInteractiveWaitMs };
    } else hi = mid;
  }
  return { ...best, callsPerHour: best.calls, tried };
}

/** A 5,000-session run took 25 s here; ten minutes is a hang. */
const REPEAT_DEADLINE_MS = 10 * 60_000;

/** `livechat simulate --sessions N --json`, killed if it has not finished by the deadline. */
function loadRun(sessions: number, concurrency: number, deadlineMs: number): BudgetFigures['repeats'][number] {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, 'simulate', '--sessions', String(sessions), '--concurrency', String(concurrency), '--json'], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: deadlineMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  const wallMs = performance.now() - t0;
  if (r.error || r.signal) return { ok: false, wallMs, error: r.signal ? `killed after ${deadlineMs / 1000} s: it hung` : r.error!.message };
  try {
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { ok: boolean };
    return { ok: summary.ok && r.status === 0, wallMs, ...(summary.ok ? {} : { error: 'checks failed' }) };
  } catch {
    return { ok: false, wallMs, error: `exit ${r.status}: ${r.stderr.trim().split('\n').at(-1)}` };
  }
}

export async function measureBudget(repeats = Number(process.env.BENCH_REPEATS ?? 5)): Promise<BudgetFigures> {
  const typical = await typicalSession();
  const sustained = await largestSteadyRate();
  const oneK = measureLoad(1000, 50);
  const twentyK = measureLoad(20_000, 50);
  const repeatsOut: BudgetFigures['repeats'] = [];
  for (let i = 0; i < repeats; i++) repeatsOut.push(loadRun(5000, 50, REPEAT_DEADLINE_MS));
  return { typical, sustained, scale: { oneK, twentyK, ratio: twentyK.wall_ms / (20 * oneK.wall_ms) }, repeats: repeatsOut };
}

/** The lines `npm run bench` prints, and whether every goal was met. */
export function budgetLines(f: BudgetFigures): { lines: string[]; ok: boolean } {
  const s = f.sustained;
  const repeatsOk = f.repeats.every((r) => r.ok);
  const lines = [
    `\nGorgias call limit (simulated, limit on: 40 calls per 20 s, the bridge uses 80%: ${BUDGET_PER_HOUR} calls an hour)`,
    `  calls per typical session   ${f.typical.calls}, floor ${f.typical.floor}  (goal <= floor + 1; hand-off, 5 user messages, 3 agent messages, sign-off, end)`,
    `    by call                   ${Object.entries(f.typical.byCall)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
    `  steady hand-offs per hour   ${s.perHour}  (goal >= 600; none failed, none refused, nobody waited > ${MAX_WAIT_MS / 1000} s; ${s.callsPerHour} calls, longest wait ${(s.maxInteractiveWaitMs / 1000).toFixed(1)} s)`,
    ...s.tried.map((t) => `    tried                     ${t}`),
    `  --sessions 20000            ${(f.scale.twentyK.wall_ms / 1000).toFixed(1)} s against 20 x ${(f.scale.oneK.wall_ms / 1000).toFixed(2)} s: ratio ${f.scale.ratio.toFixed(2)}  (goal <= 1.3; ${f.scale.twentyK.ok ? 'every check passed' : 'CHECKS FAILED'})`,
    `  --sessions 5000, ${f.repeats.length} runs      ${f.repeats.map((r) => (r.ok ? `${(r.wallMs / 1000).toFixed(1)} s` : `FAILED${r.error ? ` (${r.error})` : ''}`)).join(', ')}`,
  ];
  const ok = f.typical.calls <= f.typical.floor + 1 && s.perHour >= 600 && f.scale.ratio <= 1.3 && f.scale.twentyK.ok && f.scale.oneK.ok && repeatsOk;
  return { lines, ok };
}
