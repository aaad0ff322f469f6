// What passed during a simulation, and how it is printed. Pure.
export type Actor = 'user' | 'bot' | 'bridge' | 'gorgias' | 'agent';
export type EntryKind = 'message' | 'payload' | 'event' | 'webhook' | 'api';

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

/** Human lines show one line of text at most; `--json` keeps it whole. */
function quote(text: string, max = 100): string {
  const q = JSON.stringify(text);
  return q.length > max ? `${q.slice(0, max - 2)}…"` : q;
}

/** The "what passed" column. */
export function describeEntry(e: TimelineEntry): string {
  const parts: string[] = [];
  if (e.text !== undefined) parts.push(quote(e.text));
  if (e.payload !== undefined) parts.push(e.kind === 'event' ? e.payload : `payload ${e.payload}`);
  if (e.buttons?.length) parts.push(e.buttons.map((b) => `[${b.title}]`).join(' '));
  if (e.detail) parts.push(e.kind === 'api' || parts.length === 0 ? e.detail : `(${e.detail})`);
  return parts.join(' ');
}

export interface LineStyle {
  dim(s: string): string;
  actor(a: Actor, s: string): string;
  button(s: string): string;
}

export const plainStyle: LineStyle = { dim: (s) => s, actor: (_a, s) => s, button: (s) => s };

export function formatLine(e: TimelineEntry, startedAt: number, style: LineStyle = plainStyle): string {
  const dir = direction(e).padEnd(28);
  const what = describeEntry(e).replace(/\[[^\]]+\]/g, (b) => style.button(b));
  return `${style.dim(elapsed(e.at - startedAt))}  ${style.actor(e.from, dir)} ${what}`;
}

/** The `--json` line for one entry. */
export function jsonLine(e: TimelineEntry): string {
  const { at, ...rest } = e;
  return JSON.stringify({ t: new Date(at).toISOString(), ...rest });
}
