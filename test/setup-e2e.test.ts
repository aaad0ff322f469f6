// `livechat setup gorgias` through bin/livechat.js, with no TTY.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runInProcess, tempConfigDir } from './helpers.ts';

const tmp = tempConfigDir();
after(tmp.cleanup);

function freshDir(name: string): { env: NodeJS.ProcessEnv; file: string } {
  const dir = join(tmp.dir, name);
  return { env: { LIVECHAT_CONFIG_DIR: dir }, file: join(dir, 'config.json') };
}

/** A port nothing listens on: bind one, then close it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const KEY = 'k3y-that-must-never-show-9d2e';

test('no TTY and no domain: fails at once naming the flag and the variable (exit 2)', async () => {
  const { env, file } = freshDir('missing');
  const r = await runInProcess(['setup', 'gorgias', '--username', 'ada@example.com'], { env: { ...env, GORGIAS_API_KEY: KEY } });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'error: missing --domain (or GORGIAS_DOMAIN)\n');
  assert.equal(r.stdout, '');
  assert.equal(existsSync(file), false);
});

test('no TTY and no key: names --api-key-stdin and GORGIAS_API_KEY', async () => {
  const { env } = freshDir('missing-key');
  const r = await runInProcess(['setup', 'gorgias', '--domain', 'acme', '--username', 'ada@example.com'], { env });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error: missing --api-key-stdin \(or GORGIAS_API_KEY\)$/m);
});

test('an unreachable host: one line, exit 1, nothing saved', async () => {
  const { env, file } = freshDir('unreachable');
  const port = await closedPort();
  const r = await runInProcess(['setup', 'gorgias', '--domain', `http://127.0.0.1:${port}`, '--username', 'ada@example.com'], {
    env: { ...env, GORGIAS_API_KEY: KEY },
  });
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `error: cannot reach Gorgias at http://127.0.0.1:${port}/api (ECONNREFUSED)\n`);
  assert.equal(existsSync(file), false);
});

test('a bad domain is a usage error', async () => {
  const { env } = freshDir('bad-domain');
  const r = await runInProcess(['setup', 'gorgias', '--domain', 'acme.example.com', '--username', 'a@b.c', '--no-verify'], {
    env: { ...env, GORGIAS_API_KEY: KEY },
  });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /is not a Gorgias domain/);
});

test('--no-verify with --api-key-stdin saves without a call, mode 0600, key masked', async () => {
  const { env, file } = freshDir('no-verify');
  const r = await runInProcess(
    ['setup', 'gorgias', '--domain', 'acme', '--username', 'ada@example.com', '--api-key-stdin', '--no-verify', '--json'],
    {
      env,
      input: `${KEY}\n`,
    },
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.verified, false);
  assert.equal(out.api_key, '****9d2e');
  assert.equal(out.api_base_url, 'https://acme.gorgias.com/api');
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { domain: 'acme', username: 'ada@example.com', apiKey: KEY });
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.ok(!r.stdout.includes(KEY) && !r.stderr.includes(KEY));
});

test('--api-key works but warns that argv is visible', async () => {
  const { env } = freshDir('argv');
  const r = await runInProcess(['setup', 'gorgias', '--domain', 'acme', '--username', 'a@b.c', '--api-key', KEY, '--no-verify'], { env });
  assert.equal(r.code, 0);
  assert.match(r.stderr, /^warning: --api-key is visible to other users/m);
  assert.ok(!r.stdout.includes(KEY) && !r.stderr.includes(KEY));
});

test('--api-key-stdin with an empty stdin is a usage error', async () => {
  const { env } = freshDir('stdin-empty');
  const r = await runInProcess(['setup', 'gorgias', '--domain', 'acme', '--username', 'a@b.c', '--api-key-stdin', '--no-verify'], {
    env,
    input: '\n',
  });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /nothing on standard input/);
});
