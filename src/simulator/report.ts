// `simulate --report FILE.html`: one self-contained page (inline CSS and SVG, no script, no
// network) that draws a run as a sequence diagram. Pure: (entries, checks, run info) -> HTML.
// Every text on it comes from the run, agents' and users' messages included: all of it is escaped.
import { escapeHtml } from '../html.js';
import type { LoadResult } from './load.js';
import {
  ACTORS,
  FAULT_LABEL,
  GAP_MS,
  durationWords,
  gapWords,
  isPersonSpeaking,
  elapsed,
  sectionsOf,
  shownDetail,
  type Actor,
  type Check,
  type Fault,
  type ScenarioStart,
  type Section,
  type TimelineEntry,
} from './timeline.js';

export interface RunInfo {
  /** The command line that made the run, shown as the title. */
  command: string;
  scenarios?: ScenarioStart[];
  timeoutMs: number;
  /** Set on `--faults` runs. */
  faults?: { seed: number; summary: string };
  simulatedMs: number;
  wallMs: number;
}

export interface ReportInput {
  entries: TimelineEntry[];
  checks: Check[];
  run: RunInfo;
}

export type LoadSummary = Pick<
  LoadResult,
  'sessions' | 'concurrency' | 'wallMs' | 'conversationsPerSecond' | 'relaysPerSecond' | 'relayMs' | 'endToEndMs' | 'bytesPerConversation' | 'checks'
> &
  Partial<Pick<LoadResult, 'simulatedMs' | 'calls' | 'rateLimited' | 'maxInteractiveWaitMs'>>;

export interface LoadReportInput {
  result: LoadSummary;
  run: Pick<RunInfo, 'command' | 'timeoutMs'>;
}

const ROLE: Record<Actor, string> = {
  user: 'the chat user',
  bot: 'your bot',
  bridge: 'livechat',
  gorgias: 'helpdesk (emulator)',
  agent: 'a human agent',
};

/**
 * How many lines of a label show before it is cut; the whole text is in its tooltip. A label is as
 * wide as its words and centred, left-aligned inside: a centred clamped line puts its "…" past the lane.
 */
const LABEL_LINES = 4;

const esc = escapeHtml;

const CSS = `
:root { --user:#0e7490; --bot:#a21caf; --bridge:#1d4ed8; --gorgias:#b45309; --agent:#15803d; --fault:#dc2626;
  --ink:#1f2937; --dim:#6b7280; --rule:#d1d5db; --bg:#fff; --time:6.5rem; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 72rem; padding: 1.25rem; color: var(--ink); background: var(--bg); font-size: 14px; line-height: 1.35; }
h1 { font-size: 1.35rem; margin: 0 0 .25rem; } h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .92em; overflow-wrap: anywhere; }
.verdict { font-weight: 600; margin: .25rem 0 .75rem; } .verdict.ok, .check.ok .mark { color: var(--agent); } .verdict.failed, .check.failed .mark { color: var(--fault); }
.facts { display: flex; flex-wrap: wrap; gap: .25rem 1.5rem; margin: 0; color: var(--dim); } .facts div { display: flex; gap: .4rem; } .facts dt::after { content: ":"; } .facts dd { margin: 0; color: var(--ink); overflow-wrap: anywhere; }
.checks { list-style: none; padding: 0; margin: 0; } .check { padding: .15rem 0; overflow-wrap: anywhere; } .check .mark { display: inline-block; width: 1.2rem; font-weight: 700; } .check .detail { color: var(--dim); }
.legend { display: flex; flex-wrap: wrap; gap: .4rem 1.25rem; color: var(--dim); font-size: .9em; margin: .5rem 0 0; padding: 0; list-style: none; }
.legend svg { vertical-align: middle; margin-right: .3rem; }
.diagram { position: relative; margin-bottom: 1rem; }
.row { position: relative; z-index: 1; display: grid; grid-template-columns: var(--time) repeat(5, minmax(0, 1fr)); align-items: end; min-height: 2rem; }
.lifelines { position: absolute; inset: 0; display: grid; grid-template-columns: var(--time) repeat(5, minmax(0, 1fr)); z-index: 0; }
.lifelines i { background: linear-gradient(var(--rule), var(--rule)) center / 2px 100% no-repeat; }
.lifelines i:first-child { background: none; }
.lanes { position: sticky; top: 0; z-index: 2; background: var(--bg); align-items: stretch; padding: .25rem 0; border-bottom: 1px solid var(--rule); }
.lane { margin: 0 .25rem; padding: .3rem .25rem; border-radius: .4rem; text-align: center; color: #fff; font-weight: 600; overflow: hidden; }
.lane small { display: block; font-weight: 400; opacity: .9; font-size: .8em; overflow-wrap: anywhere; }
.time { grid-column: 1; align-self: end; line-height: 12px; margin-bottom: 1px; color: var(--dim); font-variant-numeric: tabular-nums; font-size: .85em; padding-right: .4rem; white-space: nowrap; }
.arrow { grid-row: 1; min-width: 0; padding: .35rem 0 0; }
.arrow svg.line { display: block; width: 100%; height: 12px; overflow: visible; }
.arrow .line line, .arrow .line path { stroke: currentColor; stroke-width: 2; fill: none; }
.arrow .line path.head { fill: currentColor; stroke: none; }
.kind-webhook .line line { stroke-dasharray: 7 4; } .kind-api .line line { stroke-width: 1.25; } .kind-api .label { color: var(--dim); }
.label { width: fit-content; max-width: 100%; margin: 0 auto; padding: 0 .35rem; color: var(--ink); font-size: .92em; overflow-wrap: anywhere; }
.label .words { display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: ${LABEL_LINES}; overflow: hidden; }
.label q { quotes: "\\201C" "\\201D"; } .label .detail { color: var(--dim); }
.btn { display: inline-block; border: 1px solid currentColor; border-radius: .6rem; padding: 0 .4rem; margin: 0 .1rem; font-size: .9em; }
.fault-tag { display: inline-block; color: #fff; background: var(--fault); border-radius: .3rem; padding: 0 .3rem; margin-right: .3rem; font-size: .82em; font-weight: 600; }
.row.fault { background: rgba(220, 38, 38, .06); } .row.fault .time { color: var(--fault); font-weight: 600; }
.gap { min-height: 2.4rem; align-items: center; background: repeating-linear-gradient(135deg, #f3f4f6 0 8px, #fff 8px 16px); border-block: 1px dashed var(--rule); }
.gap .time { align-self: center; } .gap .silence { grid-column: 2 / -1; text-align: center; color: var(--dim); font-style: italic; }
.p-user { color: var(--user); } .p-bot { color: var(--bot); } .p-bridge { color: var(--bridge); } .p-gorgias { color: var(--gorgias); } .p-agent { color: var(--agent); }
.lane.p-user { background: var(--user); } .lane.p-bot { background: var(--bot); } .lane.p-bridge { background: var(--bridge); } .lane.p-gorgias { background: var(--gorgias); } .lane.p-agent { background: var(--agent); }
.arrow.fault, .legend-dropped svg { color: var(--fault); }
.row .lane { color: #fff; }
${[0, 1, 2, 3, 4].map((i) => `.c${i} { grid-column-start: ${i + 2}; }`).join(' ')}
${[2, 3, 4, 5].map((n) => `.s${n} { grid-column-end: span ${n}; margin-inline: ${(50 / n).toFixed(3)}%; }`).join(' ')}
table.numbers { border-collapse: collapse; } .numbers th { text-align: left; font-weight: 500; color: var(--dim); padding: .2rem 1.5rem .2rem 0; } .numbers td { font-variant-numeric: tabular-nums; }
svg.chart text { font-size: 12px; fill: var(--ink); } svg.chart .axis { stroke: var(--rule); } svg.chart .tick { fill: var(--dim); } svg.chart rect { fill: var(--bridge); }
@media print { .lanes { position: static; } }
`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="livechat simulate">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function checksHtml(checks: Check[]): string {
  const items = checks.map(
    (c) =>
      `<li class="check ${c.ok ? 'ok' : 'failed'}" data-ok="${c.ok}"><span class="mark" aria-label="${c.ok ? 'passed' : 'failed'}">${c.ok ? '✓' : '✗'}</span><b class="name">${esc(c.name)}</b>: <span class="detail">${esc(c.detail)}</span></li>`,
  );
  return `<section id="checks"><h2>Checks</h2><ul class="checks">${items.join('')}</ul></section>`;
}

function verdict(checks: Check[]): { ok: boolean; text: string } {
  const failed = checks.filter((c) => !c.ok).length;
  return failed === 0 ? { ok: true, text: `all ${checks.length} checks passed` } : { ok: false, text: `${failed} of ${checks.length} checks failed` };
}

function facts(rows: Array<[string, string]>): string {
  return `<dl class="facts">${rows.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl>`;
}

function faultCounts(entries: TimelineEntry[]): string {
  const counts = new Map<Fault, number>();
  for (const e of entries) if (e.fault) counts.set(e.fault, (counts.get(e.fault) ?? 0) + 1);
  return [...counts].map(([f, n]) => `${FAULT_LABEL[f]} ×${n}`).join(', ') || 'none';
}

/** A line from one lane's centre to another's, with its head; a dropped webhook stops short, crossed out. */
function arrowSvg(leftward: boolean, dropped: boolean): string {
  const tip = dropped ? (leftward ? '30%' : '70%') : leftward ? '0' : '100%';
  const tail = leftward ? '100%' : '0';
  const mark = dropped
    ? `<svg x="${tip}" overflow="visible"><path d="M-5 1 L5 11 M5 1 L-5 11"/></svg>`
    : `<svg x="${tip}" overflow="visible"><path class="head" d="${leftward ? 'M0 6 L10 1 L10 11 Z' : 'M0 6 L-10 1 L-10 11 Z'}"/></svg>`;
  return `<svg class="line" aria-hidden="true"><line x1="${tail}" y1="6" x2="${tip}" y2="6"/>${mark}</svg>`;
}

/** The words on an arrow, as HTML (buttons apart, so a cut never hides them), and as plain text for its tooltip. */
function labelOf(e: TimelineEntry): { words: string; buttons: string; plain: string } {
  const html: string[] = [];
  const plain: string[] = [];
  if (e.fault) {
    html.push(`<span class="fault-tag">⚠ ${esc(FAULT_LABEL[e.fault])}</span>`);
    plain.push(`[${FAULT_LABEL[e.fault]}]`);
  }
  if (e.text !== undefined) {
    html.push(`<q>${esc(e.text)}</q>`);
    plain.push(`“${e.text}”`);
  }
  if (e.payload !== undefined) {
    html.push(`${e.kind === 'event' ? 'event' : 'payload'} <code>${esc(e.payload)}</code>`);
    plain.push(`${e.kind === 'event' ? 'event' : 'payload'} ${e.payload}`);
  }
  const detail = shownDetail(e);
  if (detail) {
    html.push(`<span class="detail">${esc(detail)}</span>`);
    plain.push(detail);
  }
  const buttons = (e.buttons ?? []).map((b) => `<span class="btn" title="${esc(b.payload)}">${esc(b.title)}</span>`);
  plain.push(...(e.buttons ?? []).map((b) => `[${b.title}]`));
  return { words: html.join(' '), buttons: buttons.join(' '), plain: plain.join(' ') };
}

function entryRow(e: TimelineEntry, index: number, section: Section): string {
  const a = ACTORS.indexOf(e.from);
  const b = ACTORS.indexOf(e.to);
  const lo = Math.min(a, b);
  const span = Math.abs(a - b) + 1;
  const label = labelOf(e);
  const when = section.name === 'setup' ? 'setup' : elapsed(e.at - section.startedAt);
  const iso = new Date(e.at).toISOString();
  const cls = ['arrow', `p-${e.from}`, `kind-${e.kind}`, `c${lo}`, `s${span}`, e.fault ? 'fault' : ''].filter(Boolean).join(' ');
  return (
    `<div class="row entry${e.fault ? ' fault' : ''}" data-index="${index}" data-from="${e.from}" data-to="${e.to}" data-kind="${e.kind}"` +
    `${e.fault ? ` data-fault="${e.fault}"` : ''} data-conversation="${esc(e.conversation)}">` +
    `<time class="time" datetime="${iso}" title="${iso} (simulated)">${when}</time>` +
    `<div class="${cls}"><div class="label" title="${esc(`${e.from} → ${e.to}: ${label.plain}`)}">` +
    `${label.words ? `<div class="words">${label.words}</div>` : ''}${label.buttons ? `<div class="buttons">${label.buttons}</div>` : ''}</div>` +
    `${arrowSvg(b < a, e.fault === 'dropped')}</div>` +
    `</div>`
  );
}

function gapRow(ms: number, quietMs: number): string {
  return `<div class="row gap" data-gap-ms="${ms}"><span class="time">⋯</span><div class="silence">${esc(gapWords(ms, quietMs))}</div></div>`;
}

function lanesRow(): string {
  const lanes = ACTORS.map((a) => `<div class="lane p-${a}" data-party="${a}">${a}<small>${esc(ROLE[a])}</small></div>`);
  return `<div class="row lanes"><div class="time">time</div>${lanes.join('')}</div>`;
}

function sectionHtml(section: Section, firstIndex: number): string {
  const rows: string[] = [];
  let previous = section.name === 'setup' ? undefined : section.startedAt;
  let spoke = section.startedAt;
  section.entries.forEach((e, i) => {
    if (previous !== undefined && e.at - previous >= GAP_MS) rows.push(gapRow(e.at - previous, e.at - spoke));
    rows.push(entryRow(e, firstIndex + i, section));
    previous = e.at;
    if (isPersonSpeaking(e)) spoke = e.at;
  });
  const title = section.name === 'setup' ? 'setup' : `scenario: ${section.name}${section.conversation ? ` (${section.conversation})` : ''}`;
  const lifelines = `<div class="lifelines" aria-hidden="true">${'<i></i>'.repeat(ACTORS.length + 1)}</div>`;
  return (
    `<section class="scenario" data-scenario="${esc(section.name)}"><h2>${esc(title)}</h2>` +
    `<div class="diagram">${lifelines}${lanesRow()}${rows.join('')}</div></section>`
  );
}

function legendHtml(): string {
  const sample = (cls: string, dropped = false) =>
    `<svg width="44" height="12" class="${cls}" aria-hidden="true"><line x1="0" y1="6" x2="${dropped ? 30 : 44}" y2="6" stroke="currentColor" stroke-width="${cls === 'kind-api' ? 1.25 : 2}"${cls === 'kind-webhook' ? ' stroke-dasharray="7 4"' : ''}/>${dropped ? '<path d="M25 1 L35 11 M35 1 L25 11" stroke="currentColor" stroke-width="2"/>' : '<path d="M44 6 L34 1 L34 11 Z" fill="currentColor"/>'}</svg>`;
  return (
    `<ul class="legend">` +
    `<li>${sample('kind-message')}message, payload or event</li>` +
    `<li>${sample('kind-webhook')}webhook</li>` +
    `<li>${sample('kind-api')}API call</li>` +
    `<li class="legend-dropped">${sample('kind-webhook', true)}dropped webhook</li>` +
    `<li><span class="fault-tag">⚠ fault</span>a fault, where it happened</li>` +
    `</ul>`
  );
}

/** The report of a scenario run: checks first, then one lane diagram per scenario. */
export function renderReport(input: ReportInput): string {
  const { entries, checks, run } = input;
  const v = verdict(checks);
  const speedup = Math.round(run.simulatedMs / Math.max(1, run.wallMs));
  const info: Array<[string, string]> = [
    ['scenarios', (run.scenarios ?? []).map((s) => s.name).join(', ') || '-'],
    ['timeout', durationWords(run.timeoutMs)],
    ['simulated', `${elapsed(run.simulatedMs).slice(1)} in ${seconds(run.wallMs)} (${speedup}x)`],
    ['timeline', `${entries.length} entries`],
    ['faults', run.faults ? `on (seed ${run.faults.seed}): ${faultCounts(entries)}` : 'off'],
  ];
  let index = 0;
  const sections = sectionsOf(entries, run.scenarios).map((s) => {
    const html = sectionHtml(s, index);
    index += s.entries.length;
    return html;
  });
  const body =
    `<header><h1>${esc(run.command)}</h1><p class="verdict ${v.ok ? 'ok' : 'failed'}">${esc(v.text)}</p>${facts(info)}` +
    `${run.faults ? `<p class="faults-summary">fault plan: ${esc(run.faults.summary)}</p>` : ''}${legendHtml()}</header>` +
    `<main>${checksHtml(checks)}${sections.join('')}</main>`;
  return page(`${run.command}: ${v.text}`, body);
}

/** A horizontal bar chart of latency percentiles, on a log scale (p50 and max are decades apart). */
export function latencyChart(series: Array<{ name: string; values: Array<[string, number]> }>): string {
  const rowH = 20;
  const labelW = 150;
  const barW = 380;
  const valueW = 90;
  const floor = 0.001;
  const all = series.flatMap((s) => s.values.map(([, v]) => Math.max(floor, v)));
  const lo = Math.floor(Math.log10(Math.min(...all, 1)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...all, 1))));
  const x = (v: number) => ((Math.log10(Math.max(floor, v)) - lo) / (hi - lo)) * barW;
  const rows = series.flatMap((s) => s.values.map(([p, v]) => ({ label: `${s.name} ${p}`, v })));
  const height = rows.length * rowH + 24;
  const width = labelW + barW + valueW;
  const bars = rows.map((r, i) => {
    const y = i * rowH;
    return (
      `<g class="bar" data-label="${esc(r.label)}" data-ms="${r.v}">` +
      `<text x="${labelW - 8}" y="${y + 14}" text-anchor="end">${esc(r.label)}</text>` +
      `<rect x="${labelW}" y="${y + 3}" width="${Math.max(1, x(r.v)).toFixed(1)}" height="${rowH - 6}"/>` +
      `<text x="${labelW + Math.max(1, x(r.v)) + 6}" y="${y + 14}">${r.v.toFixed(r.v < 1 ? 3 : 1)} ms</text></g>`
    );
  });
  const ticks = [];
  for (let d = lo; d <= hi; d++) {
    const tx = labelW + ((d - lo) / (hi - lo)) * barW;
    ticks.push(
      `<line class="axis" x1="${tx}" y1="0" x2="${tx}" y2="${rows.length * rowH}"/><text class="tick" x="${tx}" y="${rows.length * rowH + 16}" text-anchor="middle">${10 ** d >= 1 ? 10 ** d : (10 ** d).toFixed(-d)} ms</text>`,
    );
  }
  return `<svg class="chart" role="img" aria-label="latency percentiles" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${ticks.join('')}${bars.join('')}</svg>`;
}

/** The summary page of a load run (`--sessions N`): numbers, a latency chart, the checks. */
export function renderLoadReport(input: LoadReportInput): string {
  const { result: r, run } = input;
  const v = verdict(r.checks);
  const numbers: Array<[string, string]> = [
    ['conversations', `${r.sessions}, ${r.concurrency} at a time`],
    ['wall time', seconds(r.wallMs)],
    ['throughput', `${r.conversationsPerSecond.toFixed(1)} conversations/s, ${r.relaysPerSecond.toFixed(1)} agent relays/s`],
    [
      'relay latency',
      `p50 ${r.relayMs.p50.toFixed(2)} ms, p99 ${r.relayMs.p99.toFixed(2)} ms, max ${r.relayMs.max.toFixed(2)} ms (${r.relayMs.count} relays)`,
    ],
    ['end to end', `p50 ${r.endToEndMs.p50.toFixed(1)} ms, p99 ${r.endToEndMs.p99.toFixed(1)} ms, max ${r.endToEndMs.max.toFixed(1)} ms`],
    ['memory', `${(r.bytesPerConversation / 1024).toFixed(1)} KiB per conversation`],
    ...(r.calls !== undefined
      ? ([
          [
            'Gorgias calls',
            `${r.calls} (${(r.calls / r.sessions).toFixed(1)} per conversation), ${r.rateLimited ?? 0} answered 429; longest wait for the budget ${seconds(r.maxInteractiveWaitMs ?? 0)}`,
          ],
        ] as Array<[string, string]>)
      : []),
    ...(r.simulatedMs !== undefined ? ([['simulated time', durationWords(r.simulatedMs)]] as Array<[string, string]>) : []),
    ['timeout', durationWords(run.timeoutMs)],
  ];
  const table = `<table class="numbers">${numbers.map(([k, val]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(val)}</td></tr>`).join('')}</table>`;
  const chart = latencyChart([
    {
      name: 'relay',
      values: [
        ['p50', r.relayMs.p50],
        ['p99', r.relayMs.p99],
        ['max', r.relayMs.max],
      ],
    },
    {
      name: 'end to end',
      values: [
        ['p50', r.endToEndMs.p50],
        ['p99', r.endToEndMs.p99],
        ['max', r.endToEndMs.max],
      ],
    },
  ]);
  const body =
    `<header><h1>${esc(run.command)}</h1><p class="verdict ${v.ok ? 'ok' : 'failed'}">${esc(v.text)}</p></header>` +
    `<main><section id="numbers"><h2>Load</h2>${table}</section>` +
    `<section id="latency"><h2>Latency (real ms, log scale)</h2><p class="facts">relay: webhook in at the receiver → shown to the user; end to end: agent message created in Gorgias → shown to the user</p>${chart}</section>` +
    `${checksHtml(r.checks)}</main>`;
  return page(`${run.command}: ${v.text}`, body);
}
