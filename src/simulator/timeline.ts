// What passed during a simulation, and how it is printed. Pure.
export type Actor = 'user' | 'bot' | 'bridge' | 'gorgias' | 'agent';
export type EntryKind = 'message' | 'payload' | 'event' | 'webhook' | 'api';

/** Something that went wrong on the way, on purpose (`--faults`) or not: the report marks it. */
export type Fault = 'injected' | 'dropped' | 'duplicate' | 'late' | 'rate-limited' | 'retry' | 'error' | 'refused';

export interface Button {
  title: string;
  payload: string;
}

export interface TimelineEntry {
  /** Simulated epoch ms. */
  at: number;
  scenario: string;
  conversation: string;
  from: Actor;
  to: Actor;
  kind: EntryKind;
  text?: string;
  payload?: string;
  buttons?: Button[];
  /** Short free text: an API call, a webhook outcome, a report. */
  detail?: string;
  fault?: Fault;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** `+HH:MM:SS` since the start. */
export function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `+${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

export function direction(e: Pick<TimelineEntry, 'from' | 'to' | 'kind'>): string {
  return `${e.from} → ${e.to}${e.kind === 'webhook' ? ' (webhook)' : ''}`;
}

/** A text on one line, cut to `max` when given (on a terminal); piped or `--json`, it stays whole. */
function quote(text: string, max?: number): string {
  const q = JSON.stringify(text);
  return max !== undefined && q.length > max ? `${q.slice(0, max - 2)}…"` : q;
}

/** The "what passed" column. */
export function describeEntry(e: TimelineEntry, maxText?: number): string {
  const parts: string[] = [];
  if (e.text !== undefined) parts.push(quote(e.text, maxText));
  if (e.payload !== undefined) parts.push(e.kind === 'event' ? e.payload : `payload ${e.payload}`);
  if (e.buttons?.length) parts.push(e.buttons.map((b) => `[${b.title}]`).join(' '));
  if (e.detail) parts.push(e.kind === 'api' || parts.length === 0 ? e.detail : `(${e.detail})`);
  return parts.join(' ');
}

export interface LineStyle {
  /** Cut a quoted text to this many characters (a terminal's line); unset: never cut. */
  maxText?: number;
  dim(s: string): string;
  actor(a: Actor, s: string): string;
  button(s: string): string;
}

export const plainStyle: LineStyle = { dim: (s) => s, actor: (_a, s) => s, button: (s) => s };

export function formatLine(e: TimelineEntry, startedAt: number, style: LineStyle = plainStyle): string {
  const dir = direction(e).padEnd(28);
  const what = describeEntry(e, style.maxText).replace(/\[[^\]]+\]/g, (b) => style.button(b));
  return `${style.dim(elapsed(e.at - startedAt))}  ${style.actor(e.from, dir)} ${what}`;
}

/** The `--json` line for one entry. */
export function jsonLine(e: TimelineEntry): string {
  const { at, ...rest } = e;
  return JSON.stringify({ t: new Date(at).toISOString(), ...rest });
}

/** The parties, in the order their lanes are drawn. */
export const ACTORS: readonly Actor[] = ['user', 'bot', 'bridge', 'gorgias', 'agent'];

/** A pause this long between two entries was fast-forwarded: diagrams draw it as a gap. */
export const GAP_MS = 60_000;

/** `30 min`, `1 min 40 s`, `2 h 5 min`. */
export function durationWords(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  const parts = [h ? `${h} h` : '', m ? `${m} min` : '', rest && !h ? `${rest} s` : ''].filter(Boolean);
  return parts.join(' ') || '0 s';
}

/** The words on a gap; `quietMs` is how long since the user or the agent last wrote, when longer. */
export function gapWords(gapMs: number, quietMs = gapMs): string {
  const since = quietMs > gapMs + 999 ? ` · nobody wrote for ${durationWords(quietMs)}` : '';
  return `${durationWords(gapMs)} of silence (fast-forwarded)${since}`;
}

/** The user or the agent writing, or the user pressing a button: what an expiry counts from. */
export const isPersonSpeaking = (e: Pick<TimelineEntry, 'from'>): boolean => e.from === 'user' || e.from === 'agent';

/** One scenario's part of a run (or the setup before the first one). */
export interface Section {
  name: string;
  conversation?: string;
  /** Simulated epoch ms the section's times count from. */
  startedAt: number;
  entries: TimelineEntry[];
}

export interface ScenarioStart {
  name: string;
  conversation: string;
  startedAt: number;
}

/**
 * Cut a run's timeline into its setup and one section per scenario, in order. A scenario's times
 * count from when it began (as the text timeline does); without that, from its first entry.
 */
export function sectionsOf(entries: TimelineEntry[], scenarios: ScenarioStart[] = []): Section[] {
  const sections: Section[] = [];
  let used = 0;
  for (const e of entries) {
    const last = sections.at(-1);
    if (last && last.name === e.scenario) {
      last.entries.push(e);
      continue;
    }
    const known = e.scenario === 'setup' ? undefined : scenarios.slice(used).find((s) => s.name === e.scenario);
    if (known) used = scenarios.indexOf(known) + 1;
    sections.push({ name: e.scenario, conversation: known?.conversation, startedAt: known?.startedAt ?? e.at, entries: [e] });
  }
  return sections;
}

/** An entry's detail on a diagram, where its fault tag already says "fault injected". */
export function shownDetail(e: Pick<TimelineEntry, 'detail' | 'fault'>): string | undefined {
  return e.fault === 'injected' ? e.detail?.replace(/^fault injected: /, '') : e.detail;
}

/** What a fault is called on a diagram. */
export const FAULT_LABEL: Record<Fault, string> = {
  injected: 'fault injected',
  dropped: 'dropped',
  duplicate: 'duplicate',
  late: 'late',
  'rate-limited': '429',
  retry: 'retry',
  error: 'error',
  refused: 'refused',
};
