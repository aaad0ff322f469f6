// The checks of `livechat doctor` as pure verdicts: what was found -> one line, with the fix in a
// few words. The talking (Gorgias, the receiver, serve) is in ./run.ts.
import type { Integration, Macro } from '../gorgias/types.js';
import { DEFAULT_MACRO_NAME, carriesToken } from '../macro/signoff.js';
import { SESSION_END } from '../protocol.js';
import { DEACTIVATION_FAILURES, maskUrlToken, statusReport } from '../webhook/integration.js';
import { INSTALLED_FORM, WEBHOOK_EVENT } from '../webhook/template.js';

export const CHECK_NAMES = ['config', 'credentials', 'budget', 'clock', 'integration', 'macro', 'receiver', 'serve', 'roundtrip'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

/** `warn` passes (exit 0) but is shown; `skip`: not run, because a check it needs failed. */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface Check {
  name: CheckName;
  status: CheckStatus;
  /** What was found, in one line. */
  message: string;
  /** How to fix it, in a few words (failures and warnings). */
  fix?: string;
  /** Facts for --json: ids, numbers. */
  details?: Record<string, unknown>;
  ms?: number;
}

export const pass = (name: CheckName, message: string, details?: Record<string, unknown>): Check => ({ name, status: 'pass', message, details });
export const warn = (name: CheckName, message: string, fix: string, details?: Record<string, unknown>): Check => ({
  name,
  status: 'warn',
  message,
  fix,
  details,
});
export const fail = (name: CheckName, message: string, fix: string, details?: Record<string, unknown>): Check => ({
  name,
  status: 'fail',
  message,
  fix,
  details,
});
export const skip = (name: CheckName, message: string): Check => ({ name, status: 'skip', message });

// ---- config ---------------------------------------------------------------------------------

export interface ConfigFacts {
  path: string;
  exists: boolean;
  /** Permission bits, when it exists. */
  mode?: number;
  /** Why it could not be read or parsed. */
  error?: string;
}

const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, '0');

export function configCheck(f: ConfigFacts): Check {
  if (!f.exists) return fail('config', `no config file at ${f.path}`, 'run `livechat setup gorgias` (or set LIVECHAT_CONFIG_DIR)');
  if (f.error) return fail('config', f.error, `fix or remove ${f.path}`);
  if (f.mode !== undefined && (f.mode & 0o077) !== 0) {
    return fail('config', `${f.path} is mode ${octal(f.mode)}: other users can read the API key`, `chmod 600 ${f.path}`, { mode: octal(f.mode) });
  }
  return pass('config', `${f.path} is readable, mode ${octal(f.mode ?? 0o600)}`, { path: f.path, mode: octal(f.mode ?? 0o600) });
}

// ---- API budget -----------------------------------------------------------------------------

/** Other tools use "most" of the key's budget when they use more than this share of it. */
export const BUDGET_WARN_SHARE = 0.5;
export const CALL_LIMIT_HEADER = 'x-gorgias-account-api-call-limit';

/** `10/40` -> {used: 10, limit: 40}. */
export function parseCallLimit(header: string | string[] | undefined): { used: number; limit: number } | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(v ?? '');
  if (!m || Number(m[2]) <= 0) return undefined;
  return { used: Number(m[1]), limit: Number(m[2]) };
}

/**
 * `reading`: the header of one of doctor's first answers, and how many calls doctor had made by
 * then (they are in `used` too; the bucket may have drained some, so "others" is an upper bound).
 */
export function budgetCheck(reading: { used: number; limit: number; ownCalls: number } | undefined): Check {
  if (!reading) {
    return warn('budget', 'Gorgias sent no X-Gorgias-Account-Api-Call-Limit header', 'check that --domain is a Gorgias account');
  }
  const others = Math.max(0, reading.used - reading.ownCalls);
  const details = { used: reading.used, limit: reading.limit, by_others: others, warn_above: Math.floor(reading.limit * BUDGET_WARN_SHARE) };
  if (others > reading.limit * BUDGET_WARN_SHARE) {
    return warn(
      'budget',
      `other tools use ${others} of the key's ${reading.limit} calls per window: hand-offs may wait on 429s`,
      'give livechat an API key of its own (another Gorgias user)',
      details,
    );
  }
  return pass('budget', `${reading.used}/${reading.limit} calls used in the window, ${others} by other tools`, details);
}

// ---- clock ----------------------------------------------------------------------------------

/** Seconds off Gorgias's clock that are shown as a warning, and as a failure. */
export const CLOCK_WARN_S = 10;
export const CLOCK_FAIL_S = 60;

/**
 * Local minus Gorgias, in ms, from the `Date` header of an answer and the local time it arrived.
 * `Date` has whole seconds: Gorgias's time was somewhere in that second, so its middle is taken.
 */
export function clockSkewMs(dateHeader: string | string[] | undefined, localAtAnswer: number): number | undefined {
  const v = Array.isArray(dateHeader) ? dateHeader[0] : dateHeader;
  const remote = v ? Date.parse(v) : NaN;
  return Number.isFinite(remote) ? localAtAnswer - (remote + 500) : undefined;
}

export function clockCheck(skewMs: number | undefined): Check {
  if (skewMs === undefined) return skip('clock', 'no answer from Gorgias with a Date header to compare with');
  const s = Math.round(skewMs / 1000);
  const off = Math.abs(s);
  const words = off === 0 ? 'within a second of Gorgias' : `${off} s ${s > 0 ? 'ahead of' : 'behind'} Gorgias`;
  const details = { skew_s: s, warn_above_s: CLOCK_WARN_S, fail_above_s: CLOCK_FAIL_S };
  const fix = 'sync the clock (NTP)';
  if (off > CLOCK_FAIL_S) return fail('clock', `the local clock is ${words}: signatures and timeouts go wrong`, fix, details);
  if (off > CLOCK_WARN_S) return warn('clock', `the local clock is ${words}`, fix, details);
  return pass('clock', `the local clock is ${words}`, details);
}

// ---- integration ----------------------------------------------------------------------------

const INSTALL = '`livechat webhook install --yes`';

export function integrationCheck(integrations: Integration[], baseUrl: string, token: string | undefined): Check {
  if (!token) return fail('integration', 'no webhook token in the config', '`livechat webhook install`');
  const report = statusReport(integrations, { baseUrl, token });
  const ours = report.integrations.filter((e) => e.class !== 'other');
  if (ours.length === 0) return fail('integration', `no HTTP integration calls ${baseUrl}`, '`livechat webhook install`');
  if (ours.length > 1) {
    return fail(
      'integration',
      `${ours.length} HTTP integrations call ${baseUrl} (${ours.map((e) => `#${e.id}`).join(', ')})`,
      'keep one, in Gorgias',
    );
  }
  const [e] = ours;
  const details = { id: e.id, active: e.active, form: e.form, events: e.events, url: maskUrlToken(e.url) };
  if (!e.active) {
    const since = integrations.find((i) => i.id === e.id)?.deactivated_datetime;
    return fail(
      'integration',
      `#${e.id} is deactivated (since ${since}): Gorgias turns it off after ${DEACTIVATION_FAILURES} failed calls in a row`,
      `make the receiver answer, then ${INSTALL}`,
      details,
    );
  }
  if (e.differences.length) return fail('integration', `#${e.id} ${e.differences.join('; ')}`, INSTALL, details);
  if (e.form === 'pasted') {
    return warn('integration', `#${e.id} works, but is pasted by hand (no body: agent text may arrive cut)`, INSTALL, details);
  }
  return pass('integration', `#${e.id} is active, calls ${baseUrl} with the current token, only ${WEBHOOK_EVENT}, body ${INSTALLED_FORM}`, details);
}

// ---- macro ----------------------------------------------------------------------------------

export function macroCheck(macros: Macro[]): Check {
  const ours = macros.filter(carriesToken);
  if (ours.length) {
    const [m] = ours;
    const more = ours.length > 1 ? ` (and ${ours.length - 1} more)` : '';
    return pass('macro', `#${m.id} "${m.name}" carries ${SESSION_END}${more}`, { id: m.id, macro_name: m.name, count: ours.length });
  }
  const named = macros.find((m) => m.name === DEFAULT_MACRO_NAME);
  if (named) {
    return fail('macro', `#${named.id} "${named.name}" lacks ${SESSION_END}`, '`livechat macro create --update`', { id: named.id });
  }
  return fail('macro', `no macro carries ${SESSION_END}: agents cannot end a chat`, '`livechat macro create`');
}

// ---- receiver -------------------------------------------------------------------------------

/** One HTTP call's outcome: the status and whether the body is the bridge's `{ok: true, outcome}`; or why there was none. */
export type ProbeResult = { status: number; bridge: boolean; body?: unknown } | { error: string };

const answered = (p: ProbeResult): p is Extract<ProbeResult, { status: number }> => 'status' in p;

export function receiverCheck(baseUrl: string, withToken: ProbeResult, withoutToken: ProbeResult | undefined): Check {
  const where = `the receiver at ${baseUrl}`;
  if (!answered(withToken)) {
    return fail('receiver', `${where} does not answer (${withToken.error})`, 'start `livechat serve`; check the proxy or tunnel');
  }
  const details = { with_token: withToken.status, without_token: withoutToken && answered(withoutToken) ? withoutToken.status : null };
  if (withToken.status === 401) {
    return fail('receiver', `${where} refuses the current token (401)`, 'restart `livechat serve` with this config', details);
  }
  if (withToken.status < 200 || withToken.status >= 300) {
    return fail('receiver', `${where} answered ${withToken.status} to a webhook with the token`, 'check the proxy in front of serve', details);
  }
  if (!withToken.bridge) {
    return fail('receiver', `${where} answered ${withToken.status}, but not as livechat does`, 'point the base URL at `livechat serve`', details);
  }
  if (!withoutToken || !answered(withoutToken)) {
    return fail('receiver', `${where} took the token but no answer came without it`, 'check the proxy in front of serve', details);
  }
  if (withoutToken.status !== 401) {
    return fail(
      'receiver',
      `${where} answered ${withoutToken.status} to a webhook without the token, not 401`,
      'point the base URL at `livechat serve`',
      details,
    );
  }
  return pass('receiver', `${where} answers ${withToken.status} with the token, 401 without`, details);
}

// ---- serve ----------------------------------------------------------------------------------

export function serveCheck(url: string, ready: ProbeResult, secret: ProbeResult | undefined): Check {
  const fixUrl = 'start `livechat serve`, or pass --serve-url';
  if (!answered(ready)) return fail('serve', `no answer from ${url}/readyz (${ready.error})`, fixUrl, { url });
  const body = ready.body as { ok?: unknown } | undefined;
  if (ready.status === 503)
    return fail('serve', `${url} is not ready (503): its store does not answer, or it is stopping`, "see serve's log", { url });
  if (ready.status !== 200 || body?.ok !== true) return fail('serve', `${url}/readyz answered ${ready.status}: not livechat serve`, fixUrl, { url });
  if (!secret) return warn('serve', `${url} is ready; the config has no channel secret, so --roundtrip cannot ask it`, "use serve's config", { url });
  if (!answered(secret)) return fail('serve', `${url} is ready, but its channel API does not answer (${secret.error})`, fixUrl, { url });
  if (secret.status === 401) return fail('serve', `${url} is ready, but refuses the channel secret in the config`, "use serve's config", { url });
  if (secret.status === 404) return warn('serve', `${url} is ready, but too old for --roundtrip`, 'upgrade livechat where serve runs', { url });
  if (secret.status !== 200) return fail('serve', `${url} is ready, but its channel API answered ${secret.status}`, "see serve's log", { url });
  return pass('serve', `${url} is ready and takes the channel secret`, { url });
}
