// Start-up cost of the CLI against a bare `node -e 0`, measured interleaved in one run so
// machine noise hits every command alike. Prints medians and ratios; asserts nothing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BIN = resolve(import.meta.dirname, '..', 'bin', 'livechat.js');

export interface StartupFigures {
  runs: number;
  baselineMs: number;
  helpMs: number;
  webhookUrlMs: number;
  helpRatio: number;
  webhookUrlRatio: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function time(args: string[], env: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

export function measureStartup(runs = 30): StartupFigures {
  const dir = mkdtempSync(join(tmpdir(), 'livechat-bench-'));
  const cfg = join(dir, 'cfg');
  mkdirSync(cfg, { recursive: true });
  // A saved token and base URL, so webhook-url only reads (its everyday path).
  writeFileSync(join(cfg, 'config.json'), JSON.stringify({ baseUrl: 'https://bot.example.com/gorgias', webhookToken: 'b'.repeat(32) }), {
    mode: 0o600,
  });
  const env = { ...process.env, LIVECHAT_CONFIG_DIR: cfg, NO_COLOR: '1' };
  const cmds = {
    baseline: ['-e', '0'],
    help: [BIN, '--help'],
    webhookUrl: [BIN, 'webhook-url'],
  };
  const samples: Record<keyof typeof cmds, number[]> = { baseline: [], help: [], webhookUrl: [] };
  try {
    for (const args of Object.values(cmds)) time(args, env); // warm the file cache
    for (let i = 0; i < runs; i++) {
      for (const name of Object.keys(cmds) as Array<keyof typeof cmds>) samples[name].push(time(cmds[name], env));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const baselineMs = median(samples.baseline);
  const helpMs = median(samples.help);
  const webhookUrlMs = median(samples.webhookUrl);
  return { runs, baselineMs, helpMs, webhookUrlMs, helpRatio: helpMs / baselineMs, webhookUrlRatio: webhookUrlMs / baselineMs };
}
