// One simulation: the real session engine, our webhook receiver and the Gorgias emulator over
// real HTTP on loopback, with a FakeClock that fast-forwards the silences.
import { startEmulator, type Emulator } from '../emulator/index.js';
import { createGorgiasClient, type GorgiasClient } from '../gorgias/client.js';
import { applySignoffPlan, planSignoffMacro } from '../macro/ensure.js';
import { DEFAULT_MACRO_NAME, DEFAULT_SIGNOFF, signoffMacroBody, responseText } from '../macro/signoff.js';
import { createReceiver, listenReceiver, type RunningReceiver } from '../receiver/index.js';
import { FakeClock, realClock } from '../session/clock.js';
import { gorgiasHelpdesk } from '../session/helpdesk.js';
import { createSessionManager, type BotInput, type SessionManager, type UserOutput } from '../session/manager.js';
import { SESSION_START } from '../session/payloads.js';
import { desiredIntegration } from '../webhook/integration.js';
import { applyInstall, planInstall } from '../webhook/install.js';
import { newWebhookToken } from '../webhook/token.js';
import { checkTimeline } from './checks.js';
import { describeStep, type Scenario, type Step } from './scenario.js';
import type { Check, TimelineEntry } from './timeline.js';

/** Simulated time a person takes before each action, so the timeline reads like a real chat. */
export const THINK_MS = 20_000;
const MINUTE = 60_000;
export const SIM_START = Date.UTC(2026, 0, 5, 9, 0, 0);

export interface SimulationOptions {
  scenarios: Scenario[];
  timeoutMs: number;
  /** Called for every timeline entry as it happens. */
  onEntry?: (entry: TimelineEntry) => void;
  /** Called when a scenario begins, with its simulated start time. */
  onScenario?: (scenario: Scenario, startedAt: number) => void;
}

export interface SimulationResult {
  entries: TimelineEntry[];
  checks: Check[];
  ok: boolean;
  simulatedMs: number;
}

/** The small scripted bot: answers the user and offers the human hand-off. */
export function botReply(input: BotInput): UserOutput | undefined {
  if (input.kind === 'event') {
    return input.event === 'LIVECHAT_SESSION_EXPIRED'
      ? { text: 'Our agents seem to be away. Is there anything else I can help you with?' }
      : { text: 'I could not reach an agent. Is there anything else I can help you with?' };
  }
  if (input.kind === 'payload') return { text: 'Welcome back! How can I help?' };
  return {
    text: `Bot here: I can track orders and answer FAQs. You said "${input.text}".`,
    buttons: [{ title: 'Talk to a human', payload: SESSION_START }],
  };
}

interface World {
  clock: FakeClock;
  emulator: Emulator;
  receiver: RunningReceiver;
  client: GorgiasClient;
  manager: SessionManager;
  macroId: number;
  macroText: string;
  close(): Promise<void>;
}

export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const entries: TimelineEntry[] = [];
  const stepProblems: string[] = [];
  const clock = new FakeClock(SIM_START);
  let scenario = 'setup';
  const lastButtons = new Map<string, UserOutput['buttons']>();

  const record = (entry: Omit<TimelineEntry, 'at' | 'scenario'>): void => {
    const full: TimelineEntry = { at: clock.now(), scenario, ...entry };
    entries.push(full);
    options.onEntry?.(full);
  };

  const world = await buildWorld(clock, options.timeoutMs, {
    record,
    toUser(conversation, out) {
      record({ conversation, from: 'bridge', to: 'user', kind: 'message', text: out.text, buttons: out.buttons });
      if (out.buttons?.length) lastButtons.set(conversation, out.buttons);
    },
    toBot(conversation, input) {
      const kind = input.kind;
      record({
        conversation,
        from: 'bridge',
        to: 'bot',
        kind,
        ...(input.kind === 'message' ? { text: input.text } : input.kind === 'payload' ? { payload: input.payload } : { payload: input.event }),
      });
      const reply = botReply(input);
      if (reply) {
        record({ conversation, from: 'bot', to: 'user', kind: 'message', text: reply.text, buttons: reply.buttons });
        if (reply.buttons?.length) lastButtons.set(conversation, reply.buttons);
        world?.manager.botSaid(conversation, reply.text);
      }
    },
  });

  try {
    for (const s of options.scenarios) {
      scenario = s.name;
      options.onScenario?.(s, clock.now());
      for (const step of s.steps) {
        const problem = await playStep(world, s, step, record, lastButtons);
        if (problem) stepProblems.push(`${s.name}: ${describeStep(step)}: ${problem}`);
      }
      // Let an open session run to its end, so every session ends exactly once.
      for (let i = 0; i < 10 && world.manager.state(s.conversation) === 'LIVECHAT'; i++) {
        const next = clock.nextTimerAt();
        if (next === undefined) break;
        await passTime(world, next - clock.now());
      }
    }
  } finally {
    await world.close();
  }

  const refused = world.emulator.deliveries.filter((d) => !d.dropped && (d.error || (d.status !== undefined && (d.status < 200 || d.status >= 300))));
  const checks: Check[] = [
    { name: 'scenario steps ran', ok: stepProblems.length === 0, detail: stepProblems.join('; ') || 'every step ran' },
    ...checkTimeline(entries, options.timeoutMs),
    {
      name: 'webhooks accepted by the receiver',
      ok: refused.length === 0,
      detail: refused.length
        ? refused.map((d) => `event ${d.eventId}: ${d.error ?? d.status}`).join('; ')
        : `${world.emulator.deliveries.filter((d) => !d.dropped).length} delivery(ies), all answered 2xx`,
    },
  ];
  return { entries, checks, ok: checks.every((c) => c.ok), simulatedMs: clock.now() - SIM_START };
}

interface Recorders {
  record(entry: Omit<TimelineEntry, 'at' | 'scenario'>): void;
  toUser(conversation: string, out: UserOutput): void;
  toBot(conversation: string, input: BotInput): void;
}

async function buildWorld(clock: FakeClock, timeoutMs: number, r: Recorders): Promise<World> {
  // [decision] The emulator's rate limit is off here: the fake clock barely moves between calls, so
  // a 20 s window would never refill. `--faults` injects 429 storms instead.
  const emulator = await startEmulator({ clock, rateLimit: false });
  const token = newWebhookToken();
  let manager: SessionManager | undefined;
  const receiver = await listenReceiver(
    createReceiver({
      token,
      async onEvent(event) {
        const conversation = event.conversationId ?? `ticket-${event.ticketId ?? '?'}`;
        const who = event.fromAgent ? 'agent message' : "echo of the user's message, ignored";
        r.record({ conversation, from: 'gorgias', to: 'bridge', kind: 'webhook', text: event.text, detail: `${who}, event ${event.eventId ?? '-'}` });
        const outcome = await manager!.agentWebhook(event);
        if (outcome !== 'delivered' && outcome !== 'echo') {
          r.record({ conversation, from: 'gorgias', to: 'bridge', kind: 'webhook', detail: `event ${event.eventId ?? '-'}: ${outcome}, not shown to the user` });
        }
        return outcome;
      },
      onRejected: (rej) => r.record({ conversation: '-', from: 'gorgias', to: 'bridge', kind: 'webhook', detail: `refused ${rej.status}: ${rej.reason}` }),
    }),
  );
  // The client waits on real time: retry back-off models the network, not the conversation.
  const client = createGorgiasClient({
    domain: emulator.url,
    username: emulator.email,
    apiKey: emulator.apiKey,
    clock: realClock,
    notice: (line) => r.record({ conversation: '-', from: 'bridge', to: 'gorgias', kind: 'api', detail: line }),
  });

  // Install the integration and the macro exactly as `webhook install` and `macro create` do.
  const desired = desiredIntegration(`${receiver.url}/livechat/gorgias`, token);
  const installed = await applyInstall(client, planInstall(await collect(client.listIntegrations()), desired), desired);
  r.record({ conversation: '-', from: 'bridge', to: 'gorgias', kind: 'api', detail: `webhook install: ${installed.action} HTTP integration #${installed.integration.id} (ticket-message-created)` });
  const body = signoffMacroBody(DEFAULT_MACRO_NAME, DEFAULT_SIGNOFF);
  const macro = await applySignoffPlan(client, planSignoffMacro(await collect(client.listMacros()), body, false), body);
  r.record({ conversation: '-', from: 'bridge', to: 'gorgias', kind: 'api', detail: `macro create: macro #${macro.id} "${macro.name}"` });

  manager = createSessionManager({
    clock,
    timeoutMs,
    helpdesk: gorgiasHelpdesk(client),
    sinks: {
      toUser: r.toUser,
      toBot: r.toBot,
      trace(t) {
        if (t.phase === 'request' || t.phase === 'error' || t.phase === 'retry') {
          r.record({ conversation: t.conversationId, from: 'bridge', to: 'gorgias', kind: 'api', detail: `${t.call}${t.ticketId ? ` #${t.ticketId}` : ''}: ${t.detail}` });
        }
      },
    },
  });
  return {
    clock,
    emulator,
    receiver,
    client,
    manager,
    macroId: macro.id,
    macroText: responseText(macro) ?? DEFAULT_SIGNOFF,
    async close() {
      manager?.close();
      await receiver.close();
      await emulator.close();
    },
  };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Wait until every HTTP exchange that the last action started has finished. */
async function settle(world: World): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const before = world.emulator.requests.length + world.emulator.deliveries.length;
    await world.manager.idle();
    await world.emulator.idle();
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (world.emulator.requests.length + world.emulator.deliveries.length === before) return;
  }
}

/** Fast-forward, stopping at each due timer so its effects land at the right simulated time. */
async function passTime(world: World, ms: number): Promise<void> {
  const target = world.clock.now() + ms;
  for (;;) {
    const next = world.clock.nextTimerAt();
    if (next === undefined || next > target) break;
    world.clock.advance(next - world.clock.now());
    await settle(world);
  }
  world.clock.advance(target - world.clock.now());
  await settle(world);
}

function openTicketId(world: World, conversation: string): number | undefined {
  const tickets = world.emulator.store.listTickets({ external_id: conversation }).filter((t) => t.status === 'open');
  return tickets.at(-1)?.id;
}

/** Play one step; returns a problem, or undefined when it ran. */
async function playStep(
  world: World,
  s: Scenario,
  step: Step,
  record: Recorders['record'],
  lastButtons: Map<string, UserOutput['buttons']>,
): Promise<string | undefined> {
  const conversation = s.conversation;
  if ('wait' in step) {
    await passTime(world, step.wait * MINUTE);
    return undefined;
  }
  await passTime(world, THINK_MS);
  if ('user' in step) {
    record({ conversation, from: 'user', to: 'bridge', kind: 'message', text: step.user });
    await world.manager.userMessage(conversation, step.user, s.user);
  } else if ('payload' in step || 'press' in step) {
    let payload: string;
    if ('press' in step) {
      const button = lastButtons.get(conversation)?.find((b) => b.title === step.press);
      if (!button) return `no [${step.press}] button was shown to the user`;
      payload = button.payload;
    } else payload = step.payload;
    record({ conversation, from: 'user', to: 'bridge', kind: 'payload', payload, detail: 'press' in step ? `pressed [${step.press}]` : undefined });
    await world.manager.userPayload(conversation, payload, s.user);
  } else {
    const ticketId = openTicketId(world, conversation);
    if (ticketId === undefined) return 'no open ticket for this conversation';
    if ('agent' in step) {
      record({ conversation, from: 'agent', to: 'gorgias', kind: 'message', text: step.agent, detail: `ticket #${ticketId}` });
      await world.emulator.agent.reply(ticketId, step.agent);
    } else {
      const macro =
        step.macro === true ? world.emulator.store.getMacro(world.macroId) : world.emulator.store.listMacros().find((m) => m.name === step.macro);
      if (!macro) return `no macro named "${String(step.macro)}"`;
      record({ conversation, from: 'agent', to: 'gorgias', kind: 'message', text: responseText(macro) ?? '', detail: `macro "${macro.name}" on ticket #${ticketId}` });
      await world.emulator.agent.applyMacro(ticketId, macro.id);
    }
  }
  await settle(world);
  return undefined;
}
