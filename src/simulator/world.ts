// The simulated world: the real session engine, our webhook receiver and the Gorgias emulator
// over real HTTP on loopback, a scripted bot, and a FakeClock. Everything that passes is recorded
// as a timeline entry. Shared by the scenario run and the load run.
import { startEmulator, type Emulator } from '../emulator/index.js';
import { createGorgiasClient, type ClientOptions } from '../gorgias/client.js';
import { applySignoffPlan, planSignoffMacro } from '../macro/ensure.js';
import { DEFAULT_MACRO_NAME, DEFAULT_SIGNOFF, responseText, signoffMacroBody } from '../macro/signoff.js';
import { createReceiver, listenReceiver, type RunningReceiver } from '../receiver/index.js';
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
}

export interface World {
  clock: FakeClock;
  emulator: Emulator;
  receiver: RunningReceiver;
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
  /** Wait until every HTTP exchange that the last action started has finished. */
  settle(): Promise<void>;
  /** Fast-forward, stopping at each due timer so its effects land at the right simulated time. */
  passTime(ms: number): Promise<void>;
  /** The conversation's open ticket in the emulator. */
  openTicketId(conversation: string): number | undefined;
  close(): Promise<void>;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

export async function createWorld(options: WorldOptions): Promise<World> {
  const clock = new FakeClock(SIM_START);
  const entries: TimelineEntry[] = [];
  const buttons = new Map<string, Button[]>();
  // [decision] The emulator's rate limit is off here: the fake clock barely moves between calls, so
  // a 20 s window would never refill. Fault runs inject 429 storms instead.
  // The emulator logs every webhook attempt as it records it: a dropped one never reaches the
  // receiver, so it is recorded here, where and when it was lost.
  let deliveriesSeen = 0;
  const emulator: Emulator = await startEmulator({ clock, rateLimit: false, log: () => noteDroppedWebhooks() });
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
    if (event.ticketId === undefined || event.messageId === undefined) return 0;
    try {
      const message = emulator.store.listMessages(event.ticketId).find((m) => String(m.id) === event.messageId);
      return message ? clock.now() - Date.parse(message.created_datetime) : 0;
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

  const record = (entry: Recorded): void => {
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
  // The client waits on real time: its back-off models the network, not the conversation.
  const client = createGorgiasClient({
    domain: emulator.url,
    username: emulator.email,
    apiKey: emulator.apiKey,
    clock: realClock,
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
      helpdesk: gorgiasHelpdesk(client),
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
            ...(t.phase === 'request' ? {} : { fault: t.phase }),
          });
        },
      },
    });
  manager = boot();

  const settle = async (): Promise<void> => {
    for (let i = 0; i < 50; i++) {
      const before = emulator.requests.length + emulator.deliveries.length;
      await manager!.idle();
      // Deliveries delayed on the fake clock go out when passTime moves it; do not wait for them here.
      await emulator.idle({ scheduled: false });
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (emulator.requests.length + emulator.deliveries.length === before) return;
    }
  };

  world = {
    clock,
    emulator,
    receiver,
    get manager() {
      return manager!;
    },
    storeKind,
    downtime,
    async crash() {
      manager!.close();
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
      await manager.start();
      await settle();
    },
    entries,
    scenario: 'setup',
    macroId: macro.id,
    record,
    lastButtons: (conversation) => buttons.get(conversation),
    settle,
    async passTime(ms) {
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
      manager!.close();
      await receiver.close();
      await emulator.close();
      if (!down) await store.close();
    },
  };
  return world;
}
