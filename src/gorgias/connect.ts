// What commands call to get a client: flags > env > config file, notices on stderr.
import { readConfig } from '../config/store.js';
import { resolveCredentials } from '../config/resolve.js';
import { missingValue } from '../errors.js';
import type { Io } from '../io.js';
import type { Clock } from '../clock.js';
import { createGorgiasClient, type ClientOptions, type GorgiasClient } from './client.js';

/** `--debug` is a program-level flag that commander does not hand to subcommands. */
export function debugWanted(io: Pick<Io, 'env' | 'argv'>, argv: readonly string[] = io.argv ?? process.argv): boolean {
  return argv.includes('--debug') || Boolean(io.env.LIVECHAT_DEBUG);
}

/** Pure: the client options from what the flags, environment and file say. */
export function connectionOptions(
  flags: { domain?: string; username?: string; apiKey?: string },
  env: NodeJS.ProcessEnv,
  file: { domain?: string; username?: string; apiKey?: string },
): Pick<ClientOptions, 'domain' | 'username' | 'apiKey'> {
  const c = resolveCredentials(flags, env, file);
  const setupHint = ['or save the credentials once with `livechat setup gorgias`'];
  if (!c.domain.value) throw missingValue('--domain', 'GORGIAS_DOMAIN', setupHint);
  if (!c.username.value) throw missingValue('--username', 'GORGIAS_USERNAME', setupHint);
  if (!c.apiKey.value) throw missingValue('GORGIAS_API_KEY', 'run `livechat setup gorgias`');
  return { domain: c.domain.value, username: c.username.value, apiKey: c.apiKey.value };
}

export async function clientFromFlags(
  flags: { domain?: string; username?: string },
  io: Io,
  options: { debug?: boolean; clock?: Clock } = {},
): Promise<GorgiasClient> {
  const creds = connectionOptions({ domain: flags.domain, username: flags.username }, io.env, readConfig(io.env));
  const debug = options.debug ?? debugWanted(io);
  return createGorgiasClient({
    ...creds,
    clock: options.clock,
    notice: (line) => io.err(line),
    debug: debug ? (line) => io.err(`debug: ${line}`) : undefined,
  });
}
