import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runCli, runInProcess } from './helpers.ts';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

test('--help lists every command, one line each', async () => {
  const r = await runInProcess(['--help']);
  assert.equal(r.code, 0);
  for (const cmd of ['setup', 'config', 'webhook-url', 'webhook', 'macro', 'emulator', 'simulate']) {
    assert.match(r.stdout, new RegExp(`^  ${cmd}\\b.*\\S`, 'm'), `missing ${cmd}`);
  }
  assert.equal(r.stderr, '');
});

test('--version prints the package version', async () => {
  const r = await runInProcess(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), pkg.version);
});

test('an unknown command exits 2 with one line', async () => {
  const r = await runCli(['frobnicate']); // the real binary's exit code
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
  assert.equal(r.stdout, '');
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('an unknown flag exits 2', async () => {
  const r = await runInProcess(['webhook-url', '--bogus']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option '--bogus'/);
});

test('a group without its subcommand prints its help on stderr and exits 2', async () => {
  const r = await runInProcess(['macro']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Usage: livechat macro/);
  assert.equal(r.stdout, '');
});

test('`help <command>` and `<command> --help` exit 0 with the help on stdout', async () => {
  for (const args of [
    ['help', 'simulate'],
    ['simulate', '--help'],
  ]) {
    const r = await runInProcess(args);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: livechat simulate/);
  }
});

test('a reader that closes the pipe early (| head) ends the run quietly, no stack trace', async () => {
  const { spawn } = await import('node:child_process');
  const { BIN } = await import('./helpers.ts');
  const child = spawn(process.execPath, [BIN, 'simulate'], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0);
  assert.doesNotMatch(stderr, /EPIPE|\n\s+at /);
});
