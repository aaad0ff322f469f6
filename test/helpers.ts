// Shared test plumbing: spawn the real CLI, make a throwaway config dir.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { colorAllowed, type Io } from '../src/io.ts';
import { main } from '../src/main.ts';

export const BIN = resolve(import.meta.dirname, '..', 'bin', 'livechat.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
}

function cleanEnv(extra: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const k of ['GORGIAS_DOMAIN', 'GORGIAS_USERNAME', 'GORGIAS_API_KEY', 'LIVECHAT_BASE_URL', 'LIVECHAT_DEBUG', 'FORCE_COLOR']) delete env[k];
  return Object.assign(env, extra);
}

/**
 * Run a command in this process through `main(argv, io)`: the same parsing, commands and error
 * mapping as the binary, with no TTY, NO_COLOR and a clean Gorgias environment, in a few ms
 * instead of half a second. Use `spawnCli`-style `runCli` only for what needs a real process.
 */
export async function runInProcess(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const env = cleanEnv(options.env);
  let stdout = '';
  let stderr = '';
  const io: Io = {
    out: (text) => void (stdout += text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => void (stderr += text.endsWith('\n') ? text : `${text}\n`),
    stdoutIsTTY: false,
    stderrIsTTY: false,
    stdinIsTTY: false,
    color: colorAllowed(env, false),
    env,
    argv: args,
    stdin: Readable.from(options.input ? [Buffer.from(options.input)] : [], { objectMode: false }),
  };
  const ms = options.timeoutMs ?? 20_000;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`livechat ${args.join(' ')}: still running after ${ms} ms`)), ms);
  });
  try {
    const code = await Promise.race([main(args, io), deadline]);
    return { code, signal: null, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** Run the real `bin/livechat.js` as a child, with no TTY, NO_COLOR, and a clean Gorgias environment. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const env = cleanEnv(options.env);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** A fresh LIVECHAT_CONFIG_DIR; call the returned cleanup in `after`. */
export function tempConfigDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'livechat-test-'));
  return { dir: join(dir, 'cfg'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
