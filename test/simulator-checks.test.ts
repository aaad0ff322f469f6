import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkTimeline, expectedDelivery } from '../src/simulator/checks.ts';
import { parseScenario } from '../src/simulator/scenario.ts';
import { elapsed, formatLine, jsonLine, type TimelineEntry } from '../src/simulator/timeline.ts';

const T0 = Date.UTC(2026, 0, 1, 9);
const MIN = 60_000;
const TIMEOUT = 30 * MIN;

function e(
  at: number,
  from: TimelineEntry['from'],
  to: TimelineEntry['to'],
  kind: TimelineEntry['kind'],
  extra: Partial<TimelineEntry> = {},
): TimelineEntry {
  return { at: T0 + at, scenario: 's', conversation: 'c1', from, to, kind, ...extra };
}

const goodHandoff: TimelineEntry[] = [
  e(0, 'user', 'bridge', 'message', { text: 'hi' }),
  e(0, 'bridge', 'bot', 'message', { text: 'hi' }),
  e(0, 'user', 'bridge', 'payload', { payload: 'LIVECHAT_SESSION_START' }),
  e(MIN, 'user', 'bridge', 'message', { text: 'help' }),
  e(2 * MIN, 'agent', 'gorgias', 'message', { text: 'hello' }),
  e(2 * MIN, 'gorgias', 'bridge', 'webhook', { text: 'hello' }),
  e(2 * MIN, 'bridge', 'user', 'message', { text: 'hello' }),
  e(3 * MIN, 'agent', 'gorgias', 'message', { text: 'Bye! LIVECHAT_SESSION_END' }),
  e(3 * MIN, 'bridge', 'user', 'message', { text: 'Bye!', buttons: [{ title: 'End chat', payload: 'LIVECHAT_SESSION_END' }] }),
  e(4 * MIN, 'user', 'bridge', 'payload', { payload: 'LIVECHAT_SESSION_END' }),
  e(5 * MIN, 'user', 'bridge', 'message', { text: 'again' }),
  e(5 * MIN, 'bridge', 'bot', 'message', { text: 'again' }),
];

test('a clean handoff passes every check', () => {
  const checks = checkTimeline(goodHandoff, TIMEOUT);
  assert.deepEqual(
    checks.filter((c) => !c.ok),
    [],
  );
  assert.equal(checks.length, 5);
});

test('a user message reaching the bot during livechat fails "bot muted"', () => {
  const leaked = [...goodHandoff];
  leaked.splice(4, 0, e(MIN, 'bridge', 'bot', 'message', { text: 'help' }));
  const failed = checkTimeline(leaked, TIMEOUT)
    .filter((c) => !c.ok)
    .map((c) => c.name);
  assert.deepEqual(failed, ['bot muted during livechat']);
});

test('a doubled or missing agent message fails the delivery check', () => {
  const doubled = [...goodHandoff];
  doubled.splice(7, 0, e(2 * MIN, 'bridge', 'user', 'message', { text: 'hello' }));
  assert.deepEqual(
    checkTimeline(doubled, TIMEOUT)
      .filter((c) => !c.ok)
      .map((c) => c.name),
    ['agent messages delivered once, in order'],
  );
  const missing = goodHandoff.filter((x) => !(x.from === 'bridge' && x.to === 'user' && x.text === 'hello'));
  assert.equal(checkTimeline(missing, TIMEOUT).find((c) => c.name.startsWith('agent'))?.ok, false);
});

test('expiry: exactly at the timeout passes; one ms early or a second end fails', () => {
  const base = (at: number) => [
    e(0, 'user', 'bridge', 'payload', { payload: 'LIVECHAT_SESSION_START' }),
    e(MIN, 'user', 'bridge', 'message', { text: 'anyone?' }),
    e(at, 'bridge', 'bot', 'event', { payload: 'LIVECHAT_SESSION_EXPIRED' }),
  ];
  assert.ok(checkTimeline(base(MIN + TIMEOUT), TIMEOUT).every((c) => c.ok));
  const early = checkTimeline(base(MIN + TIMEOUT - 1), TIMEOUT).find((c) => c.name === 'expiry exactly at the timeout');
  assert.equal(early?.ok, false);
  const twice = [...base(MIN + TIMEOUT), e(MIN + TIMEOUT + 5, 'bridge', 'bot', 'event', { payload: 'LIVECHAT_SESSION_EXPIRED' })];
  assert.equal(checkTimeline(twice, TIMEOUT).find((c) => c.name === 'one end per session')?.ok, false);
  const never = base(MIN + TIMEOUT).slice(0, 2);
  assert.match(checkTimeline(never, TIMEOUT).find((c) => c.name === 'one end per session')?.detail ?? '', /never ended/);
});

test("expiry told late: fine while the last look waits for Gorgias (a message meanwhile is the bot's), not otherwise", () => {
  const look = (at: number) => e(at, 'bridge', 'gorgias', 'api', { detail: 'listMessagesSince #1: catch-up (expiry): messages after 3' });
  const start = e(0, 'user', 'bridge', 'payload', { payload: 'LIVECHAT_SESSION_START' });
  const last = e(MIN, 'user', 'bridge', 'message', { text: 'anyone?' });
  const expired = (at: number) => e(at, 'bridge', 'bot', 'event', { payload: 'LIVECHAT_SESSION_EXPIRED' });
  const expiry = (entries: TimelineEntry[]) => checkTimeline(entries, TIMEOUT).find((c) => c.name === 'expiry exactly at the timeout')!;
  const waited = expiry([
    start,
    last,
    look(MIN + TIMEOUT),
    e(MIN + TIMEOUT + 5_000, 'user', 'bridge', 'message', { text: 'late' }),
    expired(MIN + TIMEOUT + 9_000),
  ]);
  assert.equal(waited.ok, true, waited.detail);
  assert.match(waited.detail, /1 told late while the last look waited for Gorgias \(at most 9 s\)/);
  assert.equal(expiry([start, last, expired(MIN + TIMEOUT + 9_000)]).ok, false, 'late with no last look');
  assert.equal(
    expiry([start, last, look(MIN + TIMEOUT - 1), expired(MIN + TIMEOUT + 9_000)]).ok,
    false,
    'a look before the deadline is not the last one',
  );
  // The last look found a message: shown, and the session runs a whole timeout from it.
  const found = [start, last, look(MIN + TIMEOUT), e(MIN + TIMEOUT, 'bridge', 'user', 'message', { text: 'sorry' })];
  assert.equal(expiry([...found, expired(MIN + 2 * TIMEOUT)]).ok, true);
  assert.equal(expiry([...found, expired(MIN + 2 * TIMEOUT - 1)]).ok, false);
});

test('expectedDelivery strips the token and marks the button', () => {
  assert.equal(expectedDelivery('Thanks for chatting! LIVECHAT_SESSION_END'), 'Thanks for chatting! [End chat]');
  assert.equal(expectedDelivery('plain'), 'plain');
});

test('timeline lines: elapsed time, direction, buttons; JSON lines carry t as ISO', () => {
  assert.equal(elapsed(30 * MIN), '+00:30:00');
  assert.equal(elapsed(3_723_000), '+01:02:03');
  const line = formatLine(goodHandoff[8], T0);
  assert.match(line, /^\+00:03:00 {2}bridge → user\s+"Bye!" \[End chat\]$/);
  assert.match(formatLine(goodHandoff[5], T0), /gorgias → bridge \(webhook\)/);
  const json = JSON.parse(jsonLine(goodHandoff[8]));
  assert.equal(json.t, '2026-01-01T09:03:00.000Z');
  assert.deepEqual(json.buttons, [{ title: 'End chat', payload: 'LIVECHAT_SESSION_END' }]);
  assert.equal(json.from, 'bridge');
});

test('parseScenario accepts the documented steps and rejects bad ones with the step number', () => {
  const s = parseScenario(
    { steps: [{ user: 'hi' }, { payload: 'LIVECHAT_SESSION_START' }, { agent: 'yo' }, { macro: true }, { press: 'End chat' }, { wait: 31 }] },
    'x.json',
  );
  assert.equal(s.steps.length, 6);
  assert.equal(s.conversation, 'conv-scenario');
  assert.throws(() => parseScenario({ steps: [{ user: 'hi' }, { wait: -1 }] }, 'x.json'), /scenario x\.json: step 2/);
  assert.throws(() => parseScenario({ steps: [{ shout: 'hi' }] }, 'x.json'), /exactly one of/);
  assert.throws(() => parseScenario([], 'x.json'), /JSON object/);
});
