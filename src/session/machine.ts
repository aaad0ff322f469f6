// The lifecycle of one conversation, as a pure function: (state, input, now) -> (state, decisions).
// No I/O, no clock: the manager feeds `now` and carries the decisions out. See
// ../shared/reference/lifecycle.md for the rules this encodes.
import {
  DEFAULT_SIGNOFF_TEXT,
  END_BUTTON_TITLE,
  hasSignoffToken,
  SESSION_END,
  SESSION_EXPIRED,
  SESSION_FAILED,
  SESSION_START,
  withoutSignoffToken,
} from '../protocol.js';
import {
  INTERNAL_NOTE_CHANNEL,
  type AgentWebhook,
  type BotInput,
  type EndReason,
  type HelpdeskMessage,
  type Turn,
  type UserMeta,
  type UserOutput,
  type WebhookOutcome,
} from './types.js';

export { SESSION_FAILED };
/** What the user reads when Gorgias cannot be reached for the hand-off or a message. */
export const FAILED_TEXT = 'Sorry, we could not reach an agent right now. You are back with the assistant.';
export const DEFAULT_HISTORY_SIZE = 10;
/** Ids remembered per conversation for deduplication; old ones fall off first. */
export const DEFAULT_MAX_SEEN = 512;

/** Default wait after the last message either way before one timed catch-up of dropped webhooks. */
export const DEFAULT_CATCH_UP_MS = 60_000;
/** The back-off of timed catch-ups stops growing here, so a lost message in a long quiet spell waits at most this long. */
export const DEFAULT_CATCH_UP_MAX_MS = 5 * 60_000;

/** When the open ticket is listed to find agent messages whose webhook never came (issue 7). */
export interface CatchUpConfig {
  /**
   * Timed catch-ups during a quiet spell: this long after the last message either way, then after
   * twice that, four times... until the expiry check (a handful per spell, none once it ended).
   * `false`: none.
   */
  afterMs?: number | false;
  /** Cap of the back-off between timed catch-ups. Default `DEFAULT_CATCH_UP_MAX_MS`. */
  maxEveryMs?: number;
  /** After each user message posted during the session. Default true. */
  onUserMessage?: boolean;
  /**
   * ...unless a webhook of the session's ticket (an agent message, or our own message echoed back)
   * arrived less than this long before the user message: webhooks are coming, and the timed
   * catch-up still looks once the chat goes quiet. Default: `afterMs` (60 s); 0: always.
   */
  trustWebhooksMs?: number;
  /** Right before a session expires: a message found then is shown and the session goes on. Default true. */
  beforeExpiry?: boolean;
}

export interface MachineConfig {
  timeoutMs: number;
  historySize: number;
  maxSeen?: number;
  /** Catch-up of dropped webhooks; off when absent (the helpdesk cannot list messages). */
  catchUp?: CatchUpConfig;
  /** Hold agent webhooks this long and show them in message-id order; 0 or absent: on arrival. */
  reorderWindowMs?: number;
  /** The helpdesk can read one message back: webhooks marked `verify` are read before they are shown. */
  readMessages?: boolean;
}

/** An agent message accepted during the reorder window, not shown yet. */
export interface HeldMessage {
  id?: number;
  messageId?: string;
  text: string;
  /** When its webhook arrived (held ones only). */
  at?: number;
  /** A sign-off held until a catch-up shows whatever it must not overtake. */
  verify?: boolean;
  /** Held behind an older message that is being read back (it must not overtake it). */
  afterRead?: boolean;
}

export type CatchUpReason = 'activity' | 'timer' | 'expiry' | 'signoff' | 'manual' | 'restart';
export type TimerKind = 'expiry' | 'catchUp' | 'release';

export interface OpenSession {
  /** 1 for the conversation's first session, 2 for the next... Lets late helpdesk results find their session. */
  gen: number;
  /** Unknown until the helpdesk answers the open. */
  ticketId?: number;
  startedAt: number;
  lastActivity: number;
  /** Absolute time at which the session expires unless a message passes first. */
  deadline: number;
  /** Highest agent message id delivered. */
  lastAgentMessageId?: number;
  /**
   * Every agent message of the ticket with an id up to this one is accounted for (shown, or older
   * than the hand-off). Set from the hand-off message, then from each catch-up listing.
   */
  caughtUpTo?: number;
  delivered: number;
  /** User messages posted so far: the sequence number in each message's external_id. */
  posted?: number;
  /** Agent messages waiting for the reorder window to close. */
  held?: readonly HeldMessage[];
  /** The deadline passed and a last catch-up is looking for a message the webhooks missed. */
  checkingExpiry?: boolean;
  /** Wait before the next timed catch-up; doubles after each one of a quiet spell. */
  catchUpEvery?: number;
  /** Agent messages whose webhook could not be trusted alone, being read back from the helpdesk. */
  reading?: readonly number[];
  /** When a webhook of this session's ticket last arrived (agent message or echo). */
  heardAt?: number;
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
  | { kind: 'post'; gen: number; user: UserMeta; text: string; externalId: string }
  | { kind: 'end'; gen: number; reason: EndReason }
  | { kind: 'catchUp'; gen: number; reason: CatchUpReason }
  | { kind: 'read'; gen: number; messageId: number; ticketId?: number };

export type ReportKind =
  'echo' | 'duplicate' | 'unknown' | 'closed' | 'late' | 'noop' | 'muted' | 'error' | 'dropped' | 'reordered' | 'note' | 'pending';

export type Decision =
  | { type: 'helpdesk'; op: HelpdeskOp }
  | { type: 'toUser'; out: UserOutput }
  | { type: 'toBot'; input: BotInput }
  /** `timer` absent: the expiry timer. */
  | { type: 'armTimer'; at: number; timer?: Exclude<TimerKind, 'expiry'> }
  /** Every timer of the conversation. */
  | { type: 'cancelTimer' }
  | { type: 'report'; kind: ReportKind; detail: string };

export type MachineInput =
  | { kind: 'userText'; text: string; user?: UserMeta }
  | { kind: 'userPayload'; payload: string; user?: UserMeta }
  | { kind: 'botText'; text: string }
  | { kind: 'agentWebhook'; event: AgentWebhook }
  | { kind: 'expire' }
  | { kind: 'ticketOpened'; gen: number; ticketId: number; messageId?: number }
  | { kind: 'helpdeskFailed'; gen: number; op: HelpdeskOp['kind']; error: string }
  /** `upTo`: every message of the ticket up to this id is in `messages` or below the last catch-up (a sweep of the account). */
  | { kind: 'agentBacklog'; gen: number; messages: HelpdeskMessage[]; reason?: CatchUpReason; upTo?: number }
  | { kind: 'catchUpFailed'; gen: number; reason: CatchUpReason; error: string }
  /** A message read back for a webhook marked `verify`: undefined when Gorgias has no such message. */
  | { kind: 'messageRead'; gen: number; messageId: number; message?: HelpdeskMessage; error?: string }
  /** The catch-up timer fired. */
  | { kind: 'catchUpDue' }
  /** Look for missed agent messages now (asked by the operator, or after a restart). */
  | { kind: 'catchUpRequested'; reason: CatchUpReason }
  /** The reorder window closed. */
  | { kind: 'release' };

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

/** The agent's text as the user sees it: the sign-off token (a whole word) becomes a button. */
export function agentMessageToUser(text: string): UserOutput {
  if (!hasSignoffToken(text)) return { text };
  const cleaned = withoutSignoffToken(text);
  return { text: cleaned || DEFAULT_SIGNOFF_TEXT, buttons: [{ title: END_BUTTON_TITLE, payload: SESSION_END }] };
}

/** The first line of the hand-off ticket; the recent turns follow it as context. */
export function handoffText(user: UserMeta): string {
  const who = typeof user.name === 'string' && user.name.trim() ? user.name.trim() : 'The user';
  return `${who} asked to talk to an agent.`;
}

/** The ticket of session `gen`, open or ended last. */
export function ticketOf(state: ConversationState | undefined, gen: number): number | undefined {
  if (state?.session?.gen === gen) return state.session.ticketId;
  if (state?.last?.gen === gen) return state.last.ticketId;
  return undefined;
}

/** Whether session `gen` is the one open now. */
export function isOpen(state: ConversationState | undefined, gen: number): boolean {
  return state?.mode === 'LIVECHAT' && state.session?.gen === gen;
}

/** Inputs from outside (the user, the bot, Gorgias): a passed deadline is applied before them. */
const EXTERNAL: ReadonlySet<MachineInput['kind']> = new Set(['userText', 'userPayload', 'botText', 'agentWebhook']);

export function step(state: ConversationState | undefined, input: MachineInput, now: number, config: MachineConfig): StepResult {
  if (!state) {
    if (input.kind === 'agentWebhook') {
      if (!input.event.fromAgent) return { state, decisions: [report('echo', input.event)], outcome: 'echo' };
      return { state, decisions: [report('unknown', input.event)], outcome: 'unknown' };
    }
    return { state, decisions: [{ type: 'report', kind: 'unknown', detail: `${input.kind} for a conversation with no state` }] };
  }
  // A deadline that has passed wins over whatever arrives from outside at the same instant or
  // later, so a slow timer gives the same result as a punctual one. (Held agent messages arrived
  // before the deadline: they are shown instead, and count as activity.)
  const decisions: Decision[] = [];
  let s = state;
  if (s.mode === 'LIVECHAT' && s.session && now >= s.session.deadline && EXTERNAL.has(input.kind)) {
    s = s.session.held?.length ? flush(s, now, config, decisions) : expire(s, now, decisions);
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
      return { state: onDeadline(s, now, config, out) };
    case 'ticketOpened': {
      if (s.session?.gen === input.gen) {
        // Agent messages up to the hand-off belong to an earlier session of a reused ticket.
        const caughtUpTo = s.session.caughtUpTo ?? input.messageId;
        return { state: { ...s, session: { ...s.session, ticketId: input.ticketId, caughtUpTo } } };
      }
      if (s.last?.gen === input.gen) {
        return {
          state: { ...s, last: { ...s.last, ticketId: input.ticketId }, pastTickets: bounded([...s.pastTickets, input.ticketId], 32) },
        };
      }
      return { state: s };
    }
    case 'helpdeskFailed': {
      out.push({ type: 'report', kind: 'error', detail: `helpdesk ${input.op} failed: ${input.error}` });
      if ((input.op === 'open' || input.op === 'post') && isOpen(s, input.gen)) return { state: fail(s, now, config, out) };
      return { state: s };
    }
    case 'catchUpDue': {
      const session = s.session;
      if (s.mode !== 'LIVECHAT' || !session || session.checkingExpiry || !config.catchUp) return { state: s };
      if (session.ticketId !== undefined) out.push({ type: 'helpdesk', op: { kind: 'catchUp', gen: session.gen, reason: 'timer' } });
      // Back off: bounded calls on a silent session, and the expiry check is the last one.
      const every = Math.min(config.catchUp.maxEveryMs ?? DEFAULT_CATCH_UP_MAX_MS, 2 * (session.catchUpEvery ?? DEFAULT_CATCH_UP_MS));
      if (now + every < session.deadline) out.push({ type: 'armTimer', at: now + every, timer: 'catchUp' });
      return { state: { ...s, session: { ...session, catchUpEvery: every } } };
    }
    case 'catchUpRequested': {
      const session = s.session;
      if (s.mode === 'LIVECHAT' && session?.ticketId !== undefined && config.catchUp) {
        out.push({ type: 'helpdesk', op: { kind: 'catchUp', gen: session.gen, reason: input.reason } });
      }
      return { state: s };
    }
    case 'release':
      return { state: s.mode === 'LIVECHAT' && s.session?.held?.length ? release(s, now, config, out) : s };
    case 'agentBacklog':
      return { state: onBacklog(s, input.gen, input.messages, input.reason, now, config, out, input.upTo) };
    case 'messageRead':
      return { state: onMessageRead(s, input, now, config, out) };
    case 'catchUpFailed': {
      out.push({ type: 'report', kind: 'error', detail: `catch-up (${input.reason}) failed: ${input.error}` });
      if (!isOpen(s, input.gen)) return { state: s };
      // Could not look: a sign-off waits no longer.
      if (s.session!.held?.some((m) => m.verify)) s = flush(s, now, config, out);
      if (input.reason !== 'expiry' || !s.session!.checkingExpiry) return { state: s };
      return { state: afterExpiryCheck(s, now, out) };
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
    return end(s, now, config, out);
  }
  if (s.mode === 'LIVECHAT' && s.session) return postFromUser(s, payload, now, config, out);
  out.push({ type: 'toBot', input: { kind: 'payload', payload } });
  return s;
}

/** A message passed either way: the expiry (and the timed catch-up) start again from now. */
function active(session: OpenSession, now: number, config: MachineConfig, out: Decision[]): OpenSession {
  const deadline = now + config.timeoutMs;
  out.push({ type: 'armTimer', at: deadline });
  const after = config.catchUp?.afterMs ?? DEFAULT_CATCH_UP_MS;
  if (config.catchUp && after !== false && after > 0 && now + after < deadline) out.push({ type: 'armTimer', at: now + after, timer: 'catchUp' });
  return { ...session, lastActivity: now, deadline, checkingExpiry: false, catchUpEvery: after === false ? undefined : after };
}

function start(s: ConversationState, now: number, config: MachineConfig, out: Decision[]): ConversationState {
  const gen = s.sessions + 1;
  out.push({
    type: 'helpdesk',
    op: { kind: 'open', gen, user: s.user, text: handoffText(s.user), history: [...s.history] },
  });
  const session = active({ gen, startedAt: now, lastActivity: now, deadline: now, delivered: 0, posted: 0, held: [] }, now, config, out);
  return { ...s, mode: 'LIVECHAT', sessions: gen, history: [], session };
}

/** The message's external_id on Gorgias: lets a retry find a message that was stored after all. */
export function userMessageExternalId(conversationId: string, gen: number, seq: number): string {
  return `${conversationId}:${gen}:${seq}`;
}

/** The external_id of the bridge's note to the agent when session `gen` ends: posted once, found again on a retry. */
export function noteExternalIdFor(conversationId: string, gen: number, reason: EndReason): string {
  return `${conversationId}:${gen}:${reason}`;
}

function postFromUser(s: ConversationState, text: string, now: number, config: MachineConfig, out: Decision[]): ConversationState {
  const session = s.session!;
  const seq = (session.posted ?? 0) + 1;
  out.push({
    type: 'helpdesk',
    op: { kind: 'post', gen: session.gen, user: s.user, text, externalId: userMessageExternalId(s.conversationId, session.gen, seq) },
  });
  // Next user activity: look for agent messages whose webhook was lost, unless webhooks came just now.
  const afterMs = config.catchUp?.afterMs;
  const trustMs = config.catchUp?.trustWebhooksMs ?? (afterMs === false ? 0 : (afterMs ?? DEFAULT_CATCH_UP_MS));
  const heard = session.heardAt !== undefined && now - session.heardAt < trustMs;
  if (config.catchUp && config.catchUp.onUserMessage !== false && !heard) {
    out.push({ type: 'helpdesk', op: { kind: 'catchUp', gen: session.gen, reason: 'activity' } });
  }
  return { ...s, session: active({ ...session, posted: seq }, now, config, out) };
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

function end(s: ConversationState, now: number, config: MachineConfig, out: Decision[]): ConversationState {
  // Agent messages accepted before the END are shown first: they were sent during the session.
  if (s.session!.held?.length) s = flush(s, now, config, out, false);
  const gen = s.session!.gen;
  out.push({ type: 'cancelTimer' });
  out.push({ type: 'helpdesk', op: { kind: 'end', gen, reason: 'ended' } });
  // The bot gets the END payload once the conversation is its own again, so its flow can carry on.
  out.push({ type: 'toBot', input: { kind: 'payload', payload: SESSION_END } });
  return close(s, 'ended', now);
}

/** The expiry timer fired. */
function onDeadline(s: ConversationState, now: number, config: MachineConfig, out: Decision[]): ConversationState {
  const session = s.session;
  if (s.mode !== 'LIVECHAT' || !session) return s; // a stale timer: nothing to do
  if (now < session.deadline) {
    out.push({ type: 'armTimer', at: session.deadline });
    return s;
  }
  if (session.checkingExpiry) return s;
  if (session.held?.length) return flush(s, now, config, out);
  // One last look for a message the webhooks missed, so a lost webhook is not taken for silence.
  if (config.catchUp && config.catchUp.beforeExpiry !== false && session.ticketId !== undefined) {
    out.push({ type: 'helpdesk', op: { kind: 'catchUp', gen: session.gen, reason: 'expiry' } });
    return { ...s, session: { ...session, checkingExpiry: true } };
  }
  return expire(s, now, out);
}

/** The last catch-up found nothing (or could not look): the silence stands. */
function afterExpiryCheck(s: ConversationState, now: number, out: Decision[]): ConversationState {
  const session = s.session!;
  if (now >= session.deadline) return expire(s, now, out);
  out.push({ type: 'armTimer', at: session.deadline });
  return { ...s, session: { ...session, checkingExpiry: false } };
}

function expire(s: ConversationState, now: number, out: Decision[]): ConversationState {
  const gen = s.session!.gen;
  out.push({ type: 'cancelTimer' });
  out.push({ type: 'helpdesk', op: { kind: 'end', gen, reason: 'expired' } });
  out.push({ type: 'toBot', input: { kind: 'event', event: SESSION_EXPIRED } });
  return close(s, 'expired', now);
}

/** Gorgias stayed unreachable: say so plainly and give the conversation back, rather than leave it half-open. */
function fail(s: ConversationState, now: number, config: MachineConfig, out: Decision[]): ConversationState {
  if (s.session!.held?.length) s = flush(s, now, config, out, false);
  const session = s.session!;
  out.push({ type: 'cancelTimer' });
  out.push({ type: 'toUser', out: { text: FAILED_TEXT, notice: true } });
  out.push({ type: 'toBot', input: { kind: 'event', event: SESSION_FAILED } });
  // Best effort: a note and the ticket closed once Gorgias answers again (queued after the failed call).
  if (session.ticketId !== undefined) out.push({ type: 'helpdesk', op: { kind: 'end', gen: session.gen, reason: 'failed' } });
  return close(s, 'failed', now);
}

function onWebhook(
  s: ConversationState,
  ev: AgentWebhook,
  now: number,
  config: MachineConfig,
  out: Decision[],
): { state: ConversationState; outcome: WebhookOutcome } {
  s = heardFrom(s, ev, now);
  const verdict = (outcome: Exclude<WebhookOutcome, 'delivered'>, state = s) => {
    out.push(report(outcome, ev));
    return { state, outcome };
  };
  if (!ev.fromAgent) return verdict('echo');
  // An internal note is for agents only, whatever state the conversation is in.
  if (ev.channel === INTERNAL_NOTE_CHANNEL) return verdict('note', markSeen(s, ev, config));
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
    // A message a catch-up already showed is in seenMessages: its webhook is a duplicate above.
    const id = numericId(ev.messageId);
    if (ev.verify && config.readMessages && id !== undefined) {
      if (session.reading?.includes(id)) return verdict('duplicate');
      // The message id stays unseen until it is read, so a catch-up can still show it if the read fails.
      const marked = markSeen(s, { eventId: ev.eventId }, config);
      out.push({ type: 'helpdesk', op: { kind: 'read', gen: session.gen, messageId: id, ticketId: t ?? session.ticketId } });
      return verdict('pending', { ...marked, session: { ...session, reading: [...(session.reading ?? []), id] } });
    }
    return { state: accept(seen, { id, messageId: ev.messageId, text: ev.text }, now, config, out), outcome: 'delivered' };
  }
  if (!s.last) return verdict('unknown');
  if (ev.ticketId !== undefined && s.last.ticketId !== undefined && !s.pastTickets.includes(ev.ticketId)) return verdict('unknown');
  return verdict(s.last.endedBy === 'expired' && (ev.ticketId === undefined || ev.ticketId === s.last.ticketId) ? 'late' : 'closed', seen);
}

/** A webhook of the open session's ticket arrived (any kind, our own echo too): webhooks are coming. */
function heardFrom(s: ConversationState, ev: AgentWebhook, now: number): ConversationState {
  const session = s.session;
  if (s.mode !== 'LIVECHAT' || !session) return s;
  if (ev.ticketId !== undefined && (session.ticketId === undefined ? s.pastTickets.includes(ev.ticketId) : ev.ticketId !== session.ticketId))
    return s;
  return { ...s, session: { ...session, heardAt: now } };
}

/** An agent message for the open session, known to be for the user: shown now, or held (reorder window, sign-off). */
function accept(s: ConversationState, m: HeldMessage, now: number, config: MachineConfig, out: Decision[]): ConversationState {
  const session = s.session!;
  // An older message still being read back goes first: this one waits for it.
  if (blockedByRead(session, m)) return { ...s, session: { ...session, held: [...(session.held ?? []), { ...m, afterRead: true }] } };
  // The sign-off is the agent's last word and the user leaves on its button: a catch-up first
  // shows any message whose webhook was lost, so none is left behind or shown after it.
  if (config.catchUp && session.ticketId !== undefined && hasSignoffToken(m.text)) {
    out.push({ type: 'helpdesk', op: { kind: 'catchUp', gen: session.gen, reason: 'signoff' } });
    return { ...s, session: { ...session, held: [...(session.held ?? []), { ...m, at: now, verify: true }] } };
  }
  const window = config.reorderWindowMs ?? 0;
  if (window > 0) {
    const held = [...(session.held ?? []), { ...m, at: now }];
    out.push({ type: 'armTimer', at: held[0].at! + window, timer: 'release' });
    return { ...s, session: { ...session, held } };
  }
  return show(s, [m], now, config, out);
}

function blockedByRead(session: OpenSession, m: HeldMessage): boolean {
  return (session.reading ?? []).some((id) => m.id === undefined || id < m.id);
}

/** Messages held behind reads that are done now, through `accept` in id order. */
function releaseAfterRead(s: ConversationState, now: number, config: MachineConfig, out: Decision[]): ConversationState {
  const session = s.session!;
  const held = session.held ?? [];
  const free = held.filter((m) => m.afterRead && !blockedByRead(session, m)).sort((a, b) => (a.id ?? Infinity) - (b.id ?? Infinity));
  if (!free.length) return s;
  let cur: ConversationState = { ...s, session: { ...session, held: held.filter((m) => !free.includes(m)) } };
  for (const m of free) cur = accept(cur, { id: m.id, messageId: m.messageId, text: m.text }, now, config, out);
  return cur;
}

/** The message behind a webhook marked `verify`, as Gorgias stores it. */
function onMessageRead(
  s: ConversationState,
  input: Extract<MachineInput, { kind: 'messageRead' }>,
  now: number,
  config: MachineConfig,
  out: Decision[],
): ConversationState {
  const key = String(input.messageId);
  const note = (kind: ReportKind, why: string): void => void out.push({ type: 'report', kind, detail: `message ${key} read back: ${why}` });
  if (!isOpen(s, input.gen)) {
    note('closed', 'the session is closed: not shown');
    return s;
  }
  const session = s.session!;
  let cur: ConversationState = { ...s, session: { ...session, reading: (session.reading ?? []).filter((id) => id !== input.messageId) } };
  const m = input.message;
  if (cur.seenMessages.includes(key)) {
    // a catch-up showed it meanwhile
  } else if (input.error !== undefined) {
    note('error', `could not be read (${input.error}); a catch-up shows it later if it is for the user`);
  } else if (!m) {
    note('unknown', 'Gorgias has no such message: not shown');
  } else {
    cur = markSeen(cur, { messageId: key }, config);
    if (m.channel === INTERNAL_NOTE_CHANNEL) note('note', 'an internal note: never shown to the user');
    else if (!m.fromAgent) note('echo', "the customer's own message: ignored");
    else cur = accept(cur, { id: m.id, messageId: key, text: m.text }, now, config, out);
  }
  return releaseAfterRead(cur, now, config, out);
}

/** What a catch-up listing found: the agent messages not shown yet, with the held ones, in id order. */
function onBacklog(
  s: ConversationState,
  gen: number,
  messages: HelpdeskMessage[],
  reason: CatchUpReason | undefined,
  now: number,
  config: MachineConfig,
  out: Decision[],
  upTo?: number,
): ConversationState {
  if (!isOpen(s, gen)) return s;
  const session = s.session!;
  const floor = session.caughtUpTo;
  // [guess] Gorgias message ids grow with time, so "after the hand-off / the last listing" is "id above".
  const missing = messages
    .filter((m) => m.fromAgent && m.channel !== INTERNAL_NOTE_CHANNEL && !s.seenMessages.includes(String(m.id)))
    .filter((m) => (floor === undefined ? m.createdAt >= session.startedAt : m.id > floor));
  let cur = s;
  for (const m of missing) cur = markSeen(cur, { messageId: String(m.id) }, config);
  // The listing is the whole ticket after `floor`: everything up to its newest id is now accounted for.
  const newest = messages.reduce((max, m) => Math.max(max, m.id), Math.max(floor ?? Number.NEGATIVE_INFINITY, upTo ?? Number.NEGATIVE_INFINITY));
  const caughtUpTo = Number.isFinite(newest) ? newest : floor;
  cur = { ...cur, session: { ...cur.session!, caughtUpTo } };
  const found = missing.map((m) => ({ id: m.id, messageId: String(m.id), text: m.text }));
  if (found.length || cur.session!.held?.length) return flush(cur, now, config, out, true, found);
  if (reason === 'expiry' && session.checkingExpiry) return afterExpiryCheck(cur, now, out);
  return cur;
}

/**
 * The reorder window of the oldest held message closed: show it, and every held message with a
 * lower id, in id order. Each message waits the window from its own arrival, so a message whose
 * webhook is less than a window late always overtakes the newer ones.
 */
function release(s: ConversationState, now: number, config: MachineConfig, out: Decision[]): ConversationState {
  const window = config.reorderWindowMs ?? 0;
  const held = s.session!.held ?? [];
  // A sign-off waiting for its catch-up, and what came after it, wait for that answer.
  const barrier = Math.min(...held.filter((m) => m.verify).map((m) => m.id ?? -Infinity));
  const due = held.filter((m) => !m.verify && !m.afterRead && (m.at ?? now) + window <= now && !((m.id ?? Infinity) > barrier));
  const timed = held.filter((m) => !m.verify && !m.afterRead);
  if (!due.length) {
    if (timed.length) out.push({ type: 'armTimer', at: timed[0].at! + window, timer: 'release' });
    return s;
  }
  const upTo = Math.max(...due.map((m) => m.id ?? Infinity));
  const go = held.filter((m) => !m.verify && !m.afterRead && ((m.id ?? Infinity) <= upTo || due.includes(m)));
  const stay = held.filter((m) => !go.includes(m));
  const batch = [...go].sort((a, b) => (a.id ?? Infinity) - (b.id ?? Infinity));
  const next = show({ ...s, session: { ...s.session!, held: stay } }, batch, now, config, out);
  const later = stay.filter((m) => !m.verify && !m.afterRead && (m.at ?? now) + window > now);
  if (later.length) out.push({ type: 'armTimer', at: later[0].at! + window, timer: 'release' });
  return next;
}

/** Show the held messages (and `extra` found by a catch-up), in message-id order. */
function flush(
  s: ConversationState,
  now: number,
  config: MachineConfig,
  out: Decision[],
  rearm = true,
  extra: HeldMessage[] = [],
): ConversationState {
  const batch = [...(s.session!.held ?? []), ...extra].sort((a, b) => (a.id ?? Infinity) - (b.id ?? Infinity));
  return show({ ...s, session: { ...s.session!, held: [] } }, batch, now, config, out, rearm);
}

function show(s: ConversationState, batch: HeldMessage[], now: number, config: MachineConfig, out: Decision[], rearm = true): ConversationState {
  let session = s.session!;
  for (const m of batch) {
    if (m.id !== undefined && session.lastAgentMessageId !== undefined && m.id < session.lastAgentMessageId) {
      out.push({
        type: 'report',
        kind: 'reordered',
        detail: `message ${m.id} shown after the newer message ${session.lastAgentMessageId} (its webhook came late or was lost)`,
      });
    }
    out.push({ type: 'toUser', out: agentMessageToUser(m.text) });
    session = {
      ...session,
      delivered: session.delivered + 1,
      lastAgentMessageId: m.id === undefined ? session.lastAgentMessageId : Math.max(m.id, session.lastAgentMessageId ?? m.id),
    };
  }
  if (batch.length && rearm) session = active(session, now, config, out);
  return { ...s, session };
}

function numericId(messageId: string | undefined): number | undefined {
  return messageId !== undefined && /^\d+$/.test(messageId) ? Number(messageId) : undefined;
}

/**
 * The message id, when there is one, dedupes its webhook as well as the event id would (a webhook
 * is one event of one message): the event id is kept only without it, which halves what every
 * commit writes. (A webhook being read back passes its event id alone: its message id waits.)
 */
function markSeen(s: ConversationState, ev: Pick<AgentWebhook, 'eventId' | 'messageId'>, config: MachineConfig): ConversationState {
  const max = config.maxSeen ?? DEFAULT_MAX_SEEN;
  const eventId = ev.messageId ? undefined : ev.eventId;
  return {
    ...s,
    seenEvents: eventId && !s.seenEvents.includes(eventId) ? bounded([...s.seenEvents, eventId], max) : s.seenEvents,
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
    note: 'an internal note: never shown to the user',
    pending: 'read back from Gorgias before it is shown',
  };
  return { type: 'report', kind, detail: `${id} for ${where}: ${why[kind]}` };
}
