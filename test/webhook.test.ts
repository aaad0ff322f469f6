// Unit tests: the webhook token, the integration we want, and how existing ones compare.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Integration } from '../src/gorgias/types.ts';
import {
  FORM_LABEL,
  classifyIntegration,
  desiredIntegration,
  integrationDifferences,
  integrationForm,
  maskIntegration,
  maskUrlToken,
  statusReport,
  tokenOf,
} from '../src/webhook/integration.ts';
import { LEGACY_PARAMS, WEBHOOK_VARIABLES, installedUrlTemplate, webhookUrlTemplate } from '../src/webhook/template.ts';
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

/** A URL-only integration pasted by hand from `webhook-url` (the old guides had no channel). */
function pasted(overrides: Partial<Integration> = {}, http: Partial<NonNullable<Integration['http']>> = {}): Integration {
  return existing(overrides, { url: webhookUrlTemplate(BASE, TOKEN), headers: {}, form: null, ...http });
}
const LEGACY = `${BASE}?${LEGACY_PARAMS.map((p) => `${p}=${WEBHOOK_VARIABLES.find(([q]) => q === p)![1]}`).join('&')}&token=${TOKEN}`;

test('desiredIntegration: http, POST, the {{context}} JSON body, the token in a header, ids in the URL', () => {
  const d = desiredIntegration(BASE, TOKEN);
  assert.equal(d.type, 'http');
  assert.equal(d.name, 'Livechat bridge');
  assert.equal(d.http.url, installedUrlTemplate(BASE));
  assert.equal(d.http.method, 'POST');
  assert.equal(d.http.request_content_type, 'application/json');
  assert.deepEqual(d.http.headers, { 'X-Livechat-Token': TOKEN });
  assert.equal(d.http.form, '{{context}}');
  assert.deepEqual(d.http.triggers, { 'ticket-message-created': true });
  assert.equal(tokenOf(d.http.url), undefined, 'no token in the URL');
  assert.ok(!d.http.url.includes('text='), 'the text comes in the body');
  for (const [param, variable] of WEBHOOK_VARIABLES) if (param !== 'text') assert.ok(d.http.url.includes(`${param}=${variable}`));
  assert.equal(integrationForm(d), 'installed');
});

test('webhookUrlTemplate (pasted by hand): every parameter, channel after from_agent, the token last', () => {
  const url = webhookUrlTemplate(BASE, TOKEN);
  assert.match(url, /&text=\{\{message\.body_text\}\}&from_agent=\{\{message\.from_agent\}\}&channel=\{\{message\.channel\}\}&token=/);
  assert.equal(tokenOf(url), TOKEN);
  assert.equal(integrationForm({ http: { ...desiredIntegration(BASE, TOKEN).http, url, form: null } }), 'pasted');
});

test('classifyIntegration (what install keeps): only the installed form is ours-ok', () => {
  const d = desiredIntegration(BASE, TOKEN);
  assert.equal(classifyIntegration(existing(), d), 'ours-ok');
  assert.equal(classifyIntegration(existing({}, { headers: { 'X-Livechat-Token': 'old' } }), d), 'ours-stale');
  assert.equal(classifyIntegration(existing({}, { headers: { 'x-livechat-token': TOKEN } }), d), 'ours-ok', 'any case of the header');
  assert.equal(classifyIntegration(existing({}, { method: 'GET' }), d), 'ours-stale');
  assert.equal(classifyIntegration(existing({}, { form: { text: '{{message.body_text}}' } }), d), 'ours-stale');
  assert.equal(classifyIntegration(existing({}, { triggers: { 'ticket-message-created': true, 'ticket-created': true } }), d), 'ours-stale');
  assert.equal(classifyIntegration(existing({ deactivated_datetime: '2024-02-02T00:00:00Z' }), d), 'ours-stale');
  assert.equal(classifyIntegration(pasted(), d), 'ours-stale', 'install replaces a pasted one');
  assert.equal(classifyIntegration(existing({}, { url: installedUrlTemplate('https://other.example.com/hook') }), d), 'other');
  assert.equal(classifyIntegration(existing({ type: 'shopify' }), d), 'other');
  // A trailing-slash difference is the same base.
  const bare = desiredIntegration('https://bot.example.com/', TOKEN);
  assert.equal(classifyIntegration(existing({}, { url: installedUrlTemplate('https://bot.example.com') }), bare), 'ours-ok');
});

test('integrationDifferences names each difference', () => {
  const d = desiredIntegration(BASE, TOKEN);
  assert.deepEqual(integrationDifferences(existing(), d), []);
  const diffs = integrationDifferences(
    existing(
      { deactivated_datetime: '2024-02-02T00:00:00Z' },
      { headers: { 'X-Livechat-Token': 'old' }, method: 'GET', triggers: { 'ticket-updated': true } },
    ),
    d,
  );
  assert.equal(diffs.length, 4, diffs.join('\n'));
  assert.match(diffs.join('\n'), /deactivated.*100 failed calls.*webhook install --yes/);
  assert.match(diffs.join('\n'), /stale token: its X-Livechat-Token header/);
  assert.match(diffs.join('\n'), /wrong event\(s\): ticked \[ticket-updated\]/);
  assert.match(diffs.join('\n'), /wrong method: GET/);
  assert.deepEqual(integrationDifferences(existing({}, { url: `${BASE}?ticket_id={{ticket.id}}` }), d), [
    'its URL parameters differ from what `livechat webhook install` sets',
  ]);
  assert.deepEqual(integrationDifferences(existing({}, { form: '{{ticket}}' }), d), ['its body template is not {{context}}']);
  assert.deepEqual(integrationDifferences(existing({}, { headers: {} }), d), ['carries no token (no X-Livechat-Token header, none in its URL)']);
  assert.deepEqual(integrationDifferences(pasted({}, { url: `${BASE}?ticket_id={{ticket.id}}&token=${TOKEN}` }), d), [
    'its URL parameters differ from `livechat webhook-url`',
    'is pasted by hand (URL only): install the JSON body form',
  ]);
});

test('statusReport: the installed and the pasted form both pass, and it says which it found', () => {
  const cfg = { baseUrl: BASE, token: TOKEN };
  const installed = statusReport([existing()], cfg);
  assert.deepEqual([installed.ok, installed.problems, installed.notes], [true, [], []]);
  assert.equal(installed.integrations[0].form, 'installed');
  assert.equal(FORM_LABEL[installed.integrations[0].form], 'installed: JSON body, token in a header');

  const hand = statusReport([pasted()], cfg);
  assert.equal(hand.ok, true, hand.problems.join('\n'));
  assert.equal(hand.integrations[0].form, 'pasted');
  assert.equal(hand.integrations[0].class, 'ours-ok');
  assert.match(hand.notes.join('\n'), /#7: agent text travels in its URL.*webhook install --yes/);

  const legacy = statusReport([pasted({}, { url: LEGACY })], cfg);
  assert.equal(legacy.ok, true, legacy.problems.join('\n'));
  assert.match(legacy.notes.join('\n'), /no channel parameter: each agent message is read back/);

  const stalePasted = statusReport([pasted({}, { url: webhookUrlTemplate(BASE, 'old') })], cfg);
  assert.match(stalePasted.problems.join('\n'), /#7 stale token: its URL carries an old token/);
  const noTokenPasted = statusReport([pasted({}, { url: webhookUrlTemplate(BASE, TOKEN).replace(/&token=.*$/, '') })], cfg);
  assert.match(noTokenPasted.problems.join('\n'), /#7 its URL carries no token/);
});

test('statusReport: deactivated, missing, several, stale, no token', () => {
  const cfg = { baseUrl: BASE, token: TOKEN };
  const off = statusReport([existing({ deactivated_datetime: '2024-02-02T00:00:00Z' })], cfg);
  assert.equal(off.ok, false);
  assert.equal(off.integrations[0].active, false);
  assert.match(
    off.problems[0],
    /^integration #7 is deactivated \(since 2024-02-02T00:00:00Z\).*receiver at https:\/\/bot\.example\.com\/gorgias\/receive answers.*webhook install --yes/,
  );

  const missing = statusReport([existing({}, { url: installedUrlTemplate('https://elsewhere.example.com/') })], cfg);
  assert.equal(missing.ok, false);
  assert.match(missing.problems[0], /missing integration/);
  assert.equal(missing.integrations[0].class, 'other');

  const several = statusReport([existing(), pasted({ id: 8 })], cfg);
  assert.equal(several.ok, false);
  assert.match(several.problems.join('\n'), /several.*#7, #8/);

  const stale = statusReport([existing({}, { headers: { 'X-Livechat-Token': 'old' } })], cfg);
  assert.equal(stale.ok, false);
  assert.match(stale.problems.join('\n'), /#7 stale token/);

  const noToken = statusReport([existing()], { baseUrl: BASE });
  assert.equal(noToken.ok, false);
  assert.deepEqual(noToken.problems, ['no webhook token in the config yet (run `livechat webhook-url` or `livechat webhook install`)']);

  const nonHttp = statusReport([existing({ type: 'email' })], cfg);
  assert.equal(nonHttp.integrations.length, 0);
});

test('maskIntegration hides the token in the URL and in the header', () => {
  const masked = maskIntegration(pasted({}, { headers: { 'X-Livechat-Token': TOKEN, other: 'kept' } }));
  assert.ok(!JSON.stringify(masked).includes(TOKEN));
  assert.equal(masked.http!.headers.other, 'kept');
  assert.equal(masked.http!.headers['X-Livechat-Token'], '****aaaa');
});

test('maskUrlToken hides any token, old or new', () => {
  const url = webhookUrlTemplate(BASE, TOKEN);
  const masked = maskUrlToken(url);
  assert.ok(!masked.includes(TOKEN));
  assert.ok(masked.endsWith('&token=****aaaa'));
  assert.ok(masked.startsWith(`${BASE}?external_id={{ticket.external_id}}&`));
  assert.equal(maskUrlToken('https://x.example.com/h?a=1'), 'https://x.example.com/h?a=1');
});
