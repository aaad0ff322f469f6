// `simulate --faults`: the same scenarios with Gorgias misbehaving. The plan is seeded, so a run
// replays exactly with the same `--seed`.
import { backoffPolicy } from '../session/manager.js';
import { SESSION_START } from '../protocol.js';
import type { Scenario, Step } from './scenario.js';
import type { World, WorldOptions } from './world.js';
import { seededRandom } from '../random.js';

export const DEFAULT_FAULT_SEED = 20261125;

/** Webhook faults for the whole run (probabilities and simulated delays). */
export const WEBHOOK_FAULTS = { drop: 0.2, duplicate: 0.3, delayMs: 3_000, reorder: true, reorderWindowMs: 1_500 } as const;

/**
 * The engine and client under faults: retries in small steps (on the simulated clock, which the
 * world moves on while calls wait), a catch-up 10 simulated seconds after the last message finds
 * dropped webhooks before the user's next move, and a reorder window puts late webhooks back in
 * send order.
 */
export const FAULT_WORLD: Pick<WorldOptions, 'engine' | 'client'> = {
  engine: {
    retry: backoffPolicy({ attempts: 6, baseMs: 10, maxMs: 80 }),
    catchUpMs: 10_000,
    catchUpMaxMs: 40_000,
    reorderWindowMs: 2_000,
  },
  client: { timeoutMs: 2_000, backoffBaseMs: 10 },
};

/** Gorgias is down for the whole hand-off: retries run out, the user and the bot are told. */
export const OUTAGE: Scenario = {
  name: 'outage',
  conversation: 'conv-outage',
  user: { name: 'Edsger Dijkstra', email: 'edsger@example.com', channel: 'sms' },
  steps: [{ user: 'Hi, I have a billing question' }, { payload: SESSION_START }, { user: 'Hello? Anyone?' }],
};

export interface FaultInjector {
  /** Before a step: maybe break the next API calls. Returns a description for the timeline. */
  beforeStep(world: World, scenario: Scenario, step: Step): string | undefined;
  /** After a step: end a scenario-wide outage. */
  afterStep(world: World, scenario: Scenario, step: Step): void;
}

export function faultInjector(seed: number): FaultInjector {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  return {
    beforeStep(world, scenario, step) {
      if (scenario.name === OUTAGE.name) {
        if ('payload' in step && step.payload === SESSION_START) {
          world.emulator.faults.failNext(1_000, 503);
          return 'Gorgias is down: every API call answers 503';
        }
        return undefined;
      }
      // Only where the bridge calls Gorgias: a user message or payload.
      if (!('user' in step) && !('payload' in step) && !('press' in step)) return undefined;
      const roll = random();
      if (roll < 0.45) {
        const n = 1 + Math.floor(random() * 3);
        const status = pick([500, 502, 503] as const);
        world.emulator.faults.failNext(n, status);
        return `the next ${n} API call(s) answer ${status}`;
      }
      if (roll < 0.75) {
        const n = 2 + Math.floor(random() * 4);
        world.emulator.faults.rateLimitStorm(n, 0);
        return `429 storm: the next ${n} API call(s) are rate limited`;
      }
      return undefined;
    },
    afterStep(world, scenario, step) {
      if (scenario.name === OUTAGE.name && 'payload' in step) world.emulator.faults.failNext(0);
    },
  };
}
