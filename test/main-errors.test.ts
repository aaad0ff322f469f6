// describeError (src/main.ts) on the errors this area throws: one line, the right exit code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { missingValue } from '../src/errors.ts';
import { errorFromNetwork, errorFromResponse } from '../src/gorgias/errors.ts';
import { describeError } from '../src/main.ts';
import { runInProcess, tempConfigDir } from './helpers.ts';

test('a rejected key is one line, exit 1, no stack', () => {
  const r = describeError(errorFromResponse(401, '{"error":{"msg":"Unauthorized: invalid credentials."}}', 'GET /api/account'), false);
  assert.equal(r.exitCode, 1);
  assert.equal(r.lines.length, 1);
  assert.match(r.lines[0], /^error: Gorgias credentials rejected \(401: Unauthorized: invalid credentials\.\)/);
});

test('a validation error lists its fields under the message', () => {
  const r = describeError(errorFromResponse(422, '{"error":{"msg":"Invalid","data":{"name":["Missing"]}}}', 'POST /api/macros'), false);
  assert.deepEqual(r.lines.slice(1), ['  name: Missing']);
  assert.equal(r.exitCode, 1);
});

test('unreachable and timeout are one line, exit 1', () => {
  for (const err of [
    errorFromNetwork(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), 'http://127.0.0.1:9/api', 'GET /api/account', 10_000),
    errorFromNetwork(new DOMException('t', 'TimeoutError'), 'http://127.0.0.1:9/api', 'GET /api/account', 10_000),
  ]) {
    const r = describeError(err, false);
    assert.equal(r.lines.length, 1);
    assert.equal(r.exitCode, 1);
  }
});

test('a missing flag is a usage error (exit 2); --debug adds the stack', () => {
  const r = describeError(missingValue('--domain', 'GORGIAS_DOMAIN'), false);
  assert.deepEqual(r.lines, ['error: missing --domain (or GORGIAS_DOMAIN)']);
  assert.equal(r.exitCode, 2);
  assert.ok(describeError(missingValue('--domain'), true).lines.length > 1);
});

test('Ctrl-C in a prompt exits 130 silently', () => {
  const err = Object.assign(new Error('User force closed the prompt with SIGINT'), { name: 'ExitPromptError' });
  assert.deepEqual(describeError(err, false), { lines: [], exitCode: 130 });
});

test('main(argv, io) in process: returns the exit code, writes only to the io, leaves process.exitCode alone', async () => {
  const before = process.exitCode;
  const bad = await runInProcess(['frobnicate']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /unknown command 'frobnicate'/);
  const version = await runInProcess(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  const cfg = tempConfigDir();
  try {
    const failed = await runInProcess(['config', 'set', 'colour', 'blue'], { env: { LIVECHAT_CONFIG_DIR: cfg.dir } });
    assert.equal(failed.code, 2);
    assert.match(failed.stderr, /^error: /);
  } finally {
    cfg.cleanup();
  }
  assert.equal(process.exitCode, before);
});
