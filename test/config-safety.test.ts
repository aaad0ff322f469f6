// The config under concurrent runs, kills and loose permissions, through the real binary.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BIN, runInProcess, tempConfigDir } from './helpers.ts';

const tmp = tempConfigDir();
after(tmp.cleanup);
const BASE = 'https://bot.example.com/hook';

function fresh(name: string): { dir: string; file: string; env: NodeJS.ProcessEnv } {
  const dir = join(tmp.dir, name);
  return { dir, file: join(dir, 'config.json'), env: { LIVECHAT_CONFIG_DIR: dir } };
}

const tokenOf = (url: string) => /[?&]token=([^&]+)$/.exec(url.trim())?.[1];
const saved = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
const leftovers = (dir: string) => readdirSync(dir).filter((n) => n !== 'config.json');

/** The pid of a process that has exited (for a temp file or a lock whose writer is gone). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((done) => child.on('close', done));
  return child.pid!;
}

test('20 concurrent first runs of webhook-url print one token, the one saved', async () => {
  const { dir, file, env } = fresh('race');
  const runs = await Promise.all(Array.from({ length: 20 }, () => runInProcess(['webhook-url', '--base-url', BASE, '--show-secrets'], { env })));
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const tokens = new Set(runs.map((r) => tokenOf(r.stdout)));
  assert.equal(tokens.size, 1, [...tokens].join(', '));
  assert.equal([...tokens][0], saved(file).webhookToken);
  assert.deepEqual(leftovers(dir), [], 'no temp file or lock is left');
});

test('concurrent writes of different keys lose nothing', async () => {
  const { file, env } = fresh('merge');
  const runs = await Promise.all([
    runInProcess(['config', 'set', 'domain', 'acme'], { env }),
    runInProcess(['config', 'set', 'username', 'ada@example.com'], { env }),
    runInProcess(['config', 'set', 'base-url', BASE], { env }),
    runInProcess(['webhook-url', '--base-url', BASE], { env }),
  ]);
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const c = saved(file);
  assert.equal(c.domain, 'acme');
  assert.equal(c.username, 'ada@example.com');
  assert.equal(c.baseUrl, BASE);
  assert.ok(c.webhookToken);
});

test('what a killed write leaves (temp files, a lock) is gone after the next run, whatever it is', async () => {
  const { dir, file, env } = fresh('leftovers');
  assert.equal((await runInProcess(['config', 'set', 'domain', 'acme'], { env })).code, 0);
  const gone = await deadPid();
  const old = new Date(Date.now() - 60_000);
  writeFileSync(join(dir, `config.json.tmp-${gone}-0badcafe`), '{"apiKey": "half-written-key', { mode: 0o600 });
  writeFileSync(join(dir, 'config.json.tmp-17649173530a1b2c3'), '{"apiKey": "older-version-key"}', { mode: 0o600 }); // conf's naming
  utimesSync(join(dir, 'config.json.tmp-17649173530a1b2c3'), old, old);
  writeFileSync(join(dir, 'config.json.lock'), `${gone} feedbeef`, { mode: 0o600 });
  // A temp file of a live writer, just made, is not touched by a reader.
  writeFileSync(join(dir, `config.json.tmp-${process.pid}-00000000`), '{}', { mode: 0o600 });

  const r = await runInProcess(['config', 'show', '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(leftovers(dir), [`config.json.tmp-${process.pid}-00000000`]);
  assert.equal(saved(file).domain, 'acme');
});

test('kill -9 at random points of writes: the config stays whole, and the next run leaves no temp file', async () => {
  const { dir, file, env } = fresh('kill');
  assert.equal((await runInProcess(['config', 'set', 'base-url', BASE], { env })).code, 0);
  for (let i = 0; i < 12; i++) {
    const child = spawn(process.execPath, [BIN, 'webhook-url', '--rotate-token'], { env: { ...process.env, ...env }, stdio: 'ignore' });
    const closed = new Promise((done) => child.on('close', done));
    // Start-up takes most of the first 100 ms; the write comes right after.
    await new Promise((done) => setTimeout(done, 60 + ((i * 17) % 90)));
    child.kill('SIGKILL');
    await closed;
    assert.doesNotThrow(() => saved(file), 'never half a file');
  }
  const next = await runInProcess(['webhook-url', '--show-secrets'], { env });
  assert.equal(next.code, 0, next.stderr);
  assert.equal(tokenOf(next.stdout), saved(file).webhookToken);
  assert.deepEqual(leftovers(dir), []);
});

test('a config readable by others is tightened to 0600 by any command that reads it, and said so', async () => {
  const { dir, file, env } = fresh('loose');
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, JSON.stringify({ domain: 'acme', apiKey: 'loose-key-0000aaaa' }));
  chmodSync(file, 0o644);
  const r = await runInProcess(['config', 'show'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.match(r.stderr, /readable by other users \(mode 0644\); it is now 0600/);
  assert.ok(!r.stderr.includes('loose-key-0000aaaa'));
  const again = await runInProcess(['config', 'show'], { env });
  assert.equal(again.stderr, '', 'said once');
});

test('the config folder is made 0700; livechat’s own folder made 0755 by an older version is tightened', async () => {
  const { dir, env } = fresh('made');
  assert.equal((await runInProcess(['config', 'set', 'domain', 'acme'], { env })).code, 0);
  assert.equal(statSync(dir).mode & 0o777, 0o700);

  const xdg = join(tmp.dir, 'xdg');
  mkdirSync(join(xdg, 'livechat'), { recursive: true, mode: 0o755 });
  chmodSync(join(xdg, 'livechat'), 0o755);
  writeFileSync(join(xdg, 'livechat', 'config.json'), '{"domain": "acme"}', { mode: 0o600 });
  const r = await runInProcess(['config', 'show'], { env: { XDG_CONFIG_HOME: xdg, LIVECHAT_CONFIG_DIR: '' } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statSync(join(xdg, 'livechat')).mode & 0o777, 0o700);
  assert.ok(existsSync(join(xdg, 'livechat', 'config.json')));
});
