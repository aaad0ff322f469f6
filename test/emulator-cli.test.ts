// `livechat emulator` end to end: spawn bin/livechat.js, talk to it, stop it with a signal.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { test } from 'node:test';
import { httpIntegration, livechatTemplate, newTicket, startReceiver } from './emulator-helpers.ts';
import { BIN, runInProcess } from './helpers.ts';
import { waitFor } from './serve-helpers.ts';

interface Running {
  child: ChildProcessWithoutNullStreams;
  firstLine: Promise<string>;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startCli(args: string[]): Running {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const firstLine = new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.on('close', () => reject(new Error(`exited before printing: ${err}`)));
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal });
    }),
  );
  return { child, firstLine, stdout: () => out, stderr: () => err, exited };
}

const auth = (email: string, key: string) => `Basic ${Buffer.from(`${email}:${key}`).toString('base64')}`;

test('emulator --port 0 --json: answers GET /api/account with the printed credentials, exits 0 on SIGTERM', async () => {
  const run = startCli(['emulator', '--port', '0', '--json']);
  const info = JSON.parse(await run.firstLine) as { url: string; email: string; api_key: string };
  assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(info.email, 'agent@example.com');
  assert.match(info.api_key, /^[0-9a-f]{32,}$/);

  const ok = await fetch(`${info.url}/api/account`, { headers: { authorization: auth(info.email, info.api_key) } });
  assert.equal(ok.status, 200);
  assert.equal(((await ok.json()) as { status: string }).status, 'active');
  assert.equal(ok.headers.get('x-gorgias-account-api-call-limit'), '1/40');
  const bad = await fetch(`${info.url}/api/account`, { headers: { authorization: auth(info.email, 'wrong') } });
  assert.equal(bad.status, 401);

  // A webhook delivery is logged too.
  const rx = await startReceiver();
  const post = (path: string, body: unknown) =>
    fetch(`${info.url}${path}`, {
      method: 'POST',
      headers: { authorization: auth(info.email, info.api_key), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  assert.equal((await post('/api/integrations', httpIntegration(livechatTemplate(rx.url)))).status, 201);
  assert.equal((await post('/api/tickets', newTicket('cli-1', 'hello & bye'))).status, 201);
  await waitFor('the webhook, received and logged', () => rx.received.length > 0 && run.stderr().includes('webhook'));
  assert.equal(rx.received[0].query.get('text'), 'hello & bye');
  await rx.close();

  run.child.kill('SIGTERM');
  const { code } = await run.exited;
  assert.equal(code, 0);
  assert.match(run.stderr(), /webhook ticket-message-created event 1 -> integration 1 POST http:\/\/127\.0\.0\.1:\d+\/hook: 200/);
  // Exactly one JSON line on stdout; one log line per call on stderr, never the key.
  assert.equal(run.stdout().trim().split('\n').length, 1);
  assert.match(run.stderr(), /GET \/api\/account 200/);
  assert.match(run.stderr(), /GET \/api\/account 401/);
  assert.doesNotMatch(run.stderr(), new RegExp(info.api_key));
});

test('emulator without --json prints the URL, the username, the generated key and an export line; SIGINT exits 0', async () => {
  const run = startCli(['emulator', '--port', '0', '--email', 'me@acme.test', '--rate-limit', '0']);
  await run.firstLine;
  // Wait for the whole banner.
  await waitFor('the whole banner', () => run.stdout().includes('Ctrl-C'));
  const out = run.stdout();
  const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1];
  const key = /GORGIAS_API_KEY=([0-9a-f]+)/.exec(out)![1];
  assert.match(out, new RegExp(`export GORGIAS_DOMAIN=${url} GORGIAS_USERNAME=me@acme\\.test GORGIAS_API_KEY=${key}`));
  const r = await fetch(`${url}/api/users/0`, { headers: { authorization: auth('me@acme.test', key) } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-gorgias-account-api-call-limit'), null);
  run.child.kill('SIGINT');
  assert.equal((await run.exited).code, 0);
});

test('a given --api-key is accepted and not printed back', async () => {
  const run = startCli(['emulator', '--port', '0', '--api-key', 'my-very-secret-key']);
  await run.firstLine;
  await waitFor('the whole banner', () => run.stdout().includes('Ctrl-C'));
  assert.doesNotMatch(run.stdout(), /my-very-secret-key/);
  const url = /listening on (\S+)/.exec(run.stdout())![1];
  const r = await fetch(`${url}/api/account`, { headers: { authorization: auth('agent@example.com', 'my-very-secret-key') } });
  assert.equal(r.status, 200);
  run.child.kill('SIGTERM');
  assert.equal((await run.exited).code, 0);
});

test('bad flag values exit 2 with one line naming the flag', async () => {
  for (const [args, flag] of [
    [['--port', 'abc'], '--port'],
    [['--port', '70000'], '--port'],
    [['--rate-limit', '-1'], '--rate-limit'],
    [['--rate-window', '0'], '--rate-window'],
    [['--email', 'not-an-email'], '--email'],
  ] as const) {
    const r = await runInProcess(['emulator', ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, new RegExp(flag));
    assert.equal(r.stdout, '');
  }
});

test('a port already in use exits 2 and suggests --port 0', async () => {
  const run = startCli(['emulator', '--port', '0', '--json']);
  const { url } = JSON.parse(await run.firstLine) as { url: string };
  const port = new URL(url).port;
  const r = await runInProcess(['emulator', '--port', port]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /already in use.*--port 0/);
  run.child.kill('SIGTERM');
  assert.equal((await run.exited).code, 0);
});
