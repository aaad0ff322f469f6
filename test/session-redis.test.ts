// 1,000 sessions on two session managers sharing one Redis (a redis-server of the test's own), each
// input, webhook and duplicate webhook given to either manager at random. The managers run in this
// process on the real Redis store and the real clock, with the in-memory helpdesk: spawning two
// `serve` processes and an emulator for 1,000 sessions takes minutes on 2 cores (the two-process
// runs are test/serve-redis*.test.ts). 0 lost, 0 doubled.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { realClock } from '../src/clock.ts';
import { SESSION_END, SESSION_START } from '../src/protocol.ts';
import { createSessionManager, type BotInput, type SessionManager } from '../src/session/manager.ts';
import { openRedisStore, type RedisStore } from '../src/store/redis.ts';
import { redisMissing, startRedis, type TestRedis } from './redis-helpers.ts';
import { instantRetryClock, memoryHelpdesk } from './session-memory-helpdesk.ts';
import { waitFor } from './serve-helpers.ts';

const SESSIONS = Number(process.env.LIVECHAT_TEST_SESSIONS ?? 1000);
const skip = redisMissing();

describe('two managers on one Redis', { skip }, () => {
  let redis: TestRedis;
  const stores: RedisStore[] = [];
  const managers: SessionManager[] = [];
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const m of managers) m.close();
    for (const s of stores) await s.close();
    await redis?.close();
  });

  it(`${SESSIONS.toLocaleString('en-US')} sessions, every input at either manager at random: 0 lost, 0 doubled`, async () => {
    const helpdesk = memoryHelpdesk(realClock);
    const toUser = new Map<string, string[]>();
    const toBot = new Map<string, BotInput[]>();
    const push = <T>(m: Map<string, T[]>, c: string, v: T) => m.set(c, [...(m.get(c) ?? []), v]);
    for (const name of ['p1', 'p2']) {
      const store = await openRedisStore(redis.url, { prefix: 'load:' });
      stores.push(store);
      managers.push(
        createSessionManager({
          helpdesk: helpdesk.port,
          store,
          retryClock: instantRetryClock(realClock),
          instance: name,
          leaseMs: 5000,
          pollMs: 200,
          catchUpMs: false,
          sinks: { toUser: (c, out) => push(toUser, c, out.text), toBot: (c, input) => push(toBot, c, input) },
        }),
      );
    }
    await Promise.all(managers.map((m) => m.start()));
    const any = () => managers[Math.floor(Math.random() * managers.length)];
    const convs = Array.from({ length: SESSIONS }, (_, i) => `s${i}`);
    const started = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < convs.length) {
          const c = convs[next++];
          await any().submit(c, { kind: 'userPayload', payload: SESSION_START });
          await any().submit(c, { kind: 'userText', text: `${c} one` });
          await any().submit(c, { kind: 'userText', text: `${c} two` });
          const t = await waitFor(`${c}'s ticket`, () => helpdesk.openTicketOf(c), 20_000);
          for (const text of [`${c} r1`, `${c} r2`]) {
            const m = helpdesk.agentSays(t.id, text);
            const event = { conversationId: c, ticketId: t.id, eventId: `e${m.id}`, messageId: String(m.id), text, fromAgent: true };
            await any().agentWebhook(event);
            await any().agentWebhook(event); // Gorgias never sends one twice; a retrying proxy might
          }
          await waitFor(`${c}'s replies`, () => (toUser.get(c)?.length ?? 0) >= 2, 20_000);
          await waitFor(`${c}'s posts`, () => t.messages.filter((x) => !x.fromAgent).length >= 3, 20_000);
          await any().submit(c, { kind: 'userPayload', payload: SESSION_END });
        }
      }),
    );
    await waitFor('every END', () => convs.every((c) => (toBot.get(c) ?? []).length > 0), 20_000);
    await waitFor('every ticket closed', () => [...helpdesk.tickets.values()].every((t) => t.status === 'closed'), 20_000);
    const took = Date.now() - started;
    await new Promise((r) => setTimeout(r, 500));
    let lost = 0;
    let doubled = 0;
    const byConversation = new Map<string, number>();
    for (const t of helpdesk.tickets.values()) byConversation.set(t.conversationId, (byConversation.get(t.conversationId) ?? 0) + 1);
    for (const c of convs) {
      const t = [...helpdesk.tickets.values()].find((x) => x.conversationId === c)!;
      const posted = t.messages
        .filter((m) => !m.fromAgent && !m.text.startsWith('note:'))
        .slice(1)
        .map((m) => m.text);
      const got = toUser.get(c) ?? [];
      for (const [want, have] of [
        [[`${c} one`, `${c} two`], posted],
        [[`${c} r1`, `${c} r2`], got],
      ] as const) {
        lost += want.filter((w) => !have.includes(w)).length;
        doubled += have.length - new Set(have).size;
        assert.deepEqual(have, want, `${c}: once each, in order`);
      }
      doubled += (byConversation.get(c) ?? 0) - 1 + t.messages.filter((m) => m.text.startsWith('note:')).length - 1 + (toBot.get(c)?.length ?? 0) - 1;
    }
    assert.deepEqual({ lost, doubled }, { lost: 0, doubled: 0 });
    assert.deepEqual(
      convs.flatMap((c) => toBot.get(c) ?? []).filter((b) => b.kind !== 'payload' || b.payload !== SESSION_END),
      [],
      'each session ended once, by END',
    );
    process.stderr.write(`# ${SESSIONS} sessions on two managers in ${took} ms\n`);
  });
});
