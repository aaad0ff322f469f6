// The lifecycle rules, checked from what actually passed (the timeline), not from engine state.
import { SESSION_END, SESSION_EXPIRED, SESSION_FAILED, SESSION_START } from '../protocol.js';
import type { Check, TimelineEntry } from './timeline.js';

interface Session {
  conversation: string;
  startIndex: number;
  endIndex?: number;
  ends: Array<{ how: 'ended' | 'expired' | 'failed'; index: number }>;
}

const isUserIn = (e: TimelineEntry) => e.from === 'user' && e.to === 'bridge';
const isToBot = (e: TimelineEntry) => e.from === 'bridge' && e.to === 'bot';
const isExpiredEvent = (e: TimelineEntry) => isToBot(e) && e.kind === 'event' && e.payload === SESSION_EXPIRED;
/** Gorgias could not take the hand-off: the engine gives the user back to the bot. */
const isFailedEvent = (e: TimelineEntry) => isToBot(e) && e.kind === 'event' && e.payload === SESSION_FAILED;
const isAgentSend = (e: TimelineEntry) => e.from === 'agent' && e.to === 'gorgias' && e.kind === 'message';
const isRelay = (e: TimelineEntry) => e.from === 'bridge' && e.to === 'user' && e.kind === 'message';
/** The bridge asks Gorgias for its last look before an expiry (the engine's trace of that catch-up). */
const isExpiryLook = (e: TimelineEntry) =>
  e.from === 'bridge' && e.to === 'gorgias' && e.kind === 'api' && /catch-up \(expiry\)/.test(e.detail ?? '');

/** The user-visible form of an agent message: token removed, plus the button flag. */
export function expectedDelivery(agentText: string): string {
  const hasToken = agentText.includes(SESSION_END);
  const text = agentText
    .split(SESSION_END)
    .join(' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .trim();
  return hasToken ? `${text} [End chat]` : text;
}

function deliveredForm(e: TimelineEntry): string {
  const button = e.buttons?.some((b) => b.payload === SESSION_END) ? ' [End chat]' : '';
  return `${(e.text ?? '').trim()}${button}`.trim();
}

/** Sessions from the timeline: START opens one; END by the user or EXPIRED to the bot closes it. */
export function sessionsOf(entries: TimelineEntry[]): Session[] {
  const open = new Map<string, Session>();
  const all: Session[] = [];
  entries.forEach((e, index) => {
    const current = open.get(e.conversation);
    if (isUserIn(e) && e.kind === 'payload' && e.payload === SESSION_START && !current) {
      const s: Session = { conversation: e.conversation, startIndex: index, ends: [] };
      open.set(e.conversation, s);
      all.push(s);
      return;
    }
    const end =
      isUserIn(e) && e.kind === 'payload' && e.payload === SESSION_END
        ? 'ended'
        : isExpiredEvent(e)
          ? 'expired'
          : isFailedEvent(e)
            ? 'failed'
            : undefined;
    if (!end) return;
    // An EXPIRED after the session closed still counts against the last session: "never both".
    const target = current ?? [...all].reverse().find((s) => s.conversation === e.conversation);
    if (!target) return;
    if (end === 'ended' && !current) return; // END typed outside a session is just a message to the bot
    target.ends.push({ how: end, index });
    if (current) {
      current.endIndex = index;
      open.delete(e.conversation);
    }
  });
  return all;
}

function inSession(s: Session, index: number): boolean {
  return index > s.startIndex && (s.endIndex === undefined || index < s.endIndex);
}

interface Findings {
  sessions: Session[];
  leaks: string[];
  relayProblems: string[];
  relayed: number;
  endProblems: string[];
  expiryProblems: string[];
  expiries: string[];
  /** Ms the bot was told late, each while the last look waited for Gorgias. */
  lateExpiries: number[];
  unheard: string[];
}

/** The rules for one conversation's entries (in order). */
function examine(entries: TimelineEntry[], timeoutMs: number): Findings {
  const sessions = sessionsOf(entries);
  const inAny = (i: number) => sessions.some((s) => inSession(s, i));
  const f: Findings = {
    sessions,
    leaks: [],
    relayProblems: [],
    relayed: 0,
    endProblems: [],
    expiryProblems: [],
    expiries: [],
    lateExpiries: [],
    unheard: [],
  };

  // 1. The bot never sees a user message while the session is open.
  entries.forEach((e, i) => {
    if (isToBot(e) && e.kind !== 'event' && inAny(i))
      f.leaks.push(`${e.conversation}: bot got ${JSON.stringify(e.text ?? e.payload)} during livechat`);
  });

  // 2. Every agent message reaches the user exactly once, in order; nothing reaches them outside a session.
  for (const s of sessions) {
    const sent = entries.filter((e, i) => inSession(s, i) && isAgentSend(e)).map((e) => expectedDelivery(e.text ?? ''));
    const got = entries.filter((e, i) => inSession(s, i) && isRelay(e)).map(deliveredForm);
    f.relayed += got.length;
    if (JSON.stringify(sent) !== JSON.stringify(got)) {
      f.relayProblems.push(`${s.conversation}: agent sent ${JSON.stringify(sent)}, user got ${JSON.stringify(got)}`);
    }
  }
  entries.forEach((e, i) => {
    if (isRelay(e) && !inAny(i)) f.relayProblems.push(`${e.conversation}: ${JSON.stringify(e.text)} reached the user outside a session`);
  });

  // 3. Every session ends exactly once.
  for (const s of sessions) {
    if (s.ends.length !== 1) {
      f.endProblems.push(
        `${s.conversation}: ${s.ends.length === 0 ? 'never ended' : `ended ${s.ends.length} times (${s.ends.map((x) => x.how).join(', ')})`}`,
      );
    }
  }

  // 4. Expiry comes exactly at the timeout after the last message either way: never earlier, and
  // later only while the bridge's last look at the ticket waits for Gorgias (its turn in the call
  // budget, a 429). A message that comes after the deadline meanwhile is not activity: it is the bot's.
  for (const s of sessions) {
    const end = s.ends[0];
    if (!end || end.how !== 'expired') continue;
    let last = entries[s.startIndex].at;
    let looked = false;
    entries.forEach((e, i) => {
      if (i <= s.startIndex || i >= end.index) return;
      if (isExpiryLook(e) && e.at >= last + timeoutMs) looked = true;
      // What the last look found is shown and keeps the session open; the user speaks in time or not at all.
      if (isRelay(e)) [last, looked] = [e.at, false];
      else if (isUserIn(e) && (e.kind === 'message' || e.kind === 'payload') && e.at < last + timeoutMs) last = e.at;
    });
    const silence = entries[end.index].at - last;
    const late = silence - timeoutMs;
    f.expiries.push(`${s.conversation} after ${Math.round(silence / 1000)}s of silence`);
    if (late > 0) f.lateExpiries.push(late);
    if (silence < timeoutMs) f.expiryProblems.push(`${s.conversation}: expired after ${silence} ms, before the ${timeoutMs} ms timeout`);
    if (late > 0 && !looked) f.expiryProblems.push(`${s.conversation}: stayed open ${late} ms past the timeout`);
  }

  // 5. Outside a session, the bot hears every user message.
  entries.forEach((e, i) => {
    if (!isUserIn(e) || e.kind !== 'message') return;
    if (sessions.some((s) => inSession(s, i) || s.startIndex === i)) return;
    const heard = entries.slice(i + 1).some((b) => isToBot(b) && b.text === e.text);
    if (!heard) f.unheard.push(`${e.conversation}: ${JSON.stringify(e.text)}`);
  });
  return f;
}

/** A list for a detail line: the first few, then how many more. */
function few(items: string[], max = 5): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

export function checkTimeline(entries: TimelineEntry[], timeoutMs: number): Check[] {
  const byConversation = new Map<string, TimelineEntry[]>();
  for (const e of entries) {
    if (e.conversation === '-') continue;
    const list = byConversation.get(e.conversation) ?? [];
    list.push(e);
    byConversation.set(e.conversation, list);
  }
  const all = [...byConversation.values()].map((list) => examine(list, timeoutMs));
  const merged = (key: Exclude<keyof Findings, 'sessions' | 'relayed' | 'lateExpiries'>) => all.flatMap((f) => f[key]);
  const late = all.flatMap((f) => f.lateExpiries);
  const lateNote = late.length
    ? `; ${late.length} told late while the last look waited for Gorgias (at most ${Math.ceil(Math.max(...late) / 1000)} s)`
    : '';
  const sessions = all.flatMap((f) => f.sessions);
  const relayed = all.reduce((n, f) => n + f.relayed, 0);
  const ends = sessions.map((s) => `${s.conversation}: ${s.ends[0]?.how ?? 'open'}`);
  const problems = {
    leaks: merged('leaks'),
    relay: merged('relayProblems'),
    end: merged('endProblems'),
    expiry: merged('expiryProblems'),
    unheard: merged('unheard'),
  };
  return [
    {
      name: 'bot muted during livechat',
      ok: problems.leaks.length === 0,
      detail: problems.leaks.length ? few(problems.leaks) : `${sessions.length} session(s), the bot heard nothing inside them`,
    },
    {
      name: 'agent messages delivered once, in order',
      ok: problems.relay.length === 0,
      detail: problems.relay.length ? few(problems.relay) : `${relayed} agent message(s) each delivered once, in order`,
    },
    {
      name: 'one end per session',
      ok: problems.end.length === 0,
      detail: problems.end.length ? few(problems.end) : few(ends) || 'no sessions',
    },
    {
      name: 'expiry exactly at the timeout',
      ok: problems.expiry.length === 0,
      detail: problems.expiry.length ? few(problems.expiry) : `${few(merged('expiries')) || 'no session expired'}${lateNote}`,
    },
    {
      name: 'bot hears the user outside livechat',
      ok: problems.unheard.length === 0,
      detail: problems.unheard.length ? `never reached the bot: ${few(problems.unheard)}` : 'every message outside a session reached the bot',
    },
  ];
}
