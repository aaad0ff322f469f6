// `livechat doctor` end to end: `livechat emulator` and `livechat serve` as child processes, with a
// proxy in front of serve as the public base URL (a receiver that can be stopped while serve runs
// on). First every check passes; then each breakage turns exactly its line to ✗, exit 1. The round
// trip passes, times out, and is interrupted, and never leaves a ticket behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, runInProcess, type CliResult } from './helpers.ts';
import { deliverSink, gorgias, httpJson, installWebhook, scratch, spawnCli, waitFor, type DeliverSink, type Spawned } from './serve-helpers.ts';
import { parseXml } from './xml.ts';

const NAMES = ['config', 'credentials', 'budget', 'clock', 'integration', 'macro', 'receiver', 'serve'];
const MARKS: Record<string, string> = { '✓': 'pass', '✗': 'fail', '!': 'warn', '-': 'skip' };

/** The public face of the receiver: forwards everything to serve's port; `stop()` refuses connections. */
async function proxy(target: () => number) {
  const server = http.createServer((req, res) => {
    const up = http.request({ host: '127.0.0.1', port: target(), path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.headersSent || res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    start: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
  };
}

/** The status of each check, by name, from the text output (one line per check). */
function statuses(r: CliResult): Record<string, string> {
  const lines = r.stdout.trimEnd().split('\n');
  return Object.fromEntries(
    lines.map((line) => {
      const m = /^(✓|✗|!|-) (\w+) {2,}\S/.exec(line);
      assert.ok(m, `not a check line: ${JSON.stringify(line)}`);
      return [m[2], MARKS[m[1]]];
    }),
  );
}

const failing = (r: CliResult) =>
  Object.entries(statuses(r))
    .filter(([, s]) => s === 'fail')
    .map(([n]) => n);
const lineOf = (r: CliResult, name: string) => r.stdout.split('\n').find((l) => new RegExp(`^. ${name} `).test(l)) ?? '';

describe('livechat doctor, end to end', () => {
  const dirs = scratch();
  let emulator: Spawned;
  let bridge: Spawned;
  let sink: DeliverSink;
  let front: Awaited<ReturnType<typeof proxy>>;
  let servePort = 0;
  let env: NodeJS.ProcessEnv;
  const api = () => gorgias(emulator.info.url, emulator.info.email, emulator.info.api_key);
  const config = () => JSON.parse(readFileSync(join(dirs.config, 'config.json'), 'utf8')) as Record<string, string>;
  const secrets = () => [emulator.info.api_key, config().webhookToken, config().channelSecret];
  const doctor = (args: string[] = [], extra: NodeJS.ProcessEnv = {}) =>
    runInProcess(['doctor', ...args], { env: { ...env, ...extra }, timeoutMs: 60_000 });
  const startServe = async (port = 0) => {
    bridge = await spawnCli(['serve', '--port', String(port), '--json', '--data', dirs.data, '--deliver-url', sink.url], env);
    servePort = Number(new URL(bridge.info.url).port);
    env.LIVECHAT_SERVE_URL = bridge.info.url;
  };
  /** Tickets doctor made and left behind. */
  const doctorTickets = async () => {
    const all = (await api().get('/tickets?limit=100')).body.data as Array<{ id: number; external_id: string | null }>;
    return all.filter((t) => t.external_id?.startsWith('livechat-doctor-'));
  };
  const integration = async () => ((await api().get('/integrations')).body.data as Array<{ id: number }>)[0];
  const deactivate = async () => {
    const { id } = await integration();
    const r = await api().put(`/integrations/${id}`, { deactivated_datetime: '2026-01-01T00:00:00Z' });
    assert.equal(r.status, 200);
  };
  const reinstall = async () => installWebhook(env, env.LIVECHAT_BASE_URL!);

  before(async () => {
    // A rate limit far above what the tests use: the header is sent, and nothing is ever refused.
    emulator = await spawnCli(['emulator', '--port', '0', '--json', '--rate-limit', '10000'], {});
    env = {
      LIVECHAT_CONFIG_DIR: dirs.config,
      GORGIAS_DOMAIN: emulator.info.url,
      GORGIAS_USERNAME: emulator.info.email,
      GORGIAS_API_KEY: emulator.info.api_key,
    };
    sink = await deliverSink(() => config().channelSecret);
    const printed = await runInProcess(['serve', '--print-secret'], { env });
    assert.equal(printed.code, 0, printed.stderr);
    await startServe();
    front = await proxy(() => servePort);
    env.LIVECHAT_BASE_URL = `${front.url}/gorgias/webhook`;
    await reinstall();
    const macro = await runInProcess(['macro', 'create'], { env });
    assert.equal(macro.code, 0, macro.stderr);
  });

  after(async () => {
    await bridge?.kill();
    await emulator?.kill();
    await front?.stop();
    await sink?.close();
    dirs.cleanup();
  });

  it('every check passes: one ✓ line each, exit 0, no secret shown', async () => {
    const r = await doctor();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(Object.keys(statuses(r)), NAMES);
    assert.deepEqual(
      Object.values(statuses(r)),
      NAMES.map(() => 'pass'),
      r.stdout,
    );
    assert.match(lineOf(r, 'credentials'), /account emulator, user Emulator Agent <agent@example\.com>/);
    assert.match(lineOf(r, 'budget'), /\d+\/10000 calls used in the window/);
    assert.match(lineOf(r, 'integration'), /is active, calls .* with the current token, only ticket-message-created, body \{\{context\}\}/);
    assert.match(lineOf(r, 'receiver'), /answers 200 with the token, 401 without/);
    for (const s of secrets()) assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), 'a secret was printed');
    assert.equal(sink.got.length, 0, 'the probes reached neither a user nor the bot');
  });

  it('--json: one object with every check; --junit: a valid JUnit XML file', async () => {
    const file = join(dirs.dir, 'report.xml');
    const r = await doctor(['--json', '--junit', file]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { ok: boolean; passed: number; checks: Array<{ name: string; status: string }> };
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.checks.map((c) => [c.name, c.status]),
      NAMES.map((n) => [n, 'pass']),
    );
    const xml = readFileSync(file, 'utf8');
    const suite = parseXml(xml).children[0];
    assert.equal(suite.attrs.tests, String(NAMES.length));
    assert.equal(suite.attrs.failures, '0');
    assert.deepEqual(
      suite.children.map((c) => c.attrs.name),
      NAMES,
    );
    for (const s of secrets()) assert.ok(!r.stdout.includes(s) && !xml.includes(s), 'a secret was printed');
  });

  it('a broken key: only the credentials line is ✗ (what needs them is skipped), exit 1', async () => {
    const file = join(dirs.dir, 'broken.xml');
    const r = await doctor(['--junit', file], { GORGIAS_API_KEY: 'not-the-key-0000000000' });
    assert.equal(r.code, 1);
    assert.deepEqual(failing(r), ['credentials']);
    assert.match(lineOf(r, 'credentials'), /Gorgias refused the API key of agent@example\.com \(401\); fix: .*livechat setup gorgias/);
    assert.match(r.stderr, /error: 1 of 8 checks failed: credentials/);
    assert.ok(!r.stdout.includes('not-the-key-0000000000') && !r.stderr.includes('not-the-key-0000000000'));
    const cases = parseXml(readFileSync(file, 'utf8')).children[0].children;
    assert.deepEqual(
      cases.filter((c) => c.children[0].name === 'failure').map((c) => c.attrs.name),
      ['credentials'],
    );
  });

  it('a deactivated integration: only the integration line is ✗, exit 1', async () => {
    await deactivate();
    const r = await doctor();
    assert.equal(r.code, 1);
    assert.deepEqual(failing(r), ['integration']);
    assert.match(
      lineOf(r, 'integration'),
      /is deactivated \(since .*\): Gorgias turns it off after 100 failed calls in a row; fix: .*webhook install --yes/,
    );
    await reinstall();
    assert.equal((await doctor()).code, 0);
  });

  it('a token rotated without reinstalling: the integration line is ✗ (and the receiver, until serve restarts)', async () => {
    const rotated = await runInProcess(['webhook-url', '--rotate-token'], { env });
    assert.equal(rotated.code, 0, rotated.stderr);
    // serve still runs with the old token: it refuses the one in the config.
    const running = await doctor();
    assert.deepEqual(failing(running), ['integration', 'receiver']);
    assert.match(lineOf(running, 'receiver'), /refuses the current token \(401\); fix: restart `livechat serve`/);
    // serve restarted with the new token: the integration alone still carries the old one.
    await bridge.kill();
    await startServe(servePort);
    const r = await doctor();
    assert.equal(r.code, 1);
    assert.deepEqual(failing(r), ['integration']);
    assert.match(lineOf(r, 'integration'), /stale token: its X-Livechat-Token header carries an old token; fix: .*webhook install --yes/);
    for (const s of secrets()) assert.ok(!r.stdout.includes(s), 'a secret was printed');
    await reinstall();
    assert.equal((await doctor()).code, 0);
  });

  it('a deleted macro: only the macro line is ✗, exit 1', async () => {
    const del = await runInProcess(['macro', 'delete', 'End livechat', '--yes'], { env });
    assert.equal(del.code, 0, del.stderr);
    const r = await doctor();
    assert.equal(r.code, 1);
    assert.deepEqual(failing(r), ['macro']);
    assert.match(lineOf(r, 'macro'), /no macro carries LIVECHAT_SESSION_END.*; fix: `livechat macro create`/);
    assert.equal((await runInProcess(['macro', 'create'], { env })).code, 0);
    assert.equal((await doctor()).code, 0);
  });

  it('the receiver stopped (serve still up): only the receiver line is ✗, exit 1', async () => {
    await front.stop();
    try {
      const r = await doctor();
      assert.equal(r.code, 1);
      assert.deepEqual(failing(r), ['receiver']);
      assert.match(lineOf(r, 'receiver'), /does not answer \(ECONNREFUSED\); fix: start `livechat serve`/);
    } finally {
      await front.start();
    }
    assert.equal((await doctor()).code, 0);
  });

  it('--roundtrip passes: the webhook reaches serve, the time is told, no ticket is left, nobody hears of it', async () => {
    const r = await doctor(['--roundtrip', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as {
      checks: Array<{ name: string; status: string; message: string; round_trip_ms?: number; external_id?: string }>;
    };
    const trip = report.checks.find((c) => c.name === 'roundtrip')!;
    assert.equal(trip.status, 'pass', trip.message);
    assert.equal(typeof trip.round_trip_ms, 'number');
    assert.match(trip.message, /reached serve (\d+ ms|\d+\.\d s) after it was sent; test ticket #\d+ deleted/);
    assert.match(trip.external_id!, /^livechat-doctor-[0-9a-f]{12}$/);
    assert.deepEqual(await doctorTickets(), []);
    assert.equal(sink.got.length, 0, 'nothing reached a user or the bot');
    const view = await httpJson('GET', `${bridge.info.url}/v1/conversations/${trip.external_id}`, undefined, {
      authorization: `Bearer ${config().channelSecret}`,
    });
    assert.equal(view.body.mode, 'BOT', 'no session was started');
    assert.equal(view.body.ticket_id ?? null, null);
  });

  it('--roundtrip times out when Gorgias never calls: the line is ✗, exit 1, no ticket left', async () => {
    await deactivate();
    try {
      const r = await doctor(['--roundtrip', '--roundtrip-timeout', '1']);
      assert.equal(r.code, 1);
      assert.match(lineOf(r, 'roundtrip'), /^✗ roundtrip +no webhook for message #\d+ reached serve within 1\.0 s; test ticket #\d+ deleted/);
      assert.deepEqual(await doctorTickets(), []);
    } finally {
      await reinstall();
    }
  });

  it('--roundtrip interrupted with Ctrl-C: the test ticket is deleted, exit 130', async () => {
    await deactivate();
    try {
      const child = spawn(process.execPath, [BIN, 'doctor', '--roundtrip'], {
        env: { ...process.env, NO_COLOR: '1', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      await waitFor('the test ticket', async () => (await doctorTickets()).length > 0 && /waiting up to/.test(err), 20_000);
      child.kill('SIGINT');
      // The deadline's timer is cleared: a pending one would keep this file's process alive 20 s.
      let hang: NodeJS.Timeout | undefined;
      const code = await Promise.race([exited, new Promise<'hung'>((resolve) => (hang = setTimeout(() => resolve('hung'), 20_000)))]);
      clearTimeout(hang);
      if (code === 'hung') child.kill('SIGKILL');
      assert.equal(code, 130, out + err);
      assert.match(err, /interrupted: cleaning up the test ticket/);
      assert.match(out, /^✗ roundtrip +interrupted while waiting for the webhook of message #\d+; test ticket #\d+ deleted/m);
      assert.deepEqual(await doctorTickets(), []);
    } finally {
      await reinstall();
    }
  });
});
