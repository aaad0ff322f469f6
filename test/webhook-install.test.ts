// End-to-end: `livechat webhook-url`, `webhook install` and `webhook status` through
// bin/livechat.js against the Gorgias emulator, with a real receiver for the filled-in template.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { startEmulator, type Emulator } from '../src/emulator/index.ts';
import { parseWebhook } from '../src/receiver/parse.ts';
import { installedUrlTemplate } from '../src/webhook/template.ts';
import { startReceiver, type Receiver } from './emulator-helpers.ts';
import { runInProcess, tempConfigDir, type CliResult } from './helpers.ts';

// Each test has its own config dir, emulator and receiver: none leans on what ran before it.
let cfg: ReturnType<typeof tempConfigDir>;
let emu: Emulator;
let rx: Receiver;
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  cfg = tempConfigDir();
  emu = await startEmulator({ port: 0, rateLimit: false });
  rx = await startReceiver();
  env = {
    LIVECHAT_CONFIG_DIR: cfg.dir,
    GORGIAS_DOMAIN: emu.url,
    GORGIAS_USERNAME: emu.email,
    GORGIAS_API_KEY: emu.apiKey,
    LIVECHAT_BASE_URL: rx.url,
  };
  // Someone else's HTTP integration: listed, never touched.
  emu.store.createIntegration({
    type: 'http',
    name: 'CRM sync',
    http: {
      url: 'https://crm.example.com/hook?id={{ticket.id}}',
      method: 'POST',
      request_content_type: 'application/json',
      response_content_type: 'application/json',
      headers: {},
      triggers: { 'ticket-created': true },
    },
  });
});
afterEach(async () => {
  await emu.close();
  await rx.close();
  cfg.cleanup();
});

const cli = (args: string[]): Promise<CliResult> => runInProcess(args, { env });
const ours = () => emu.store.listIntegrations().filter((i) => i.http?.url.startsWith(rx.url));
const token = () => (JSON.parse(readFileSync(join(cfg.dir, 'config.json'), 'utf8')) as { webhookToken: string }).webhookToken;

function assertCheckFailed(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^error: webhook check failed/m);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

test('status before install: missing integration, exit 1', async () => {
  await cli(['webhook-url']); // creates the token
  const r = await cli(['webhook', 'status']);
  assertCheckFailed(r, /missing integration/);
  assert.match(r.stdout, /CRM sync/);
});

test('install creates one integration; install again changes nothing; status passes', async () => {
  const first = await cli(['webhook', 'install']);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^created integration #\d+ "Livechat bridge"/);
  assert.ok(!first.stdout.includes(token()), 'the human output masks the token');

  const second = await cli(['webhook', 'install', '--json']);
  assert.equal(second.code, 0, second.stderr);
  const j = JSON.parse(second.stdout) as { action: string; integration: { id: number; http: { url: string; headers: Record<string, string> } } };
  assert.equal(j.action, 'unchanged');
  assert.ok(!second.stdout.includes(token()), '--json masks the token too');
  assert.match(j.integration.http.headers['X-Livechat-Token'], /^\*\*\*\*.{4}$/);

  assert.equal(ours().length, 1);
  const i = ours()[0];
  assert.equal(j.integration.id, i.id);
  assert.equal(i.type, 'http');
  assert.equal(i.http?.method, 'POST');
  assert.equal(i.http?.request_content_type, 'application/json');
  assert.deepEqual(i.http?.triggers, { 'ticket-message-created': true });
  // The installed form: ids in the URL, the whole context as the JSON body, the token in a header.
  assert.equal(i.http?.url, installedUrlTemplate(rx.url));
  assert.equal(i.http?.form, '{{context}}');
  assert.deepEqual(i.http?.headers, { 'X-Livechat-Token': token() });
  assert.equal(emu.store.listIntegrations().length, 2, 'the CRM integration is untouched');

  const status = await cli(['webhook', 'status']);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /ours ok #\d+ Livechat bridge {2}\[ticket-message-created\] {2}\(installed: JSON body, token in a header\)/);
  assert.match(status.stdout, /all right/);
  assert.ok(!status.stdout.includes(token()));

  const sj = await cli(['webhook', 'status', '--json']);
  assert.equal(sj.code, 0);
  const report = JSON.parse(sj.stdout) as { ok: boolean; problems: string[]; integrations: Array<{ name: string; ours: boolean }> };
  assert.equal(report.ok, true);
  assert.deepEqual(report.problems, []);
  assert.deepEqual(
    report.integrations.map((e) => [e.name, e.ours]),
    [
      ['CRM sync', false],
      ['Livechat bridge', true],
    ],
  );
});

test('the emulator fills the template in and the receiver gets every field back, the text exact', async () => {
  assert.equal((await cli(['webhook', 'install', '--yes'])).code, 0, 'stands alone: installs first');
  const text = 'Tom & Jerry #1 + 2 = 3? 100% a=b\nsecond line: café 🎉 שלום مرحبا';
  const ticket = emu.store.createTicket({
    external_id: 'conv-42',
    channel: 'chat',
    via: 'api',
    customer: { email: 'ada@example.com', name: 'Ada' },
    messages: [{ channel: 'chat', via: 'api', from_agent: false, sender: { email: 'ada@example.com' }, body_text: 'I need a human' }],
  });
  const reply = await emu.agent.reply(ticket.id, text);
  await emu.idle();
  const header = (r: (typeof rx.received)[number]) => r.headers['x-livechat-token'] as string | undefined;
  const got = rx.received.map((r) => ({ r, p: parseWebhook(r.url, r.body, r.headers['content-type'], { token: token(), headerToken: header(r) }) }));
  assert.ok(got.length >= 2, `deliveries: ${got.length}`);
  const agent = got.find((g) => g.p.ok && g.p.event.fromAgent);
  assert.ok(agent && agent.p.ok, JSON.stringify(got.map((g) => g.p)));
  const ev = agent.p.event;
  assert.equal(ev.conversationId, 'conv-42');
  assert.equal(ev.ticketId, ticket.id);
  assert.equal(ev.eventType, 'ticket-message-created');
  assert.ok(ev.eventId && /^\d+$/.test(ev.eventId));
  assert.equal(ev.messageId, String(reply.id));
  assert.equal(ev.text, text);
  assert.equal(ev.fromAgent, true);
  assert.equal(ev.channel, 'chat');
  assert.equal(ev.verify, undefined, 'nothing to read back: the body is exact');
  // The query carries the ids and flags, not the text nor the token; the header and the body do.
  const q = agent.r.query;
  assert.deepEqual([...q.keys()], ['external_id', 'ticket_id', 'event_type', 'event_id', 'message_id', 'from_agent', 'channel']);
  assert.equal(q.get('from_agent'), 'True');
  assert.equal(header(agent.r), token());
  assert.equal((JSON.parse(agent.r.body) as { message: { body_text: string } }).message.body_text, text);
  // The customer's own first message came back too, marked as not from the agent.
  assert.ok(got.some((g) => g.p.ok && !g.p.event.fromAgent && g.p.event.text === 'I need a human'));
});

test('status catches a wrong event; install without --yes and no TTY refuses; --yes fixes it', async () => {
  assert.equal((await cli(['webhook', 'install', '--yes'])).code, 0, 'stands alone: installs first');
  const id = ours()[0].id;
  emu.store.updateIntegration(id, { http: { triggers: { 'ticket-message-created': true, 'ticket-updated': true } } });
  assertCheckFailed(await cli(['webhook', 'status']), /wrong event\(s\): ticked \[ticket-updated, ticket-message-created\]/);

  const refused = await cli(['webhook', 'install']);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /--yes/);
  assert.deepEqual(ours()[0].http?.triggers, { 'ticket-message-created': true, 'ticket-updated': true }, 'nothing changed');

  const fixed = await cli(['webhook', 'install', '--yes']);
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.match(fixed.stdout, /^updated integration #\d+/);
  assert.equal(ours().length, 1);
  assert.equal(ours()[0].id, id);
  assert.equal((await cli(['webhook', 'status'])).code, 0);
});

test('status catches a wrong method and a deactivated integration', async () => {
  assert.equal((await cli(['webhook', 'install', '--yes'])).code, 0, 'stands alone: installs first');
  const id = ours()[0].id;
  emu.store.updateIntegration(id, { http: { method: 'GET' }, deactivated_datetime: '2024-05-01T00:00:00.000Z' });
  const r = await cli(['webhook', 'status', '--json']);
  assert.equal(r.code, 1);
  const report = JSON.parse(r.stdout) as { ok: boolean; problems: string[] };
  assert.equal(report.ok, false);
  assert.equal(report.problems.length, 2, report.problems.join('\n'));
  assert.match(report.problems.join('\n'), /wrong method: GET/);
  assert.match(report.problems.join('\n'), /deactivated/);
  assert.equal((await cli(['webhook', 'install', '--yes'])).code, 0);
  assert.equal(ours()[0].deactivated_datetime, null);
  assert.equal((await cli(['webhook', 'status'])).code, 0);
});

test('Gorgias deactivates it after 100 failed calls: status exits 1 and says what to do; install --yes turns it back on', async () => {
  assert.equal((await cli(['webhook', 'install', '--yes'])).code, 0, 'stands alone: installs first');
  const id = ours()[0].id;
  const ticket = emu.store.createTicket({
    external_id: 'conv-down',
    channel: 'chat',
    via: 'api',
    customer: { email: 'down@example.com' },
    messages: [{ channel: 'chat', via: 'api', from_agent: false, sender: { email: 'down@example.com' }, body_text: 'hello?' }],
  });
  rx.status = 503; // the receiver is down for a while
  try {
    for (let i = 0; i < 100; i++) emu.store.createMessage(ticket.id, { channel: 'chat', via: 'api', from_agent: false, body_text: `m${i}` });
    await emu.idle();
  } finally {
    rx.status = 200;
  }
  assert.notEqual(emu.store.getIntegration(id).deactivated_datetime, null, 'the emulator turned it off');
  const down = await cli(['webhook', 'status']);
  assertCheckFailed(down, /is deactivated \(since .*\): Gorgias turns an HTTP integration off after 100 failed calls in a row/);
  assert.match(down.stderr, /webhook install --yes/);
  assert.match(down.stdout, /ours !! #\d+ Livechat bridge \(deactivated\)/);
  const back = await cli(['webhook', 'install', '--yes']);
  assert.equal(back.code, 0, back.stderr);
  assert.match(back.stdout, /^updated integration #\d+ .*\(is deactivated \(since [^)]*\)\)/);
  assert.equal(emu.store.getIntegration(id).deactivated_datetime, null);
  const up = await cli(['webhook', 'status']);
  assert.equal(up.code, 0, up.stderr);
});

test('a hand-pasted URL-only integration passes status, which says so; install --yes turns it into the installed form', async () => {
  assert.equal((await cli(['webhook', 'install', '--yes'])).code, 0, 'stands alone: installs first');
  const id = ours()[0].id;
  const pasted = (await cli(['webhook-url', '--show-secrets'])).stdout.trim();
  emu.store.updateIntegration(id, { http: { url: pasted, headers: {}, form: null } });
  const status = await cli(['webhook', 'status']);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /ours ok #\d+ Livechat bridge {2}\[ticket-message-created\] {2}\(pasted by hand: URL only\)/);
  assert.match(status.stdout, /^note: integration #\d+: agent text travels in its URL/m);
  assert.ok(!status.stdout.includes(token()), 'the token in the URL is masked');
  const legacy = pasted.replace('&channel={{message.channel}}', '');
  emu.store.updateIntegration(id, { http: { url: legacy } });
  const old = await cli(['webhook', 'status', '--json']);
  assert.equal(old.code, 0, old.stderr);
  const report = JSON.parse(old.stdout) as { notes: string[]; integrations: Array<{ form: string; ours: boolean }> };
  assert.match(report.notes.join('\n'), /no channel parameter/);
  assert.deepEqual(
    report.integrations.filter((e) => e.ours).map((e) => e.form),
    ['pasted'],
  );
  const refused = await cli(['webhook', 'install']);
  assert.equal(refused.code, 2, 'an update without a TTY needs --yes');
  const upgraded = await cli(['webhook', 'install', '--yes']);
  assert.equal(upgraded.code, 0, upgraded.stderr);
  assert.equal(ours()[0].http?.form, '{{context}}');
  assert.match((await cli(['webhook', 'status'])).stdout, /\(installed: JSON body, token in a header\)/);
});

test('after --rotate-token, status reports a stale token until install updates it', async () => {
  assert.equal((await cli(['webhook', 'install', '--yes'])).code, 0, 'stands alone: installs first');
  const old = token();
  const rot = await cli(['webhook-url', '--rotate-token']);
  assert.equal(rot.code, 0);
  assert.notEqual(token(), old);
  const stale = await cli(['webhook', 'status']);
  assertCheckFailed(stale, /stale token/);
  assert.match(stale.stderr, /fix: `livechat webhook install`/);
  assert.match(stale.stdout, /ours !! #\d+ Livechat bridge/);
  assert.ok(!stale.stdout.includes(old) && !stale.stdout.includes(token()), 'tokens are masked');
  const upd = await cli(['webhook', 'install', '--yes']);
  assert.equal(upd.code, 0, upd.stderr);
  assert.equal(ours().length, 1);
  assert.equal(ours()[0].http?.headers['X-Livechat-Token'], token());
  assert.equal((await cli(['webhook', 'status'])).code, 0);
});

test('status catches several integrations, then a missing one', async () => {
  assert.equal((await cli(['webhook', 'install', '--yes'])).code, 0, 'stands alone: installs first');
  const dup = emu.store.createIntegration({ name: ours()[0].name, type: 'http', http: ours()[0].http! });
  assertCheckFailed(await cli(['webhook', 'status']), /several HTTP integrations/);
  emu.store.deleteIntegration(dup.id);
  emu.store.deleteIntegration(ours()[0].id);
  assertCheckFailed(await cli(['webhook', 'status']), /missing integration/);
});

test('a wrong API key: one line, exit 1', async () => {
  const r = await runInProcess(['webhook', 'status'], { env: { ...env, GORGIAS_API_KEY: 'wrong-key-123456' } });
  assert.equal(r.code, 1);
  // The local-base-URL warning aside, the error is one line.
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('warning:'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^error: /);
  assert.match(r.stderr, /401/);
  assert.ok(!r.stderr.includes('wrong-key-123456'));
});
