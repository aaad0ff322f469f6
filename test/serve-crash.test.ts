// Nothing lost, nothing doubled: `livechat serve` is killed with SIGKILL while a dozen
// conversations each stand at a different point of a session (a call in flight, a call queued,
// a delivery pending, a deadline about to pass...), then started again on the same data file.
// The emulator runs in this process so the test can hold Gorgias's answers (injected latency).
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startEmulator, type Emulator } from '../src/emulator/index.ts';
import { SESSION_END, SESSION_EXPIRED, SESSION_START } from '../src/protocol.ts';
import { runCli } from './helpers.ts';
import { channel, deliverSink, installWebhook, scratch, spawnCli, waitFor, type DeliverSink, type Spawned } from './serve-helpers.ts';

const TIMEOUT_S = 6;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('serve survives SIGKILL at any point', () => {
  const dirs = scratch();
  let emu: Emulator;
  let sink: DeliverSink;
  let bridge: Spawned;
  let secret = '';
  let port = 0;
  let env: NodeJS.ProcessEnv;
  const ch = channel(
    () => `http://127.0.0.1:${port}`,
    () => secret,
  );
  const start = async () => {
    bridge = await spawnCli(
      [
        'serve',
        '--port',
        String(port),
        '--json',
        '--data',
        dirs.data,
        '--deliver-url',
        sink.url,
        '--timeout',
        String(TIMEOUT_S / 60),
        '--log-format',
        'json',
        '--debug',
      ],
      env,
    );
  };
  const ticketsOf = (c: string) => emu.store.listTickets({ external_id: c });
  const ticketOf = (c: string) => ticketsOf(c)[0];
  /** The customer's messages on the conversation's tickets (the hand-off, then what the user wrote), note-free. */
  const userTexts = (c: string) =>
    ticketsOf(c)
      .flatMap((t) => t.messages)
      .filter((m) => !m.from_agent && !/^The (chat|user) /.test(m.body_text))
      .map((m) => m.body_text.split('\n')[0]);
  /** Each delivered text once per id; fails if one text came under two ids. */
  const deliveredTexts = (c: string) => {
    const byId = new Map<string, string>();
    for (const d of sink.of(c)) byId.set(d.id, d.text ?? `[${d.event}]`);
    return [...byId.values()];
  };
  /** What the user got (agent messages), without the bot's events. */
  const userGot = (c: string) => deliveredTexts(c).filter((t) => !t.startsWith('['));

  before(async () => {
    emu = await startEmulator({ rateLimit: false });
    env = { LIVECHAT_CONFIG_DIR: dirs.config, GORGIAS_DOMAIN: emu.url, GORGIAS_USERNAME: emu.email, GORGIAS_API_KEY: emu.apiKey };
    sink = await deliverSink(() => secret);
    secret = (await runCli(['serve', '--print-secret'], { env })).stdout.trim();
    port = await freePort();
    await start();
    await installWebhook(env, `http://127.0.0.1:${port}/gorgias/webhook`);
  });

  after(async () => {
    await bridge?.kill('SIGKILL');
    await emu?.close();
    await sink?.close();
    dirs.cleanup();
  });

  it('a dozen conversations, one kill, every message once and in order, every session ends once', async () => {
    const opened = async (c: string) => {
      await ch.press(c, SESSION_START, { name: c });
      await waitFor(`${c}'s ticket`, () => ticketOf(c));
    };
    // Points reached with Gorgias answering at once.
    await ch.say('bot-only', 'hello bot'); // p1: a conversation with the bot only
    await ch.botSaid('bot-only', 'I can find you a human');
    for (const c of ['open', 'post', 'queued', 'held', 'failing', 'end', 'signoff', 'down']) await opened(c); // p2: a session open, quiet
    await ch.say('post', 'first message'); // already posted before the kill
    // p3: deliveries failing (the bot is down): retried with back-off when the kill lands.
    sink.status = 500;
    await emu.agent.reply(ticketOf('failing').id, 'failing 1');
    await waitFor('a failed delivery try', () => bridge.stderr().includes('failed (try 1)'));
    // p4: deliveries held in flight (the bot takes its time).
    sink.status = 200;
    const release = sink.hold();
    await emu.agent.reply(ticketOf('held').id, 'held 1');
    await emu.agent.reply(ticketOf('held').id, 'held 2');
    // p5: a deadline that passes while the bridge is down.
    await opened('expiry');
    const expiryStarted = Date.now();
    // Gorgias now takes 4 s to answer, after doing the work: every call below is in flight at the kill.
    emu.faults.setLatency(4000);
    const inFlight = [
      ch.press('opening', SESSION_START), // p6: the ticket is being created
      ch.say('post', 'second message'), // p7: a user message stored by Gorgias, its answer not back
      ch.say('queued', 'q1').then(() => ch.say('queued', 'q2')), // p8: one post in flight, the next queued behind it
      ch.press('end', SESSION_END), // p9: the user left; the end note and close in flight
    ];
    await Promise.all(inFlight.map((p) => p.then((r) => assert.ok(r.status === 200, JSON.stringify(r.body)))));
    // p10: the sign-off's webhook answered, its catch-up listing in flight.
    const bye = await emu.agent.reply(ticketOf('signoff').id, `Bye! ${SESSION_END}`);
    await waitFor('the sign-off webhook answered', () => emu.deliveries.some((d) => d.messageId === bye.id && d.status === 200));
    await sleep(300);
    bridge.proc.kill('SIGKILL');
    await bridge.exited;

    // p11: written while the bridge is down: its webhook is refused, and Gorgias never sends it again.
    emu.faults.setLatency(0);
    await emu.agent.reply(ticketOf('down').id, 'are you still there?');
    await waitFor('the webhook to the dead bridge failed', () => emu.deliveries.some((d) => d.ticketId === ticketOf('down').id && d.error));
    await sleep(Math.max(0, TIMEOUT_S * 1000 + 500 - (Date.now() - expiryStarted)));
    release();
    await start();

    // After the restart, everything converges.
    await waitFor('the held deliveries', () => userGot('held').length === 2);
    await waitFor('the failing delivery', () => userGot('failing').length === 1, 15_000);
    await waitFor('the message written while down', () => userGot('down').length === 1, 15_000);
    await waitFor('the sign-off', () => userGot('signoff').length === 1);
    await waitFor('the END of "end"', () => deliveredTexts('end').includes(`[${SESSION_END}]`));
    await waitFor('expired', () => deliveredTexts('expiry').includes(`[${SESSION_EXPIRED}]`), 15_000);
    await waitFor('all posts', () => userTexts('queued').length === 3 && userTexts('post').length === 3);
    await waitFor('the ticket of "opening"', () => ticketOf('opening'));

    assert.deepEqual(userGot('held'), ['held 1', 'held 2'], 'held deliveries: once each, in order');
    assert.deepEqual(userGot('failing'), ['failing 1']);
    assert.deepEqual(userGot('down'), ['are you still there?'], 'caught up after the restart');
    assert.deepEqual(userGot('signoff'), ['Bye!'], 'the sign-off once');
    assert.ok(
      sink.of('signoff').every((d) => d.buttons?.[0]?.payload === SESSION_END),
      'with its button',
    );
    assert.equal(ticketsOf('opening').length, 1, 'one ticket, though the first create was never answered');
    assert.deepEqual(userTexts('post').slice(1), ['first message', 'second message'], 'posted once each, in order');
    assert.deepEqual(userTexts('queued').slice(1), ['q1', 'q2']);
    const end = ticketOf('end');
    await waitFor('"end" closed', () => ticketOf('end').status === 'closed');
    assert.equal(
      ticketOf('end').messages.filter((m) => /ended the chat/.test(m.body_text)).length,
      1,
      `the end note once: ${JSON.stringify(end.messages.map((m) => m.body_text))}`,
    );
    assert.equal(deliveredTexts('end').filter((t) => t === `[${SESSION_END}]`).length, 1, 'END once');
    assert.equal(deliveredTexts('expiry').filter((t) => t === `[${SESSION_EXPIRED}]`).length, 1, 'EXPIRED once');
    assert.equal((await ch.get('expiry')).body.mode, 'BOT');

    // The rest of each session after the restart: the bot-only conversation still has its history.
    await ch.press('bot-only', SESSION_START);
    await waitFor('bot-only ticket', () => ticketOf('bot-only'));
    assert.match(ticketOf('bot-only').messages[0].body_text, /Bot: I can find you a human/);
    for (const c of ['open', 'post', 'queued', 'held', 'failing', 'signoff', 'down', 'opening', 'bot-only']) {
      await ch.press(c, SESSION_END);
    }
    // Every session ended exactly once, by END or by EXPIRED (a 6 s timeout: some expired meanwhile).
    for (const c of ['open', 'post', 'queued', 'held', 'failing', 'signoff', 'down', 'opening', 'bot-only']) {
      await waitFor(`${c} ended`, () => sink.of(c).some((d) => d.type === 'bot.event'));
    }
    await sleep(500);
    for (const c of ['open', 'post', 'queued', 'held', 'failing', 'signoff', 'down', 'opening', 'bot-only', 'end', 'expiry']) {
      const ends = sink.of(c).filter((d) => d.type === 'bot.event');
      assert.equal(new Set(ends.map((d) => d.id)).size, 1, `${c}: ${JSON.stringify(ends)}`);
    }
    assert.deepEqual(sink.badSignatures, []);
  });
});
