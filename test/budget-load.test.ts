// The call budget under load, with Gorgias's limit on (issue 12): the simulated world (engine,
// receiver, emulator over real HTTP) on a FakeClock that moves on while calls wait for a slot.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SESSION_FAILED, SESSION_START } from '../src/protocol.ts';
import { createWorld } from '../src/simulator/world.ts';

test('100 simultaneous hand-offs each send messages: none fails, none is refused, every message is posted once and in order', async () => {
  const world = await createWorld({ timeoutMs: 30 * 60_000 });
  try {
    const setupCalls = world.emulator.requests.length;
    const started = world.clock.now();
    const ids = Array.from({ length: 100 }, (_, i) => `rush-${i}`);
    const texts = (i: number) => [`first from ${i}`, `second from ${i}`, `third from ${i}`];
    // Everyone presses the button at the same moment and types at once, without waiting for Gorgias.
    await world.until(
      Promise.all(
        ids.map(async (id, i) => {
          await world.manager.submit(id, { kind: 'userPayload', payload: SESSION_START, user: { name: `User ${i}` } });
          for (const text of texts(i)) await world.manager.submit(id, { kind: 'userText', text });
        }),
      ),
    );
    await world.until(world.manager.idle());
    await world.settle();

    const calls = world.emulator.requests.slice(setupCalls);
    assert.equal(calls.filter((r) => r.status === 429).length, 0, 'Gorgias never had to refuse a call');
    assert.ok(
      calls.every((r) => r.status < 400),
      `every call succeeded: ${calls.filter((r) => r.status >= 400).length} did not`,
    );
    // 400 calls at least (100 hand-offs, 300 messages): 32 at once, then 1.6 a second.
    const elapsed = world.clock.now() - started;
    assert.ok(elapsed >= ((calls.length - 32) / 1.6) * 1000 - 1000, `paced: ${calls.length} calls in ${elapsed / 1000} simulated s`);
    const failed = world.entries.filter((e) => e.to === 'bot' && e.payload === SESSION_FAILED);
    assert.deepEqual(failed, [], 'no session failed');
    ids.forEach((id, i) => {
      const tickets = world.emulator.store.listTickets({ external_id: id });
      assert.equal(tickets.length, 1, `${id}: one ticket`);
      const posted = tickets[0].messages.filter((m) => !m.from_agent).map((m) => m.body_text);
      assert.deepEqual(posted.slice(1), texts(i), `${id}: each message once, in order`);
      assert.equal(world.manager.state(id), 'LIVECHAT');
    });
    const waits = world.budget!.stats().waits;
    assert.ok(waits.interactive.waited > 0, 'the hand-offs did wait for their turn');
  } finally {
    await world.close();
  }
});
