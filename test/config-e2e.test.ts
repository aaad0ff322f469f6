// `livechat config show | path | set` through bin/livechat.js.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runInProcess, tempConfigDir } from './helpers.ts';

const tmp = tempConfigDir();
after(tmp.cleanup);

function freshDir(name: string): { env: NodeJS.ProcessEnv; file: string } {
  const dir = join(tmp.dir, name);
  return { env: { LIVECHAT_CONFIG_DIR: dir }, file: join(dir, 'config.json') };
}

const KEY = 'gorgias-key-very-secret-7f3a';
const TOKEN = 'webhook-token-abcdef0123456789';

test('config path prints the file under LIVECHAT_CONFIG_DIR; --json says whether it exists', async () => {
  const { env, file } = freshDir('path');
  const r = await runInProcess(['config', 'path'], { env });
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), file);
  const j = await runInProcess(['config', 'path', '--json'], { env });
  assert.equal(j.code, 0, j.stderr);
  assert.deepEqual(JSON.parse(j.stdout), { config_file: file, exists: false });
});

test('config set --json says what happened: created, updated, unchanged', async () => {
  const { env, file } = freshDir('set-json');
  const actions: string[] = [];
  for (const value of ['acme', 'other', 'other']) {
    const r = await runInProcess(['config', 'set', 'domain', value, '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual([j.key, j.value, j.config_file], ['domain', value, file]);
    actions.push(j.action);
  }
  assert.deepEqual(actions, ['created', 'updated', 'unchanged']);
  assert.match((await runInProcess(['config', 'set', 'domain', 'other'], { env })).stdout, /nothing changed/);
});

test('config show masks the key and the token, text and --json', async () => {
  const { env, file } = freshDir('show');
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, JSON.stringify({ domain: 'acme', username: 'ada@example.com', apiKey: KEY, webhookToken: TOKEN }));
  const text = await runInProcess(['config', 'show'], { env });
  assert.equal(text.code, 0);
  assert.match(text.stdout, /^api key:\s+\*\*\*\*7f3a$/m);
  assert.match(text.stdout, /^webhook token:\s+\*\*\*\*6789$/m);
  assert.match(text.stdout, /^api base URL:\s+https:\/\/acme\.gorgias\.com\/api$/m);
  assert.ok(text.stdout.includes(file));
  const json = await runInProcess(['config', 'show', '--json'], { env });
  assert.equal(json.code, 0);
  const view = JSON.parse(json.stdout);
  assert.equal(view.api_key, '****7f3a');
  assert.equal(view.webhook_token, '****6789');
  assert.equal(view.username, 'ada@example.com');
  assert.equal(view.config_file, file);
  for (const out of [text.stdout, text.stderr, json.stdout, json.stderr]) {
    assert.ok(!out.includes(KEY) && !out.includes(TOKEN));
  }
});

test('config show with nothing saved says so', async () => {
  const { env } = freshDir('empty');
  const r = await runInProcess(['config', 'show', '--json'], { env });
  assert.equal(r.code, 0);
  assert.equal(JSON.parse(r.stdout).api_key, null);
});

test('config set saves domain, username and base-url (mode 0600), warns about a local base URL', async () => {
  const { env, file } = freshDir('set');
  assert.equal((await runInProcess(['config', 'set', 'domain', 'acme'], { env })).code, 0);
  assert.equal((await runInProcess(['config', 'set', 'username', 'ada@example.com'], { env })).code, 0);
  const r = await runInProcess(['config', 'set', 'base-url', 'http://127.0.0.1:3000/hook'], { env });
  assert.equal(r.code, 0);
  assert.match(r.stderr, /^warning: .*local/m);
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { domain: 'acme', username: 'ada@example.com', baseUrl: 'http://127.0.0.1:3000/hook' });
  assert.equal(statSync(file).mode & 0o777, 0o600);
});

test('config set refuses an unknown key and a bad value (exit 2)', async () => {
  const { env, file } = freshDir('set-bad');
  const unknown = await runInProcess(['config', 'set', 'colour', 'red'], { env });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown config key "colour"/);
  const badUrl = await runInProcess(['config', 'set', 'base-url', 'ftp://x'], { env });
  assert.equal(badUrl.code, 2);
  const badDomain = await runInProcess(['config', 'set', 'domain', 'not a domain'], { env });
  assert.equal(badDomain.code, 2);
  assert.throws(() => readFileSync(file), /ENOENT/, 'nothing was written');
});

test('a corrupt config file: one line naming the path, and the file is left alone', async () => {
  const { env, file } = freshDir('corrupt');
  mkdirSync(join(file, '..'), { recursive: true });
  const bad = '{"domain": "acme", oops';
  writeFileSync(file, bad, { mode: 0o600 });
  for (const args of [
    ['config', 'show'],
    ['config', 'set', 'domain', 'other'],
    ['setup', 'gorgias', '--no-verify', '--domain', 'a', '--username', 'b'],
  ]) {
    const r = await runInProcess(args, { env: { ...env, GORGIAS_API_KEY: KEY } });
    assert.equal(r.code, 1, args.join(' '));
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0].includes(file));
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(readFileSync(file, 'utf8'), bad);
  }
});

test('a command that needs Gorgias, run with no config, says to run livechat setup gorgias', async () => {
  const { env } = freshDir('none');
  for (const args of [
    ['macro', 'list'],
    ['webhook', 'status', '--base-url', 'https://bot.example.com/h'],
  ]) {
    const r = await runInProcess(args, { env });
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stderr, 'error: missing --domain (or GORGIAS_DOMAIN)\n  or save the credentials once with `livechat setup gorgias`\n');
  }
});
