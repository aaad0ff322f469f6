// Pure parts of the Gorgias client: base URL, error mapping, backoff, Retry-After, URLs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LivechatError } from '../src/errors.ts';
import { gorgiasBaseUrl } from '../src/gorgias/base-url.ts';
import { backoffMs, buildUrl, retryAfterMs } from '../src/gorgias/client.ts';
import { errorFromNetwork, errorFromResponse, fieldDetails, GorgiasError, parseErrorBody } from '../src/gorgias/errors.ts';

test('gorgiasBaseUrl: the three forms of a Gorgias domain mean the same base', () => {
  for (const d of [
    'acme',
    'acme.gorgias.com',
    'https://acme.gorgias.com',
    'https://acme.gorgias.com/',
    ' ACME ',
    'acme.gorgias.com/',
    'https://acme.gorgias.com/api',
  ]) {
    assert.equal(gorgiasBaseUrl(d), 'https://acme.gorgias.com/api', d);
  }
  assert.equal(gorgiasBaseUrl('my-shop-2'), 'https://my-shop-2.gorgias.com/api');
});

test('gorgiasBaseUrl: a full http(s) URL is used as is, plus /api', () => {
  assert.equal(gorgiasBaseUrl('http://127.0.0.1:8787'), 'http://127.0.0.1:8787/api');
  assert.equal(gorgiasBaseUrl('http://127.0.0.1:8787/'), 'http://127.0.0.1:8787/api');
  assert.equal(gorgiasBaseUrl('http://localhost:9/api'), 'http://localhost:9/api');
  assert.equal(gorgiasBaseUrl('https://proxy.example.com/gorgias'), 'https://proxy.example.com/gorgias/api');
});

test('gorgiasBaseUrl: bad input is a usage error', () => {
  for (const d of ['', '   ', 'acme.example.com', 'ac me', '-acme', 'ftp://acme.gorgias.com', 'http://u:p@host', 'http://host/?x=1', 'https://']) {
    assert.throws(
      () => gorgiasBaseUrl(d),
      (err: unknown) => err instanceof LivechatError && err.kind === 'usage' && err.exitCode === 2,
      JSON.stringify(d),
    );
  }
});

test('parseErrorBody reads the Gorgias shape and nothing else', () => {
  assert.deepEqual(parseErrorBody('{"error":{"msg":"Bad key"}}'), { msg: 'Bad key', data: undefined });
  assert.deepEqual(parseErrorBody('{"error":{"msg":"x","data":{"name":["Missing"]}}}'), { msg: 'x', data: { name: ['Missing'] } });
  assert.deepEqual(parseErrorBody('{"error":"plain"}'), { msg: 'plain' });
  assert.deepEqual(parseErrorBody('<html>502 Bad Gateway</html>'), {});
  assert.deepEqual(parseErrorBody(''), {});
});

test('fieldDetails flattens error.data into field: problem lines', () => {
  assert.deepEqual(fieldDetails({ name: ['Missing data for required field.'], actions: { 0: { title: ['Not a valid string.'] } } }), [
    'name: Missing data for required field.',
    'actions.0.title: Not a valid string.',
  ]);
  assert.deepEqual(fieldDetails({ email: 'taken', tags: ['a', 'b'] }), ['email: taken', 'tags: a; b']);
  assert.deepEqual(fieldDetails(undefined), []);
});

test('errorFromResponse maps each status to its kind and keeps the Gorgias message', () => {
  const cases: Array<[number, string]> = [
    [401, 'auth'],
    [403, 'forbidden'],
    [404, 'not_found'],
    [400, 'validation'],
    [422, 'validation'],
    [429, 'rate_limited'],
    [500, 'server'],
    [503, 'server'],
  ];
  for (const [status, kind] of cases) {
    const err = errorFromResponse(status, JSON.stringify({ error: { msg: `said ${status}` } }), 'GET /api/macros/5');
    assert.ok(err instanceof GorgiasError);
    assert.ok(err instanceof LivechatError);
    assert.equal(err.kind, kind);
    assert.equal(err.status, status);
    assert.equal(err.exitCode, 1);
    assert.match(err.message, new RegExp(`said ${status}`));
    assert.doesNotMatch(err.message, /\{|\n/, 'never the raw body, one line');
  }
  assert.match(errorFromResponse(401, '', 'GET /api/account').message, /credentials rejected/);
});

test('a validation error carries the field details', () => {
  const body = JSON.stringify({ error: { msg: 'Invalid request data.', data: { name: ['Missing data for required field.'] } } });
  const err = errorFromResponse(400, body, 'POST /api/macros');
  assert.equal(err.kind, 'validation');
  assert.deepEqual(err.details, ['name: Missing data for required field.']);
  assert.match(err.message, /POST \/api\/macros.*Invalid request data/);
});

test('an HTML error page is not shown', () => {
  const err = errorFromResponse(502, '<html><body>Bad gateway secret-stuff</body></html>', 'GET /api/account');
  assert.equal(err.kind, 'server');
  assert.doesNotMatch(err.message, /html|secret-stuff/);
});

test('the API key is redacted even when Gorgias echoes it', () => {
  const key = 'sk_live_abcdef123456';
  const safe = (t: string) => t.split(key).join('****3456');
  const err = errorFromResponse(422, JSON.stringify({ error: { msg: `bad key ${key}`, data: { key: [key] } } }), 'POST /x', safe);
  assert.doesNotMatch(err.message + err.details.join(''), /abcdef123456/);
});

test('errorFromNetwork tells a timeout from an unreachable host', () => {
  const timeout = errorFromNetwork(
    new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
    'http://h/api',
    'GET /api/account',
    1500,
  );
  assert.equal(timeout.kind, 'timeout');
  assert.match(timeout.message, /did not answer GET \/api\/account within 1\.5s/);
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
  const unreachable = errorFromNetwork(refused, 'http://127.0.0.1:9/api', 'GET /api/account', 10_000);
  assert.equal(unreachable.kind, 'unreachable');
  assert.equal(unreachable.message, 'cannot reach Gorgias at http://127.0.0.1:9/api (ECONNREFUSED)');
  const headers = Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
  assert.equal(errorFromNetwork(headers, 'b', 'w', 10_000).kind, 'timeout');
});

test('backoffMs grows exponentially, with jitter between half and full, capped', () => {
  assert.equal(
    backoffMs(1, () => 0),
    250,
  );
  assert.equal(
    backoffMs(1, () => 1),
    500,
  );
  assert.equal(
    backoffMs(2, () => 1),
    1000,
  );
  assert.equal(
    backoffMs(3, () => 0.5),
    1500,
  );
  assert.equal(
    backoffMs(20, () => 1),
    8000,
  );
});

test('retryAfterMs reads seconds or a date, bounded, with a default', () => {
  const now = Date.UTC(2026, 0, 1);
  assert.equal(retryAfterMs('2', now), 2000);
  assert.equal(retryAfterMs('0', now), 0);
  assert.equal(retryAfterMs(undefined, now), 2000);
  assert.equal(retryAfterMs('soon', now), 2000);
  assert.equal(retryAfterMs('3600', now), 60_000);
  assert.equal(retryAfterMs(new Date(now + 5000).toUTCString(), now), 5000);
});

test('buildUrl joins base, path and query, skipping undefined', () => {
  const base = 'http://127.0.0.1:8787/api';
  assert.equal(buildUrl(base, '/macros', { limit: 2, cursor: undefined }), `${base}/macros?limit=2`);
  assert.equal(buildUrl(base, '/api/account'), `${base}/account`);
  assert.equal(buildUrl(base, 'customers', { email: 'a+b@x.com' }), `${base}/customers?email=a%2Bb%40x.com`);
});

test('a refused or unknown host is not retried; resets and timeouts are', async () => {
  const { isTransientNetworkError } = await import('../src/gorgias/errors.ts');
  const coded = (code: string) => Object.assign(new Error(code), { code });
  assert.equal(isTransientNetworkError(coded('ECONNREFUSED')), false);
  assert.equal(isTransientNetworkError(coded('ENOTFOUND')), false);
  assert.equal(isTransientNetworkError(coded('ECONNRESET')), true);
  assert.equal(isTransientNetworkError(coded('UND_ERR_SOCKET')), true);
  assert.equal(isTransientNetworkError(new DOMException('t', 'TimeoutError')), true);
});
