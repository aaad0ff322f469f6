// Keeps the conversations, feeds the pure machine and carries out its decisions: sinks for the
// user and the bot, timers per conversation (expiry, timed catch-up, reorder window), and a FIFO
// queue of helpdesk calls per conversation so user messages reach Gorgias in order however slow
// each call is, with bounded retries that never post a message twice.
import { realClock, type Clock, type Timer } from '../clock.js';
import {
  DEFAULT_CATCH_UP_MS,
  DEFAULT_HISTORY_SIZE,
  initialState,
  isOpen,
  step,
  type CatchUpReason,
  type ConversationState,
  type Decision,
  type HelpdeskOp,
  type MachineConfig,
  type MachineInput,
  type StepResult,
  type TimerKind,
} from './machine.js';
import { noteExternalIdFor } from './machine.js';
import { DEFAULT_TIMEOUT_MS } from '../protocol.js';
import { DEFAULT_RETRY, isRetryableError, type RetryPolicy } from './retry.js';
import type { AgentWebhook, BotInput, EndReason, HelpdeskMessage, Turn, UserMeta, UserOutput, WebhookOutcome } from './types.js';

export type { AgentWebhook, BotInput, Turn, UserMeta, UserOutput, WebhookOutcome } from './types.js';
export { backoffPolicy, DEFAULT_RETRY, isRetryableError, NO_RETRY, type BackoffOptions, type RetryPolicy } from './retry.js';
export { DEFAULT_CATCH_UP_MS } from './machine.js';

/**
 * Gorgias, narrowed to what the engine needs. `retry` is true when an earlier try of the same
 * call may have taken effect (it timed out, or the process died while it was in flight): the call
 * must then look for what that try created before it creates anything, so nothing is made twice.
 */
export interface HelpdeskPort {
  /** Opens the conversation's ticket, or (on a retry) reuses the one an earlier try opened. */
  openTicket(input: {
    conversationId: string;
    user: UserMeta;
    text: string;
    history: Turn[];
    retry?: boolean;
  }): Promise<{ ticketId: number; messageId?: number }>;
  /** `externalId` is unique per user message and stored on it; on a retry the message is looked for by it first. */
  postUserMessage(input: {
    ticketId: number;
    conversationId: string;
    user: UserMeta;
    text: string;
    externalId: string;
    retry?: boolean;
  }): Promise<{ messageId: number; /** An earlier try had stored it after all. */ found?: boolean }>;
  /** Tell the agent (an internal note whose external_id is `noteExternalId`, posted once) and close the ticket. */
  endSession(input: { ticketId: number; conversationId: string; reason: EndReason; noteExternalId: string; retry?: boolean }): Promise<void>;
  /** Agent and user messages after `afterMessageId`, oldest first (catch-up of dropped webhooks). */
  listMessagesSince?(ticketId: number, afterMessageId: number | undefined): Promise<HelpdeskMessage[]>;
  /** One message as Gorgias stores it: its exact text and its channel (is it an internal note?). */
  getMessage?(ticketId: number, messageId: number): Promise<HelpdeskMessage | undefined>;
}

export type HelpdeskCall = 'openTicket' | 'postUserMessage' | 'endSession' | 'listMessagesSince' | 'getMessage';

/** One bridge -> Gorgias call, for the simulator's timeline. */
export interface TraceEntry {
  conversationId: string;
  call: HelpdeskCall;
  phase: 'request' | 'response' | 'retry' | 'error';
  ticketId?: number;
  text?: string;
  detail: string;
}

export interface ReportEntry {
  conversationId?: string;
  kind: string;
  detail: string;
}

export interface BridgeSinks {
  toUser(conversationId: string, out: UserOutput): void;
  toBot(conversationId: string, input: BotInput): void;
  /** Ignored, duplicate, unknown, late webhooks; helpdesk errors; dropped calls. */
  report?(entry: ReportEntry): void;
  trace?(entry: TraceEntry): void;
}

export interface SessionManagerOptions {
  clock?: Clock;
  helpdesk: HelpdeskPort;
  sinks: BridgeSinks;
  timeoutMs?: number;
  historySize?: number;
  /** Bounded retries of failed helpdesk calls. Default `DEFAULT_RETRY`: 5 tries, 1-2-4-8 s apart. */
  retry?: RetryPolicy;
  /**
   * The clock the retry back-off waits on; default `clock`. A simulator that fast-forwards a
   * FakeClock and awaits `idle()` passes `realClock` (with small delays) so retries never wait on
   * a clock that stands still.
   */
  retryClock?: Clock;
  /**
   * One catch-up of dropped agent webhooks this long after the last message either way (re-armed
   * by the next message, never repeated on a silent session). Default 60 s; `false`: no timer.
   */
  catchUpMs?: number | false;
  /** The back-off between timed catch-ups stops growing here. Default 5 minutes. */
  catchUpMaxMs?: number;
  /** Catch up after each user message posted during a session. Default true. */
  catchUpOnUserMessage?: boolean;
  /** Catch up right before a session expires; a message found then is shown and the session goes on. Default true. */
  catchUpBeforeExpiry?: boolean;
  /**
   * Hold each agent webhook this long and show what arrived meanwhile in message-id order, so
   * webhooks reordered within the window reach the user in send order. Default 0: on arrival.
   */
  reorderWindowMs?: number;
}

export interface SessionManager {
  userMessage(conversationId: string, text: string, user?: UserMeta): Promise<void>;
  userPayload(conversationId: string, payload: string, user?: UserMeta): Promise<void>;
  /** Record what the bot said, for the hand-off history. */
  botSaid(conversationId: string, text: string): void;
  /** Resolves once the event is recorded and delivered to the user's sink; it makes no helpdesk call. */
  agentWebhook(event: AgentWebhook): Promise<WebhookOutcome>;
  /** List the open ticket's messages since the last agent message delivered, and deliver what was missed. */
  catchUp(conversationId: string): Promise<void>;
  state(conversationId: string): 'BOT' | 'LIVECHAT';
  /** The machine state, read-only (tests, the simulator's checks). */
  conversation(conversationId: string): ConversationState | undefined;
  /** Resolves when no helpdesk call is in flight or queued. */
  idle(): Promise<void>;
  /** Cancel every timer; later timer callbacks do nothing. */
  close(): void;
}

export function createSessionManager(options: SessionManagerOptions): SessionManager {
  const clock = options.clock ?? realClock;
  const retryClock = options.retryClock ?? clock;
  const { helpdesk, sinks } = options;
  const retry = options.retry ?? DEFAULT_RETRY;
  const config: MachineConfig = {
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    historySize: options.historySize ?? DEFAULT_HISTORY_SIZE,
    reorderWindowMs: Math.max(0, options.reorderWindowMs ?? 0),
    readMessages: helpdesk.getMessage !== undefined,
    catchUp: helpdesk.listMessagesSince
      ? {
          afterMs: options.catchUpMs === undefined ? DEFAULT_CATCH_UP_MS : options.catchUpMs,
          maxEveryMs: options.catchUpMaxMs,
          onUserMessage: options.catchUpOnUserMessage ?? true,
          beforeExpiry: options.catchUpBeforeExpiry ?? true,
        }
      : undefined,
  };
  const conversations = new Map<string, ConversationState>();
  /** `${conversation}\u0000${kind}` -> timer. */
  const timers = new Map<string, Timer>();
  const queues = new Map<string, Promise<void>>();
  /** A catch-up queued and not started yet, per conversation: another request joins it. */
  const queuedCatchUps = new Map<string, Extract<HelpdeskOp, { kind: 'catchUp' }>>();
  /** `${conversation}#${gen}` -> ticket, so a queued call finds its ticket even after the session moved on. */
  const tickets = new Map<string, number>();
  /** ticket -> conversation, for webhooks that carry no external_id. */
  const byTicket = new Map<number, string>();
  let pending = 0;
  let closed = false;

  const report = (entry: ReportEntry) => safely(() => sinks.report?.(entry));
  const trace = (entry: TraceEntry) => safely(() => sinks.trace?.(entry));

  function safely(fn: () => void, conversationId?: string): void {
    try {
      fn();
    } catch (err) {
      try {
        sinks.report?.({ conversationId, kind: 'error', detail: `a sink threw: ${messageOf(err)}` });
      } catch {
        // a reporting sink that throws has nobody left to tell
      }
    }
  }

  /** One input through the machine; decisions applied in order. Returns the helpdesk calls it queued. */
  function run(id: string, input: MachineInput, create: boolean): { result: StepResult; calls: Promise<void>[] } {
    const before = conversations.get(id) ?? (create ? initialState(id) : undefined);
    const result = step(before, input, clock.now(), config);
    if (result.state) conversations.set(id, result.state);
    const calls: Promise<void>[] = [];
    for (const d of result.decisions) applyDecision(id, d, calls);
    return { result, calls };
  }

  function applyDecision(id: string, d: Decision, calls: Promise<void>[]): void {
    switch (d.type) {
      case 'toUser':
        return safely(() => sinks.toUser(id, d.out), id);
      case 'toBot':
        return safely(() => sinks.toBot(id, d.input), id);
      case 'report':
        return report({ conversationId: id, kind: d.kind, detail: d.detail });
      case 'armTimer': {
        const kind: TimerKind = d.timer ?? 'expiry';
        const key = timerKey(id, kind);
        timers.get(key)?.cancel();
        if (closed) return;
        const input: MachineInput = kind === 'expiry' ? { kind: 'expire' } : kind === 'catchUp' ? { kind: 'catchUpDue' } : { kind: 'release' };
        timers.set(
          key,
          clock.setTimer(d.at - clock.now(), () => {
            timers.delete(key);
            if (!closed) run(id, input, false);
          }),
        );
        return;
      }
      case 'cancelTimer':
        for (const kind of TIMER_KINDS) {
          timers.get(timerKey(id, kind))?.cancel();
          timers.delete(timerKey(id, kind));
        }
        return;
      case 'helpdesk':
        calls.push(enqueue(id, d.op));
        return;
    }
  }

  /** Per-conversation FIFO: each call starts when the previous one for that conversation settled. */
  function enqueue(id: string, op: HelpdeskOp): Promise<void> {
    if (op.kind === 'catchUp') {
      // One listing covers every request made before it starts; an expiry check must get its answer.
      const waiting = queuedCatchUps.get(id);
      if (waiting && waiting.gen === op.gen) {
        if (op.reason === 'expiry') waiting.reason = 'expiry';
        return queues.get(id) ?? Promise.resolve();
      }
      op = { ...op };
      queuedCatchUps.set(id, op);
    }
    pending++;
    const previous = queues.get(id) ?? Promise.resolve();
    const next: Promise<void> = previous
      .then(() => execute(id, op))
      .catch((err) => report({ conversationId: id, kind: 'error', detail: `helpdesk ${op.kind}: ${messageOf(err)}` }))
      .finally(() => {
        pending--;
        if (queues.get(id) === next) queues.delete(id);
      });
    queues.set(id, next);
    return next;
  }

  /** `fn` with bounded retries; `retry` tells it that an earlier try may have taken effect. */
  async function attempt<T>(id: string, call: HelpdeskCall, ticketId: number | undefined, fn: (retry: boolean) => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await fn(n > 1);
      } catch (err) {
        const again = n < retry.attempts && (retry.retryable ?? isRetryableError)(err);
        trace({ conversationId: id, call, phase: again ? 'retry' : 'error', ticketId, detail: messageOf(err) });
        if (!again) throw err;
        await retryClock.sleep(retry.delayMs(n));
      }
    }
  }

  async function execute(id: string, op: HelpdeskOp): Promise<void> {
    const key = `${id}#${op.gen}`;
    const ticketId = tickets.get(key);
    const fail = (err: unknown) => run(id, { kind: 'helpdeskFailed', gen: op.gen, op: op.kind, error: messageOf(err) }, false);
    switch (op.kind) {
      case 'open': {
        if (!isOpen(conversations.get(id), op.gen)) {
          report({ conversationId: id, kind: 'dropped', detail: 'the session ended before its ticket was opened: no ticket opened' });
          return;
        }
        trace({ conversationId: id, call: 'openTicket', phase: 'request', text: op.text, detail: `open ticket (external_id ${id})` });
        try {
          const res = await attempt(id, 'openTicket', undefined, (retry) =>
            helpdesk.openTicket({ conversationId: id, user: op.user, text: op.text, history: op.history, retry }),
          );
          tickets.set(key, res.ticketId);
          byTicket.set(res.ticketId, id);
          trace({ conversationId: id, call: 'openTicket', phase: 'response', ticketId: res.ticketId, detail: `ticket ${res.ticketId}` });
          run(id, { kind: 'ticketOpened', gen: op.gen, ticketId: res.ticketId, messageId: res.messageId }, false);
        } catch (err) {
          fail(err);
        }
        return;
      }
      case 'post': {
        // Posted even if the user ended the session meanwhile: it was written while it was open.
        if (ticketId === undefined) {
          report({ conversationId: id, kind: 'dropped', detail: 'no ticket for this session: user message not posted' });
          return;
        }
        // After a failed session the user was told and is back with the bot: what they typed for the
        // agent meanwhile is not posted to a session that no longer exists.
        const last = conversations.get(id)?.last;
        if (last?.gen === op.gen && last.endedBy === 'failed') {
          report({ conversationId: id, kind: 'dropped', detail: `the session failed: user message not posted (${op.externalId})` });
          return;
        }
        trace({ conversationId: id, call: 'postUserMessage', phase: 'request', ticketId, text: op.text, detail: `post to ticket ${ticketId}` });
        const input = { ticketId, conversationId: id, user: op.user, text: op.text, externalId: op.externalId };
        try {
          const res = await attempt(id, 'postUserMessage', ticketId, (retry) => helpdesk.postUserMessage({ ...input, retry }));
          const detail = res.found ? `${op.externalId} was stored after all: message ${res.messageId}, not posted again` : `message ${res.messageId}`;
          trace({ conversationId: id, call: 'postUserMessage', phase: 'response', ticketId, detail });
        } catch (err) {
          fail(err);
        }
        return;
      }
      case 'end': {
        if (ticketId === undefined) {
          report({ conversationId: id, kind: 'dropped', detail: `session ${op.reason} before any ticket existed: nothing to close` });
          return;
        }
        trace({ conversationId: id, call: 'endSession', phase: 'request', ticketId, detail: `note (${op.reason}) and close ticket ${ticketId}` });
        try {
          const noteExternalId = noteExternalIdFor(id, op.gen, op.reason);
          await attempt(id, 'endSession', ticketId, (retry) =>
            helpdesk.endSession({ ticketId, conversationId: id, reason: op.reason, noteExternalId, retry }),
          );
          trace({ conversationId: id, call: 'endSession', phase: 'response', ticketId, detail: `ticket ${ticketId} closed` });
        } catch (err) {
          fail(err);
        } finally {
          tickets.delete(key);
        }
        return;
      }
      case 'read': {
        const tid = op.ticketId ?? ticketId;
        const read = (result: { message?: HelpdeskMessage; error?: string }) =>
          run(id, { kind: 'messageRead', gen: op.gen, messageId: op.messageId, ...result }, false);
        if (!helpdesk.getMessage || tid === undefined) return void read({ error: 'no ticket to read it from' });
        trace({ conversationId: id, call: 'getMessage', phase: 'request', ticketId: tid, detail: `read message ${op.messageId} back` });
        try {
          const message = await attempt(id, 'getMessage', tid, () => helpdesk.getMessage!(tid, op.messageId));
          read({ message });
        } catch (err) {
          read({ error: messageOf(err) });
        }
        return;
      }
      case 'catchUp': {
        if (queuedCatchUps.get(id) === op) queuedCatchUps.delete(id);
        const state = conversations.get(id);
        const reason: CatchUpReason = op.reason;
        if (!helpdesk.listMessagesSince || ticketId === undefined || !isOpen(state, op.gen)) return;
        const after = state?.session?.caughtUpTo;
        trace({
          conversationId: id,
          call: 'listMessagesSince',
          phase: 'request',
          ticketId,
          detail: `catch-up (${reason}): messages after ${after ?? 'the start'}`,
        });
        try {
          const messages = await attempt(id, 'listMessagesSince', ticketId, () => helpdesk.listMessagesSince!(ticketId, after));
          trace({ conversationId: id, call: 'listMessagesSince', phase: 'response', ticketId, detail: `${messages.length} message(s)` });
          run(id, { kind: 'agentBacklog', gen: op.gen, messages, reason }, false);
        } catch (err) {
          run(id, { kind: 'catchUpFailed', gen: op.gen, reason, error: messageOf(err) }, false);
        }
        return;
      }
    }
  }

  return {
    async userMessage(conversationId, text, user) {
      await Promise.all(run(conversationId, { kind: 'userText', text, user }, true).calls);
    },
    async userPayload(conversationId, payload, user) {
      await Promise.all(run(conversationId, { kind: 'userPayload', payload, user }, true).calls);
    },
    botSaid(conversationId, text) {
      run(conversationId, { kind: 'botText', text }, true);
    },
    async agentWebhook(event) {
      const id = event.conversationId || (event.ticketId !== undefined ? byTicket.get(event.ticketId) : undefined);
      if (!id) {
        const { result } = run('', { kind: 'agentWebhook', event }, false);
        return result.outcome ?? 'unknown';
      }
      return run(id, { kind: 'agentWebhook', event }, false).result.outcome ?? 'unknown';
    },
    async catchUp(conversationId) {
      const state = conversations.get(conversationId);
      if (state?.mode !== 'LIVECHAT' || !state.session) return;
      await enqueue(conversationId, { kind: 'catchUp', gen: state.session.gen, reason: 'manual' });
    },
    state: (conversationId) => conversations.get(conversationId)?.mode ?? 'BOT',
    conversation: (conversationId) => conversations.get(conversationId),
    async idle() {
      while (pending > 0) await Promise.all([...queues.values()]);
    },
    close() {
      closed = true;
      for (const t of timers.values()) t.cancel();
      timers.clear();
    },
  };
}

const TIMER_KINDS: readonly TimerKind[] = ['expiry', 'catchUp', 'release'];

function timerKey(conversationId: string, kind: TimerKind): string {
  return `${conversationId}\u0000${kind}`;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
