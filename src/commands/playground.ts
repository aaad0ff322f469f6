// `livechat playground`: the emulator, the bridge and a page with a chat and an agent desk, on one
// local port, until SIGINT/SIGTERM (exit 0, as `livechat emulator`).
import { realClock } from '../clock.js';
import { listenError, usageError } from '../errors.js';
import { debugWanted } from '../gorgias/connect.js';
import type { Io } from '../io.js';
import { parseNumber } from '../numbers.js';
import { untilSignal } from '../signals.js';

export interface PlaygroundCommandOptions {
  port?: string;
  host?: string;
  timeout?: string;
  json?: boolean;
}

export const DEFAULT_PLAYGROUND_PORT = 8788;

export async function playground(opts: PlaygroundCommandOptions, io: Io): Promise<void> {
  const port = parseNumber(opts.port ?? String(DEFAULT_PLAYGROUND_PORT), '--port', { min: 0, max: 65535, integer: true });
  const host = (opts.host ?? '127.0.0.1').trim();
  if (!host || /\s/.test(host)) throw usageError(`--host must be an interface name or address, got "${opts.host}"`);
  const timeoutMin = parseNumber(opts.timeout ?? '30', '--timeout', { min: 1, max: 24 * 60 });
  const debug = debugWanted(io);

  const [{ startPlayground }, { createLogger }] = await Promise.all([import('../playground/index.js'), import('../server/log.js')]);
  const stopped = untilSignal();
  let clockNow = () => realClock.now();
  const log = await createLogger({
    format: 'pretty',
    level: debug ? 'debug' : 'warn',
    write: (line) => io.err(line),
    color: io.color && io.stderrIsTTY,
    now: () => clockNow(),
  });
  let pg;
  try {
    pg = await startPlayground({ port, host, timeoutMs: timeoutMin * 60_000, log, gorgiasLog: debug ? (line) => io.err(line) : undefined });
  } catch (err) {
    throw listenError(err, host, port);
  }
  const running = pg;
  clockNow = () => running.clock.now();
  const page = `${pg.url}/`;
  const desk = `${pg.url}/desk`;
  const emu = pg.emulator;

  if (opts.json) {
    // The emulator's key is made for this run and shown once, as `livechat emulator` does.
    io.out(
      JSON.stringify({
        url: page,
        desk_url: desk,
        gorgias: { url: pg.url, api: `${pg.url}/api`, email: emu.email, api_key: emu.apiKey },
        conversation_id: pg.chat.conversationId,
        timeout_minutes: timeoutMin,
        store: 'memory',
        pid: process.pid,
      }),
    );
  } else {
    io.out(
      [
        `livechat playground on ${page}`,
        '  open it: the chat as the user, the agent desk as Gorgias, the bridge state and a fast-forward',
        `  agent desk alone   ${desk}`,
        `  Gorgias emulator   ${pg.url}/api   username ${emu.email}   API key ${emu.apiKey}`,
        `  sessions expire after ${timeoutMin} min without messages; state is in memory, gone when this stops`,
        '',
        'Press Ctrl-C to stop.',
      ].join('\n'),
    );
  }

  const signal = await stopped;
  await pg.close();
  io.err(`playground stopped (${signal})`);
}
