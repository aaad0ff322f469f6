// `simulate --timeout N` for every N from 1 to 60 minutes (in process: the command function with a
// captured output), plus the real binary once; and strict scenario files.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { simulate } from '../src/commands/simulate.ts';
import type { Io } from '../src/io.ts';
import { BUILT_IN, parseScenario } from '../src/simulator/scenario.ts';
import { waitMs } from '../src/simulator/run.ts';
import { formatLine, plainStyle } from '../src/simulator/timeline.ts';
import { runCli, runInProcess, tempConfigDir } from './helpers.ts';

const tmp = tempConfigDir();
after(tmp.cleanup);

interface Line {
  kind?: string;
  ok?: boolean;
  checks?: Array<{ name: string; ok: boolean; detail: string }>;
  conversation?: string;
  from?: string;
  to?: string;
  payload?: string;
}

function captured(): { io: Io; lines: () => Line[] } {
  const out: string[] = [];
  const io: Io = {
    out: (t) => void out.push(t),
    err: () => {},
    stdoutIsTTY: false,
    stderrIsTTY: false,
    stdinIsTTY: false,
    color: false,
    env: {},
  };
  return { io, lines: () => out.map((l) => JSON.parse(l) as Line) };
}

test('simulate --timeout 1 through 60: every check passes; handoff ends by the button, expiry expires at the timeout', async () => {
  for (let minutes = 1; minutes <= 60; minutes++) {
    const { io, lines } = captured();
    await assert.doesNotReject(simulate({ timeout: String(minutes), json: true }, io), `--timeout ${minutes}`);
    const summary = lines().at(-1)!;
    assert.equal(summary.ok, true, `--timeout ${minutes}: ${JSON.stringify(summary.checks?.filter((c) => !c.ok))}`);
    const ends = summary.checks!.find((c) => c.name === 'one end per session')!.detail;
    assert.equal(ends, 'conv-handoff: ended, conv-expiry: expired', `--timeout ${minutes}`);
    const expiry = summary.checks!.find((c) => c.name === 'expiry exactly at the timeout')!.detail;
    assert.equal(expiry, `conv-expiry after ${minutes * 60}s of silence`, `--timeout ${minutes}`);
  }
});

test('the built-in waits scale with the timeout; a scenario file’s waits are taken as written', () => {
  assert.equal(waitMs(BUILT_IN.handoff, 2, 30 * 60_000), 2 * 60_000, 'as written at the default 30 minutes');
  assert.equal(waitMs(BUILT_IN.handoff, 2, 60_000), 4_000);
  assert.equal(waitMs(BUILT_IN.expiry, 30, 5 * 60_000), 5 * 60_000, 'the expiry wait is the timeout itself');
  assert.equal(waitMs(parseScenario({ steps: [{ wait: 2 }] }, 'f.json'), 2, 60_000), 2 * 60_000);
});

test('the real binary: --timeout 1 passes', async () => {
  const r = await runCli(['simulate', '--timeout', '1'], { env: { LIVECHAT_CONFIG_DIR: tmp.dir } });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /all checks passed/);
});

test('a scenario that waits past the timeout fails saying it needs a longer timeout, once', async () => {
  const file = join(tmp.dir, '..', 'slow.json');
  writeFileSync(
    file,
    JSON.stringify({
      steps: [{ payload: 'LIVECHAT_SESSION_START' }, { user: 'hi' }, { wait: 10 }, { agent: 'hello' }, { agent: 'still there?' }],
    }),
  );
  const r = await runInProcess(['simulate', '--scenario', file, '--timeout', '5', '--json'], { env: { LIVECHAT_CONFIG_DIR: tmp.dir } });
  assert.equal(r.code, 1);
  const steps = (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Line).checks!.find((c) => c.name === 'scenario steps ran')!;
  assert.equal(steps.ok, false);
  assert.equal(steps.detail.match(/needs a longer --timeout/g)?.length, 1, steps.detail);
  assert.match(steps.detail, /after 5 min of silence/);
  assert.match(steps.detail, /1 later step\(s\) failed for the same reason/);
});

test('scenario files are strict: an unknown key or LIVECHAT_* word is an error naming it', async () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ steps: [{ payload: 'LIVECHAT_SESION_START' }] }, /step 1: unknown payload LIVECHAT_SESION_START \(did you mean LIVECHAT_SESSION_START\?/],
    [{ steps: [{ payload: 'LIVECHAT_SESSION_EXPIRED' }] }, /step 1: unknown payload LIVECHAT_SESSION_EXPIRED/],
    [
      { steps: [{ user: 'hi' }, { agent: 'bye LIVECHAT_SESSION_ENDD' }] },
      /step 2: unknown payload LIVECHAT_SESSION_ENDD \(did you mean LIVECHAT_SESSION_END\?.* in the agent's text/,
    ],
    [{ name: 'x', steps: [{ user: 'hi' }], timeout: 5 }, /unknown key "timeout" \(expected "name", "conversation", "user", "steps"\)/],
    [{ steps: [{ user: 'hi', wiat: 2 }] }, /step 1: unknown key "wiat"/],
    [{ steps: [{ user: 'hi', agent: 'hello' }] }, /step 1 must have exactly one of .*not "user", "agent"/],
    [{ name: 7, steps: [{ user: 'hi' }] }, /"name" must be a non-empty string/],
  ];
  for (const [data, message] of cases) assert.throws(() => parseScenario(data, 'f.json'), message, JSON.stringify(data));
  // Payloads of the bot's own are fine, and so is the example file.
  assert.equal(parseScenario({ steps: [{ payload: 'MENU_HELP' }] }, 'f.json').steps.length, 1);

  const file = join(tmp.dir, '..', 'typo.json');
  writeFileSync(file, JSON.stringify({ steps: [{ user: 'hi' }, { payload: 'LIVECHAT_SESION_START' }] }));
  const r = await runInProcess(['simulate', '--scenario', file]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /LIVECHAT_SESION_START/);
  const example = await runInProcess(['simulate', '--scenario', join(import.meta.dirname, '..', 'examples', 'scenario.json'), '--json']);
  assert.equal(example.code, 0, example.stderr);
});

test('piped, the human timeline never cuts a long message; on a terminal it is cut to one line', async () => {
  const long = `My order ${'and then some more words '.repeat(8)}never came`;
  const file = join(tmp.dir, '..', 'long.json');
  writeFileSync(file, JSON.stringify({ steps: [{ user: long }] }));
  const r = await runInProcess(['simulate', '--scenario', file], { env: { LIVECHAT_CONFIG_DIR: tmp.dir } });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.includes(JSON.stringify(long)), r.stdout);
  assert.doesNotMatch(r.stdout, /…/);
  const entry = { at: 0, scenario: 's', conversation: 'c', from: 'user', to: 'bridge', kind: 'message', text: long } as const;
  assert.match(formatLine(entry, 0, { ...plainStyle, maxText: 100 }), /…"$/);
  assert.ok(formatLine(entry, 0).endsWith(`${JSON.stringify(long)}`));
});
