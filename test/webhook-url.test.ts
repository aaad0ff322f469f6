// End-to-end: `livechat webhook-url` through bin/livechat.js (config only, no Gorgias).
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { WEBHOOK_VARIABLES } from '../src/webhook/template.ts';
import { runInProcess, tempConfigDir } from './helpers.ts';

const cfg = tempConfigDir();
after(cfg.cleanup);
const BASE = 'https://bot.example.com/v1/livechat/gorgias/receive';
const env = { LIVECHAT_CONFIG_DIR: cfg.dir };

function savedToken(): string {
  return (JSON.parse(readFileSync(join(cfg.dir, 'config.json'), 'utf8')) as { webhookToken: string }).webhookToken;
}

test('no base URL: exit 2, says how to set one', async () => {
  const r = await runInProcess(['webhook-url'], { env });
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /--base-url/);
  assert.match(r.stderr, /LIVECHAT_BASE_URL/);
  assert.match(r.stderr, /livechat config set base-url URL/);
});

test('bad base URLs are refused, local ones warned about', async () => {
  for (const bad of ['ftp://bot.example.com/x', 'https://bot.example.com/x#frag', 'not a url']) {
    const r = await runInProcess(['webhook-url', '--base-url', bad], { env });
    assert.equal(r.code, 2, bad);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^error: base URL/m);
  }
  const local = await runInProcess(['webhook-url', '--base-url', 'http://localhost:3000/hook'], { env });
  assert.equal(local.code, 0);
  assert.match(local.stderr, /warning: .*cannot reach/);
  assert.match(local.stdout, /^http:\/\/localhost:3000\/hook\?/);
});

test('piped: only the URL, checked variable by variable; the token is saved once (0600)', async () => {
  const r = await runInProcess(['webhook-url', '--base-url', BASE, '--show-secrets'], { env });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter(Boolean);
  assert.equal(lines.length, 1);
  const url = lines[0];
  const [base, query] = url.split('?');
  assert.equal(base, BASE);
  const parts = query.split('&');
  assert.equal(parts.length, WEBHOOK_VARIABLES.length + 1);
  const expected = [
    'external_id={{ticket.external_id}}',
    'ticket_id={{ticket.id}}',
    'event_type={{event.type}}',
    'event_id={{event.id}}',
    'message_id={{event.object_id}}',
    'text={{message.body_text}}',
    'from_agent={{message.from_agent}}',
    'channel={{message.channel}}',
  ];
  assert.deepEqual(parts.slice(0, -1), expected);
  const token = savedToken();
  assert.equal(parts.at(-1), `token=${token}`);
  assert.ok(Buffer.from(token, 'base64url').length >= 16);
  if (process.platform !== 'win32') assert.equal(statSync(join(cfg.dir, 'config.json')).mode & 0o777, 0o600);

  // Same URL on every run, and LIVECHAT_BASE_URL works too.
  const again = await runInProcess(['webhook-url', '--show-secrets'], { env: { ...env, LIVECHAT_BASE_URL: BASE } });
  assert.equal(again.stdout.trim(), url);
  assert.equal(savedToken(), token);

  // Without --show-secrets the token is masked, and stderr says how to see it.
  const masked = await runInProcess(['webhook-url', '--base-url', BASE], { env });
  assert.equal(masked.code, 0, masked.stderr);
  assert.equal(masked.stdout.trim(), url.replace(`token=${token}`, `token=****${token.slice(-4)}`));
  assert.match(masked.stderr, /--show-secrets/);
});

test('--json gives action, url, base_url, event and the variables; the token masked unless --show-secrets', async () => {
  const r = await runInProcess(['webhook-url', '--base-url', BASE, '--json', '--show-secrets'], { env });
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as {
    action: string;
    url: string;
    base_url: string;
    event: string;
    variables: Array<{ param: string; variable: string }>;
  };
  assert.equal(j.action, 'unchanged', 'the token was saved by the test before');
  assert.equal(j.base_url, BASE);
  assert.equal(j.event, 'ticket-message-created');
  assert.equal(j.url, `${BASE}?${j.variables.map((v) => `${v.param}=${v.variable}`).join('&')}&token=${savedToken()}`);
  const masked = await runInProcess(['webhook-url', '--base-url', BASE, '--json'], { env });
  assert.ok(!masked.stdout.includes(savedToken()));
  assert.equal((JSON.parse(masked.stdout) as { url: string }).url, j.url.replace(savedToken(), `****${savedToken().slice(-4)}`));
  assert.deepEqual(
    j.variables.map((v) => v.param),
    ['external_id', 'ticket_id', 'event_type', 'event_id', 'message_id', 'text', 'from_agent', 'channel'],
  );
});

test('--rotate-token makes a new token and says the integration must be updated', async () => {
  const before = savedToken();
  const r = await runInProcess(['webhook-url', '--base-url', BASE, '--rotate-token', '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  const after = savedToken();
  assert.notEqual(after, before);
  const j = JSON.parse(r.stdout) as { action: string; url: string };
  assert.equal(j.action, 'updated');
  assert.ok(j.url.endsWith(`&token=****${after.slice(-4)}`));
  assert.match(r.stderr, /must be updated/);
  assert.match(r.stderr, /livechat webhook install/);
});

test('on a TTY the URL comes with short instructions', async () => {
  const { webhookUrl } = await import('../src/commands/webhook-url.ts');
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    out: (t: string) => void out.push(t),
    err: (t: string) => void err.push(t),
    stdoutIsTTY: true,
    stderrIsTTY: true,
    stdinIsTTY: true,
    color: false,
    env: { LIVECHAT_CONFIG_DIR: cfg.dir } as NodeJS.ProcessEnv,
  };
  await webhookUrl({ baseUrl: BASE, showSecrets: true }, io);
  const text = out.join('\n');
  assert.ok(text.includes(`${BASE}?external_id={{ticket.external_id}}`));
  assert.ok(text.includes(`&token=${savedToken()}`));
  assert.match(text, /Integrations > HTTP/);
  assert.match(text, /only the ticket-message-created event/);
  assert.match(text, /POST/);
  assert.deepEqual(err, []);

  // Without --show-secrets: masked, and it says how to print the URL to paste.
  out.length = 0;
  await webhookUrl({ baseUrl: BASE }, io);
  const masked = out.join('\n');
  assert.ok(!masked.includes(savedToken()));
  assert.ok(masked.includes(`&token=****${savedToken().slice(-4)}`));
  assert.match(masked, /livechat webhook-url --show-secrets/);
});

test('a first run reports the token as created', async () => {
  const fresh = tempConfigDir();
  try {
    const r = await runInProcess(['webhook-url', '--base-url', BASE, '--json'], { env: { LIVECHAT_CONFIG_DIR: fresh.dir } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { action: string }).action, 'created');
  } finally {
    fresh.cleanup();
  }
});
