// The README's embedding example is a real file: type-checked by `npm run lint` (tsconfig.check.json
// includes examples/) and run here, through the package's own name, against the emulator.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'node:test';

const root = resolve(import.meta.dirname, '..');

test('examples/embed.ts plays a hand-off through the package entry point', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/embed.ts'], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    'agent: Hi Ada, it ships tomorrow.',
    'agent: Anything else? [End chat]',
    'bot gets LIVECHAT_SESSION_END',
  ]);
});
