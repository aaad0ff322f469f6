// `livechat setup gorgias` through bin/livechat.js against the emulator (no TTY).
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startEmulator, type Emulator } from '../src/emulator/index.ts';
import { runInProcess, tempConfigDir } from './helpers.ts';

const tmp = tempConfigDir();
let emu: Emulator;
before(async () => {
  emu = await startEmulator({ port: 0, email: 'ada@example.com', apiKey: 'emu-secret-key-4d5e6f7a8b9c', rateLimit: false });
});
after(async () => {
  await emu.close();
  tmp.cleanup();
});

function freshDir(name: string): { env: NodeJS.ProcessEnv; file: string } {
  const dir = join(tmp.dir, name);
  return { env: { LIVECHAT_CONFIG_DIR: dir }, file: join(dir, 'config.json') };
}

function noKey(...texts: string[]): void {
  for (const t of texts) assert.ok(!t.includes(emu.apiKey), `the API key leaked: ${t}`);
}

test('non-interactive setup checks, saves (0600) and prints who it connected as, never the key', async () => {
  const { env, file } = freshDir('ok');
  const r = await runInProcess(['setup', 'gorgias', '--domain', emu.url, '--username', 'ada@example.com'], {
    env: { ...env, GORGIAS_API_KEY: emu.apiKey },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Connected to Gorgias account emulator as Emulator Agent <ada@example\.com>\.$/m);
  assert.match(r.stdout, /API key \*\*\*\*8b9c/);
  assert.match(r.stdout, /livechat webhook-url/);
  assert.match(r.stdout, /livechat webhook install/);
  assert.match(r.stdout, /livechat macro create/);
  assert.match(r.stdout, /livechat config set base-url URL/, 'no base URL yet: it says how to set one');
  assert.equal(r.stderr, '');
  noKey(r.stdout, r.stderr);
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { domain: emu.url, username: 'ada@example.com', apiKey: emu.apiKey });
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const calls = emu.requests.slice(-2).map((c) => `${c.method} ${c.path} ${c.status}`);
  assert.deepEqual(calls, ['GET /api/account 200', 'GET /api/users/0 200']);
});

test('--api-key-stdin and --json: machine output, key masked', async () => {
  const { env, file } = freshDir('json');
  const r = await runInProcess(
    [
      'setup',
      'gorgias',
      '--domain',
      emu.url,
      '--username',
      'ada@example.com',
      '--api-key-stdin',
      '--json',
      '--base-url',
      'https://bot.example.com/gorgias',
    ],
    {
      env,
      input: `${emu.apiKey}\n`,
    },
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.verified, true);
  assert.equal(out.api_key, '****8b9c');
  assert.deepEqual(out.user, { id: 1, email: 'ada@example.com', name: 'Emulator Agent' });
  assert.equal(out.account.domain, 'emulator');
  assert.equal(out.base_url, 'https://bot.example.com/gorgias');
  assert.equal(out.action, 'created');
  noKey(r.stdout, r.stderr);
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).baseUrl, 'https://bot.example.com/gorgias');

  // Again with the same answers: nothing changed; the base URL kept from the file.
  const args = ['setup', 'gorgias', '--domain', emu.url, '--username', 'ada@example.com', '--json'];
  const same = await runInProcess(args, { env: { ...env, GORGIAS_API_KEY: emu.apiKey } });
  assert.equal(same.code, 0, same.stderr);
  assert.deepEqual([JSON.parse(same.stdout).action, JSON.parse(same.stdout).base_url], ['unchanged', 'https://bot.example.com/gorgias']);
  const other = await runInProcess([...args, '--base-url', 'https://bot.example.com/other'], { env: { ...env, GORGIAS_API_KEY: emu.apiKey } });
  assert.equal(JSON.parse(other.stdout).action, 'updated');
});

test('a wrong key: exit 1, one line, and the saved config is byte-for-byte unchanged', async () => {
  const { env, file } = freshDir('wrong');
  const first = await runInProcess(['setup', 'gorgias', '--domain', emu.url, '--username', 'ada@example.com'], {
    env: { ...env, GORGIAS_API_KEY: emu.apiKey },
  });
  assert.equal(first.code, 0, first.stderr);
  const before = readFileSync(file);
  const wrong = 'not-the-right-key-11223344';
  const r = await runInProcess(['setup', 'gorgias', '--domain', emu.url, '--username', 'ada@example.com'], {
    env: { ...env, GORGIAS_API_KEY: wrong },
  });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^error: Gorgias credentials rejected \(401/);
  assert.ok(!r.stderr.includes(wrong));
  assert.deepEqual(readFileSync(file), before);
});

test('--debug shows the request lines and the stack, never the key', async () => {
  const { env } = freshDir('debug');
  const ok = await runInProcess(['--debug', 'setup', 'gorgias', '--domain', emu.url, '--username', 'ada@example.com', '--no-verify'], {
    env: { ...env, GORGIAS_API_KEY: emu.apiKey },
  });
  assert.equal(ok.code, 0, ok.stderr);
  const r = await runInProcess(['--debug', 'setup', 'gorgias', '--domain', emu.url, '--username', 'ada@example.com'], {
    env: { ...env, GORGIAS_API_KEY: emu.apiKey },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^debug: GET \/api\/account 200 \d+ms$/m);
  assert.match(r.stderr, /^debug: GET \/api\/users\/0 200 \d+ms$/m);
  noKey(r.stdout, r.stderr);
  const bad = await runInProcess(['--debug', 'setup', 'gorgias', '--domain', emu.url, '--username', 'ada@example.com', '--api-key-stdin'], {
    env,
    input: `${emu.apiKey}x\n`,
  });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /debug: GET \/api\/account 401/);
  assert.match(bad.stderr, /\n\s+at /, '--debug shows the stack');
  noKey(bad.stdout, bad.stderr);
});

test('a rate-limited check waits, tells the user on stderr, and succeeds', async () => {
  const { env } = freshDir('rate');
  emu.faults.rateLimitStorm(1, 1);
  const r = await runInProcess(['setup', 'gorgias', '--domain', emu.url, '--username', 'ada@example.com'], {
    env: { ...env, GORGIAS_API_KEY: emu.apiKey },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, 'Gorgias rate limit reached; retrying in 1s (1/3)\n');
});
