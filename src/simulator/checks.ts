// The lifecycle rules, checked from what actually passed (the timeline), not from engine state.
import { SESSION_END, SESSION_EXPIRED, SESSION_FAILED, SESSION_START } from '../session/payloads.js';
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

/** The user-visible form of an agent message: token removed, plus the button flag. */
export function expectedDelivery(agentText: string): string {
  const hasToken = agentText.includes(SESSION_END);
  const text = agentText.split(SESSION_END).join(' ').replace(/[ \t]+/g, ' ').replace(/ *\n */g, '\n').trim();
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
    const end = isUserIn(e) && e.kind === 'payload' && e.payload === SESSION_END ? 'ended' : isExpiredEvent(e) ? 'expired' : isFailedEvent(e) ? 'failed' : undefined;
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

export function checkTimeline(entries: TimelineEntry[], timeoutMs: number): Check[] {
  const sessions = sessionsOf(entries);
  const checks: Check[] = [];

  // 1. The bot never sees a user message while the session is open.
  const leaks = entries.flatMap((e, i) =>
    isToBot(e) && e.kind !== 'event' && sessions.some((s) => s.conversation === e.conversation && inSession(s, i))
      ? [`${e.conversation}: bot got ${JSON.stringify(e.text ?? e.payload)} during livechat`]
      : [],
  );
  checks.push({
    name: 'bot muted during livechat',
    ok: leaks.length === 0,
    detail: leaks.length ? leaks.join('; ') : `${sessions.length} session(s), the bot heard nothing inside them`,
  });

  // 2. Every agent message reaches the user exactly once, in order.
  const relayProblems: string[] = [];
  let relayed = 0;
  for (const s of sessions) {
    const within = (e: TimelineEntry, i: number) => e.conversation === s.conversation && inSession(s, i);
    const sent = entries.filter((e, i) => within(e, i) && isAgentSend(e)).map((e) => expectedDelivery(e.text ?? ''));
    const gotInSession = entries.filter((e, i) => within(e, i) && isRelay(e)).map(deliveredForm);
    relayed += gotInSession.length;
    if (JSON.stringify(sent) !== JSON.stringify(gotInSession)) {
      relayProblems.push(`${s.conversation}: agent sent ${JSON.stringify(sent)}, user got ${JSON.stringify(gotInSession)}`);
    }
  }
  // A relay outside any session is a late or stray message shown live.
  entries.forEach((e, i) => {
    if (isRelay(e) && !sessions.some((s) => s.conversation === e.conversation && inSession(s, i))) {
      relayProblems.push(`${e.conversation}: ${JSON.stringify(e.text)} reached the user outside a session`);
    }
  });
  checks.push({
    name: 'agent messages delivered once, in order',
    ok: relayProblems.length === 0,
    detail: relayProblems.length ? relayProblems.join('; ') : `${relayed} agent message(s) each delivered once, in order`,
  });

  // 3. Every session ends exactly once.
  const endProblems = sessions.flatMap((s) =>
    s.ends.length === 1 ? [] : [`${s.conversation}: ${s.ends.length === 0 ? 'never ended' : `ended ${s.ends.length} times (${s.ends.map((x) => x.how).join(', ')})`}`],
  );
  checks.push({
    name: 'one end per session',
    ok: endProblems.length === 0,
    detail: endProblems.length
      ? endProblems.join('; ')
      : sessions.map((s) => `${s.conversation}: ${s.ends[0]?.how}`).join(', ') || 'no sessions',
  });

  // 4. Expiry comes exactly at the timeout after the last message either way: never earlier, never later.
  const expiryProblems: string[] = [];
  const expiries: string[] = [];
  for (const s of sessions) {
    const end = s.ends[0];
    if (!end || end.how !== 'expired') continue;
    let last = entries[s.startIndex]!.at;
    entries.forEach((e, i) => {
      if (e.conversation !== s.conversation || i <= s.startIndex || i >= end.index) return;
      if ((isUserIn(e) && (e.kind === 'message' || e.kind === 'payload')) || isRelay(e)) last = e.at;
    });
    const silence = entries[end.index]!.at - last;
    expiries.push(`${s.conversation} after ${Math.round(silence / 1000)}s of silence`);
    if (silence < timeoutMs) expiryProblems.push(`${s.conversation}: expired after ${silence} ms, before the ${timeoutMs} ms timeout`);
    if (silence > timeoutMs) expiryProblems.push(`${s.conversation}: stayed open ${silence - timeoutMs} ms past the timeout`);
  }
  checks.push({
    name: 'expiry exactly at the timeout',
    ok: expiryProblems.length === 0,
    detail: expiryProblems.length ? expiryProblems.join('; ') : expiries.join(', ') || 'no session expired',
  });

  // 5. Outside a session, the bot hears every user message.
  const unheard: string[] = [];
  entries.forEach((e, i) => {
    if (!isUserIn(e) || e.kind !== 'message') return;
    if (sessions.some((s) => s.conversation === e.conversation && (inSession(s, i) || s.startIndex === i))) return;
    const heard = entries.slice(i + 1).some((b) => isToBot(b) && b.conversation === e.conversation && b.text === e.text);
    if (!heard) unheard.push(`${e.conversation}: ${JSON.stringify(e.text)}`);
  });
  checks.push({
    name: 'bot hears the user outside livechat',
    ok: unheard.length === 0,
    detail: unheard.length ? `never reached the bot: ${unheard.join('; ')}` : 'every message outside a session reached the bot',
  });
  return checks;
}
