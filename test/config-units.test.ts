// Pure config logic: precedence, masking, what `config show` displays.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configView, formatConfigView } from '../src/commands/config.ts';
import { answersWithoutPrompt } from '../src/commands/setup.ts';
import { resolveCredentials } from '../src/config/resolve.ts';
import { LivechatError } from '../src/errors.ts';
import { connectionOptions } from '../src/gorgias/connect.ts';
import { maskSecret, redact } from '../src/mask.ts';

const file = { domain: 'file-dom', username: 'file@x.com', apiKey: 'file-key-0000aaaa' };
const env = { GORGIAS_DOMAIN: 'env-dom', GORGIAS_USERNAME: 'env@x.com', GORGIAS_API_KEY: 'env-key-1111bbbb' };

test('precedence: flags, then environment, then the file', () => {
  assert.deepEqual(connectionOptions({ domain: 'flag-dom', username: 'flag@x.com', apiKey: 'flag-key' }, env, file), {
    domain: 'flag-dom',
    username: 'flag@x.com',
    apiKey: 'flag-key',
  });
  assert.deepEqual(connectionOptions({}, env, file), { domain: 'env-dom', username: 'env@x.com', apiKey: 'env-key-1111bbbb' });
  assert.deepEqual(connectionOptions({}, {}, file), { domain: 'file-dom', username: 'file@x.com', apiKey: 'file-key-0000aaaa' });
  assert.deepEqual(connectionOptions({ username: 'flag@x.com' }, { GORGIAS_DOMAIN: 'env-dom' }, file), {
    domain: 'env-dom',
    username: 'flag@x.com',
    apiKey: 'file-key-0000aaaa',
  });
  const r = resolveCredentials({}, { GORGIAS_DOMAIN: '' }, file);
  assert.equal(r.domain.source, 'config', 'an empty variable does not hide the file');
});

test('a missing value names the flag and the variable (usage error)', () => {
  const cases: Array<[object, object, RegExp]> = [
    [{}, {}, /^missing --domain \(or GORGIAS_DOMAIN\)$/],
    [{ domain: 'a' }, {}, /^missing --username \(or GORGIAS_USERNAME\)$/],
    [{ domain: 'a', username: 'b' }, {}, /^missing GORGIAS_API_KEY \(or run `livechat setup gorgias`\)$/],
  ];
  for (const [flags, fileCfg, message] of cases) {
    assert.throws(
      () => connectionOptions(flags, {}, fileCfg),
      (err: unknown) => err instanceof LivechatError && err.exitCode === 2 && message.test(err.message),
    );
  }
});

test('setup without a TTY: flags > env > saved, and the first missing flag is named', () => {
  assert.deepEqual(answersWithoutPrompt({ domain: 'd' }, env, file), {
    domain: 'd',
    username: 'env@x.com',
    apiKey: 'env-key-1111bbbb',
    baseUrl: undefined,
  });
  assert.equal(answersWithoutPrompt({}, { LIVECHAT_BASE_URL: 'https://b.example.com' }, file).baseUrl, 'https://b.example.com');
  assert.throws(() => answersWithoutPrompt({}, {}, {}), /missing --domain \(or GORGIAS_DOMAIN\)/);
  assert.throws(() => answersWithoutPrompt({ domain: 'd', username: 'u' }, {}, {}), /missing --api-key-stdin \(or GORGIAS_API_KEY\)/);
});

test('maskSecret shows the last four characters only', () => {
  assert.equal(maskSecret('abcdefgh12345678'), '****5678');
  assert.equal(maskSecret('short'), '****');
  assert.equal(maskSecret(undefined), '(not set)');
  assert.equal(redact('Basic key=abcdefgh12345678 again abcdefgh12345678', ['abcdefgh12345678']), 'Basic key=****5678 again ****5678');
});

test('config view masks the API key, the webhook token and the channel secret', () => {
  const view = configView(
    { ...file, baseUrl: 'https://bot.example.com/hook', webhookToken: 'tok-secret-9999zzzz', channelSecret: 'chan-secret-1234yyyy' },
    '/c/config.json',
  );
  assert.deepEqual(view, {
    domain: 'file-dom',
    username: 'file@x.com',
    api_key: '****aaaa',
    api_base_url: 'https://file-dom.gorgias.com/api',
    base_url: 'https://bot.example.com/hook',
    webhook_token: '****zzzz',
    channel_secret: '****yyyy',
    config_file: '/c/config.json',
  });
  const text = formatConfigView(view);
  assert.doesNotMatch(text, /file-key|tok-secret|chan-secret/);
  assert.match(text, /^api key:\s+\*\*\*\*aaaa$/m);
  assert.match(formatConfigView(configView({}, '/p')), /^domain:\s+\(not set\)$/m);
});
