// `livechat serve`: the bridge as a service. Config from flags, then the environment, then the
// saved config; state in a SQLite file, or on Redis shared with other serve processes; deliveries
// POSTed, signed, to the deliver URL.
import { hostname } from 'node:os';
import { configFile, dataFile } from '../config/paths.js';
import { readConfig, updateConfig } from '../config/store.js';
import { EXIT, LivechatError, missingValue, usageError } from '../errors.js';
import { connectionOptions, debugWanted } from '../gorgias/connect.js';
import type { Io } from '../io.js';
import { maskSecret, maskStoreUrl } from '../mask.js';
import { isRedisUrl } from '../store/redis.js';
import { realClock } from '../clock.js';
import { newSecret } from '../secret.js';
import { untilSignal } from '../signals.js';
import { WEBHOOK_PATH } from '../server/index.js';
import { parseNumber } from '../numbers.js';
import type { Logger } from '../server/log.js';
import type { SessionStore } from '../session/store.js';

export interface ServeOptions {
  port?: string;
  host?: string;
  data?: string;
  deliverUrl?: string;
  timeout?: string;
  retention?: string;
  logFormat?: string;
  printSecret?: boolean;
  domain?: string;
  username?: string;
  json?: boolean;
  callBudget?: string;
  callLimit?: string;
  callWindow?: string;
  store?: string;
  instance?: string;
  lease?: string;
}

/** Pure: the key's call budget from the flags, then the environment. */
export function callBudgetOptions(
  opts: Pick<ServeOptions, 'callBudget' | 'callLimit' | 'callWindow'>,
  env: Record<string, string | undefined>,
): { share: number; limit: number; windowMs: number } {
  const percent = parseNumber(opts.callBudget ?? env.LIVECHAT_CALL_BUDGET ?? '80', '--call-budget', { min: 1, max: 100 });
  const limit = parseNumber(opts.callLimit ?? env.LIVECHAT_CALL_LIMIT ?? '40', '--call-limit', { min: 1, integer: true });
  const windowS = parseNumber(opts.callWindow ?? env.LIVECHAT_CALL_WINDOW ?? '20', '--call-window', { min: 1 });
  return { share: percent / 100, limit, windowMs: Math.round(windowS * 1000) };
}

export const DEFAULT_PORT = 8080;
export const DEFAULT_RETENTION_DAYS = 30;

/** The channel secret (and the webhook token), created once and saved beside the API key (0600). */
async function ensureSecrets(io: Io): Promise<{ channelSecret: string; webhookToken: string; created: string[] }> {
  const file = readConfig(io.env);
  let saved = file;
  let before = file;
  if (!file.channelSecret || !file.webhookToken) {
    // Decided again under the config lock: of two first runs, the second keeps the first one's secrets.
    ({ before, after: saved } = await updateConfig(
      (current) => ({
        channelSecret: current.channelSecret ? undefined : newSecret(),
        webhookToken: current.webhookToken ? undefined : newSecret(),
      }),
      io.env,
    ));
  }
  const created = [...(before.channelSecret ? [] : ['channel secret']), ...(before.webhookToken ? [] : ['webhook token'])];
  return { channelSecret: saved.channelSecret!, webhookToken: saved.webhookToken!, created };
}

function deliverUrlOf(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw usageError(`--deliver-url "${raw}" is not a valid URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw usageError('--deliver-url must be http(s)');
  return u.toString();
}

export async function serve(opts: ServeOptions, io: Io): Promise<void> {
  if (opts.printSecret) {
    const { channelSecret } = await ensureSecrets(io);
    io.out(channelSecret);
    return;
  }
  const port = parseNumber(opts.port ?? io.env.PORT ?? String(DEFAULT_PORT), '--port', { min: 0, max: 65535, integer: true });
  const host = opts.host ?? '127.0.0.1';
  const timeoutMin = parseNumber(opts.timeout ?? '30', '--timeout', { min: 0.05 });
  const retentionDays = parseNumber(opts.retention ?? String(DEFAULT_RETENTION_DAYS), '--retention', { min: 1 });
  const format = opts.logFormat ?? (io.stderrIsTTY ? 'pretty' : 'json');
  if (format !== 'json' && format !== 'pretty') throw usageError(`--log-format must be json or pretty, got "${format}"`);
  const rawDeliver = opts.deliverUrl ?? io.env.LIVECHAT_DELIVER_URL;
  if (!rawDeliver) throw missingValue('--deliver-url', 'LIVECHAT_DELIVER_URL');
  const deliverUrl = deliverUrlOf(rawDeliver);
  const storeUrl = opts.store ?? (io.env.LIVECHAT_STORE || undefined);
  if (storeUrl !== undefined && !isRedisUrl(storeUrl)) {
    throw usageError(`--store must be a redis://, rediss:// or redis+unix:// URL, got "${maskStoreUrl(storeUrl)}" (for SQLite, use --data)`);
  }
  const instance = opts.instance ?? io.env.LIVECHAT_INSTANCE ?? `${hostname()}-${process.pid}`;
  const leaseMs = Math.round(parseNumber(opts.lease ?? '30', '--lease', { min: 0.5 }) * 1000);
  const data = opts.data ?? dataFile(io.env);
  const callBudget = callBudgetOptions(opts, io.env);
  const gorgias = connectionOptions({ domain: opts.domain, username: opts.username }, io.env, readConfig(io.env));
  const { channelSecret, webhookToken, created } = await ensureSecrets(io);

  const [{ createBridge }, { createLogger }, { prometheusMetrics }] = await Promise.all([
    import('../bridge/index.js'),
    import('../server/log.js'),
    import('../server/metrics.js'),
  ]);
  const log = await createLogger({
    format,
    level: debugWanted(io) ? 'debug' : 'info',
    write: (line) => io.err(line),
    color: io.color && format === 'pretty',
    now: () => realClock.now(),
  });
  const opened = await openStore(storeUrl, data, log);
  const { store } = opened;
  let waiting = () => 0;
  const metrics = await prometheusMetrics(
    {
      openSessions: () => opened.counts().open,
      deliveriesPending: () => opened.counts().deliveries,
      jobsPending: () => opened.counts().jobs,
      callsWaiting: () => waiting(),
    },
    // Shared: which process said it. `instance` itself is Prometheus's own label for the scrape target.
    storeUrl !== undefined || opts.instance !== undefined || io.env.LIVECHAT_INSTANCE !== undefined ? { livechat_instance: instance } : {},
  );
  // From here on a signal means "stop cleanly", even one that comes while we start.
  const stopped = untilSignal();
  let bridge;
  try {
    bridge = await createBridge({
      gorgias,
      webhookToken,
      channelSecret,
      deliverUrl,
      store,
      log,
      metrics,
      timeoutMs: timeoutMin * 60_000,
      retentionMs: retentionDays * 24 * 60 * 60_000,
      callBudget,
      instance,
      leaseMs,
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  const budget = bridge.budget;
  if (budget) waiting = () => Object.values(budget.stats().waiting).reduce((n, w) => n + w, 0);
  let server;
  try {
    server = await bridge.listen(port, host);
  } catch (err) {
    await bridge.close({ timeoutMs: 0 });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new LivechatError(`port ${port} on ${host} is in use; pass --port (or PORT)`, { kind: 'failure' });
    throw err;
  }
  for (const what of created) log.warn(`created a new ${what} and saved it to ${configFile(io.env)}`);
  if (created.includes('webhook token')) log.warn('the Gorgias integration must carry the new token: run `livechat webhook install`');
  const summary = {
    url: server.url,
    webhook_url: `${server.url}${WEBHOOK_PATH}`,
    channel_api: `${server.url}/v1/conversations/{id}`,
    deliver_url: deliverUrl,
    ...(storeUrl !== undefined ? { store: maskStoreUrl(storeUrl), instance } : { data_file: data }),
    channel_secret: maskSecret(channelSecret),
    secret_in: configFile(io.env),
    pid: process.pid,
  };
  if (opts.json) io.out(JSON.stringify(summary));
  log.info(`livechat bridge listening on ${server.url}`, { pid: process.pid });
  log.info(`webhooks: ${summary.webhook_url} (any path outside /v1/, /healthz, /readyz, /metrics)`);
  log.info(`channel API: ${summary.channel_api} (Authorization: Bearer <channel secret>)`);
  log.info(`deliveries: POST ${deliverUrl}, signed with the channel secret (X-Livechat-Signature)`);
  if (storeUrl !== undefined && leaseMs < 20_000) {
    log.warn(
      `--lease ${leaseMs / 1000} s is shorter than one Gorgias call with its retries (about 20 s): another process may make a slow call again`,
    );
  }
  if (storeUrl !== undefined) {
    log.info(
      `store: ${maskStoreUrl(storeUrl)}, shared; this process is ${instance}, its claims lapse ${leaseMs / 1000} s after it stops renewing them`,
    );
  } else log.info(`data file: ${data}`);
  log.info(
    `Gorgias calls: at most ${Math.floor(callBudget.share * callBudget.limit)} per ${callBudget.windowMs / 1000} s (${Math.round(callBudget.share * 100)}% of the key's ${callBudget.limit}); hand-offs and user messages go first`,
  );
  log.info(`channel secret: ${summary.channel_secret} in ${summary.secret_in} (\`livechat serve --print-secret\` prints it)`);

  const signal = await stopped;
  log.info(`${signal}: finishing work in flight (at most 10 s), then stopping`);
  try {
    await bridge.close();
    log.info('stopped');
  } catch (err) {
    log.error('shutdown failed', { error: (err as Error).message });
    process.exitCode = EXIT.failure;
    return;
  }
  process.exitCode = EXIT.ok;
}

interface OpenedStore {
  store: SessionStore;
  /** What the gauges show; on Redis, the last count read (refreshed in the background, at most once a second). */
  counts(): { open: number; jobs: number; deliveries: number };
}

/** The SQLite file, or Redis when a store URL is given (ioredis is loaded only then). */
async function openStore(storeUrl: string | undefined, data: string, log: Logger): Promise<OpenedStore> {
  if (storeUrl === undefined) {
    const { openSqliteStore } = await import('../store/sqlite.js');
    const store = openSqliteStore(data);
    return { store, counts: () => store.count() };
  }
  const { openRedisStore } = await import('../store/redis.js');
  const store = await openRedisStore(storeUrl, {
    onConnection: ({ up, detail }) => (up ? log.info(detail) : log.error(`${detail}; inputs are refused (503) until it is back`)),
  });
  for (const w of store.warnings) log.warn(w);
  let last = { open: 0, jobs: 0, deliveries: 0 };
  let readAt = -Infinity;
  let reading = false;
  return {
    store,
    counts() {
      const now = realClock.now();
      if (!reading && now - readAt >= 1000) {
        reading = true;
        readAt = now;
        store
          .count()
          .then(
            (c) => (last = c),
            () => undefined,
          )
          .finally(() => (reading = false));
      }
      return last;
    },
  };
}
