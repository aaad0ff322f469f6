// Scenario runs: play scripted conversations step by step in the simulated world, then check
// the lifecycle rules from what passed.
import { responseText } from '../macro/signoff.js';
import { SESSION_EXPIRED } from '../protocol.js';
import { checkTimeline } from './checks.js';
import type { FaultInjector } from './faults.js';
import { describeStep, type Scenario, type Step } from './scenario.js';
import type { Check, TimelineEntry } from './timeline.js';
import { createWorld, SIM_START, type World, type WorldOptions } from './world.js';

export { botReply, SIM_START } from './world.js';

/** Simulated time a person takes before each action, so the timeline reads like a real chat. */
export const THINK_MS = 20_000;
/** How many more THINK_MS a user waits for a button that has not shown up yet. */
const PATIENCE_STEPS = 3;
const MINUTE = 60_000;

export interface SimulationOptions extends Pick<WorldOptions, 'engine' | 'client' | 'rateLimit'> {
  scenarios: Scenario[];
  timeoutMs: number;
  /** Called for every timeline entry as it happens. */
  onEntry?: (entry: TimelineEntry) => void;
  /** Called when a scenario begins, with its simulated start time. */
  onScenario?: (scenario: Scenario, startedAt: number) => void;
  /** Called once the world is up, before the first scenario (fault injection goes here). */
  onReady?: (world: World) => void;
  /** Breaks Gorgias around steps (`--faults`). */
  faults?: FaultInjector;
  /** Where the bridge keeps its state (default: memory). */
  store?: WorldOptions['store'];
}

export interface SimulationResult {
  entries: TimelineEntry[];
  checks: Check[];
  ok: boolean;
  simulatedMs: number;
}

export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const stepProblems: string[] = [];
  const world = await createWorld({
    timeoutMs: options.timeoutMs,
    onEntry: options.onEntry,
    engine: options.engine,
    client: options.client,
    store: options.store,
    rateLimit: options.rateLimit,
  });
  try {
    options.onReady?.(world);
    for (const s of options.scenarios) {
      world.scenario = s.name;
      const startedAt = world.clock.now();
      options.onScenario?.(s, startedAt);
      let afterExpiry = 0; // steps that failed because the session had expired: told once
      for (const step of s.steps) {
        const fault = options.faults?.beforeStep(world, s, step);
        if (fault)
          world.record({
            conversation: s.conversation,
            from: 'gorgias',
            to: 'bridge',
            kind: 'api',
            detail: `fault injected: ${fault}`,
            fault: 'injected',
          });
        const problem = await playStep(world, s, step, options.timeoutMs);
        options.faults?.afterStep(world, s, step);
        if (!problem) continue;
        const expired = expiredSince(world, s, startedAt);
        if (expired && afterExpiry++ > 0) continue;
        const why = expired
          ? ` (the session had expired after ${options.timeoutMs / MINUTE} min of silence: the scenario needs a longer --timeout or shorter waits)`
          : '';
        stepProblems.push(`${s.name}: ${describeStep(step)}: ${problem}${why}`);
      }
      if (afterExpiry > 1) stepProblems.push(`${s.name}: ${afterExpiry - 1} later step(s) failed for the same reason`);
      // Let an open session run to its end, so every session ends exactly once.
      for (let i = 0; i < 100 && world.manager.state(s.conversation) === 'LIVECHAT'; i++) {
        const next = world.clock.nextTimerAt();
        if (next === undefined) break;
        await world.passTime(next - world.clock.now());
      }
    }
  } finally {
    await world.close();
  }
  const checks: Check[] = [
    { name: 'scenario steps ran', ok: stepProblems.length === 0, detail: stepProblems.join('; ') || 'every step ran' },
    ...checkTimeline(world.entries, options.timeoutMs),
    webhookCheck(world),
  ];
  return { entries: world.entries, checks, ok: checks.every((c) => c.ok), simulatedMs: world.clock.now() - SIM_START };
}

/** Every webhook that was sent (not dropped on purpose) got a 2xx from our receiver. */
export function webhookCheck(world: World): Check {
  const isDown = (at: string) => world.downtime.some((w) => Date.parse(at) >= w.from && (w.to === undefined || Date.parse(at) < w.to));
  const lost = world.emulator.deliveries.filter((d) => !d.dropped && isDown(d.at));
  const sent = world.emulator.deliveries.filter((d) => !d.dropped && !isDown(d.at));
  const dropped = world.emulator.deliveries.filter((d) => d.dropped).length;
  const doubled = sent.filter((d) => d.duplicate).length;
  const refused = sent.filter((d) => d.error || (d.status !== undefined && (d.status < 200 || d.status >= 300)));
  const notes = [
    dropped || doubled ? `fault injection: ${dropped} dropped, ${doubled} sent twice` : '',
    lost.length ? `${lost.length} sent while the bridge was down, lost` : '',
  ].filter(Boolean);
  const faults = notes.length ? ` (${notes.join('; ')})` : '';
  return {
    name: 'webhooks accepted by the receiver',
    ok: refused.length === 0,
    detail: refused.length
      ? refused.map((d) => `event ${d.eventId}: ${d.error ?? d.status}`).join('; ')
      : `${sent.length} delivery(ies), all answered 2xx${faults}`,
  };
}

/** The bot was told the session expired: a step that then fails is the scenario's fault, not the bridge's. */
function expiredSince(world: World, s: Scenario, since: number): boolean {
  return world.entries.some((e) => e.conversation === s.conversation && e.at >= since && e.kind === 'event' && e.payload === SESSION_EXPIRED);
}

/** Simulated time a `wait` step lasts: built-in waits scale with the timeout. */
export function waitMs(s: Pick<Scenario, 'waitsForTimeoutMs'>, minutes: number, timeoutMs: number): number {
  return Math.round(minutes * MINUTE * (s.waitsForTimeoutMs ? timeoutMs / s.waitsForTimeoutMs : 1));
}

/** Play one step; returns a problem, or undefined when it ran. */
async function playStep(world: World, s: Scenario, step: Step, timeoutMs: number): Promise<string | undefined> {
  const conversation = s.conversation;
  if ('crash' in step) {
    await world.crash();
    return undefined;
  }
  if ('restart' in step) {
    await world.passTime(THINK_MS);
    await world.restart();
    return undefined;
  }
  if ('wait' in step) {
    await world.passTime(waitMs(s, step.wait, timeoutMs));
    return undefined;
  }
  await world.passTime(THINK_MS);
  if ('user' in step) {
    world.record({ conversation, from: 'user', to: 'bridge', kind: 'message', text: step.user });
    await world.until(world.manager.userMessage(conversation, step.user, s.user));
  } else if ('payload' in step || 'press' in step) {
    let payload: string;
    if ('press' in step) {
      const shown = () => world.lastButtons(conversation)?.find((b) => b.title === step.press);
      // A person waits a little for a button that is late (a lost webhook being caught up).
      for (let i = 0; i < PATIENCE_STEPS && !shown(); i++) await world.passTime(THINK_MS);
      const button = shown();
      if (!button) return `no [${step.press}] button was shown to the user`;
      payload = button.payload;
    } else payload = step.payload;
    world.record({
      conversation,
      from: 'user',
      to: 'bridge',
      kind: 'payload',
      payload,
      detail: 'press' in step ? `pressed [${step.press}]` : undefined,
    });
    await world.until(world.manager.userPayload(conversation, payload, s.user));
  } else {
    const ticketId = world.openTicketId(conversation);
    if (ticketId === undefined) return 'no open ticket for this conversation';
    if ('agent' in step) {
      world.record({ conversation, from: 'agent', to: 'gorgias', kind: 'message', text: step.agent, detail: `ticket #${ticketId}` });
      await world.emulator.agent.reply(ticketId, step.agent);
    } else {
      const store = world.emulator.store;
      const macro = step.macro === true ? store.getMacro(world.macroId) : store.listMacros().find((m) => m.name === step.macro);
      if (!macro) return `no macro named "${String(step.macro)}"`;
      world.record({
        conversation,
        from: 'agent',
        to: 'gorgias',
        kind: 'message',
        text: responseText(macro) ?? '',
        detail: `macro "${macro.name}" on ticket #${ticketId}`,
      });
      await world.emulator.agent.applyMacro(ticketId, macro.id);
    }
  }
  await world.settle();
  return undefined;
}
