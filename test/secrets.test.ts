// Every command that takes --json runs here, against the emulator where it needs Gorgias, with
// and without --debug; neither the API key nor the webhook token may appear in anything it
// prints, stdout or stderr. Only --show-secrets shows them.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Command } from '@commander-js/extra-typings';
import { buildProgram } from '../src/cli.ts';
import { startEmulator, type Emulator } from '../src/emulator/index.ts';
import { sameSecret, secretMatcher } from '../src/secret.ts';
import { BIN, runInProcess, tempConfigDir, type CliResult } from './helpers.ts';

const KEY = 'secret-api-key-for-the-grep-5f1e';
const BASE = 'https://bot.example.com/gorgias';
const cfg = tempConfigDir();
let emu: Emulator;
let env: NodeJS.ProcessEnv;

before(async () => {
  emu = await startEmulator({ port: 0, email: 'ada@example.com', apiKey: KEY, rateLimit: false });
  env = { LIVECHAT_CONFIG_DIR: cfg.dir };
  const setup = await runInProcess(['setup', 'gorgias', '--domain', emu.url, '--username', 'ada@example.com', '--base-url', BASE], {
    env: { ...env, GORGIAS_API_KEY: KEY },
  });
  assert.equal(setup.code, 0, setup.stderr);
});
after(async () => {
  await emu.close();
  cfg.cleanup();
});

const saved = () => JSON.parse(readFileSync(join(cfg.dir, 'config.json'), 'utf8')) as { webhookToken?: string; channelSecret?: string };
const token = () => saved().webhookToken;
const LONG_RUNNING = new Set(['emulator', 'serve', 'playground']);
/** No receiver answers here: doctor reports that, exit 1, and must still mask everything. */
const FAILS_HERE = new Set(['doctor']);

/** `livechat emulator`, `serve` and `playground` run until a signal: their first line is their result. */
function firstLineOf(args: string[]): Promise<CliResult> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.includes('\n')) child.kill('SIGTERM');
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      done({ code, signal, stdout, stderr });
    });
  });
}

// Every command with --json, in an order where each finds what it needs (the token, a macro).
const RUNS: Array<[string, () => string[]]> = [
  ['setup gorgias', () => ['setup', 'gorgias', '--domain', emu.url, '--username', 'ada@example.com', '--json']],
  ['webhook-url', () => ['webhook-url', '--json']],
  ['webhook install', () => ['webhook', 'install', '--json']],
  ['webhook status', () => ['webhook', 'status', '--json']],
  ['config show', () => ['config', 'show', '--json']],
  ['config path', () => ['config', 'path', '--json']],
  ['config set', () => ['config', 'set', 'base-url', BASE, '--json']],
  ['macro create', () => ['macro', 'create', '--json']],
  ['macro list', () => ['macro', 'list', '--all', '--json']],
  ['macro show', () => ['macro', 'show', 'End livechat', '--json']],
  ['macro delete', () => ['macro', 'delete', 'End livechat', '--yes', '--json']],
  ['emulator', () => ['emulator', '--port', '0', '--api-key', KEY, '--json']],
  ['serve', () => ['serve', '--port', '0', '--deliver-url', 'http://127.0.0.1:9/deliver', '--data', join(cfg.dir, '..', 'serve.db'), '--json']],
  ['simulate', () => ['simulate', '--scenario', 'handoff', '--json']],
  ['doctor', () => ['doctor', '--json', '--roundtrip', '--base-url', 'http://127.0.0.1:9/gorgias', '--serve-url', 'http://127.0.0.1:9']],
  // Its own emulator's key is made for the run and printed, as `livechat emulator` prints a generated one.
  ['playground', () => ['playground', '--port', '0', '--json']],
];

function jsonCommands(cmd: Command, prefix: string[] = []): string[] {
  return cmd.commands.flatMap((sub) => {
    const path = [...prefix, sub.name()];
    const own = sub.options.some((o) => o.long === '--json') ? [path.join(' ')] : [];
    return [...own, ...jsonCommands(sub as Command, path)];
  });
}

test('the list below covers every command that takes --json', () => {
  assert.deepEqual(RUNS.map(([name]) => name).sort(), jsonCommands(buildProgram()).sort());
});

test('no --json output, nor anything on stderr, carries the API key or the webhook token (with --debug too)', async () => {
  for (const debug of [false, true]) {
    for (const [name, args] of RUNS) {
      const argv = [...(debug ? ['--debug'] : []), ...args()];
      // setup reads the key from the environment; the others from the saved config.
      const r = LONG_RUNNING.has(name)
        ? await firstLineOf(argv)
        : await runInProcess(argv, { env: name === 'setup gorgias' ? { ...env, GORGIAS_API_KEY: KEY } : env });
      // (serve prints its line before it takes SIGTERM over, so the signal may end it)
      assert.ok(
        r.code === 0 || (LONG_RUNNING.has(name) && r.signal === 'SIGTERM') || (FAILS_HERE.has(name) && r.code === 1),
        `${argv.join(' ')}: exit ${r.code}\n${r.stderr}`,
      );
      // One JSON document, or JSON lines (simulate, emulator).
      const out = r.stdout.trim();
      assert.doesNotThrow(
        () => (out.startsWith('{\n') || out.startsWith('[') ? JSON.parse(out) : out.split('\n').map((l) => JSON.parse(l))),
        `${name}: JSON out`,
      );
      const secrets = [KEY, token()!, ...(saved().channelSecret ? [saved().channelSecret!] : [])];
      for (const secret of secrets) {
        assert.ok(!r.stdout.includes(secret), `${argv.join(' ')} printed a secret on stdout:\n${r.stdout}`);
        assert.ok(!r.stderr.includes(secret), `${argv.join(' ')} printed a secret on stderr:\n${r.stderr}`);
      }
    }
  }
});

test('--show-secrets shows them: the grep above can see a secret', async () => {
  const show = await runInProcess(['config', 'show', '--json', '--show-secrets'], { env });
  assert.equal(show.code, 0, show.stderr);
  const view = JSON.parse(show.stdout) as { api_key: string; webhook_token: string; channel_secret: string };
  assert.deepEqual([view.api_key, view.webhook_token, view.channel_secret], [KEY, token(), saved().channelSecret]);
  const url = await runInProcess(['webhook-url', '--json', '--show-secrets'], { env });
  assert.ok((JSON.parse(url.stdout) as { url: string }).url.endsWith(`&token=${token()}`));
});

test('a secret matches only itself: same length, same bytes, whatever is given', () => {
  const matches = secretMatcher('s3cret-token');
  assert.equal(matches('s3cret-token'), true);
  assert.equal(matches('s3cret-token'), true, 'the reused buffer holds nothing of the last call');
  for (const wrong of [
    undefined,
    '',
    's3cret',
    's3cret-tokem',
    's3cret-token!',
    's3cret-token\u0000',
    'S3CRET-TOKEN',
    's3cret-tokén',
    'x'.repeat(1000),
  ])
    assert.equal(matches(wrong), false, JSON.stringify(wrong));
  // Multi-byte characters: compared as UTF-8 bytes, a cut character never matches.
  const accented = secretMatcher('clé-é');
  assert.equal(accented('clé-é'), true);
  assert.equal(accented('clé-e'), false);
  assert.equal(accented('clé-'), false);
  assert.equal(secretMatcher('')(''), true);
  assert.equal(secretMatcher('')('a'), false);
  assert.equal(sameSecret('a', 'a'), true);
  assert.equal(sameSecret('a', 'ab'), false);
});
