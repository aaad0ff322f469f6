// `livechat simulate` end to end: spawn the CLI, read the JSON lines, assert the lifecycle itself.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runInProcess, tempConfigDir } from './helpers.ts';

interface Line {
  t?: string;
  scenario?: string;
  conversation?: string;
  from?: string;
  to?: string;
  kind: string;
  text?: string;
  payload?: string;
  buttons?: Array<{ title: string; payload: string }>;
  ok?: boolean;
  checks?: Array<{ name: string; ok: boolean; detail: string }>;
}

const tmp = tempConfigDir();
after(tmp.cleanup);

function parseLines(stdout: string): Line[] {
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
}

const is = (l: Line, from: string, to: string, kind?: string) => l.from === from && l.to === to && (!kind || l.kind === kind);

test('simulate --json plays handoff and expiry; the lifecycle holds line by line', async () => {
  const r = await runInProcess(['simulate', '--json'], { env: { LIVECHAT_CONFIG_DIR: tmp.dir } });
  assert.equal(r.code, 0, r.stderr);
  const lines = parseLines(r.stdout);
  const summary = lines.at(-1)!;
  assert.equal(summary.kind, 'summary');
  assert.equal(summary.ok, true);
  for (const l of lines.slice(0, -1)) {
    assert.ok(l.t && !Number.isNaN(Date.parse(l.t)), `t is an ISO time: ${JSON.stringify(l)}`);
    assert.ok(['user', 'bot', 'bridge', 'gorgias', 'agent'].includes(l.from!) && ['user', 'bot', 'bridge', 'gorgias', 'agent'].includes(l.to!));
    assert.ok(['message', 'payload', 'event', 'webhook', 'api'].includes(l.kind));
  }

  // handoff
  const h = lines.filter((l) => l.conversation === 'conv-handoff');
  const start = h.findIndex((l) => is(l, 'user', 'bridge', 'payload') && l.payload === 'LIVECHAT_SESSION_START');
  const end = h.findIndex((l) => is(l, 'user', 'bridge', 'payload') && l.payload === 'LIVECHAT_SESSION_END');
  assert.ok(start > 0 && end > start, 'session started then ended');
  assert.ok(
    h.slice(0, start).some((l) => is(l, 'bridge', 'bot', 'message')),
    'the bot heard the user before the hand-off',
  );
  const during = h.slice(start + 1, end);
  assert.deepEqual(
    during.filter((l) => is(l, 'bridge', 'bot')),
    [],
    'the bot is muted during the session',
  );
  assert.ok(
    during.some((l) => is(l, 'bridge', 'gorgias', 'api')),
    'user messages went to Gorgias',
  );
  const userMsgs = during.filter((l) => is(l, 'user', 'bridge', 'message')).map((l) => l.text);
  assert.deepEqual(userMsgs, ['I need a human, please', 'Thanks! It was due on Monday & is still not here']);
  const agentSent = during.filter((l) => is(l, 'agent', 'gorgias', 'message')).map((l) => l.text);
  const relayed = during.filter((l) => is(l, 'bridge', 'user', 'message'));
  assert.equal(agentSent.length, 3);
  assert.equal(relayed.length, 3, 'each agent message reached the user once');
  assert.equal(relayed[0].text, agentSent[0]);
  const macroApplied = during.filter((l) => is(l, 'agent', 'gorgias', 'message')).at(-1)!;
  assert.match((macroApplied as Line & { detail?: string }).detail ?? '', /^macro "End livechat"/, 'the agent signed off with the macro');
  assert.match(macroApplied.text!, /LIVECHAT_SESSION_END$/);
  const signoff = relayed[2];
  assert.doesNotMatch(signoff.text!, /LIVECHAT_SESSION_END/, 'the token is removed from the text');
  assert.deepEqual(signoff.buttons, [{ title: 'End chat', payload: 'LIVECHAT_SESSION_END' }]);
  assert.ok(
    during.some((l) => is(l, 'gorgias', 'bridge', 'webhook')),
    'agent messages came in through the webhook',
  );
  const after = h.slice(end + 1);
  const backToBot = after.find((l) => is(l, 'user', 'bridge', 'message'));
  assert.equal(backToBot?.text, 'Back to the bot?');
  assert.ok(
    after.some((l) => is(l, 'bridge', 'bot', 'message') && l.text === 'Back to the bot?'),
    'the next message reaches the bot',
  );

  // expiry
  const x = lines.filter((l) => l.conversation === 'conv-expiry');
  const expired = x.filter((l) => is(l, 'bridge', 'bot', 'event') && l.payload === 'LIVECHAT_SESSION_EXPIRED');
  assert.equal(expired.length, 1, 'the bot gets LIVECHAT_SESSION_EXPIRED once');
  const lastAgent = x.filter((l) => is(l, 'bridge', 'user', 'message')).at(-1)!;
  assert.equal(Date.parse(expired[0].t!) - Date.parse(lastAgent.t!), 30 * 60_000, 'expiry 30 simulated minutes after the last message');
  const late = x.slice(x.indexOf(expired[0]) + 1).find((l) => is(l, 'user', 'bridge', 'message'));
  assert.ok(
    x.some((l) => is(l, 'bridge', 'bot', 'message') && l.text === late?.text),
    'the next user message reaches the bot',
  );

  assert.deepEqual(
    summary.checks!.filter((c) => !c.ok),
    [],
  );
  assert.ok(summary.checks!.length >= 5);
});

test('simulate --timeout changes the expiry', async () => {
  const r = await runInProcess(['simulate', '--scenario', 'expiry', '--timeout', '5', '--json'], { env: { LIVECHAT_CONFIG_DIR: tmp.dir } });
  assert.equal(r.code, 0, r.stderr);
  const lines = parseLines(r.stdout);
  const expired = lines.find((l) => l.payload === 'LIVECHAT_SESSION_EXPIRED')!;
  const lastAgent = lines.filter((l) => is(l, 'bridge', 'user', 'message')).at(-1)!;
  assert.equal(Date.parse(expired.t!) - Date.parse(lastAgent.t!), 5 * 60_000);
});

test('simulate plays a scenario file, and the human timeline shows times, arrows and buttons', async () => {
  const r = await runInProcess(['simulate', '--scenario', join(import.meta.dirname, '..', 'examples', 'scenario.json')], {
    env: { LIVECHAT_CONFIG_DIR: tmp.dir },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\+00:00:20 {2}user → bridge\s+"I want a refund"$/m);
  assert.match(r.stdout, /gorgias → bridge \(webhook\)/);
  assert.match(r.stdout, /bridge → user\s+"You're welcome. Anything else\?" \[End chat\]$/m);
  assert.match(r.stdout, /payload LIVECHAT_SESSION_END \(pressed \[End chat\]\)/);
  assert.match(r.stdout, /all checks passed/);
  assert.doesNotMatch(r.stdout, /\x1b\[/, 'no colour when piped');
});

test('a scenario whose checks fail exits 1 and names the failed check', async () => {
  const file = join(tmp.dir, '..', 'open.json');
  // The user presses a button that was never shown.
  writeFileSync(file, JSON.stringify({ steps: [{ payload: 'LIVECHAT_SESSION_START' }, { press: 'End chat' }] }));
  const r = await runInProcess(['simulate', '--scenario', file, '--json'], { env: { LIVECHAT_CONFIG_DIR: tmp.dir } });
  assert.equal(r.code, 1);
  const summary = parseLines(r.stdout).at(-1)!;
  assert.equal(summary.ok, false);
  assert.deepEqual(
    summary.checks!.filter((c) => !c.ok).map((c) => c.name),
    ['scenario steps ran'],
  );
  assert.match(r.stderr, /^error: simulation failed: scenario steps ran$/m);
});

test('a broken scenario file is a usage error naming the step', async () => {
  const file = join(tmp.dir, '..', 'bad.json');
  writeFileSync(file, JSON.stringify({ steps: [{ user: 'hi' }, { wait: 'soon' }] }));
  const r = await runInProcess(['simulate', '--scenario', file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /step 2: "wait" must be minutes/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('simulate --sessions runs N conversations through the lifecycle and reports the load figures', async () => {
  const r = await runInProcess(['simulate', '--sessions', '24', '--concurrency', '6', '--json'], { env: { LIVECHAT_CONFIG_DIR: tmp.dir } });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'load mode prints one summary line');
  const s = JSON.parse(lines[0]);
  assert.equal(s.kind, 'summary');
  assert.equal(s.ok, true);
  assert.equal(s.sessions, 24);
  assert.equal(s.end_to_end_ms.count, 36, '24 first replies + 12 sign-offs reached their users');
  assert.ok(s.end_to_end_ms.p50 > 0 && s.end_to_end_ms.p99 >= s.end_to_end_ms.p50);
  assert.equal(s.relay_ms.count, 36, 'each relay timed from its webhook');
  assert.ok(s.relay_ms.p99 >= s.relay_ms.p50);
  assert.ok(s.conversations_per_s > 0 && s.bytes_per_conversation > 0);
  const ends = s.checks.find((c: { name: string }) => c.name === 'one end per session');
  assert.match(ends.detail, /load-00000: ended, load-00001: expired/);
  assert.deepEqual(
    s.checks.filter((c: { ok: boolean }) => !c.ok),
    [],
  );
});

test('simulate --sessions with the rate limit on finishes every time: 3 runs in a row (the bench repeats 5,000 sessions 5 times)', async () => {
  // 150 sessions already queue past the limit (over 30 simulated minutes, the 31 s longest wait
  // of 300) in 2 s instead of 6 s a run.
  for (let run = 1; run <= 3; run++) {
    const r = await runInProcess(['simulate', '--sessions', '150', '--concurrency', '50', '--json'], {
      env: { LIVECHAT_CONFIG_DIR: tmp.dir },
      timeoutMs: 60_000,
    });
    assert.equal(r.signal, null, `run ${run} did not finish within 60 s`);
    assert.equal(r.code, 0, `run ${run}: ${r.stderr}`);
    const s = JSON.parse(r.stdout.trim());
    assert.equal(s.rate_limit, '40/20s');
    assert.equal(s.rate_limited, 0, 'the budget kept every call under the limit');
    assert.ok(s.simulated_ms > 30 * 60_000, 'simulated time passed while calls waited for their turn');
  }
});

test('simulate --rate-limit off: no limit anywhere; a bad value is a usage error', async () => {
  const r = await runInProcess(['simulate', '--sessions', '20', '--rate-limit', 'off', '--json'], { env: { LIVECHAT_CONFIG_DIR: tmp.dir } });
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout.trim());
  assert.equal(s.rate_limit, 'off');
  assert.equal(s.max_interactive_wait_ms, 0);
  const bad = await runInProcess(['simulate', '--rate-limit', 'lots']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--rate-limit must be/);
});

test('simulate --sessions rejects a bad count with exit 2', async () => {
  const r = await runInProcess(['simulate', '--sessions', 'lots']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--sessions must be a whole number/);
});

test('simulate --faults: 5xx, 429 storms, lost, doubled, late and reordered webhooks, and an outage; every check still holds', async () => {
  const r = await runInProcess(['simulate', '--faults', '--seed', '7', '--json'], { env: { LIVECHAT_CONFIG_DIR: tmp.dir } });
  assert.equal(r.code, 0, r.stdout.split('\n').at(-2) + r.stderr);
  const lines = parseLines(r.stdout);
  const summary = lines.at(-1)!;
  assert.equal(summary.ok, true);
  const details = lines.map((l) => (l as Line & { detail?: string }).detail ?? '');
  assert.ok(
    details.some((d) => /^fault injected: the next \d API call\(s\) answer 50\d$/.test(d)),
    '5xx injected',
  );
  assert.ok(
    details.some((d) => /^fault injected: 429 storm/.test(d)),
    '429 storm injected',
  );
  assert.ok(
    details.some((d) => /retrying|retry:/.test(d)),
    'the bridge retried',
  );
  // The outage: the hand-off fails after bounded retries; the user is told, the bot gets it back.
  const outage = lines.filter((l) => l.conversation === 'conv-outage');
  assert.ok(
    outage.some((l) => is(l, 'bridge', 'user', 'event') && /could not reach an agent/.test(l.text ?? '')),
    'the user is told plainly',
  );
  assert.equal(outage.filter((l) => is(l, 'bridge', 'bot', 'event') && l.payload === 'LIVECHAT_SESSION_FAILED').length, 1);
  const after = outage.slice(outage.findIndex((l) => l.payload === 'LIVECHAT_SESSION_FAILED'));
  assert.ok(
    after.some((l) => is(l, 'bridge', 'bot', 'message') && l.text === 'Hello? Anyone?'),
    'the bot has the user back',
  );
  // Every agent message of the handoff reached the user once, in order, despite the webhook faults.
  const relayed = lines.filter((l) => l.conversation === 'conv-handoff' && is(l, 'bridge', 'user', 'message')).map((l) => l.text);
  assert.deepEqual(relayed, [
    "Hi Ada, I'm Grace from support. Let me check order #1042.",
    'It ships tomorrow, with 20% off for the delay.',
    'Thanks for chatting with us! If you need anything else, just write again.',
  ]);
  assert.equal(
    summary.checks!.find((c) => c.name === 'one end per session')?.detail,
    'conv-handoff: ended, conv-expiry: expired, conv-outage: failed',
  );
  const hooks = summary.checks!.find((c) => c.name === 'webhooks accepted by the receiver')!.detail;
  const [, dropped, doubled] = /(\d+) dropped, (\d+) sent twice/.exec(hooks) ?? [];
  assert.ok(Number(dropped) > 0 && Number(doubled) > 0, `webhooks were lost and doubled: ${hooks}`);
  assert.ok(
    details.some((d) => /duplicate, not shown/.test(d)),
    'a doubled webhook was absorbed',
  );
});

test('--faults with --sessions, or --seed without --faults, is a usage error', async () => {
  const a = await runInProcess(['simulate', '--faults', '--sessions', '3']);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /cannot be combined with --sessions/);
  const b = await runInProcess(['simulate', '--seed', '3']);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /--seed only applies with --faults/);
});
