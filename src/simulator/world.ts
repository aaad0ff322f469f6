// The simulated world: the real session engine, our webhook receiver and the Gorgias emulator
// over real HTTP on loopback, a scripted bot, and a FakeClock. Everything that passes is recorded
// as a timeline entry. Shared by the scenario run and the load run.
import { startEmulator, type Emulator } from '../emulator/index.js';
import { createGorgiasClient, type ClientOptions } from '../gorgias/client.js';
import { applySignoffPlan, planSignoffMacro } from '../macro/ensure.js';
import { DEFAULT_MACRO_NAME, DEFAULT_SIGNOFF, responseText, signoffMacroBody } from '../macro/signoff.js';
import { createReceiver, listenReceiver, type RunningReceiver } from '../receiver/index.js';
import { createCallBudget, type CallBudget, type CallGate } from '../budget/budget.js';
import { FakeClock, realClock, stopwatch } from '../clock.js';
import { gorgiasHelpdesk } from '../helpdesk/gorgias.js';
import { createSessionManager, type BotInput, type SessionManager, type SessionManagerOptions, type UserOutput } from '../session/manager.js';
import { memoryStore, type SessionStore } from '../session/store.js';
import { SESSION_EXPIRED, SESSION_START } from '../protocol.js';
import { desiredIntegration } from '../webhook/integration.js';
import { applyInstall, planInstall } from '../webhook/install.js';
import { newWebhookToken } from '../webhook/token.js';
import type { Button, TimelineEntry } from './timeline.js';

export const SIM_START = Date.UTC(2026, 0, 5, 9, 0, 0);

/** The small scripted bot: answers the user and offers the human hand-off. */
export function botReply(input: BotInput): UserOutput | undefined {
  if (input.kind === 'event') {
    return input.event === SESSION_EXPIRED
      ? { text: 'Our agents seem to be away. Is there anything else I can help you with?' }
      : { text: 'I could not reach an agent. Is there anything else I can help you with?' };
  }
  if (input.kind === 'payload') return { text: 'Welcome back! How can I help?' };
  return {
    text: `Bot here: I can track orders and answer FAQs. You said "${input.text}".`,
    buttons: [{ title: 'Talk to a human', payload: SESSION_START }],
  };
}

export type Recorded = Omit<TimelineEntry, 'at' | 'scenario'>;

export interface WorldOptions {
  timeoutMs: number;
  /** Called for every entry as it happens. */
  onEntry?: (entry: TimelineEntry) => void;
  /** Keep the entries (the checks need them). */
  keepEntries?: boolean;
  /** Called whenever the bridge shows the user something (relay latency in load runs). */
  onUserOutput?: (conversation: string, out: UserOutput) => void;
  /** Real ms from a webhook reaching the receiver to its message shown to the user. */
  onWebhookRelay?: (ms: number) => void;
  /** Engine options for fault runs: retries, catch-up, reorder window. */
  engine?: Partial<Omit<SessionManagerOptions, 'clock' | 'helpdesk' | 'sinks' | 'timeoutMs'>>;
  /** Client options for fault runs. */
  client?: Partial<Pick<ClientOptions, 'timeoutMs' | 'maxRetries' | 'maxRateLimitWaits' | 'backoffBaseMs'>>;
  /** Where the bridge keeps its state: in memory, or a SQLite file (what `livechat serve` runs on). */
  store?: { kind: 'memory' } | { kind: 'sqlite'; path: string };
  /**
   * Gorgias's rate limit, on the simulated clock, and the bridge's call budget under it (80% of
   * it, as `serve` runs). Default: 40 calls per 20 s, like Gorgias. `false`: no limit anywhere.
   */
  rateLimit?: { limit: number; windowMs: number } | false;
}

export interface World {
  clock: FakeClock;
  emulator: Emulator;
  receiver: RunningReceiver;
  /** The bridge's call budget (undefined with the rate limit off). */
  budget?: CallBudget;
  /** The bridge running now (a new one after each restart). */
  readonly manager: SessionManager;
  /** Where the bridge keeps its state. */
  storeKind: 'memory' | 'sqlite';
  /** The bridge dies at once (kill -9): webhooks meanwhile are refused, and Gorgias never sends them again. */
  crash(): Promise<void>;
  /** A new bridge on the same data: timers re-armed, queued calls and deliveries resumed, open sessions caught up. */
  restart(): Promise<void>;
  /** Simulated intervals while the bridge was down. */
  downtime: Array<{ from: number; to?: number }>;
  entries: TimelineEntry[];
  /** The scenario name stamped on new entries. */
  scenario: string;
  macroId: number;
  record(entry: Recorded): void;
  /** The buttons most recently shown to the user of a conversation. */
  lastButtons(conversation: string): Button[] | undefined;
  /**
   * Wait until every HTTP exchange that the last action started has finished: nothing is left but
   * waits on the simulated clock (a call waiting for its slot in the budget, a retry's back-off).
   */
  settle(): Promise<void>;
  /** Fast-forward, stopping at each due timer so its effects land at the right simulated time. */
  passTime(ms: number): Promise<void>;
  /**
   * Wait for `work`, moving the simulated clock on whenever nothing else can move (a call waiting
   * for its slot in the budget, a retry's back-off): no wait on the fake clock is left without a
   * way out. Rejects if nothing at all moves for `stallMs` of real time.
   */
  until<T>(work: Promise<T>): Promise<T>;
  /** Calls to Gorgias the bridge made (tries included). */
  readonly calls: number;
  /** The conversation's open ticket in the emulator. */
  openTicketId(conversation: string): number | undefined;
  close(): Promise<void>;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Real ms with nothing moving at all before `until` gives up: a bug, never a slow machine. */
const STALL_MS = 60_000;
/** Turns of the event loop with nothing moving before the world counts as settled. */
const CALM_TURNS = 2;
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function createWorld(options: WorldOptions): Promise<World> {
  const clock = new FakeClock(SIM_START);
  const entries: TimelineEntry[] = [];
  const buttons = new Map<string, Button[]>();
  // Gorgias's limit runs on the simulated clock, and so does the bridge's budget under it: when
  // calls wait for a slot, the world moves the clock on (`until`), as real time would pass.
  // The emulator logs every webhook attempt as it records it: a dropped one never reaches the
  // receiver, so it is recorded here, where and when it was lost.
  let deliveriesSeen = 0;
  const rateLimit = options.rateLimit === undefined ? { limit: 40, windowMs: 20_000 } : options.rateLimit;
  const emulator: Emulator = await startEmulator({ clock, rateLimit, log: () => noteDroppedWebhooks() });
  const noteDroppedWebhooks = (): void => {
    for (; deliveriesSeen < emulator.deliveries.length; deliveriesSeen++) {
      const d = emulator.deliveries[deliveriesSeen];
      if (!d.dropped) continue;
      record({
        conversation: conversationOf(d.ticketId),
        from: 'gorgias',
        to: 'bridge',
        kind: 'webhook',
        detail: `event ${d.eventId} dropped, never sent`,
        fault: 'dropped',
      });
    }
  };
  const conversationOf = (ticketId: number): string => {
    try {
      return emulator.store.getTicket(ticketId).external_id ?? `ticket-${ticketId}`;
    } catch {
      return `ticket-${ticketId}`;
    }
  };
  /** Simulated ms between an agent message being written and its webhook reaching us (delays, reordering). */
  const lateness = (event: { ticketId?: number; messageId?: string }): number => {
    if (event.ticketId === undefined || event.messageId === undefined || !/^\d+$/.test(event.messageId)) return 0;
    try {
      const message = emulator.store.getMessage(event.ticketId, Number(event.messageId));
      return clock.now() - Date.parse(message.created_datetime);
    } catch {
      return 0;
    }
  };
  const token = newWebhookToken();
  let manager: SessionManager | undefined;
  let world: World | undefined;
  let down = false;
  /** Conversation -> when its latest agent webhook reached the receiver (real ms). */
  const webhookIn = new Map<string, number>();

  /** Grows with everything that happens: the world is settled when it stops growing. */
  let recorded = 0;
  const record = (entry: Recorded): void => {
    recorded++;
    const full: TimelineEntry = { at: clock.now(), scenario: world?.scenario ?? 'setup', ...entry };
    if (options.keepEntries !== false) entries.push(full);
    options.onEntry?.(full);
  };

  const toUser = (conversation: string, out: UserOutput, from: 'bridge' | 'bot'): void => {
    // A bridge notice is an event, so the checks never count it as an agent message.
    record({ conversation, from, to: 'user', kind: out.notice ? 'event' : 'message', text: out.text, buttons: out.buttons });
    if (out.buttons?.length) buttons.set(conversation, out.buttons);
    if (from !== 'bridge') return;
    const since = webhookIn.get(conversation);
    if (since !== undefined && !out.notice) {
      webhookIn.delete(conversation);
      options.onWebhookRelay?.(stopwatch() - since);
    }
    options.onUserOutput?.(conversation, out);
  };

  const toBot = (conversation: string, input: BotInput): void => {
    const what = input.kind === 'message' ? { text: input.text } : input.kind === 'payload' ? { payload: input.payload } : { payload: input.event };
    record({ conversation, from: 'bridge', to: 'bot', kind: input.kind, ...what });
    const reply = botReply(input);
    if (!reply) return;
    toUser(conversation, reply, 'bot');
    void manager?.botSaid(conversation, reply.text);
  };

  const receiver = await listenReceiver(
    createReceiver({
      token,
      async onEvent(event) {
        // A dead bridge answers nothing; Gorgias records a failed call and never sends it again.
        if (down) throw new Error('the bridge is down');
        const conversation = event.conversationId ?? `ticket-${event.ticketId ?? '?'}`;
        const who = event.fromAgent ? 'agent message' : "echo of the user's message, ignored";
        const lateMs = lateness(event);
        record({
          conversation,
          from: 'gorgias',
          to: 'bridge',
          kind: 'webhook',
          text: event.text,
          detail: `${who}, event ${event.eventId ?? '-'}${lateMs > 0 ? `, ${lateMs / 1000} s late` : ''}`,
          ...(lateMs > 0 ? { fault: 'late' as const } : {}),
        });
        if (event.fromAgent) webhookIn.set(conversation, stopwatch());
        const outcome = await manager!.agentWebhook(event);
        if (outcome !== 'delivered' && outcome !== 'echo') {
          record({
            conversation,
            from: 'gorgias',
            to: 'bridge',
            kind: 'webhook',
            detail: `event ${event.eventId ?? '-'}: ${outcome}, not shown to the user`,
            ...(outcome === 'duplicate' || outcome === 'late' ? { fault: outcome } : {}),
          });
        }
        return outcome;
      },
      onRejected: (rej) =>
        record({
          conversation: '-',
          from: 'gorgias',
          to: 'bridge',
          kind: 'webhook',
          detail: `refused ${rej.status}: ${rej.reason}`,
          fault: 'refused',
        }),
    }),
  );
  // The bridge's budget, on the simulated clock; the gate also counts the calls under way.
  const newBudget = () => (rateLimit ? createCallBudget({ clock, limit: rateLimit.limit, windowMs: rateLimit.windowMs }) : undefined);
  let budget = newBudget();
  let running = 0;
  let calls = 0;
  const gate: CallGate = {
    async take(priority) {
      await budget?.take(priority);
      running++;
      calls++;
    },
    done(answer) {
      running--;
      budget?.done(answer);
    },
    async ready(priority) {
      await budget?.ready(priority);
    },
  };
  // As `serve` has it: one try per call, the engine retries (on the simulated clock). The network
  // timeout runs on real time: it models the network, not the conversation.
  const client = createGorgiasClient({
    domain: emulator.url,
    username: emulator.email,
    apiKey: emulator.apiKey,
    clock: realClock,
    maxRetries: 0,
    maxRateLimitWaits: 0,
    gate,
    ...options.client,
    notice: (line) =>
      record({
        conversation: '-',
        from: 'bridge',
        to: 'gorgias',
        kind: 'api',
        detail: line,
        fault: /rate limit/i.test(line) ? 'rate-limited' : 'retry',
      }),
  });

  // Install the integration and the macro exactly as `webhook install` and `macro create` do.
  const desired = desiredIntegration(`${receiver.url}/livechat/gorgias`, token);
  const installed = await applyInstall(client, planInstall(await collect(client.listIntegrations()), desired), desired);
  record({
    conversation: '-',
    from: 'bridge',
    to: 'gorgias',
    kind: 'api',
    detail: `webhook install: ${installed.action} HTTP integration #${installed.integration.id} (ticket-message-created)`,
  });
  const body = signoffMacroBody(DEFAULT_MACRO_NAME, DEFAULT_SIGNOFF);
  const macro = await applySignoffPlan(client, planSignoffMacro(await collect(client.listMacros()), body, false), body);
  record({
    conversation: '-',
    from: 'bridge',
    to: 'gorgias',
    kind: 'api',
    detail: `macro create: macro #${macro.id} "${macro.name}": ${JSON.stringify(responseText(macro))}`,
  });

  const storeKind = options.store?.kind ?? 'memory';
  const openStore = async (): Promise<SessionStore> => {
    if (options.store?.kind !== 'sqlite') return (memory ??= memoryStore());
    const { openSqliteStore } = await import('../store/sqlite.js');
    return openSqliteStore(options.store.path);
  };
  let memory: SessionStore | undefined;
  let store = await openStore();
  const downtime: Array<{ from: number; to?: number }> = [];
  const boot = (): SessionManager =>
    createSessionManager({
      clock,
      store,
      timeoutMs: options.timeoutMs,
      helpdesk: gorgiasHelpdesk(client, { clock, timeoutMs: options.timeoutMs }),
      ...options.engine,
      sinks: {
        toUser: (conversation, out) => toUser(conversation, out, 'bridge'),
        toBot,
        trace(t) {
          if (t.phase === 'response') return;
          record({
            conversation: t.conversationId,
            from: 'bridge',
            to: 'gorgias',
            kind: 'api',
            detail: `${t.call}${t.ticketId ? ` #${t.ticketId}` : ''}: ${t.phase === 'request' ? '' : `${t.phase}: `}${t.detail}`,
            ...(t.phase === 'request' ? {} : { fault: / 429|rate limit/i.test(t.detail) ? ('rate-limited' as const) : t.phase }),
          });
        },
      },
    });
  manager = boot();

  /** Everything that moves: calls made and answered, webhooks sent, entries recorded. */
  const progress = () => calls + emulator.requests.length + emulator.deliveries.length + recorded;
  const underWay = () => running > 0 || emulator.webhooksUnderWay() > 0;
  let lastMove = stopwatch();
  let lastProgress = -1;
  /** Resolves when nothing moves but the simulated clock: no call and no webhook under way, nothing new for a few turns. */
  const settle = async (): Promise<void> => {
    for (let calm = 0; calm < CALM_TURNS;) {
      await turn();
      const now = progress();
      if (now !== lastProgress || underWay()) {
        lastProgress = now;
        lastMove = stopwatch();
        calm = 0;
      } else calm++;
    }
  };

  /** Those waiting in `until`: each is told if the world stalls. */
  const waiters = new Set<(err: Error) => void>();
  let driving = false;
  let closed = false;
  /** While anyone waits in `until`: settle, then move the clock to the next timer. */
  const drive = async (): Promise<void> => {
    driving = true;
    try {
      while (waiters.size > 0 && !closed) {
        await settle();
        if (waiters.size === 0 || closed) break;
        const next = clock.nextTimerAt();
        if (next !== undefined) {
          clock.advance(Math.max(0, next - clock.now()));
          lastMove = stopwatch();
          continue;
        }
        // Nothing on the clock: what is awaited comes from outside (real time, e.g. a relay given up).
        if (stopwatch() - lastMove > STALL_MS) {
          const stalled = new Error(`the simulated world stalled: nothing moved for ${STALL_MS / 1000} s (${describe()})`);
          for (const fail of waiters) fail(stalled);
          break;
        }
        await realClock.sleep(1);
      }
    } finally {
      driving = false;
    }
  };
  const describe = () => {
    const b = budget?.stats();
    const m = manager!.stats();
    return `${m.jobs} Gorgias call(s) queued, ${b ? `${b.waiting.interactive + b.waiting.housekeeping + b.waiting.background} waiting for the budget, ` : ''}${running} under way, ${clock.pending} timer(s)`;
  };
  const until = async <T>(work: Promise<T>): Promise<T> => {
    let fail!: (err: Error) => void;
    const stall = new Promise<never>((_, reject) => (fail = reject));
    waiters.add(fail);
    if (!driving) void drive();
    try {
      return await Promise.race([work, stall]);
    } finally {
      waiters.delete(fail);
    }
  };

  world = {
    clock,
    emulator,
    receiver,
    get manager() {
      return manager!;
    },
    get budget() {
      return budget;
    },
    get calls() {
      return calls;
    },
    storeKind,
    downtime,
    async crash() {
      manager!.close();
      // The budget dies with the process: its waiting calls are never made.
      budget?.close();
      if (storeKind === 'sqlite') await store.close();
      down = true;
      downtime.push({ from: clock.now() });
      record({
        conversation: '-',
        from: 'bridge',
        to: 'bridge',
        kind: 'event',
        detail: `the bridge crashed (kill -9); its state is in ${storeKind === 'sqlite' ? 'the SQLite file' : 'memory'}`,
      });
    },
    async restart() {
      if (storeKind === 'sqlite') store = await openStore();
      budget = newBudget();
      manager = boot();
      down = false;
      const last = downtime.at(-1);
      if (last) last.to = clock.now();
      record({
        conversation: '-',
        from: 'bridge',
        to: 'bridge',
        kind: 'event',
        detail: 'the bridge restarted on the same data: timers re-armed, open sessions caught up',
      });
      await until(manager.start());
      await settle();
    },
    entries,
    scenario: 'setup',
    macroId: macro.id,
    record,
    lastButtons: (conversation) => buttons.get(conversation),
    settle,
    until,
    async passTime(ms) {
      await settle();
      const target = clock.now() + ms;
      for (;;) {
        const next = clock.nextTimerAt();
        if (next === undefined || next > target) break;
        clock.advance(next - clock.now());
        await settle();
      }
      clock.advance(target - clock.now());
      await settle();
    },
    openTicketId(conversation) {
      return emulator.store
        .listTickets({ external_id: conversation })
        .filter((t) => t.status === 'open')
        .at(-1)?.id;
    },
    async close() {
      closed = true;
      manager!.close();
      budget?.close();
      await receiver.close();
      await emulator.close();
      if (!down) await store.close();
    },
  };
  return world;
}
