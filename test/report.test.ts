// The HTML report and the Mermaid diagram as pure functions: one arrow per timeline entry, gaps,
// faults, checks, and hostile text kept as text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { arrowOf, mermaidText, renderMermaid } from '../src/simulator/mermaid.ts';
import { latencyChart, renderLoadReport, renderReport, type RunInfo } from '../src/simulator/report.ts';
import { durationWords, gapWords, sectionsOf, type Check, type TimelineEntry } from '../src/simulator/timeline.ts';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const MIN = 60_000;
const HOSTILE = `<script>alert(1)</script><img src=x onerror="alert(2)"> & 'quotes' ; # %% $$x$$`;

function entry(at: number, from: TimelineEntry['from'], to: TimelineEntry['to'], more: Partial<TimelineEntry> = {}): TimelineEntry {
  return { at: T0 + at, scenario: 'handoff', conversation: 'conv-1', from, to, kind: 'message', ...more };
}

const entries: TimelineEntry[] = [
  { ...entry(0, 'bridge', 'gorgias', { kind: 'api', detail: 'webhook install: created HTTP integration #1' }), scenario: 'setup', conversation: '-' },
  entry(20_000, 'user', 'bridge', { text: 'Hi there' }),
  entry(20_000, 'bot', 'user', { text: 'Bot here', buttons: [{ title: 'Talk to a human', payload: 'LIVECHAT_SESSION_START' }] }),
  entry(40_000, 'user', 'bridge', { kind: 'payload', payload: 'LIVECHAT_SESSION_START' }),
  entry(40_000, 'gorgias', 'bridge', { kind: 'api', detail: 'fault injected: the next 2 API call(s) answer 503', fault: 'injected' }),
  entry(40_000, 'bridge', 'gorgias', { kind: 'api', detail: 'Gorgias rate limit reached; retrying in 0s (1/3)', fault: 'rate-limited' }),
  entry(60_000, 'agent', 'gorgias', { text: HOSTILE, detail: 'ticket #1' }),
  entry(60_000, 'gorgias', 'bridge', { kind: 'webhook', detail: 'event 3 dropped, never sent', fault: 'dropped' }),
  entry(11 * MIN + 60_000, 'bridge', 'gorgias', { kind: 'api', detail: 'listMessagesSince #1: catch-up (timer)' }),
  entry(31 * MIN + 60_000, 'bridge', 'bot', { kind: 'event', payload: 'LIVECHAT_SESSION_EXPIRED' }),
];
const checks: Check[] = [
  { name: 'scenario steps ran', ok: true, detail: 'every step ran' },
  { name: `one end per session ${HOSTILE}`, ok: false, detail: `conv-1: ${HOSTILE}` },
];
const run: RunInfo = {
  command: 'livechat simulate --faults --seed 7',
  scenarios: [{ name: 'handoff', conversation: 'conv-1', startedAt: T0 }],
  timeoutMs: 30 * MIN,
  faults: { seed: 7, summary: 'webhooks dropped 20%' },
  simulatedMs: 32 * MIN,
  wallMs: 250,
};

/** Every tag's name, read the way a browser would (attribute values are quoted and escaped). */
const tags = (html: string) => [...html.matchAll(/<([a-z][\w-]*)(?:\s+[\w:-]+(?:="[^"]*")?)*\s*\/?>/gi)].map((m) => m[1].toLowerCase());

const count = (haystack: string, needle: RegExp) => [...haystack.matchAll(needle)].length;

test('the report has one arrow per timeline entry, in order, between the right lanes', () => {
  const html = renderReport({ entries, checks, run });
  const rows = [...html.matchAll(/<div class="row entry[^"]*" data-index="(\d+)" data-from="(\w+)" data-to="(\w+)" data-kind="(\w+)"/g)];
  assert.deepEqual(
    rows.map((m) => [Number(m[1]), m[2], m[3], m[4]]),
    entries.map((e, i) => [i, e.from, e.to, e.kind]),
  );
  // Two diagrams (setup, handoff), five lanes each.
  assert.equal(count(html, /class="lane p-\w+" data-party=/g), 10);
  // Times count from the scenario's start; setup rows say setup.
  assert.match(html, />\+00:00:20<\/time>/);
  assert.match(html, />setup<\/time>/);
});

test('the report escapes every text from the run: no markup from a message, a check or a detail', () => {
  const html = renderReport({ entries, checks, run: { ...run, command: `livechat simulate --scenario ${HOSTILE}` } });
  assert.deepEqual(
    [...new Set(tags(html))].filter(
      (t) =>
        ![
          'html',
          'head',
          'meta',
          'title',
          'style',
          'body',
          'header',
          'h1',
          'h2',
          'p',
          'dl',
          'div',
          'dt',
          'dd',
          'ul',
          'li',
          'svg',
          'line',
          'path',
          'span',
          'main',
          'section',
          'b',
          'i',
          'time',
          'q',
          'code',
          'small',
        ].includes(t),
    ),
    [],
  );
  assert.equal(count(html, /<script|<img/gi), 0);
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt;'));
  // Self-contained: nothing to fetch, and a policy that would block it anyway.
  const attributes = new Set([...html.matchAll(/\s([\w:-]+)="[^"]*"/g)].map((m) => m[1].toLowerCase()));
  for (const name of attributes) assert.doesNotMatch(name, /^(src|href|on\w+|style)$/, `attribute ${name}`);
  assert.doesNotMatch(html, /url\(|@import/i);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
});

test('the report draws a fast-forwarded pause as a gap, and none for a short one', () => {
  const html = renderReport({ entries, checks, run });
  const gaps = [...html.matchAll(/data-gap-ms="(\d+)"><span class="time">⋯<\/span><div class="silence">([^<]+)</g)];
  assert.deepEqual(
    gaps.map((g) => [Number(g[1]), g[2]]),
    [
      [11 * MIN, '11 min of silence (fast-forwarded)'],
      [20 * MIN, '20 min of silence (fast-forwarded) · nobody wrote for 31 min'],
    ],
  );
});

test('the report marks each fault where it happened, and counts them in the header', () => {
  const html = renderReport({ entries, checks, run });
  assert.deepEqual(
    [...html.matchAll(/data-fault="([\w-]+)"/g)].map((m) => m[1]),
    ['injected', 'rate-limited', 'dropped'],
  );
  assert.match(html, /<span class="fault-tag">⚠ 429<\/span>/);
  assert.match(html, /fault injected ×1, 429 ×1, dropped ×1/);
  // The dropped webhook stops short of the bridge, crossed out.
  assert.match(html, /<line x1="100%" y1="6" x2="30%" y2="6"\/><svg x="30%" overflow="visible"><path d="M-5 1/);
});

test('the report shows each check with its result, and the verdict', () => {
  const html = renderReport({ entries, checks, run });
  assert.equal(count(html, /<li class="check ok" data-ok="true">/g), 1);
  assert.equal(count(html, /<li class="check failed" data-ok="false">/g), 1);
  assert.match(html, /<p class="verdict failed">1 of 2 checks failed<\/p>/);
  assert.match(renderReport({ entries, checks: [checks[0]], run }), /<p class="verdict ok">all 1 checks passed<\/p>/);
});

test('the load report charts the latency percentiles and lists the checks', () => {
  const latency = { p50: 0.02, p99: 34.7, max: 60, count: 1500 };
  const html = renderLoadReport({
    result: {
      sessions: 1000,
      concurrency: 50,
      wallMs: 4750,
      conversationsPerSecond: 210.7,
      relaysPerSecond: 316,
      relayMs: latency,
      endToEndMs: { p50: 14.8, p99: 56.3, max: 80, count: 1500 },
      bytesPerConversation: 17_400,
      checks,
    },
    run: { command: 'livechat simulate --sessions 1000 --concurrency 50', timeoutMs: 30 * MIN },
  });
  assert.deepEqual(
    [...html.matchAll(/<g class="bar" data-label="([^"]+)" data-ms="([\d.]+)">/g)].map((m) => [m[1], Number(m[2])]),
    [
      ['relay p50', 0.02],
      ['relay p99', 34.7],
      ['relay max', 60],
      ['end to end p50', 14.8],
      ['end to end p99', 56.3],
      ['end to end max', 80],
    ],
  );
  assert.match(html, /210\.7 conversations\/s/);
  assert.equal(count(html, /<li class="check /g), 2);
  assert.equal(count(html, /<script/gi), 0);
});

test('the latency chart is on a log scale: a longer time is a longer bar, and every bar fits the chart', () => {
  const svg = latencyChart([
    {
      name: 'relay',
      values: [
        ['p50', 0.02],
        ['p99', 3],
        ['max', 900],
      ],
    },
  ]);
  const widths = [...svg.matchAll(/<rect x="150" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.equal(widths.length, 3);
  assert.ok(widths[0] < widths[1] && widths[1] < widths[2], String(widths));
  assert.ok(widths[2] <= 380, String(widths));
});

test('sections: setup first, then each scenario timed from its start', () => {
  const s = sectionsOf(entries, run.scenarios);
  assert.deepEqual(
    s.map((x) => [x.name, x.startedAt - T0, x.entries.length]),
    [
      ['setup', 0, 1],
      ['handoff', 0, 9],
    ],
  );
  assert.equal(durationWords(30 * MIN), '30 min');
  assert.equal(durationWords(100_000), '1 min 40 s');
  assert.equal(durationWords(125 * MIN), '2 h 5 min');
  assert.equal(gapWords(MIN, MIN), '1 min of silence (fast-forwarded)');
});

/** What Mermaid shows for escaped text: entities decoded, `<br>` as a newline. */
const mermaidShows = (s: string) => s.replace(/<br>/g, '\n').replace(/#(\d+);/g, (_m, code: string) => String.fromCodePoint(Number(code)));

test('mermaidText: nothing in a message can end the statement, start a comment or become markup', () => {
  assert.equal(mermaidText('a;b #1\nc'), 'a#59;b #35;1<br>c');
  assert.equal(mermaidText('<b>&</b> 50% $$x$$'), '#60;b#62;#38;#60;/b#62; 50#37; #36;#36;x#36;#36;');
  assert.equal(mermaidText('wrap: me'), 'wrap#58; me');
  assert.equal(mermaidText('a:b style'), 'a#58;b style');
  assert.equal(mermaidText('order: #1'), 'order: #35;1');
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => {
      const out = mermaidText(s);
      assert.doesNotMatch(out, /[\n\r;%$]/);
      assert.doesNotMatch(out.replace(/<br>/g, ''), /[<>&]/);
      assert.doesNotMatch(out, /#(?!\d+;)/);
      assert.doesNotMatch(out, /^\s*(no)?wrap:/i);
      // Nothing is lost: decoded, it is the input (control characters as spaces, CRLF as LF).
      const expected = s.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, ' ');
      assert.equal(mermaidShows(out), expected);
    }),
  );
});

test('the Mermaid diagram has one message per timeline entry, with arrows by kind, gaps and checks as notes', () => {
  const text = renderMermaid({ entries, checks, run });
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], 'sequenceDiagram');
  const messages = lines.filter((l) => /^ {2}\w+(->>|-->>|-\)|--x)\w+: /.test(l));
  assert.equal(messages.length, entries.length);
  assert.deepEqual(
    messages.map((l) => l.slice(0, l.indexOf(':'))),
    entries.map((e) => `  ${e.from}${arrowOf(e)}${e.to}`),
  );
  assert.equal(arrowOf({ kind: 'webhook' }), '-->>');
  assert.equal(arrowOf({ kind: 'webhook', fault: 'dropped' }), '--x');
  assert.equal(arrowOf({ kind: 'api' }), '-)');
  assert.ok(lines.includes('  Note over user,agent: 20 min of silence (fast-forwarded) · nobody wrote for 31 min'));
  assert.match(text, /agent->>gorgias: \+00:01:00 “#60;script#62;alert\(1\)#60;\/script#62;/);
  assert.match(lines.at(-1)!, /^ {2}Note over user,agent: 1 of 2 checks failed<br>✓ scenario steps ran: every step ran<br>✗ one end per session/);
  // Every line is one statement: no raw newline, `;` or comment inside a message.
  for (const l of lines.slice(1)) assert.doesNotMatch(l.slice(l.indexOf(':') + 1).replace(/#\d+;/g, ''), /[;#%]/, l);
});
