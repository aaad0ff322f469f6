// `simulate --format` and `--report` through the real binary: the Mermaid diagram matches the
// `--json` timeline line for line, bad flags are usage errors before anything runs, and a failed
// run still writes its report.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runInProcess, tempConfigDir } from './helpers.ts';

const tmp = tempConfigDir();
after(tmp.cleanup);
const env = { LIVECHAT_CONFIG_DIR: tmp.dir };

const MESSAGE = /^ {2}(\w+)(->>|-->>|-\)|--x)(\w+): /;

test('simulate --format mermaid prints a sequence diagram with one message per line of the --json timeline', async () => {
  const [mermaid, json] = await Promise.all([
    runInProcess(['simulate', '--format', 'mermaid'], { env, timeoutMs: 60_000 }),
    runInProcess(['simulate', '--format', 'json'], { env, timeoutMs: 60_000 }),
  ]);
  assert.equal(mermaid.code, 0, mermaid.stderr);
  assert.equal(json.code, 0, json.stderr);
  const lines = mermaid.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'sequenceDiagram');
  const timeline = json.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string; from: string; to: string })
    .slice(0, -1);
  assert.deepEqual(
    lines.flatMap((l) => {
      const m = MESSAGE.exec(l);
      return m ? [[m[1], m[3]]] : [];
    }),
    timeline.map((e) => [e.from, e.to]),
  );
  // Everything else is a participant or a note: nothing GitHub would fail to parse.
  for (const l of lines.slice(1)) assert.match(l, /^ {2}(actor|participant) \w+ as |^ {2}Note over user,agent: |^ {2}\w+(->>|-->>|-\)|--x)\w+: /, l);
  assert.match(mermaid.stdout, /Note over user,agent: \d+ min of silence \(fast-forwarded\) · nobody wrote for 30 min/);
  assert.match(lines.at(-1)!, /^ {2}Note over user,agent: all 7 checks passed<br>✓ /);
});

test('--format and --json: json is the same as --json; a clash or an unknown format is a usage error', async () => {
  const clash = await runInProcess(['simulate', '--json', '--format', 'mermaid'], { env });
  assert.equal(clash.code, 2);
  assert.match(clash.stderr, /--json is --format json; it cannot be combined with --format mermaid/);
  assert.equal(clash.stdout, '');
  const unknown = await runInProcess(['simulate', '--format', 'xml'], { env });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /--format must be text, json or mermaid, got "xml"/);
  const load = await runInProcess(['simulate', '--sessions', '3', '--format', 'mermaid'], { env });
  assert.equal(load.code, 2);
  assert.match(load.stderr, /--format mermaid draws a scenario run/);
  const alias = await runInProcess(['simulate', '--scenario', 'expiry', '--json', '--format', 'json'], { env, timeoutMs: 60_000 });
  assert.equal(alias.code, 0, alias.stderr);
  assert.equal(JSON.parse(alias.stdout.trim().split('\n').at(-1)!).kind, 'summary');
});

test('--report into a folder that does not exist is refused before the run', async () => {
  const r = await runInProcess(['simulate', '--report', join(tmp.dir, 'no', 'such', 'run.html')], { env });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--report: the folder of ".*run\.html" does not exist/);
  assert.equal(r.stdout, '', 'nothing ran');
  const folder = await runInProcess(['simulate', '--report', tmp.dir.replace(/cfg$/, '')], { env });
  assert.equal(folder.code, 2);
  assert.match(folder.stderr, /is a folder/);
});

test('a failed run still writes its report, saying which check failed', async () => {
  const scenario = join(tmp.dir, '..', 'open.json');
  const report = join(tmp.dir, '..', 'failed.html');
  writeFileSync(scenario, JSON.stringify({ steps: [{ payload: 'LIVECHAT_SESSION_START' }, { press: 'End chat' }] }));
  const r = await runInProcess(['simulate', '--scenario', scenario, '--report', report], { env, timeoutMs: 60_000 });
  assert.equal(r.code, 1);
  assert.ok(existsSync(report));
  const html = readFileSync(report, 'utf8');
  assert.match(html, /<p class="verdict failed">1 of 7 checks failed<\/p>/);
  assert.match(
    html,
    /<li class="check failed" data-ok="false"><span class="mark" aria-label="failed">✗<\/span><b class="name">scenario steps ran<\/b>/,
  );
});
