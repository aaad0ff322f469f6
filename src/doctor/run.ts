// Every check of `livechat doctor`, in order, each one line. Read-only: the config is read as it is
// (never tidied or written), and nothing in Gorgias changes but the round trip's own test ticket.
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import type { Clock } from '../clock.js';
import { configFile } from '../config/paths.js';
import { resolveBaseUrl } from '../config/resolve.js';
import { parseConfig, type StoredConfig } from '../config/store.js';
import { LivechatError } from '../errors.js';
import { createGorgiasClient, type ClientOptions, type GorgiasClient } from '../gorgias/client.js';
import { connectionOptions } from '../gorgias/connect.js';
import { GorgiasError } from '../gorgias/errors.js';
import type { Integration } from '../gorgias/types.js';
import { DOCTOR_CONVERSATION_PREFIX } from '../protocol.js';
import { RECENT_WEBHOOKS_PATH } from '../server/recent.js';
import { integrationForm, sameBase, urlBase } from '../webhook/integration.js';
import { checkBaseUrl, TOKEN_HEADER, WEBHOOK_EVENT } from '../webhook/template.js';
import {
  budgetCheck,
  CALL_LIMIT_HEADER,
  clockCheck,
  clockSkewMs,
  configCheck,
  fail,
  integrationCheck,
  macroCheck,
  parseCallLimit,
  pass,
  receiverCheck,
  serveCheck,
  skip,
  type Check,
  type CheckName,
  type ConfigFacts,
  type ProbeResult,
} from './checks.js';
import { probe, type ProbeRequest } from './http.js';
import { roundTrip } from './roundtrip.js';

export interface DoctorOptions {
  env: NodeJS.ProcessEnv;
  domain?: string;
  username?: string;
  baseUrl?: string;
  /** Where `serve` answers; default LIVECHAT_SERVE_URL, else the base URL's origin. */
  serveUrl?: string;
  /** Run the round trip, waiting this long for its webhook. */
  roundtripTimeoutMs?: number;
  clock: Clock;
  /** True once the user pressed Ctrl-C: the checks left are skipped, the round trip cleans up. */
  interrupted(): boolean;
  /** Each check as it ends (to print it at once). */
  onCheck?(check: Check): void;
  /** Talk for stderr. */
  progress?(line: string): void;
  /** `--debug`: each Gorgias call as a line of talk (never the API key). */
  debug?: boolean;
  /** Filled with every secret doctor comes to know, as it knows them, so that the caller can mask its output. */
  secrets?: string[];
  /** For tests: another way to make HTTP calls. */
  probe?: (r: ProbeRequest) => Promise<ProbeResult>;
}

export interface DoctorResult {
  checks: Check[];
  /** Every secret doctor knows of: nothing it prints may carry one. */
  secrets: string[];
}

/** The config as it is on disk: no tidying, no chmod, no write. */
export function readConfigAsIs(path: string): { facts: ConfigFacts; config: StoredConfig } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { facts: { path, exists: false }, config: {} };
    return { facts: { path, exists: true, error: `cannot read ${path} (${code ?? (err as Error).message})` }, config: {} };
  }
  try {
    const mode = fstatSync(fd).mode;
    const text = readFileSync(fd, 'utf8');
    try {
      return { facts: { path, exists: true, mode }, config: text.trim() === '' ? {} : parseConfig(text, path) };
    } catch (err) {
      return { facts: { path, exists: true, mode, error: (err as Error).message.replace(/; fix or remove it$/, '') }, config: {} };
    }
  } finally {
    closeSync(fd);
  }
}

/** `https://bot.example.com/gorgias/webhook` -> `https://bot.example.com`. */
export function serveUrlOf(flag: string | undefined, env: NodeJS.ProcessEnv, baseUrl: string | undefined): string | undefined {
  const raw = flag ?? env.LIVECHAT_SERVE_URL ?? (baseUrl ? new URL(baseUrl).origin : undefined);
  if (raw === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new LivechatError(`--serve-url "${raw}" is not a valid URL`, { kind: 'usage' });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new LivechatError('--serve-url must be http(s)', { kind: 'usage' });
  return u.toString().replace(/\/+$/, '');
}

/** A webhook as an installed integration sends it, for a doctor conversation: recorded by serve, handed to nobody. */
function probeWebhook(baseUrl: string, token: string | undefined, form: 'installed' | 'pasted'): ProbeRequest {
  const externalId = `${DOCTOR_CONVERSATION_PREFIX}probe`;
  const query = new URLSearchParams({
    external_id: externalId,
    ticket_id: '0',
    event_type: WEBHOOK_EVENT,
    event_id: 'doctor-probe',
    message_id: '0',
  });
  query.set('from_agent', 'true');
  query.set('channel', 'internal-note');
  if (token !== undefined && form === 'pasted') query.set('token', token);
  const body = JSON.stringify({
    ticket: { id: 0, external_id: externalId },
    message: { id: 0, ticket_id: 0, from_agent: true, channel: 'internal-note', body_text: 'livechat doctor: receiver probe' },
    event: { id: 'doctor-probe', type: WEBHOOK_EVENT },
  });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined && form === 'installed') headers[TOKEN_HEADER] = token;
  return { method: 'POST', url: `${urlBase(baseUrl)}?${query.toString()}`, headers, body };
}

const failedOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

export async function runDoctor(o: DoctorOptions): Promise<DoctorResult> {
  const { clock } = o;
  const call = o.probe ?? probe;
  const checks: Check[] = [];
  const done = new Map<CheckName, Check>();
  const passed = (name: CheckName) => ['pass', 'warn'].includes(done.get(name)?.status ?? '');

  async function run(name: CheckName, body: () => Check | Promise<Check>): Promise<Check> {
    const started = clock.now();
    let c: Check;
    if (o.interrupted()) c = skip(name, 'interrupted');
    else {
      try {
        c = await body();
      } catch (err) {
        c = fail(name, failedOf(err), 'run again with --debug for details');
      }
    }
    c = { ...c, ms: clock.now() - started };
    checks.push(c);
    done.set(name, c);
    o.onCheck?.(c);
    return c;
  }

  // config
  const path = configFile(o.env);
  const { facts, config } = readConfigAsIs(path);
  const secrets = o.secrets ?? [];
  secrets.push(...[config.apiKey, config.webhookToken, config.channelSecret, o.env.GORGIAS_API_KEY].filter((s): s is string => !!s));
  await run('config', () => configCheck(facts));

  // credentials, and what Gorgias's answers tell about the budget and the clock
  const answers: Array<{ status: number; headers: Record<string, string | string[] | undefined>; at: number }> = [];
  let client: GorgiasClient | undefined;
  await run('credentials', async () => {
    let creds: Pick<ClientOptions, 'domain' | 'username' | 'apiKey'>;
    try {
      creds = connectionOptions({ domain: o.domain, username: o.username }, o.env, config);
    } catch (err) {
      return fail('credentials', failedOf(err), '`livechat setup gorgias`');
    }
    secrets.push(creds.apiKey);
    const c = createGorgiasClient({
      ...creds,
      clock,
      maxRateLimitWaits: 1,
      onAnswer: (a) => answers.push({ ...a, at: clock.now() }),
      debug: o.debug ? (line) => o.progress?.(`debug: ${line}`) : undefined,
    });
    try {
      const account = await c.getAccount();
      const user = await c.getCurrentUser();
      client = c;
      return pass('credentials', `account ${account.domain}, user ${user.name} <${user.email}>`, { account: account.domain, user: user.email });
    } catch (err) {
      const kind = err instanceof GorgiasError ? err.kind : undefined;
      if (kind === 'auth')
        return fail(
          'credentials',
          `Gorgias refused the API key of ${creds.username} (401)`,
          'a new key in Gorgias (Settings > REST API), then `livechat setup gorgias`',
        );
      if (kind === 'forbidden') return fail('credentials', failedOf(err), "use an active admin's API key");
      return fail('credentials', failedOf(err), 'check --domain and the network');
    }
  });
  const needs = (name: CheckName, what: CheckName, body: () => Check | Promise<Check>) =>
    run(name, () => (passed(what) ? body() : skip(name, `needs the ${what} check to pass`)));

  await needs('budget', 'credentials', () => {
    const i = answers.findIndex((a) => a.status < 400 && parseCallLimit(a.headers[CALL_LIMIT_HEADER]));
    return budgetCheck(i < 0 ? undefined : { ...parseCallLimit(answers[i].headers[CALL_LIMIT_HEADER])!, ownCalls: i + 1 });
  });
  await run('clock', () => {
    const a = answers.find((x) => x.headers.date !== undefined);
    return clockCheck(a ? clockSkewMs(a.headers.date, a.at) : undefined);
  });

  // integration and macro
  let baseUrl: string | undefined;
  let baseUrlProblem: string | undefined;
  const rawBase = resolveBaseUrl(o.baseUrl, o.env, config).value;
  if (!rawBase) baseUrlProblem = 'no webhook base URL';
  else {
    try {
      baseUrl = checkBaseUrl(rawBase).url;
    } catch (err) {
      baseUrlProblem = failedOf(err);
    }
  }
  const noBase = (name: CheckName) => fail(name, baseUrlProblem!, 'pass --base-url, or `livechat config set base-url URL`');
  let integrations: Integration[] = [];
  await needs('integration', 'credentials', async () => {
    if (!baseUrl) return noBase('integration');
    integrations = [];
    for await (const i of client!.listIntegrations()) integrations.push(i);
    return integrationCheck(integrations, baseUrl, config.webhookToken);
  });
  await needs('macro', 'credentials', async () => {
    const macros = [];
    for await (const m of client!.listMacros()) macros.push(m);
    return macroCheck(macros);
  });

  // the receiver, at the public base URL
  await run('receiver', async () => {
    const base = baseUrl;
    if (!base) return noBase('receiver');
    if (!config.webhookToken) return fail('receiver', 'no webhook token in the config to probe with', '`livechat webhook install`');
    // The token travels the way the integration sends it: a pasted one has it in its URL.
    const installed = integrations.find((i) => i.type === 'http' && i.http && sameBase(i.http.url, base));
    const form = installed ? integrationForm(installed) : 'installed';
    const withToken = await call(probeWebhook(base, config.webhookToken, form));
    const without = 'status' in withToken ? await call(probeWebhook(base, undefined, form)) : undefined;
    return receiverCheck(base, withToken, without);
  });

  // serve
  const serveUrl = serveUrlOf(o.serveUrl, o.env, baseUrl);
  const secretHeader = config.channelSecret ? { authorization: `Bearer ${config.channelSecret}` } : undefined;
  await run('serve', async () => {
    if (!serveUrl) return skip('serve', 'none configured (no --serve-url, LIVECHAT_SERVE_URL nor base URL)');
    const ready = await call({ method: 'GET', url: `${serveUrl}/readyz` });
    const secret =
      secretHeader && 'status' in ready ? await call({ method: 'GET', url: `${serveUrl}${RECENT_WEBHOOKS_PATH}`, headers: secretHeader }) : undefined;
    return serveCheck(serveUrl, ready, secret);
  });

  // the round trip
  if (o.roundtripTimeoutMs !== undefined) {
    await run('roundtrip', () => {
      if (!client) return skip('roundtrip', 'needs the credentials check to pass');
      if (done.get('serve')?.status !== 'pass') return skip('roundtrip', 'needs the serve check to pass');
      return roundTrip({
        client,
        clock,
        timeoutMs: o.roundtripTimeoutMs,
        interrupted: () => o.interrupted(),
        progress: (line) => o.progress?.(line),
        async arrived(messageId) {
          const r = await call({ method: 'GET', url: `${serveUrl}${RECENT_WEBHOOKS_PATH}?message_id=${messageId}`, headers: secretHeader });
          if (!('status' in r)) return r.error;
          if (r.status !== 200) return `answered ${r.status}`;
          const hooks = (r.body as { webhooks?: unknown[] } | undefined)?.webhooks;
          return Array.isArray(hooks) && hooks.length > 0;
        },
      });
    });
  }
  return { checks, secrets };
}
