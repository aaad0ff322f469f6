// `livechat emulator`: run the local Gorgias until SIGINT/SIGTERM.
import { listenError, usageError } from '../errors.js';
import type { Io } from '../io.js';
import { maskSecret } from '../mask.js';
import { untilSignal } from '../signals.js';

export interface EmulatorCommandOptions {
  port?: string;
  host?: string;
  email?: string;
  apiKey?: string;
  rateLimit?: string;
  rateWindow?: string;
  json?: boolean;
}

export interface ParsedEmulatorOptions {
  port: number;
  host: string;
  email: string;
  apiKey?: string;
  rateLimit: { limit: number; windowMs: number } | false;
}

/** Flags -> emulator options; a bad value is a usage error (exit 2). */
export function parseEmulatorOptions(opts: EmulatorCommandOptions): ParsedEmulatorOptions {
  const portText = (opts.port ?? '8787').trim();
  const port = /^\d+$/.test(portText) ? Number(portText) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`--port must be a number from 0 to 65535, got "${opts.port}"`);
  const host = (opts.host ?? '127.0.0.1').trim();
  if (!host || /\s/.test(host)) throw usageError(`--host must be an interface name or address, got "${opts.host}"`);
  const email = (opts.email ?? 'agent@example.com').trim();
  if (!/^[^\s:@]+@[^\s:@]+$/.test(email)) throw usageError(`--email must be an email address (no ":"), got "${opts.email}"`);
  const apiKey = opts.apiKey;
  if (apiKey !== undefined && (apiKey === '' || /\s/.test(apiKey))) throw usageError('--api-key must be a non-empty key without spaces');
  const limitText = (opts.rateLimit ?? '40').trim().toLowerCase();
  const limit = limitText === 'off' ? 0 : /^\d+$/.test(limitText) ? Number(limitText) : NaN;
  if (!Number.isSafeInteger(limit)) throw usageError(`--rate-limit must be a whole number, or off (as 0 is), got "${opts.rateLimit}"`);
  const windowText = (opts.rateWindow ?? '20').trim();
  const windowS = /^\d+(\.\d+)?$/.test(windowText) ? Number(windowText) : NaN;
  if (!(windowS > 0)) throw usageError(`--rate-window must be a positive number of seconds, got "${opts.rateWindow}"`);
  return { port, host, email, apiKey, rateLimit: limit === 0 ? false : { limit, windowMs: Math.round(windowS * 1000) } };
}

export async function emulator(opts: EmulatorCommandOptions, io: Io): Promise<void> {
  const parsed = parseEmulatorOptions(opts);
  const [{ startEmulator }, { createPages }] = await Promise.all([import('../emulator/index.js'), import('../playground/pages.js')]);
  const stopped = untilSignal();
  let emu;
  try {
    // The agent desk of the playground, at /desk: the way to play the agent by hand.
    emu = await startEmulator({ ...parsed, log: (line) => io.err(line), pages: createPages({ playground: false }) });
  } catch (err) {
    throw listenError(err, parsed.host, parsed.port);
  }

  if (opts.json) {
    // Like the text below: a generated key is the only way to learn it; a given one stays masked.
    io.out(
      JSON.stringify({
        url: emu.url,
        email: emu.email,
        api_key: parsed.apiKey === undefined ? emu.apiKey : maskSecret(emu.apiKey),
        desk_url: `${emu.url}/desk`,
      }),
    );
  } else {
    // A generated key is shown once, in full; a key the user gave is not repeated.
    const key = parsed.apiKey === undefined ? emu.apiKey : maskSecret(emu.apiKey);
    const keyForExport = parsed.apiKey === undefined ? emu.apiKey : '<your key>';
    io.out(
      [
        `Gorgias emulator listening on ${emu.url}`,
        `  domain    ${emu.url}   (use with --domain; the API is under ${emu.url}/api)`,
        `  username  ${emu.email}`,
        `  API key   ${key}`,
        `  desk      ${emu.url}/desk   (play the agent in a browser: sign in with the username and API key)`,
        '',
        `export GORGIAS_DOMAIN=${emu.url} GORGIAS_USERNAME=${emu.email} GORGIAS_API_KEY=${keyForExport}`,
        '',
        'Press Ctrl-C to stop.',
      ].join('\n'),
    );
  }

  const signal = await stopped;
  await emu.close();
  io.err(`emulator stopped (${signal})`);
}
