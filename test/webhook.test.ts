// Unit tests: the webhook token, the integration we want, and how existing ones compare.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Integration } from '../src/gorgias/types.ts';
import { classifyIntegration, desiredIntegration, integrationDifferences, maskUrlToken, statusReport, tokenOf } from '../src/webhook/integration.ts';
import { WEBHOOK_VARIABLES, webhookUrlTemplate } from '../src/webhook/template.ts';
import { newWebhookToken } from '../src/webhook/token.ts';

const BASE = 'https://bot.example.com/gorgias/receive';
const TOKEN = 'tok_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';

function existing(overrides: Partial<Integration> = {}, http: Partial<NonNullable<Integration['http']>> = {}): Integration {
  const d = desiredIntegration(BASE, TOKEN);
  return {
    id: 7,
    type: 'http',
    name: d.name,
    description: null,
    deactivated_datetime: null,
    created_datetime: '2024-01-01T00:00:00Z',
    updated_datetime: '2024-01-01T00:00:00Z',
    ...overrides,
    http: { ...d.http, ...http },
  };
}

test('newWebhookToken: >= 128 bits, URL-safe, different every time', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const t = newWebhookToken();
    assert.match(t, /^[A-Za-z0-9_-]+$/);
    assert.ok(Buffer.from(t, 'base64url').length * 8 >= 128);
    seen.add(t);
  }
  assert.equal(seen.size, 50);
});

test('desiredIntegration: http, POST, JSON, only ticket-message-created, the template URL', () => {
  const d = desiredIntegration(BASE, TOKEN);
  assert.equal(d.type, 'http');
  assert.equal(d.name, 'Livechat bridge');
  assert.equal(d.http.url, webhookUrlTemplate(BASE, TOKEN));
  assert.equal(d.http.method, 'POST');
  assert.equal(d.http.request_content_type, 'application/json');
  assert.deepEqual(d.http.headers, {});
  assert.deepEqual(d.http.triggers, { 'ticket-message-created': true });
  assert.equal(tokenOf(d.http.url), TOKEN);
  for (const [param, variable] of WEBHOOK_VARIABLES) assert.ok(d.http.url.includes(`${param}=${variable}`));
});

test('classifyIntegration: ours-ok, ours-stale, other', () => {
  const d = desiredIntegration(BASE, TOKEN);
  assert.equal(classifyIntegration(existing(), d), 'ours-ok');
  assert.equal(classifyIntegration(existing({}, { url: webhookUrlTemplate(BASE, 'old') }), d), 'ours-stale');
  assert.equal(classifyIntegration(existing({}, { method: 'GET' }), d), 'ours-stale');
  assert.equal(classifyIntegration(existing({}, { triggers: { 'ticket-message-created': true, 'ticket-created': true } }), d), 'ours-stale');
  assert.equal(classifyIntegration(existing({ deactivated_datetime: '2024-02-02T00:00:00Z' }), d), 'ours-stale');
  assert.equal(classifyIntegration(existing({}, { url: webhookUrlTemplate('https://other.example.com/hook', TOKEN) }), d), 'other');
  assert.equal(classifyIntegration(existing({ type: 'shopify' }), d), 'other');
  // A trailing-slash difference is the same base.
  const bare = desiredIntegration('https://bot.example.com/', TOKEN);
  assert.equal(classifyIntegration(existing({}, { url: webhookUrlTemplate('https://bot.example.com', TOKEN) }), bare), 'ours-ok');
});

test('integrationDifferences names each difference', () => {
  const d = desiredIntegration(BASE, TOKEN);
  assert.deepEqual(integrationDifferences(existing(), d), []);
  const diffs = integrationDifferences(
    existing(
      { deactivated_datetime: '2024-02-02T00:00:00Z' },
      { url: webhookUrlTemplate(BASE, 'old'), method: 'GET', triggers: { 'ticket-updated': true } },
    ),
    d,
  );
  assert.equal(diffs.length, 4, diffs.join('\n'));
  assert.match(diffs.join('\n'), /deactivated/);
  assert.match(diffs.join('\n'), /stale token/);
  assert.match(diffs.join('\n'), /wrong event\(s\): ticked \[ticket-updated\]/);
  assert.match(diffs.join('\n'), /wrong method: GET/);
  const missingVar = integrationDifferences(existing({}, { url: `${BASE}?ticket_id={{ticket.id}}&token=${TOKEN}` }), d);
  assert.deepEqual(missingVar, ['its URL parameters differ from `livechat webhook-url`']);
});

test('statusReport: ok, missing, several, stale, no token', () => {
  const cfg = { baseUrl: BASE, token: TOKEN };
  assert.deepEqual(statusReport([existing()], cfg).problems, []);
  assert.equal(statusReport([existing()], cfg).ok, true);

  const missing = statusReport([existing({}, { url: webhookUrlTemplate('https://elsewhere.example.com/', TOKEN) })], cfg);
  assert.equal(missing.ok, false);
  assert.match(missing.problems[0], /missing integration/);
  assert.equal(missing.integrations[0].class, 'other');

  const several = statusReport([existing(), existing({ id: 8 })], cfg);
  assert.equal(several.ok, false);
  assert.match(several.problems.join('\n'), /several.*#7, #8/);

  const stale = statusReport([existing({}, { url: webhookUrlTemplate(BASE, 'old') })], cfg);
  assert.equal(stale.ok, false);
  assert.match(stale.problems.join('\n'), /#7 stale token/);

  const noToken = statusReport([existing()], { baseUrl: BASE });
  assert.equal(noToken.ok, false);
  assert.match(noToken.problems.join('\n'), /no webhook token/);

  const nonHttp = statusReport([existing({ type: 'email' })], cfg);
  assert.equal(nonHttp.integrations.length, 0);
});

test('maskUrlToken hides any token, old or new', () => {
  const url = webhookUrlTemplate(BASE, TOKEN);
  const masked = maskUrlToken(url);
  assert.ok(!masked.includes(TOKEN));
  assert.ok(masked.endsWith('&token=****aaaa'));
  assert.ok(masked.startsWith(`${BASE}?external_id={{ticket.external_id}}&`));
  assert.equal(maskUrlToken('https://x.example.com/h?a=1'), 'https://x.example.com/h?a=1');
});
