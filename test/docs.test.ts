// The docs keep their promises: docs/cli.md is the CLI's real `--help` for every command, every
// relative link in README.md and docs/ points to a file that exists, and the README stays short.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { cliDoc, helpOf } from '../scripts/docs-cli.ts';
import { runCli } from './helpers.ts';

const root = resolve(import.meta.dirname, '..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');
const readme = read('README.md');
const docs = readdirSync(join(root, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);

test('docs/cli.md is every command with its --help, as the CLI prints it (run `npm run docs` to update)', () => {
  assert.equal(read('docs/cli.md'), cliDoc());
});

test('the built binary prints the same help as the program the docs are made from', async () => {
  for (const command of ['', 'serve']) {
    const r = await runCli(command ? [command, '--help'] : ['--help'], { env: { COLUMNS: '80' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trimEnd(), helpOf(command));
  }
});

test('every relative link in README.md and docs/ points to a file that exists', () => {
  for (const file of ['README.md', 'CONTRIBUTING.md', ...docs]) {
    const text = read(file);
    for (const m of text.matchAll(/\]\(([^)\s#]+)(#[^)\s]*)?\)/g)) {
      const target = m[1];
      if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
      assert.ok(existsSync(resolve(root, dirname(file), target)), `${file} links to ${target}, which does not exist`);
    }
  }
});

test('the README is a short guide: quick start, exit codes, and at most about 300 lines', () => {
  assert.ok(readme.split('\n').length <= 300, `README.md is ${readme.split('\n').length} lines`);
  const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## How the hand-off works'));
  assert.match(quick, /npm install\nnpx livechat simulate/);
  assert.match(quick, /npm test/);
  for (const code of ['| 0 |', '| 1 |', '| 2 |', '| 130 |']) assert.ok(readme.includes(code), code);
});
