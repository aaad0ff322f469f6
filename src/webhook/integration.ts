// What our Gorgias HTTP integration must look like, and how an existing one compares.
// Pure functions: `webhook install` and `webhook status` do the talking.
import type { Integration, IntegrationTrigger, NewIntegration } from '../gorgias/types.js';
import { maskSecret } from '../mask.js';
import { INSTALLED_FORM, INSTALLED_PARAMS, LEGACY_PARAMS, TOKEN_HEADER, WEBHOOK_EVENT, WEBHOOK_VARIABLES, installedUrlTemplate } from './template.js';

export const INTEGRATION_NAME = 'Livechat bridge';
export const INTEGRATION_DESCRIPTION = 'Sends agent replies to the bot users (managed by livechat)';
const ALL_TRIGGERS: IntegrationTrigger[] = ['ticket-created', 'ticket-updated', 'ticket-message-created'];
/** [sure] Gorgias turns an HTTP integration off after this many failed calls in a row. */
export const DEACTIVATION_FAILURES = 100;

/** The integration `webhook install` creates: ids in the URL, the `{{context}}` JSON body, the token in a header. */
export function desiredIntegration(baseUrl: string, token: string): NewIntegration {
  return {
    type: 'http',
    name: INTEGRATION_NAME,
    description: INTEGRATION_DESCRIPTION,
    http: {
      url: installedUrlTemplate(baseUrl),
      method: 'POST',
      request_content_type: 'application/json',
      response_content_type: 'application/json',
      headers: { [TOKEN_HEADER]: token },
      triggers: { [WEBHOOK_EVENT]: true },
      form: INSTALLED_FORM,
    },
  };
}

/** The part of a template URL before the query. */
export function urlBase(url: string): string {
  const i = url.indexOf('?');
  return i === -1 ? url : url.slice(0, i);
}

/** Query parameters of a template URL, in order. The `{{...}}` stay as they are. */
function urlParams(url: string): Array<[string, string]> {
  const i = url.indexOf('?');
  return i === -1 ? [] : [...new URLSearchParams(url.slice(i + 1))];
}

/** The URL with any token in it masked, for human output. */
export function maskUrlToken(url: string): string {
  return url.replace(/([?&]token=)([^&#]*)/g, (_m, key: string, value: string) => key + maskSecret(value));
}

export function tokenOf(url: string): string | undefined {
  return urlParams(url).find(([k]) => k === 'token')?.[1];
}

/** The token header's value, whatever the case of its name. */
export function headerTokenOf(integration: Pick<Integration, 'http'>): string | undefined {
  const headers = integration.http?.headers ?? {};
  const name = Object.keys(headers).find((k) => k.toLowerCase() === TOKEN_HEADER.toLowerCase());
  return name === undefined ? undefined : headers[name];
}

/** An integration fit to print: the token masked in its URL and its header. */
export function maskIntegration<T extends Pick<Integration, 'http'>>(integration: T): T {
  if (!integration.http) return integration;
  const headers = Object.fromEntries(
    Object.entries(integration.http.headers ?? {}).map(([k, v]) => [k, k.toLowerCase() === TOKEN_HEADER.toLowerCase() ? maskSecret(v) : v]),
  );
  return { ...integration, http: { ...integration.http, url: maskUrlToken(integration.http.url), headers } };
}

/** Bases compare after URL normalisation (`https://x.com` equals `https://x.com/`). */
export function sameBase(a: string, b: string): boolean {
  const norm = (s: string): string => {
    try {
      return new URL(s).toString();
    } catch {
      return s;
    }
  };
  return norm(urlBase(a)) === norm(urlBase(b));
}

export function tickedEvents(integration: Pick<Integration, 'http'>): IntegrationTrigger[] {
  const triggers = integration.http?.triggers ?? {};
  return ALL_TRIGGERS.filter((t) => triggers[t] === true);
}

/**
 * How an integration reaches us: `installed` sends a body (what `webhook install` sets up),
 * `pasted` is a URL-only integration made by hand from `webhook-url`.
 */
export type IntegrationForm = 'installed' | 'pasted';

export function integrationForm(integration: Pick<Integration, 'http'>): IntegrationForm {
  const form = integration.http?.form;
  return (typeof form === 'string' && form.trim() !== '') || (typeof form === 'object' && form && Object.keys(form).length) ? 'installed' : 'pasted';
}

export const FORM_LABEL: Record<IntegrationForm, string> = {
  installed: 'installed: JSON body, token in a header',
  pasted: 'pasted by hand: URL only',
};

export interface IntegrationCheck {
  form: IntegrationForm;
  /** What stops it working as it should: `webhook status` fails on any. */
  problems: string[];
  /** Works, but could be better: shown, not failed. */
  notes: string[];
}

/** The parameters of a URL, as the names of the variables they carry, without the token. */
function carried(url: string): string {
  return JSON.stringify(urlParams(url).filter(([k]) => k !== 'token'));
}

const expected = (params: readonly string[]) => JSON.stringify(WEBHOOK_VARIABLES.filter(([p]) => params.includes(p)));

/** Check one of our integrations (it calls our base URL) against what we want. */
export function checkIntegration(existing: Integration, desired: NewIntegration, baseUrl = urlBase(desired.http.url)): IntegrationCheck {
  const http = existing.http;
  if (!http) return { form: 'pasted', problems: ['has no HTTP settings'], notes: [] };
  const form = integrationForm(existing);
  const problems: string[] = [];
  const notes: string[] = [];
  if (existing.deactivated_datetime) {
    problems.push(
      `is deactivated (since ${existing.deactivated_datetime}): Gorgias turns an HTTP integration off after ${DEACTIVATION_FAILURES} failed calls in a row, and agent replies no longer reach users. ` +
        `Check that the receiver at ${baseUrl} answers, then run \`livechat webhook install --yes\` to turn it back on (or re-enable it in Gorgias under Integrations > HTTP)`,
    );
  }
  const want = headerTokenOf(desired);
  const have = [headerTokenOf(existing), tokenOf(http.url)].filter((t) => t !== undefined);
  if (have.length === 0)
    problems.push(form === 'installed' ? `carries no token (no ${TOKEN_HEADER} header, none in its URL)` : 'its URL carries no token');
  else if (want !== undefined && !have.includes(want))
    problems.push(`stale token: its ${form === 'installed' ? `${TOKEN_HEADER} header` : 'URL'} carries an old token`);
  const params = carried(http.url);
  if (form === 'installed') {
    if (http.form !== INSTALLED_FORM) problems.push(`its body template is not ${INSTALLED_FORM}`);
    if (params !== expected(INSTALLED_PARAMS)) problems.push('its URL parameters differ from what `livechat webhook install` sets');
  } else if (params === expected(LEGACY_PARAMS)) {
    notes.push('its URL has no channel parameter: each agent message is read back from Gorgias before it is shown (one more API call each)');
  } else if (params !== expected(WEBHOOK_VARIABLES.map(([p]) => p))) {
    problems.push('its URL parameters differ from `livechat webhook-url`');
  }
  if (form === 'pasted') {
    notes.push('agent text travels in its URL and may arrive cut; `livechat webhook install --yes` replaces it with the JSON body form');
  }
  const ticked = tickedEvents(existing);
  if (ticked.length !== 1 || ticked[0] !== WEBHOOK_EVENT) {
    problems.push(`wrong event(s): ticked [${ticked.join(', ') || 'none'}], want only ${WEBHOOK_EVENT}`);
  }
  if (http.method !== desired.http.method) problems.push(`wrong method: ${http.method}, want ${desired.http.method}`);
  if (http.request_content_type !== desired.http.request_content_type) {
    problems.push(`wrong request content type: ${http.request_content_type}, want ${desired.http.request_content_type}`);
  }
  return { form, problems, notes };
}

/** Every way `existing` differs from what `webhook install` sets up, in words. Empty: it is right. */
export function integrationDifferences(existing: Integration, desired: NewIntegration): string[] {
  const check = checkIntegration(existing, desired);
  return check.form === 'pasted' && existing.http ? [...check.problems, 'is pasted by hand (URL only): install the JSON body form'] : check.problems;
}

export type IntegrationClass = 'ours-ok' | 'ours-stale' | 'other';

/** Ours means: an HTTP integration that calls our base URL. Ok: exactly what `webhook install` sets up. */
export function classifyIntegration(existing: Integration, desired: NewIntegration): IntegrationClass {
  if (existing.type !== 'http' || !existing.http || !sameBase(existing.http.url, desired.http.url)) return 'other';
  return integrationDifferences(existing, desired).length === 0 ? 'ours-ok' : 'ours-stale';
}

export interface StatusEntry {
  id: number;
  name: string;
  url: string;
  events: IntegrationTrigger[];
  active: boolean;
  /** `ours-ok` here means it works: installed or pasted, with no problem. */
  class: IntegrationClass;
  form: IntegrationForm;
  differences: string[];
  notes: string[];
}

export interface StatusReport {
  ok: boolean;
  problems: string[];
  notes: string[];
  integrations: StatusEntry[];
}

/** Check the account's integrations against our config: the installed and the pasted form both pass. */
export function statusReport(integrations: Integration[], config: { baseUrl: string; token?: string }): StatusReport {
  const problems: string[] = [];
  const notes: string[] = [];
  if (!config.token) problems.push('no webhook token in the config yet (run `livechat webhook-url` or `livechat webhook install`)');
  const desired = desiredIntegration(config.baseUrl, config.token ?? '');
  const entries: StatusEntry[] = integrations
    .filter((i) => i.type === 'http')
    .map((i) => {
      const ours = classifyIntegration(i, desired) !== 'other';
      const check = ours ? checkIntegration(i, desired, config.baseUrl) : { form: integrationForm(i), problems: [], notes: [] };
      return {
        id: i.id,
        name: i.name,
        url: i.http?.url ?? '',
        events: tickedEvents(i),
        active: !i.deactivated_datetime,
        class: !ours ? 'other' : check.problems.length ? 'ours-stale' : 'ours-ok',
        form: check.form,
        differences: check.problems,
        notes: check.notes,
      };
    });
  const ours = entries.filter((e) => e.class !== 'other');
  if (ours.length === 0) {
    problems.push(`missing integration: no HTTP integration calls ${urlBase(desired.http.url)} (run \`livechat webhook install\`)`);
  } else if (ours.length > 1) {
    problems.push(`several HTTP integrations call our base URL: ${ours.map((e) => `#${e.id}`).join(', ')}; keep one`);
  }
  for (const e of ours) {
    for (const d of e.differences) if (config.token || !/token/.test(d)) problems.push(`integration #${e.id} ${d}`);
    for (const n of e.notes) notes.push(`integration #${e.id}: ${n}`);
  }
  return { ok: problems.length === 0, problems, notes, integrations: entries };
}

/** The PUT body that makes an existing integration ours again. */
export function integrationUpdate(existing: Integration, desired: NewIntegration): Partial<NewIntegration> {
  const body: Partial<NewIntegration> & { deactivated_datetime?: null } = { ...desired };
  // [guess] Gorgias reactivates an HTTP integration when the PUT clears deactivated_datetime.
  if (existing.deactivated_datetime) body.deactivated_datetime = null;
  return body;
}
