// Load runs: N conversations through the whole lifecycle over real HTTP, C at a time, then the
// same checks as a scenario run. Half end with the sign-off button, half expire. Gorgias's rate
// limit is on (on the simulated clock): when the bridge's calls wait for their turn in the call
// budget, simulated time passes, as it would for real users; conversations left to expire do so
// while the others run.
import { memoryUsage } from 'node:process';
import { responseText } from '../macro/signoff.js';
import { realClock, stopwatch, type Timer } from '../clock.js';
import { SESSION_END, SESSION_START } from '../protocol.js';
import type { UserOutput } from '../session/types.js';
import { checkTimeline, expectedDelivery } from './checks.js';
import { webhookCheck } from './run.js';
import type { Check } from './timeline.js';
import { createWorld, SIM_START, type World, type WorldOptions } from './world.js';

export interface LoadOptions extends Pick<WorldOptions, 'engine' | 'client' | 'rateLimit'> {
  sessions: number;
  concurrency: number;
  timeoutMs: number;
  /** Real milliseconds to wait for one relay before calling it lost. */
  relayWaitMs?: number;
  /** After each conversation: how many are done, of how many. */
  onProgress?: (done: number, total: number) => void;
  onReady?: (world: World) => void;
}

export interface LoadResult {
  sessions: number;
  concurrency: number;
  wallMs: number;
  conversationsPerSecond: number;
  relaysPerSecond: number;
  /** Webhook in at the receiver -> shown to the user (receiver and engine), real ms. */
  relayMs: { p50: number; p99: number; max: number; count: number };
  /** Agent message created in Gorgias -> shown to the user (emulator dispatch, HTTP, receiver, engine), real ms. */
  endToEndMs: { p50: number; p99: number; max: number; count: number };
  /** Heap growth once every conversation ran, divided by the conversations (engine, emulator and timeline). */
  bytesPerConversation: number;
  checks: Check[];
  ok: boolean;
  simulatedMs: number;
  /** Calls the bridge made to Gorgias, and how many Gorgias answered 429. */
  calls: number;
  rateLimited: number;
  /** The longest wait of a hand-off or user message for its turn in the call budget (simulated ms). */
  maxInteractiveWaitMs: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

function summarize(sorted: number[]): LoadResult['relayMs'] {
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0, count: sorted.length };
}

/** Run `work(i)` for i in [0, total) with at most `concurrency` in flight. */
async function pool(total: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < total) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
}

/** A heap reading after a full GC when the runtime lets us ask for one. */
async function heapUsed(): Promise<number> {
  try {
    const { setFlagsFromString } = await import('node:v8');
    const { runInNewContext } = await import('node:vm');
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  } catch {
    // no GC on demand: the reading is noisier, not wrong
  }
  return memoryUsage().heapUsed;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const relayWaitMs = options.relayWaitMs ?? 10_000;
  const waiters = new Map<string, { text: string; resolve: () => void }>();
  const onUserOutput = (conversation: string, out: UserOutput) => {
    const w = waiters.get(conversation);
    const shown = `${out.text}${out.buttons?.some((b) => b.payload === SESSION_END) ? ' [End chat]' : ''}`.trim();
    if (w && shown === w.text) {
      waiters.delete(conversation);
      w.resolve();
    }
  };
  const webhookRelays: number[] = [];
  const world = await createWorld({
    timeoutMs: options.timeoutMs,
    onUserOutput,
    onWebhookRelay: (ms) => webhookRelays.push(ms),
    engine: options.engine,
    client: options.client,
    rateLimit: options.rateLimit,
  });
  world.scenario = 'load';
  options.onReady?.(world);
  const latencies: number[] = [];
  const lost: string[] = [];
  const user = (i: number) => ({ name: `User ${i}`, email: `user${i}@example.com`, channel: 'webchat' });
  const conv = (i: number) => `load-${String(i).padStart(5, '0')}`;

  /** The agent sends `text` in Gorgias; resolves when the user sees it (or it is given up as lost). */
  const agentSays = async (conversation: string, text: string, send: (ticketId: number) => Promise<unknown>) => {
    const ticketId = world.openTicketId(conversation);
    if (ticketId === undefined) {
      lost.push(`${conversation}: no open ticket for the agent`);
      return;
    }
    world.record({ conversation, from: 'agent', to: 'gorgias', kind: 'message', text });
    let seen = false;
    const shown = new Promise<void>((resolve) =>
      waiters.set(conversation, { text: expectedDelivery(text), resolve: () => ((seen = true), resolve()) }),
    );
    const t0 = stopwatch();
    await send(ticketId);
    let giveUp: Timer | undefined;
    // A sign-off waits for a catch-up, which may wait for its turn in the budget: the world moves time on.
    await world.until(Promise.race([shown, new Promise<void>((resolve) => (giveUp = realClock.setTimer(relayWaitMs, resolve)))]));
    giveUp?.cancel();
    if (seen) latencies.push(stopwatch() - t0);
    else {
      waiters.delete(conversation);
      lost.push(`${conversation}: ${JSON.stringify(text)} not shown within ${relayWaitMs} ms`);
    }
  };

  const says = async (i: number, text: string) => {
    world.record({ conversation: conv(i), from: 'user', to: 'bridge', kind: 'message', text });
    await world.until(world.manager.userMessage(conv(i), text, user(i)));
  };
  const sends = async (i: number, payload: string) => {
    world.record({ conversation: conv(i), from: 'user', to: 'bridge', kind: 'payload', payload });
    await world.until(world.manager.userPayload(conv(i), payload, user(i)));
  };

  const macro = world.emulator.store.getMacro(world.macroId);
  const signoff = responseText(macro) ?? '';
  const started = stopwatch();
  let stats: ReturnType<NonNullable<World['budget']>['stats']> | undefined;
  let done = 0;
  let bytesPerConversation = 0;
  try {
    const baseline = await heapUsed();
    // Each worker runs one conversation's whole life, then takes the next: it opens a session and
    // hears from the agent; then even conversations sign off and end with the button, odd ones
    // write once more and are left to expire.
    await pool(options.sessions, options.concurrency, async (i) => {
      await says(i, `hello from user ${i}`);
      await sends(i, SESSION_START);
      await says(i, `I need help with order ${1000 + i} & more`);
      await agentSays(conv(i), `Hi user ${i}, looking at order #${1000 + i}.`, (t) =>
        world.emulator.agent.reply(t, `Hi user ${i}, looking at order #${1000 + i}.`),
      );
      if (i % 2 === 0) {
        await agentSays(conv(i), signoff, (t) => world.emulator.agent.applyMacro(t, macro.id));
        const end = world.lastButtons(conv(i))?.find((b) => b.payload === SESSION_END);
        if (end) await sends(i, end.payload);
        else lost.push(`${conv(i)}: no [End chat] button`);
        await says(i, 'thanks, back to the bot');
      } else {
        await says(i, 'are you still there?');
      }
      options.onProgress?.(++done, options.sessions);
    });
    await world.until(world.manager.idle());
    bytesPerConversation = Math.max(0, (await heapUsed()) - baseline) / options.sessions;
    // Then silence: the conversations still open expire.
    await world.passTime(options.timeoutMs);
  } finally {
    stats = world.budget?.stats();
    await world.close();
  }
  const wallMs = Math.max(1, stopwatch() - started);
  latencies.sort((a, b) => a - b);
  webhookRelays.sort((a, b) => a - b);
  const checks: Check[] = [
    {
      name: 'every relay reached the user',
      ok: lost.length === 0,
      detail: lost.length ? lost.slice(0, 5).join('; ') : `${latencies.length} relay(s)`,
    },
    ...checkTimeline(world.entries, options.timeoutMs),
    webhookCheck(world),
  ];
  return {
    sessions: options.sessions,
    concurrency: options.concurrency,
    wallMs,
    conversationsPerSecond: (options.sessions * 1000) / wallMs,
    relaysPerSecond: (latencies.length * 1000) / wallMs,
    relayMs: summarize(webhookRelays),
    endToEndMs: summarize(latencies),
    bytesPerConversation,
    checks,
    ok: checks.every((c) => c.ok),
    simulatedMs: world.clock.now() - SIM_START,
    calls: world.calls,
    rateLimited: world.emulator.requests.filter((r) => r.status === 429).length,
    maxInteractiveWaitMs: stats?.waits.interactive.maxMs ?? 0,
  };
}
