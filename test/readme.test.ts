// The README mirrors `--help`: every help block in it is the CLI's real output.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runCli } from './helpers.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const blocks = [...readme.matchAll(/<!-- help: ([^>]+?) -->\n```text\n([\s\S]*?)\n```/g)].map((m) => ({ command: m[1], text: m[2] }));

test('the README shows --help for every command', () => {
  const shown = new Set(blocks.map((b) => b.command));
  for (const c of [
    '--help',
    'setup gorgias',
    'config show',
    'webhook-url',
    'webhook install',
    'webhook status',
    'macro create',
    'macro list',
    'macro delete',
    'emulator',
    'simulate',
    'doctor',
  ]) {
    assert.ok(shown.has(c), `README lacks the help of ${c}`);
  }
});

test('every --help block in the README matches the CLI (run `npm run readme` to update)', async () => {
  for (const { command, text } of blocks) {
    const args = command === '--help' ? ['--help'] : [...command.split(' '), '--help'];
    const r = await runCli(args, { env: { COLUMNS: '80' } });
    assert.equal(r.code, 0);
    assert.equal(text, r.stdout.trimEnd(), `README help of "${command}" is stale`);
  }
});

test('the quick start is npm install, npx livechat simulate, npm test; exit codes are documented', () => {
  const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## How the hand-off works'));
  assert.match(quick, /npm install\nnpx livechat simulate/);
  assert.match(quick, /npm test/);
  for (const code of ['| 0 |', '| 1 |', '| 2 |', '| 130 |']) assert.ok(readme.includes(code), code);
});
