// The emulator's integrations: list, create, get, update, delete, and deactivation (set by the
// webhook delivery after too many failed calls, cleared by a PUT).
import type { HttpIntegrationSettings, Integration, NewIntegration } from '../gorgias/types.js';
import { notFound } from './errors.js';
import { FIELD_ERRORS, HTTP_METHODS } from './guesses.js';
import { clone } from './keys.js';
import { Checker, asBody, isObject, optionalString, type Body } from './validate.js';

export type IntegrationPatch = Partial<Omit<NewIntegration, 'http'>> & {
  http?: Partial<HttpIntegrationSettings>;
  deactivated_datetime?: string | null;
};

export interface Integrations {
  create: (input: NewIntegration) => Integration;
  get: (id: number) => Integration;
  update: (id: number, patch: IntegrationPatch) => Integration;
  delete: (id: number) => void;
  list: (filter?: { type?: string }) => Integration[];
  /** Whether the integration exists and is not deactivated (no copy made). */
  active: (id: number) => boolean;
}

/** Validates and normalises `http`; `base` holds the current settings for a PUT. */
function checkHttp(check: Checker, base: HttpIntegrationSettings | null): HttpIntegrationSettings | undefined {
  const v = check.body.http;
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) {
    check.add('http', FIELD_ERRORS.notObject);
    return undefined;
  }
  const merged: Body = { ...(base ?? {}), ...v };
  const hc = new Checker(merged);
  hc.requireString('url', { nonEmpty: true });
  hc.requireString('method');
  if (typeof merged.method === 'string' && !(HTTP_METHODS as readonly string[]).includes(merged.method.toUpperCase())) {
    hc.add('method', FIELD_ERRORS.oneOf(HTTP_METHODS));
  }
  hc.optionalString('request_content_type');
  hc.optionalString('response_content_type');
  hc.optionalObject('headers');
  hc.optionalObject('triggers');
  const form = merged.form;
  // [sure] `form` is an object of templates, or one template for the whole body (e.g. "{{context}}").
  if (form !== undefined && form !== null && typeof form !== 'string' && !isObject(form)) hc.add('form', FIELD_ERRORS.notObject);
  if (isObject(merged.headers) && Object.values(merged.headers).some((h) => typeof h !== 'string')) hc.add('headers', FIELD_ERRORS.notString);
  if (isObject(merged.triggers) && Object.values(merged.triggers).some((t) => typeof t !== 'boolean')) hc.add('triggers', FIELD_ERRORS.notBoolean);
  if (isObject(form) && Object.values(form).some((f) => typeof f !== 'string')) hc.add('form', FIELD_ERRORS.notString);
  if (!hc.ok) {
    check.add('http', hc.errors);
    return undefined;
  }
  return {
    url: String(merged.url),
    method: String(merged.method).toUpperCase() as HttpIntegrationSettings['method'],
    request_content_type: optionalString(merged.request_content_type) ?? 'application/json',
    response_content_type: optionalString(merged.response_content_type) ?? 'application/json',
    headers: isObject(merged.headers) ? (clone(merged.headers) as Record<string, string>) : {},
    triggers: isObject(merged.triggers) ? clone(merged.triggers) : {},
    form: typeof form === 'string' ? form : isObject(form) ? (clone(form) as Record<string, string>) : null,
  };
}

export function createIntegrations(iso: () => string): Integrations {
  const integrations = new Map<number, Integration>();
  let nextId = 1;

  function record(id: number): Integration {
    const i = integrations.get(id);
    if (!i) throw notFound();
    return i;
  }

  return {
    create(input) {
      const body = asBody(input);
      const check = new Checker(body);
      check.requireString('type', { nonEmpty: true });
      check.requireString('name', { nonEmpty: true });
      check.optionalString('description');
      const http = checkHttp(check, null);
      if (body.type === 'http' && (body.http === undefined || body.http === null)) check.add('http', FIELD_ERRORS.missing);
      check.done();
      const now = iso();
      const integration: Integration = {
        id: nextId++,
        type: String(body.type),
        name: String(body.name),
        description: optionalString(body.description),
        deactivated_datetime: optionalString(body.deactivated_datetime),
        http: http ?? null,
        created_datetime: now,
        updated_datetime: now,
      };
      integrations.set(integration.id, integration);
      return clone(integration);
    },
    get: (id) => clone(record(id)),
    update(id, patch) {
      const i = record(id);
      const body = asBody(patch);
      const check = new Checker(body);
      check.optionalString('name', { nonEmpty: true });
      check.optionalString('description');
      check.optionalString('deactivated_datetime');
      if (body.type !== undefined && body.type !== i.type) check.add('type', FIELD_ERRORS.oneOf([i.type]));
      const http = checkHttp(check, i.http);
      check.done();
      if (typeof body.name === 'string') i.name = body.name;
      if ('description' in body) i.description = optionalString(body.description);
      // [guess] A PUT that clears deactivated_datetime reactivates the integration.
      if ('deactivated_datetime' in body) i.deactivated_datetime = optionalString(body.deactivated_datetime);
      if (http) i.http = http;
      i.updated_datetime = iso();
      return clone(i);
    },
    delete(id) {
      record(id);
      integrations.delete(id);
    },
    list: (filter = {}) => [...integrations.values()].filter((i) => filter.type === undefined || i.type === filter.type).map(clone),
    active: (id) => {
      const i = integrations.get(id);
      return i !== undefined && i.deactivated_datetime === null;
    },
  };
}
