// What our Gorgias HTTP integration must look like, and how an existing one compares.
// Pure functions: `webhook install` and `webhook status` do the talking.
import type { Integration, IntegrationTrigger, NewIntegration } from '../gorgias/types.js';
import { maskSecret } from '../mask.js';
import { WEBHOOK_EVENT, webhookUrlTemplate } from './template.js';

export const INTEGRATION_NAME = 'Livechat bridge';
export const INTEGRATION_DESCRIPTION = 'Sends agent replies to the bot users (managed by livechat)';
const ALL_TRIGGERS: IntegrationTrigger[] = ['ticket-created', 'ticket-updated', 'ticket-message-created'];

export function desiredIntegration(baseUrl: string, token: string): NewIntegration {
  return {
    type: 'http',
    name: INTEGRATION_NAME,
    description: INTEGRATION_DESCRIPTION,
    http: {
      url: webhookUrlTemplate(baseUrl, token),
      method: 'POST',
      request_content_type: 'application/json',
      response_content_type: 'application/json',
      headers: {},
      triggers: { [WEBHOOK_EVENT]: true },
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

/** Every way `existing` differs from `desired`, in words. Empty: it is right. */
export function integrationDifferences(existing: Integration, desired: NewIntegration): string[] {
  const http = existing.http;
  if (!http) return ['has no HTTP settings'];
  const diffs: string[] = [];
  if (existing.deactivated_datetime) diffs.push(`is deactivated (since ${existing.deactivated_datetime})`);
  if (http.url !== desired.http.url) {
    const have = tokenOf(http.url);
    const want = tokenOf(desired.http.url);
    if (have === undefined) diffs.push('its URL carries no token');
    else if (have !== want) diffs.push('stale token: its URL carries an old token');
    const withoutToken = (u: string) => JSON.stringify(urlParams(u).filter(([k]) => k !== 'token'));
    if (withoutToken(http.url) !== withoutToken(desired.http.url)) {
      diffs.push('its URL parameters differ from `livechat webhook-url`');
    }
  }
  const ticked = tickedEvents(existing);
  if (ticked.length !== 1 || ticked[0] !== WEBHOOK_EVENT) {
    diffs.push(`wrong event(s): ticked [${ticked.join(', ') || 'none'}], want only ${WEBHOOK_EVENT}`);
  }
  if (http.method !== desired.http.method) diffs.push(`wrong method: ${http.method}, want ${desired.http.method}`);
  if (http.request_content_type !== desired.http.request_content_type) {
    diffs.push(`wrong request content type: ${http.request_content_type}, want ${desired.http.request_content_type}`);
  }
  return diffs;
}

export type IntegrationClass = 'ours-ok' | 'ours-stale' | 'other';

/** Ours means: an HTTP integration that calls our base URL. */
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
  class: IntegrationClass;
  differences: string[];
}

export interface StatusReport {
  ok: boolean;
  problems: string[];
  integrations: StatusEntry[];
}

/** Check the account's integrations against our config. */
export function statusReport(integrations: Integration[], config: { baseUrl: string; token?: string }): StatusReport {
  const problems: string[] = [];
  if (!config.token) problems.push('no webhook token in the config yet (run `livechat webhook-url` or `livechat webhook install`)');
  const desired = desiredIntegration(config.baseUrl, config.token ?? '');
  const entries: StatusEntry[] = integrations
    .filter((i) => i.type === 'http')
    .map((i) => {
      const cls = classifyIntegration(i, desired);
      return {
        id: i.id,
        name: i.name,
        url: i.http?.url ?? '',
        events: tickedEvents(i),
        active: !i.deactivated_datetime,
        class: cls,
        differences: cls === 'other' ? [] : integrationDifferences(i, desired),
      };
    });
  const ours = entries.filter((e) => e.class !== 'other');
  if (ours.length === 0) {
    problems.push(`missing integration: no HTTP integration calls ${urlBase(desired.http.url)} (run \`livechat webhook install\`)`);
  } else if (ours.length > 1) {
    problems.push(`several HTTP integrations call our base URL: ${ours.map((e) => `#${e.id}`).join(', ')}; keep one`);
  }
  if (config.token) for (const e of ours) for (const d of e.differences) problems.push(`integration #${e.id} ${d}`);
  return { ok: problems.length === 0, problems, integrations: entries };
}

/** The PUT body that makes an existing integration ours again. */
export function integrationUpdate(existing: Integration, desired: NewIntegration): Partial<NewIntegration> {
  const body: Partial<NewIntegration> & { deactivated_datetime?: null } = { ...desired };
  // [guess] Gorgias reactivates an HTTP integration when the PUT clears deactivated_datetime.
  if (existing.deactivated_datetime) body.deactivated_datetime = null;
  return body;
}
