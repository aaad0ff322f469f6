// The lifecycle of one conversation, as a pure function: (state, input, now) -> (state, decisions).
// No I/O, no clock: the manager feeds `now` and carries the decisions out. See
// ../shared/reference/lifecycle.md for the rules this encodes.
import { END_BUTTON_TITLE, SESSION_END, SESSION_EXPIRED, SESSION_FAILED, SESSION_START } from './payloads.js';
import type { AgentWebhook, BotInput, EndReason, HelpdeskMessage, Turn, UserMeta, UserOutput, WebhookOutcome } from './types.js';

export { SESSION_FAILED };
/** What the user reads when Gorgias cannot be reached for the hand-off or a message. */
export const FAILED_TEXT = 'Sorry, we could not reach an agent right now. You are back with the assistant.';
export const DEFAULT_HISTORY_SIZE = 10;
/** Ids remembered per conversation for deduplication; old ones fall off first. */
export const DEFAULT_MAX_SEEN = 512;

export interface MachineConfig {
  timeoutMs: number;
  historySize: number;
  maxSeen?: number;
}

export interface OpenSession {
  /** 1 for the conversation's first session, 2 for the next... Lets late helpdesk results find their session. */
  gen: number;
  /** Unknown until the helpdesk answers the open. */
  ticketId?: number;
  startedAt: number;
  lastActivity: number;
  /** Absolute time at which the session expires unless a message passes first. */
  deadline: number;
  /** Highest agent message id delivered, for catch-up. */
  lastAgentMessageId?: number;
  delivered: number;
}

export type EndedBy = EndReason | 'failed';

export interface ClosedSession {
  gen: number;
  ticketId?: number;
  endedBy: EndedBy;
  endedAt: number;
}

export interface ConversationState {
  conversationId: string;
  mode: 'BOT' | 'LIVECHAT';
  /** Set exactly when mode is LIVECHAT. */
  session?: OpenSession;
  /** The session that ended last, to tell late webhooks from unknown ones. */
  last?: ClosedSession;
  /** Tickets of earlier sessions (bounded). */
  pastTickets: readonly number[];
  /** Last bot/user turns while in BOT state, for the hand-off. */
  history: readonly Turn[];
  seenEvents: readonly string[];
  seenMessages: readonly string[];
  sessions: number;
  user: UserMeta;
}

export type HelpdeskOp =
  | { kind: 'open'; gen: number; user: UserMeta; text: string; history: Turn[] }
  | { kind: 'post'; gen: number; user: UserMeta; text: string }
  | { kind: 'end'; gen: number; reason: EndReason }
  | { kind: 'catchUp'; gen: number };

export type ReportKind =
  | 'echo'
  | 'duplicate'
  | 'unknown'
  | 'closed'
  | 'late'
  | 'noop'
  | 'muted'
  | 'error'
  | 'dropped';

export type Decision =
  | { type: 'helpdesk'; op: HelpdeskOp }
  | { type: 'toUser'; out: UserOutput }
  | { type: 'toBot'; input: BotInput }
  | { type: 'armTimer'; at: number }
  | { type: 'cancelTimer' }
  | { type: 'report'; kind: ReportKind; detail: string };

export type MachineInput =
  | { kind: 'userText'; text: string; user?: UserMeta }
  | { kind: 'userPayload'; payload: string; user?: UserMeta }
  | { kind: 'botText'; text: string }
  | { kind: 'agentWebhook'; event: AgentWebhook }
  | { kind: 'expire' }
  | { kind: 'ticketOpened'; gen: number; ticketId: number }
  | { kind: 'helpdeskFailed'; gen: number; op: HelpdeskOp['kind']; error: string }
  | { kind: 'agentBacklog'; gen: number; messages: HelpdeskMessage[] };

export interface StepResult {
  state: ConversationState | undefined;
  decisions: Decision[];
  /** Set for agentWebhook inputs. */
  outcome?: WebhookOutcome;
}

export function initialState(conversationId: string): ConversationState {
  return {
    conversationId,
    mode: 'BOT',
    pastTickets: [],
    history: [],
    seenEvents: [],
    seenMessages: [],
    sessions: 0,
    user: {},
  };
}

/** The agent's text as the user sees it: the sign-off token becomes a button. */
export function agentMessageToUser(text: string): UserOutput {
  if (!text.includes(SESSION_END)) return { text };
  const cleaned = text
    .split(SESSION_END)
    .join(' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/ ?\n ?/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { text: cleaned, buttons: [{ title: END_BUTTON_TITLE, payload: SESSION_END }] };
}

/** The first line of the hand-off ticket; the recent turns follow it as context. */
export function handoffText(user: UserMeta): string {
  const who = typeof user.name === 'string' && user.name.trim() ? user.name.trim() : 'The user';
  return `${who} asked to talk to an agent.`;
}

/** Which ticket belongs to session `gen`, open or just ended. */
export function ticketFor(state: ConversationState | undefined, gen: number): number | undefined {
  if (state?.session?.gen === gen) return state.session.ticketId;
  if (state?.last?.gen === gen) return state.last.ticketId;
  return undefined;
}

/** Whether session `gen` is the one open now. */
export function isOpen(state: ConversationState | undefined, gen: number): boolean {
  return state?.mode === 'LIVECHAT' && state.session?.gen === gen;
}

export function step(state: ConversationState | undefined, input: MachineInput, now: number, config: MachineConfig): StepResult {
  if (!state) {
    if (input.kind === 'agentWebhook') {
      if (!input.event.fromAgent) return { state, decisions: [report('echo', input.event)], outcome: 'echo' };
      return { state, decisions: [report('unknown', input.event)], outcome: 'unknown' };
    }
    return { state, decisions: [{ type: 'report', kind: 'unknown', detail: `${input.kind} for a conversation with no state` }] };
  }
  // A deadline that has passed wins over whatever arrives at the same instant or later,
  // so a slow timer gives the same result as a punctual one.
  const decisions: Decision[] = [];
  let s = state;
  if (s.mode === 'LIVECHAT' && s.session && now >= s.session.deadline && input.kind !== 'expire') {
    s = expire(s, now, decisions);
  }
  const result = apply(s, input, now, config, decisions);
  return { state: result.state, decisions, outcome: result.outcome };
}

function apply(
  s: ConversationState,
  input: MachineInput,
  now: number,
  config: MachineConfig,
  out: Decision[],
): { state: ConversationState; outcome?: WebhookOutcome } {
  switch (input.kind) {
    case 'userText': {
      s = withUser(s, input.user);
      const token = input.text.trim();
      // A typed token counts as the button.
      if (token === SESSION_START || token === SESSION_END) return { state: onPayload(s, token, now, config, out) };
      if (s.mode === 'LIVECHAT' && s.session) return { state: postFromUser(s, input.text, now, config, out) };
      out.push({ type: 'toBot', input: { kind: 'message', text: input.text } });
      return { state: remember(s, { from: 'user', text: input.text }, config) };
    }
    case 'userPayload':
      return { state: onPayload(withUser(s, input.user), input.payload, now, config, out) };
    case 'botText':
      if (s.mode === 'LIVECHAT') {
        out.push({ type: 'report', kind: 'muted', detail: 'the bot spoke during a livechat session; not recorded' });
        return { state: s };
      }
      return { state: remember(s, { from: 'bot', text: input.text }, config) };
    case 'agentWebhook':
      return onWebhook(s, input.event, now, config, out);
    case 'expire':
      if (s.mode !== 'LIVECHAT' || !s.session) return { state: s }; // a stale timer: nothing to do
      if (now < s.session.deadline) {
        out.push({ type: 'armTimer', at: s.session.deadline });
        return { state: s };
      }
      return { state: expire(s, now, out) };
    case 'ticketOpened': {
      if (s.session?.gen === input.gen) return { state: { ...s, session: { ...s.session, ticketId: input.ticketId } } };
      if (s.last?.gen === input.gen) {
        return {
          state: { ...s, last: { ...s.last, ticketId: input.ticketId }, pastTickets: bounded([...s.pastTickets, input.ticketId], 32) },
        };
      }
      return { state: s };
    }
    case 'helpdeskFailed': {
      out.push({ type: 'report', kind: 'error', detail: `helpdesk ${input.op} failed: ${input.error}` });
      if ((input.op === 'open' || input.op === 'post') && isOpen(s, input.gen)) return { state: fail(s, now, out) };
      return { state: s };
    }
    case 'agentBacklog': {
      if (!isOpen(s, input.gen)) return { state: s };
      const missing = input.messages.filter((m) => m.fromAgent).sort((a, b) => a.id - b.id);
      let cur = s;
      for (const m of missing) {
        if (cur.seenMessages.includes(String(m.id))) continue;
        if (cur.session?.lastAgentMessageId !== undefined && m.id <= cur.session.lastAgentMessageId) continue;
        cur = deliver(cur, { messageId: String(m.id), text: m.text }, now, config, out);
      }
      return { state: cur };
    }
  }
}

function onPayload(s: ConversationState, payload: string, now: number, config: MachineConfig, out: Decision[]): ConversationState {
  if (payload === SESSION_START) {
    if (s.mode === 'LIVECHAT') {
      out.push({ type: 'report', kind: 'noop', detail: `${SESSION_START} while a session is already open` });
      return s;
    }
    return start(s, now, config, out);
  }
  if (payload === SESSION_END) {
    if (s.mode !== 'LIVECHAT' || !s.session) {
      // An old "End chat" button pressed after the session ended: the session already ended once.
      out.push({ type: 'report', kind: 'noop', detail: `${SESSION_END} with no open session` });
      return s;
    }
    return end(s, now, out);
  }
  if (s.mode === 'LIVECHAT' && s.session) return postFromUser(s, payload, now, config, out);
  out.push({ type: 'toBot', input: { kind: 'payload', payload } });
  return s;
}

function start(s: ConversationState, now: number, config: MachineConfig, out: Decision[]): ConversationState {
  const gen = s.sessions + 1;
  const deadline = now + config.timeoutMs;
  out.push({
    type: 'helpdesk',
    op: { kind: 'open', gen, user: s.user, text: handoffText(s.user), history: [...s.history] },
  });
  out.push({ type: 'armTimer', at: deadline });
  return {
    ...s,
    mode: 'LIVECHAT',
    sessions: gen,
    history: [],
    session: { gen, startedAt: now, lastActivity: now, deadline, delivered: 0 },
  };
}

function postFromUser(s: ConversationState, text: string, now: number, config: MachineConfig, out: Decision[]): ConversationState {
  const session = s.session!;
  const deadline = now + config.timeoutMs;
  out.push({ type: 'helpdesk', op: { kind: 'post', gen: session.gen, user: s.user, text } });
  out.push({ type: 'armTimer', at: deadline });
  return { ...s, session: { ...session, lastActivity: now, deadline } };
}

function close(s: ConversationState, endedBy: EndedBy, now: number): ConversationState {
  const session = s.session!;
  return {
    ...s,
    mode: 'BOT',
    session: undefined,
    last: { gen: session.gen, ticketId: session.ticketId, endedBy, endedAt: now },
    pastTickets: session.ticketId === undefined ? s.pastTickets : bounded([...s.pastTickets, session.ticketId], 32),
  };
}

function end(s: ConversationState, now: number, out: Decision[]): ConversationState {
  const gen = s.session!.gen;
  out.push({ type: 'cancelTimer' });
  out.push({ type: 'helpdesk', op: { kind: 'end', gen, reason: 'ended' } });
  // The bot gets the END payload once the conversation is its own again, so its flow can carry on.
  out.push({ type: 'toBot', input: { kind: 'payload', payload: SESSION_END } });
  return close(s, 'ended', now);
}

function expire(s: ConversationState, now: number, out: Decision[]): ConversationState {
  const gen = s.session!.gen;
  out.push({ type: 'cancelTimer' });
  out.push({ type: 'helpdesk', op: { kind: 'end', gen, reason: 'expired' } });
  out.push({ type: 'toBot', input: { kind: 'event', event: SESSION_EXPIRED } });
  return close(s, 'expired', now);
}

/** Gorgias stayed unreachable: say so plainly and give the conversation back, rather than leave it half-open. */
function fail(s: ConversationState, now: number, out: Decision[]): ConversationState {
  out.push({ type: 'cancelTimer' });
  out.push({ type: 'toUser', out: { text: FAILED_TEXT } });
  out.push({ type: 'toBot', input: { kind: 'event', event: SESSION_FAILED } });
  return close(s, 'failed', now);
}

function onWebhook(
  s: ConversationState,
  ev: AgentWebhook,
  now: number,
  config: MachineConfig,
  out: Decision[],
): { state: ConversationState; outcome: WebhookOutcome } {
  const verdict = (outcome: Exclude<WebhookOutcome, 'delivered'>, state = s) => {
    out.push(report(outcome, ev));
    return { state, outcome };
  };
  if (!ev.fromAgent) return verdict('echo');
  if ((ev.eventId && s.seenEvents.includes(ev.eventId)) || (ev.messageId && s.seenMessages.includes(ev.messageId))) {
    return verdict('duplicate');
  }
  const seen = markSeen(s, ev, config);
  const session = s.session;
  if (s.mode === 'LIVECHAT' && session) {
    const t = ev.ticketId;
    if (t !== undefined && (session.ticketId !== undefined ? t !== session.ticketId : s.pastTickets.includes(t))) {
      return s.pastTickets.includes(t) ? verdict('closed', seen) : verdict('unknown');
    }
    return { state: deliver(s, ev, now, config, out), outcome: 'delivered' };
  }
  if (!s.last) return verdict('unknown');
  if (ev.ticketId !== undefined && s.last.ticketId !== undefined && !s.pastTickets.includes(ev.ticketId)) return verdict('unknown');
  return verdict(s.last.endedBy === 'expired' && (ev.ticketId === undefined || ev.ticketId === s.last.ticketId) ? 'late' : 'closed', seen);
}

function deliver(
  s: ConversationState,
  ev: Pick<AgentWebhook, 'eventId' | 'messageId' | 'text'>,
  now: number,
  config: MachineConfig,
  out: Decision[],
): ConversationState {
  const session = s.session!;
  const deadline = now + config.timeoutMs;
  const id = ev.messageId !== undefined && /^\d+$/.test(ev.messageId) ? Number(ev.messageId) : undefined;
  out.push({ type: 'toUser', out: agentMessageToUser(ev.text) });
  out.push({ type: 'armTimer', at: deadline });
  return {
    ...markSeen(s, ev, config),
    session: {
      ...session,
      lastActivity: now,
      deadline,
      delivered: session.delivered + 1,
      lastAgentMessageId: id === undefined ? session.lastAgentMessageId : Math.max(id, session.lastAgentMessageId ?? 0),
    },
  };
}

function markSeen(s: ConversationState, ev: Pick<AgentWebhook, 'eventId' | 'messageId'>, config: MachineConfig): ConversationState {
  const max = config.maxSeen ?? DEFAULT_MAX_SEEN;
  return {
    ...s,
    seenEvents: ev.eventId && !s.seenEvents.includes(ev.eventId) ? bounded([...s.seenEvents, ev.eventId], max) : s.seenEvents,
    seenMessages: ev.messageId && !s.seenMessages.includes(ev.messageId) ? bounded([...s.seenMessages, ev.messageId], max) : s.seenMessages,
  };
}

function remember(s: ConversationState, turn: Turn, config: MachineConfig): ConversationState {
  return { ...s, history: bounded([...s.history, turn], config.historySize) };
}

function withUser(s: ConversationState, user: UserMeta | undefined): ConversationState {
  if (!user || Object.keys(user).length === 0) return s;
  return { ...s, user: { ...s.user, ...user } };
}

function bounded<T>(items: T[], max: number): T[] {
  return items.length > max ? items.slice(items.length - max) : items;
}

function report(kind: Exclude<WebhookOutcome, 'delivered'>, ev: AgentWebhook): Decision {
  const id = ev.eventId ? `event ${ev.eventId}` : ev.messageId ? `message ${ev.messageId}` : 'webhook';
  const where = `${ev.conversationId ?? '?'}${ev.ticketId !== undefined ? ` / ticket ${ev.ticketId}` : ''}`;
  const why: Record<typeof kind, string> = {
    echo: 'from_agent=false (our own user message coming back): ignored',
    duplicate: 'already delivered: ignored',
    unknown: 'no session for this conversation: ignored',
    closed: 'the session is closed: not shown',
    late: 'arrived after the session expired: not shown',
  };
  return { type: 'report', kind, detail: `${id} for ${where}: ${why[kind]}` };
}
