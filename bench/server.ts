// One server for the ingest benchmark, in a process of its own (pinned to its own core by the
// driver) so it shares nothing with the load generator:
//   node --import tsx bench/server.ts bare               node http answering 200 (the ceiling)
//   node --import tsx bench/server.ts fastify            a fastify hello-world (the reference peer)
//   node --import tsx bench/server.ts receiver <token>   the real receiver, trivial onEvent
//   node --import tsx bench/server.ts manager <token>    the receiver feeding the session manager (in memory)
//   node --import tsx bench/server.ts serve <token>      the whole bridge as `livechat serve` runs it: SQLite
//                                                        store (a temp file), metrics, an in-process emulator
//                                                        for Gorgias, a no-op deliver
// The livechat servers run the built code (dist/, what ships; `npm run bench` builds it first).
// The last two open SESSIONS sessions first, so that each agent webhook the driver sends (fresh
// event and message ids) is delivered and, for `serve`, committed with its outbox row.
// Prints {"port", "sessions": [[conversation, ticket], ...]} once listening; when its stdin closes,
// prints what it counted ({"outcomes", "deliveries", "gorgiasCalls"}) and exits.
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';

type Lib = typeof import('../src/index.js');
/** BENCH_DIST: another build to run (to compare two versions of the code), default dist/. */
const distDir = process.env.BENCH_DIST ? pathToFileURL(`${resolve(process.env.BENCH_DIST)}/`) : new URL('../dist/', import.meta.url);
const dist = (module: string) => new URL(module, distDir).href;

export const SESSIONS = Number(process.env.BENCH_OPEN_SESSIONS ?? 1000);
const [kind, token] = process.argv.slice(2);
const outcomes: Record<string, number> = {};
const count = (outcome: string) => (outcomes[outcome] = (outcomes[outcome] ?? 0) + 1);
let deliveries = 0;
let gorgiasCalls = () => 0;
let port: number;
let sessions: Array<[string, number]> = [];
let stop = async () => {};
const conversations = Array.from({ length: SESSIONS }, (_, i) => `conv-${i + 1}`);

if (kind === 'bare') {
  const body = '{"ok":true}';
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
} else if (kind === 'fastify') {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  // Webhooks come as POSTs with an empty JSON body, which fastify's JSON parser refuses (400).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', (_req, _body, done) => done(null, undefined));
  app.all('/gorgias/webhook', async () => ({ ok: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as AddressInfo).port;
} else if (kind === 'receiver' && token) {
  const { createReceiver, listenReceiver } = (await import(dist('index.js'))) as Lib;
  const running = await listenReceiver(
    createReceiver({
      token,
      onEvent: () => {
        count('delivered');
        return 'delivered';
      },
    }),
  );
  port = running.port;
} else if (kind === 'manager' && token) {
  const { createReceiver, createSessionManager, listenReceiver, SESSION_START } = (await import(dist('index.js'))) as Lib;
  let ticket = 40_000;
  const manager = createSessionManager({
    helpdesk: {
      openTicket: async () => ({ ticketId: ++ticket }),
      postUserMessage: async () => ({ messageId: 1 }),
      endSession: async () => undefined,
    },
    deliver: () => void deliveries++,
  });
  for (const id of conversations) await manager.userPayload(id, SESSION_START);
  await manager.idle();
  sessions = conversations.map((id) => [id, manager.conversation(id)!.session!.ticketId!]);
  const running = await listenReceiver(
    createReceiver({
      token,
      onEvent: async (event) => {
        const outcome = await manager.agentWebhook(event);
        count(outcome);
        return outcome;
      },
    }),
  );
  port = running.port;
  stop = async () => {
    await manager.idle();
    manager.close();
  };
} else if (kind === 'serve' && token) {
  const [{ createBridge, startEmulator, SESSION_START }, { openSqliteStore }, { prometheusMetrics }] = (await Promise.all([
    import(dist('index.js')),
    import(dist('sqlite.js')),
    import(dist('server/metrics.js')),
  ])) as [Lib, typeof import('../src/sqlite.js'), typeof import('../src/server/metrics.js')];
  const dir = mkdtempSync(join(tmpdir(), 'livechat-bench-serve-'));
  const emulator = await startEmulator({ rateLimit: false });
  const store = openSqliteStore(join(dir, 'livechat.db'));
  const prometheus = await prometheusMetrics({ openSessions: () => store.count().open, deliveriesPending: () => 0, jobsPending: () => 0 });
  const metrics = {
    ...prometheus,
    webhook: (outcome: string) => {
      count(outcome);
      prometheus.webhook(outcome);
    },
  };
  const bridge = await createBridge({
    gorgias: { domain: emulator.url, username: emulator.email, apiKey: emulator.apiKey },
    webhookToken: token,
    channelSecret: 'bench-channel-secret',
    deliver: async () => void deliveries++,
    store,
    metrics,
    // The emulator's limit is off here: opening the sessions must not take 10 minutes of budget.
    callBudget: { limit: 100_000, windowMs: 1000 },
  });
  for (const id of conversations) await bridge.userPayload(id, SESSION_START, { name: `User ${id}` });
  await bridge.manager.idle();
  sessions = conversations.map((id) => [id, bridge.manager.conversation(id)!.session!.ticketId!]);
  deliveries = 0;
  const opened = emulator.requests.length;
  gorgiasCalls = () => emulator.requests.length - opened;
  port = (await bridge.listen(0, '127.0.0.1')).port;
  stop = async () => {
    await bridge.manager.idle();
    await bridge.close({ timeoutMs: 2000 });
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  };
} else {
  process.stderr.write('usage: server.ts bare | fastify | receiver <token> | manager <token> | serve <token>\n');
  process.exit(2);
}

process.stdout.write(`${JSON.stringify({ port, sessions })}\n`);
process.stdin
  .on('end', () => {
    void stop().then(() =>
      process.stdout.write(`${JSON.stringify({ outcomes, deliveries, gorgiasCalls: gorgiasCalls() })}\n`, () => process.exit(0)),
    );
  })
  .resume();
