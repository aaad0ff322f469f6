// `simulate` on the durable store: the restart scenario kills the bridge mid-session and starts a
// new one on the same SQLite file; the same checks must pass. In process, for speed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { storeKind } from '../src/commands/simulate.ts';
import { runSimulation } from '../src/simulator/run.ts';
import { BUILT_IN, parseScenario } from '../src/simulator/scenario.ts';

const dir = mkdtempSync(join(tmpdir(), 'livechat-sim-restart-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the restart scenario passes on SQLite: the agent message written while the bridge was down reaches the user after', async () => {
  const r = await runSimulation({ scenarios: [BUILT_IN.restart], timeoutMs: 30 * 60_000, store: { kind: 'sqlite', path: join(dir, 'a.db') } });
  assert.ok(r.ok, JSON.stringify(r.checks.filter((c) => !c.ok)));
  const i = (pred: (e: (typeof r.entries)[number]) => boolean) => r.entries.findIndex(pred);
  const crash = i((e) => e.detail?.includes('crashed') === true);
  const written = i((e) => e.from === 'agent' && e.text === 'Found it: it is at the depot.');
  const restart = i((e) => e.detail?.includes('restarted') === true);
  const shown = i((e) => e.from === 'bridge' && e.to === 'user' && e.text === 'Found it: it is at the depot.');
  assert.ok(crash < written && written < restart && restart < shown, `${crash} ${written} ${restart} ${shown}`);
  assert.equal(r.entries.filter((e) => e.to === 'user' && e.text === 'Found it: it is at the depot.').length, 1);
});

test('the default scenarios pass on the SQLite store too', async () => {
  const r = await runSimulation({
    scenarios: [BUILT_IN.handoff, BUILT_IN.expiry],
    timeoutMs: 30 * 60_000,
    store: { kind: 'sqlite', path: join(dir, 'b.db') },
  });
  assert.ok(r.ok, JSON.stringify(r.checks.filter((c) => !c.ok)));
});

test('--store: memory by default, sqlite when the bridge restarts; memory cannot restart', () => {
  assert.equal(storeKind(undefined, [BUILT_IN.handoff]), 'memory');
  assert.equal(storeKind(undefined, [BUILT_IN.restart]), 'sqlite');
  assert.equal(storeKind('sqlite', [BUILT_IN.handoff]), 'sqlite');
  assert.throws(() => storeKind('memory', [BUILT_IN.restart]), /needs --store sqlite/);
  assert.throws(() => storeKind('redis', [BUILT_IN.handoff]), /memory or sqlite/);
});

test('scenario files may crash and restart the bridge', () => {
  const s = parseScenario({ steps: [{ payload: 'LIVECHAT_SESSION_START' }, { crash: true }, { restart: true }] }, 'x.json');
  assert.deepEqual(s.steps.slice(1), [{ crash: true }, { restart: true }]);
  assert.throws(() => parseScenario({ steps: [{ crash: 'yes' }] }, 'x.json'), /"crash" must be true/);
});
