// `livechat serve` after a restart: how long until it is ready (GET /readyz answers 200) with
// 10,000 open sessions in its data file. The sessions are opened first by the engine on the same
// SQLite file, their tickets written straight into an emulator in this process (quicker than
// 10,000 API calls), which stays up for the restarted serve: it then catches up every open
// session, as after a real restart. The real binary is timed from spawn to its first 200 from
// /readyz.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const BIN = resolve(import.meta.dirname, '..', 'bin', 'livechat.js');
type Lib = typeof import('../src/index.js');
const dist = (module: string) => new URL(`../dist/${module}`, import.meta.url).href;

export interface RestartFigures {
  sessions: number;
  seedMs: number;
  /** spawn -> first 200 from /readyz */
  readyMs: number;
  /** spawn -> the line that says where it listens */
  listeningMs: number;
  /** Sessions the restarted serve reports open (its /metrics). */
  openAfter: number;
}

async function readyz(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/readyz`)).status === 200;
  } catch {
    return false;
  }
}

/** `nodeArgs`: node flags for the restarted serve (e.g. `--cpu-prof`, to see where its start-up goes). */
export async function measureRestart(sessions = 10_000, nodeArgs: string[] = []): Promise<RestartFigures> {
  const [{ createSessionManager, startEmulator, SESSION_START }, { openSqliteStore }, { handoffTicket }] = (await Promise.all([
    import(dist('index.js')),
    import(dist('sqlite.js')),
    import(dist('helpdesk/gorgias.js')),
  ])) as [Lib, typeof import('../src/sqlite.js'), typeof import('../src/helpdesk/gorgias.js')];
  const dir = mkdtempSync(join(tmpdir(), 'livechat-bench-restart-'));
  const data = join(dir, 'livechat.db');
  const emulator = await startEmulator({ rateLimit: false });
  const sink = createServer((req, res) => void req.resume().on('end', () => res.writeHead(204).end()));
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const deliverUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/deliver`;
  try {
    const t0 = performance.now();
    const store = openSqliteStore(data);
    const manager = createSessionManager({
      store,
      deliver: async () => undefined,
      helpdesk: {
        openTicket: async (input) => {
          const ticket = emulator.store.createTicket(handoffTicket(input));
          return { ticketId: ticket.id, messageId: ticket.messages?.[0]?.id };
        },
        postUserMessage: async () => ({ messageId: 0 }),
        endSession: async () => undefined,
      },
    });
    await manager.start();
    const ids = Array.from({ length: sessions }, (_, i) => `restart-${i + 1}`);
    for (let i = 0; i < ids.length; i += 200)
      await Promise.all(ids.slice(i, i + 200).map((id) => manager.userPayload(id, SESSION_START, { name: id })));
    await manager.idle();
    manager.close();
    await store.close();
    const seedMs = performance.now() - t0;

    const started = performance.now();
    const child = spawn(
      process.execPath,
      [
        ...nodeArgs,
        BIN,
        'serve',
        '--json',
        '--port',
        '0',
        '--data',
        data,
        '--deliver-url',
        deliverUrl,
        '--domain',
        emulator.url,
        '--username',
        emulator.email,
      ],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
        env: { ...process.env, GORGIAS_API_KEY: emulator.apiKey, LIVECHAT_CONFIG_DIR: join(dir, 'config'), NO_COLOR: '1' },
      },
    );
    try {
      const first = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next();
      if (first.done) throw new Error('serve printed nothing');
      const listeningMs = performance.now() - started;
      const { url } = JSON.parse(String(first.value)) as { url: string };
      const deadline = started + 30_000;
      while (!(await readyz(url))) {
        if (performance.now() > deadline) throw new Error('serve was not ready within 30 s');
        await new Promise((r) => setTimeout(r, 2));
      }
      const readyMs = performance.now() - started;
      const metrics = await (await fetch(`${url}/metrics`)).text();
      const openAfter = Number(/^livechat_open_sessions\S* (\d+)/m.exec(metrics)?.[1] ?? -1);
      return { sessions, seedMs, readyMs, listeningMs, openAfter };
    } finally {
      const exited = new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(null)));
      child.kill('SIGTERM');
      await exited;
    }
  } finally {
    sink.close();
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
