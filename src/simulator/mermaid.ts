// `simulate --format mermaid`: the run as a Mermaid sequence diagram, which GitHub renders in
// issues and pull requests. Pure: (entries, checks, run info) -> diagram source.
import {
  ACTORS,
  FAULT_LABEL,
  GAP_MS,
  gapWords,
  isPersonSpeaking,
  elapsed,
  sectionsOf,
  shownDetail,
  type Actor,
  type Check,
  type ScenarioStart,
  type TimelineEntry,
} from './timeline.js';

export interface MermaidInput {
  entries: TimelineEntry[];
  checks: Check[];
  run: { scenarios?: ScenarioStart[]; faults?: { seed: number } };
}

/** Longest message text on an arrow; a diagram a screen wide stays readable. */
const MAX_TEXT = 80;

/**
 * Mermaid's rules for the text after `A->>B:` (its sequence grammar): `;` and a newline end the
 * statement, `#` starts a comment, `#name;` is an entity, `%%` at its start is a comment,
 * `wrap:`/`nowrap:` at its start are directives, `$$...$$` is maths, `<br>` breaks a line, and in
 * a line holding `style` or `classDef`, a colon then a `#` makes Mermaid drop the line's last `;`
 * (so there the colons are encoded too). Those characters and `<>&` are written as `#code;`
 * entities, which Mermaid decodes after parsing; newlines become `<br>`.
 */
export function mermaidText(text: string): string {
  const out = text
    .replace(/\r\n?/g, '\n')
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, ' ')
    .replace(/[#;%<>&$¶\ufb02\u2028\u2029]/g, (c) => `#${c.codePointAt(0)};`);
  const colons = /style|classdef/i.test(out) ? out.replace(/:/g, '#58;') : out.replace(/^(\s*(?:no)?wrap):/i, '$1#58;');
  return colons.replace(/\n/g, '<br>');
}

/** Cut to `max` characters (not inside a surrogate pair), marking the cut. */
function cut(text: string, max: number): string {
  const chars = [...text];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text;
}

/** The words on one arrow, before escaping. */
export function arrowText(e: TimelineEntry, when: string): string {
  const words: string[] = [];
  if (e.text !== undefined) words.push(`“${cut(e.text.trim(), MAX_TEXT)}”`);
  if (e.payload !== undefined) words.push(e.kind === 'event' ? e.payload : `payload ${e.payload}`);
  if (e.buttons?.length) words.push(e.buttons.map((b) => `[${b.title}]`).join(' '));
  const detail = shownDetail(e);
  if (detail) words.push(e.kind === 'api' || words.length === 0 ? cut(detail, MAX_TEXT) : `(${cut(detail, MAX_TEXT)})`);
  return [when, e.fault ? `⚠ ${FAULT_LABEL[e.fault]}:` : '', ...words].filter(Boolean).join(' ');
}

/** Solid for what people and the bot say, dotted for webhooks, an open head for API calls, a cross for what was lost. */
export function arrowOf(e: Pick<TimelineEntry, 'kind' | 'fault'>): string {
  if (e.fault === 'dropped') return '--x';
  if (e.kind === 'webhook') return '-->>';
  if (e.kind === 'api') return '-)';
  return '->>';
}

const PARTICIPANT: Record<Actor, string> = {
  user: 'actor user as user',
  bot: 'participant bot as bot',
  bridge: 'participant bridge as bridge (livechat)',
  gorgias: 'participant gorgias as Gorgias',
  agent: 'actor agent as agent',
};

const note = (text: string) => `  Note over ${ACTORS[0]},${ACTORS.at(-1)}: ${mermaidText(text)}`;

export function renderMermaid(input: MermaidInput): string {
  const lines = ['sequenceDiagram', ...ACTORS.map((a) => `  ${PARTICIPANT[a]}`)];
  if (input.run.faults) lines.push(note(`faults on (seed ${input.run.faults.seed})`));
  for (const section of sectionsOf(input.entries, input.run.scenarios)) {
    const setup = section.name === 'setup';
    lines.push(note(setup ? 'setup' : `scenario: ${section.name}${section.conversation ? ` (${section.conversation})` : ''}`));
    let previous = setup ? undefined : section.startedAt;
    let spoke = section.startedAt;
    for (const e of section.entries) {
      if (previous !== undefined && e.at - previous >= GAP_MS) lines.push(note(gapWords(e.at - previous, e.at - spoke)));
      previous = e.at;
      if (isPersonSpeaking(e)) spoke = e.at;
      const when = setup ? 'setup' : elapsed(e.at - section.startedAt);
      lines.push(`  ${e.from}${arrowOf(e)}${e.to}: ${mermaidText(arrowText(e, when))}`);
    }
  }
  const failed = input.checks.filter((c) => !c.ok).length;
  const checks = input.checks.map((c) => `${c.ok ? '✓' : '✗'} ${c.name}: ${cut(c.detail, 2 * MAX_TEXT)}`);
  const verdict = failed ? `${failed} of ${input.checks.length} checks failed` : `all ${input.checks.length} checks passed`;
  lines.push(`  Note over ${ACTORS[0]},${ACTORS.at(-1)}: ${[verdict, ...checks].map(mermaidText).join('<br>')}`);
  return `${lines.join('\n')}\n`;
}
