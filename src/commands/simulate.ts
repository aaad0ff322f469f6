import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { LivechatError, usageError } from '../errors.js';
import type { Io } from '../io.js';
import { realClock } from '../clock.js';
import { BUILT_IN, parseScenario, restarts, type Scenario } from '../simulator/scenario.js';
import { elapsed, formatLine, jsonLine, type Actor, type LineStyle, type ScenarioStart } from '../simulator/timeline.js';
import { paint } from '../style.js';

export interface SimulateOptions {
  scenario?: string;
  timeout?: string;
  faults?: boolean;
  sessions?: string;
  concurrency?: string;
  seed?: string;
  json?: boolean;
  format?: string;
  report?: string;
  store?: string;
  rateLimit?: string;
}

export type OutputFormat = 'text' | 'json' | 'mermaid';

/** Pure: `--format`, with `--json` as its alias for `--format json`. */
export function outputFormat(opts: Pick<SimulateOptions, 'format' | 'json'>): OutputFormat {
  const format = opts.format ?? (opts.json ? 'json' : 'text');
  if (format !== 'text' && format !== 'json' && format !== 'mermaid') throw usageError(`--format must be text, json or mermaid, got "${format}"`);
  if (opts.json && format !== 'json') throw usageError(`--json is --format json; it cannot be combined with --format ${format}`);
  return format;
}

/** `--report FILE`: refuse before the run a file that could not be written after it. */
function checkReportPath(path: string | undefined): void {
  if (path === undefined) return;
  const target = resolve(path);
  let isDir: boolean;
  try {
    isDir = statSync(dirname(target)).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw usageError(`--report: the folder of "${path}" does not exist`);
  try {
    if (statSync(target).isDirectory()) throw usageError(`--report: "${path}" is a folder; give a file name such as run.html`);
  } catch (err) {
    if (err instanceof LivechatError) throw err;
  }
}

function writeReport(path: string, html: string, io: Io): void {
  try {
    writeFileSync(path, html);
  } catch (err) {
    throw new LivechatError(`cannot write the report to ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  io.err(`report written to ${path}`);
}

/** The command line a report is titled with. */
function commandLine(opts: SimulateOptions, seed?: number): string {
  const parts = ['livechat simulate'];
  if (opts.sessions !== undefined) parts.push(`--sessions ${opts.sessions} --concurrency ${opts.concurrency ?? '50'}`);
  if (opts.scenario !== undefined && opts.scenario !== 'all') parts.push(`--scenario ${opts.scenario}`);
  if (opts.timeout !== undefined && opts.timeout !== '30') parts.push(`--timeout ${opts.timeout}`);
  if (seed !== undefined) parts.push(`--faults --seed ${seed}`);
  if (opts.rateLimit !== undefined) parts.push(`--rate-limit ${opts.rateLimit}`);
  return parts.join(' ');
}

/** Pure: `--timeout` in minutes (decimals allowed) to ms. */
export function parseTimeoutMinutes(raw: string | undefined): number {
  const minutes = Number(raw ?? '30');
  if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60) {
    throw usageError(`--timeout must be a number of minutes between 0 and 1440, got "${raw}"`);
  }
  return Math.round(minutes * 60_000);
}

/** `all`, `handoff`, `expiry`, `restart`, or a scenario JSON file. */
export function loadScenarios(ref: string | undefined, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): Scenario[] {
  const name = ref ?? 'all';
  if (name === 'all') return [BUILT_IN.handoff, BUILT_IN.expiry];
  if (name === 'handoff' || name === 'expiry' || name === 'restart') return [BUILT_IN[name]];
  let text: string;
  try {
    text = readFile(name);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw usageError(
      `--scenario: "${name}" is not handoff, expiry, restart or all, and cannot be read as a file (${code ?? (err as Error).message})`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw usageError(`scenario ${name} is not valid JSON (${(err as Error).message})`);
  }
  return [parseScenario(data, name)];
}

function lineStyle(io: Io): LineStyle {
  const c = paint(io);
  const colours: Record<Actor, (s: string) => string> = {
    user: c.cyan,
    bot: c.magenta,
    bridge: c.blue,
    gorgias: c.yellow,
    agent: c.green,
  };
  // On a terminal a long text is cut to one line; piped, nothing is cut.
  return { dim: c.dim, actor: (a, s) => colours[a](s), button: c.bold, maxText: io.stdoutIsTTY ? 100 : undefined };
}

/** Pure: a positive whole number flag. */
export function parseCount(flag: string, raw: string | undefined, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw usageError(`${flag} must be a whole number from 1 to ${max}, got "${raw}"`);
  return n;
}

/** Pure: `--rate-limit`: Gorgias's calls per 20 s window (the bridge's budget is 80% of it); off or 0: none. */
export function parseRateLimit(raw: string | undefined): { limit: number; windowMs: number } | false {
  const text = (raw ?? '40').trim().toLowerCase();
  if (text === 'off' || text === '0') return false;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw usageError(`--rate-limit must be a whole number of calls per 20 s, or off; got "${raw}"`);
  return { limit: n, windowMs: 20_000 };
}

/** Pure: one progress line: how far, how fast, and how long still. */
export function progressLine(done: number, total: number, elapsedMs: number): string {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const left = rate > 0 ? (total - done) / rate : undefined;
  const eta = done === total ? `done in ${Math.round(elapsedMs / 1000)} s` : left === undefined ? '' : `${Math.ceil(left)} s left`;
  return `[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total} conversations, ${rate.toFixed(1)}/s, ${eta}`;
}

function progressBar(io: Io): ((done: number, total: number) => void) | undefined {
  if (!io.stderrIsTTY || !io.color) return undefined;
  const started = realClock.now();
  let shownAt = -Infinity;
  return (done, total) => {
    const now = realClock.now();
    // At most ten lines a second; the last one always.
    if (done < total && now - shownAt < 100) return;
    shownAt = now;
    process.stderr.write(`\r${progressLine(done, total, now - started)}\x1b[K${done === total ? '\n' : ''}`);
  };
}

function latencyJson(l: { p50: number; p99: number; max: number; count: number }) {
  const ms = (n: number) => Number(n.toFixed(3));
  return { p50: ms(l.p50), p99: ms(l.p99), max: ms(l.max), count: l.count };
}

async function simulateLoad(opts: SimulateOptions, io: Io, timeoutMs: number): Promise<void> {
  const sessions = parseCount('--sessions', opts.sessions, 100_000);
  const concurrency = parseCount('--concurrency', opts.concurrency ?? '50', 10_000);
  const format = outputFormat(opts);
  if (format === 'mermaid')
    throw usageError('--format mermaid draws a scenario run; a load run (--sessions) prints text or json, or writes --report');
  checkReportPath(opts.report);
  const { runLoad } = await import('../simulator/load.js');
  const rateLimit = parseRateLimit(opts.rateLimit);
  const r = await runLoad({ sessions, concurrency, timeoutMs, rateLimit, onProgress: progressBar(io) });
  const c = paint(io);
  if (opts.report) {
    const { renderLoadReport } = await import('../simulator/report.js');
    writeReport(opts.report, renderLoadReport({ result: r, run: { command: commandLine(opts), timeoutMs } }), io);
  }
  if (format === 'json') {
    io.out(
      JSON.stringify({
        kind: 'summary',
        ok: r.ok,
        sessions: r.sessions,
        concurrency: r.concurrency,
        wall_ms: Math.round(r.wallMs),
        conversations_per_s: Number(r.conversationsPerSecond.toFixed(1)),
        relays_per_s: Number(r.relaysPerSecond.toFixed(1)),
        relay_ms: latencyJson(r.relayMs),
        end_to_end_ms: latencyJson(r.endToEndMs),
        bytes_per_conversation: Math.round(r.bytesPerConversation),
        simulated_ms: r.simulatedMs,
        rate_limit: rateLimit ? `${rateLimit.limit}/${rateLimit.windowMs / 1000}s` : 'off',
        calls: r.calls,
        calls_per_conversation: Number((r.calls / r.sessions).toFixed(2)),
        rate_limited: r.rateLimited,
        max_interactive_wait_ms: r.maxInteractiveWaitMs,
        checks: r.checks,
      }),
    );
  } else {
    io.out(`${r.sessions} conversations, ${r.concurrency} at a time, in ${(r.wallMs / 1000).toFixed(2)} s`);
    io.out(`  throughput      ${r.conversationsPerSecond.toFixed(1)} conversations/s, ${r.relaysPerSecond.toFixed(1)} agent relays/s`);
    io.out(
      `  relay latency   p50 ${r.relayMs.p50.toFixed(2)} ms, p99 ${r.relayMs.p99.toFixed(2)} ms (webhook in -> user), ${r.relayMs.count} relays`,
    );
    io.out(
      `  end to end      p50 ${r.endToEndMs.p50.toFixed(1)} ms, p99 ${r.endToEndMs.p99.toFixed(1)} ms (agent message created in Gorgias -> user)`,
    );
    io.out(`  memory          ${(r.bytesPerConversation / 1024).toFixed(1)} KiB per conversation (heap: engine, emulator, timeline)`);
    io.out(
      `  Gorgias calls   ${r.calls} (${(r.calls / r.sessions).toFixed(1)} per conversation), ${r.rateLimited} answered 429, ${
        rateLimit ? `limit ${rateLimit.limit} per 20 s, hand-offs waited at most ${(r.maxInteractiveWaitMs / 1000).toFixed(1)} s` : 'no rate limit'
      }`,
    );
    io.out(`  simulated time  ${elapsed(r.simulatedMs).slice(1)}`);
    for (const check of r.checks) io.out(`${check.ok ? c.green('✓') : c.red('✗')} ${check.name}: ${check.detail}`);
  }
  if (!r.ok) {
    throw new LivechatError(
      `load run failed: ${r.checks
        .filter((x) => !x.ok)
        .map((x) => x.name)
        .join(', ')}`,
      { kind: 'check_failed' },
    );
  }
}

function faultsLine(w: { drop: number; duplicate: number; delayMs: number }): string {
  return `5xx and 429 storms before user steps; webhooks dropped ${w.drop * 100}%, duplicated ${w.duplicate * 100}%, delayed ${w.delayMs / 1000} s, reordered`;
}

/** Pure: `--seed`, a whole number. */
export function parseSeed(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw usageError(`--seed must be a whole number >= 0, got "${raw}"`);
  return n;
}

/** Pure: `--store`; a scenario that restarts the bridge needs state that outlives it, so it defaults to sqlite. */
export function storeKind(raw: string | undefined, scenarios: Scenario[]): 'memory' | 'sqlite' {
  const kind = raw ?? (scenarios.some(restarts) ? 'sqlite' : 'memory');
  if (kind !== 'memory' && kind !== 'sqlite') throw usageError(`--store must be memory or sqlite, got "${kind}"`);
  if (kind === 'memory' && scenarios.some(restarts))
    throw usageError('a scenario that restarts the bridge needs --store sqlite: memory does not outlive a process');
  return kind;
}

export async function simulate(opts: SimulateOptions, io: Io): Promise<void> {
  const timeoutMs = parseTimeoutMinutes(opts.timeout);
  if (opts.sessions !== undefined) {
    if (opts.faults) throw usageError('--faults runs the scenarios; it cannot be combined with --sessions');
    return simulateLoad(opts, io, timeoutMs);
  }
  if (opts.seed !== undefined && !opts.faults) throw usageError('--seed only applies with --faults');
  const format = outputFormat(opts);
  const json = format === 'json';
  checkReportPath(opts.report);
  const faults = opts.faults ? await import('../simulator/faults.js') : undefined;
  const seed = faults ? parseSeed(opts.seed, faults.DEFAULT_FAULT_SEED) : undefined;
  // Under faults the outage scenario joins the default run: retries that run out must end the session cleanly.
  const scenarios = faults && opts.scenario === 'outage' ? [faults.OUTAGE] : loadScenarios(opts.scenario);
  if (faults && (opts.scenario ?? 'all') === 'all') scenarios.push(faults.OUTAGE);
  const kind = storeKind(opts.store, scenarios);
  const rateLimit = parseRateLimit(opts.rateLimit);
  const scratch = kind === 'sqlite' ? mkdtempSync(join(tmpdir(), 'livechat-simulate-')) : undefined;
  const { runSimulation } = await import('../simulator/run.js');
  const style = lineStyle(io);
  const c = paint(io);
  let scenarioStart = 0;
  const starts: ScenarioStart[] = [];
  const wallStart = realClock.now();

  if (faults && format === 'text') io.out(c.dim(`faults on (seed ${seed}): ${faultsLine(faults.WEBHOOK_FAULTS)}`));
  let result: Awaited<ReturnType<typeof runSimulation>>;
  try {
    result = await runSimulation({
      scenarios,
      timeoutMs,
      rateLimit,
      store: scratch ? { kind: 'sqlite', path: join(scratch, 'livechat.db') } : { kind: 'memory' },
      ...(faults && seed !== undefined
        ? {
            ...faults.FAULT_WORLD,
            faults: faults.faultInjector(seed),
            onReady: (world) => world.emulator.faults.webhooks({ ...faults.WEBHOOK_FAULTS, seed }),
          }
        : {}),
      onScenario(s, at) {
        scenarioStart = at;
        starts.push({ name: s.name, conversation: s.conversation, startedAt: at });
        if (format === 'text') io.out(`\n${c.bold(`── scenario: ${s.name} (${s.conversation}) ──`)}`);
      },
      onEntry(e) {
        if (json) io.out(jsonLine(e));
        else if (format === 'mermaid') return;
        else if (e.scenario === 'setup') io.out(`${c.dim('setup')}      ${style.actor(e.from, `${e.from} → ${e.to}`.padEnd(28))} ${e.detail ?? ''}`);
        else io.out(formatLine(e, scenarioStart, style));
      },
    });
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }

  const wallMs = Math.max(1, realClock.now() - wallStart);
  const speedup = Math.round(result.simulatedMs / wallMs);
  const run = {
    command: commandLine(opts, seed),
    scenarios: starts,
    timeoutMs,
    faults: faults && seed !== undefined ? { seed, summary: faultsLine(faults.WEBHOOK_FAULTS) } : undefined,
    simulatedMs: result.simulatedMs,
    wallMs,
  };
  if (opts.report) {
    const { renderReport } = await import('../simulator/report.js');
    writeReport(opts.report, renderReport({ entries: result.entries, checks: result.checks, run }), io);
  }
  if (format === 'mermaid') {
    const { renderMermaid } = await import('../simulator/mermaid.js');
    io.out(renderMermaid({ entries: result.entries, checks: result.checks, run }).trimEnd());
  } else if (json) {
    io.out(JSON.stringify({ kind: 'summary', ok: result.ok, checks: result.checks, simulated_ms: result.simulatedMs, wall_ms: wallMs, speedup }));
  } else {
    io.out('');
    for (const check of result.checks) {
      io.out(`${check.ok ? c.green('✓') : c.red('✗')} ${check.name}: ${check.detail}`);
    }
    io.out(
      `\n${result.ok ? c.green('all checks passed') : c.red('checks failed')}: ${elapsed(result.simulatedMs).slice(1)} simulated in ${(wallMs / 1000).toFixed(2)} s (${speedup}x)`,
    );
  }
  if (!result.ok) {
    const failed = result.checks.filter((x) => !x.ok).map((x) => x.name);
    throw new LivechatError(`simulation failed: ${failed.join(', ')}`, { kind: 'check_failed' });
  }
}
