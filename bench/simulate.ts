// The simulator's speed: the default run as a user runs it (whole process), and the load run.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const BIN = resolve(import.meta.dirname, '..', 'bin', 'livechat.js');

export interface SimulateFigures {
  processMs: number;
  simulatedMs: number;
  runWallMs: number;
  speedup: number;
}

/** `livechat simulate --json`, timed from outside; the summary gives the simulated time. */
export function measureDefaultSimulate(): SimulateFigures {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, 'simulate', '--json'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const processMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`simulate exited ${r.status}: ${r.stderr}`);
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { simulated_ms: number; wall_ms: number };
  return { processMs, simulatedMs: summary.simulated_ms, runWallMs: summary.wall_ms, speedup: summary.simulated_ms / processMs };
}

export interface LoadFigures {
  ok: boolean;
  sessions: number;
  concurrency: number;
  wall_ms: number;
  conversations_per_s: number;
  relays_per_s: number;
  relay_ms: { p50: number; p99: number; max: number; count: number };
  end_to_end_ms: { p50: number; p99: number; max: number; count: number };
  bytes_per_conversation: number;
  checks: Array<{ name: string; ok: boolean; detail: string }>;
}

/** `livechat simulate --sessions N --json` in its own process. */
export function measureLoad(sessions: number, concurrency: number): LoadFigures {
  const r = spawnSync(process.execPath, [BIN, 'simulate', '--sessions', String(sessions), '--concurrency', String(concurrency), '--json'], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  if (!r.stdout.trim()) throw new Error(`simulate --sessions exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as LoadFigures;
}
