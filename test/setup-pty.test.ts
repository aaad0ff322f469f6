// `livechat setup gorgias` on a real pseudo-terminal, through util-linux `script`.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startEmulator, type Emulator } from '../src/emulator/index.ts';
import { BIN, tempConfigDir } from './helpers.ts';

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const tmp = tempConfigDir();
let emu: Emulator;
before(async () => {
  emu = await startEmulator({ port: 0, email: 'ada@example.com', apiKey: 'pty-secret-key-aa11bb22cc33', rateLimit: false });
});
after(async () => {
  await emu.close();
  tmp.cleanup();
});

/** What the interactive runs below save: the emulator's credentials, and what else they typed. */
function savedAnswers(extra: Record<string, string> = {}): Record<string, string> {
  return { domain: emu.url, username: 'ada@example.com', apiKey: emu.apiKey, ...extra };
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function stripAnsi(s: string): string {
  return s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}

interface PtyStep {
  /** Wait until the screen shows this, then type `keys`. */
  when: RegExp;
  keys: string;
}

interface PtyResult {
  code: number | null;
  screen: string;
}

/** Run the CLI on a pty; answer each prompt as it appears. */
function runInPty(args: string[], env: NodeJS.ProcessEnv, steps: PtyStep[], timeoutMs = 20_000): Promise<PtyResult> {
  // A pty starts with no size; give it one, as a terminal would.
  const command = `stty cols 120 rows 40; ${[process.execPath, BIN, ...args].map(shellQuote).join(' ')}`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm' };
  for (const k of ['NO_COLOR', 'GORGIAS_DOMAIN', 'GORGIAS_USERNAME', 'GORGIAS_API_KEY', 'LIVECHAT_BASE_URL', 'LIVECHAT_DEBUG', 'FORCE_COLOR'])
    delete childEnv[k];
  Object.assign(childEnv, env);
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let raw = '';
    let pendingFrom = 0; // only look at what appeared since the last answer
    const queue = [...steps];
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const onData = (d: Buffer) => {
      raw += d.toString('utf8');
      const next = queue[0];
      if (next && next.when.test(stripAnsi(raw.slice(pendingFrom)))) {
        queue.shift();
        pendingFrom = raw.length;
        child.stdin.write(next.keys);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, screen: stripAnsi(raw) });
    });
  });
}

test('Ctrl-C at the first prompt exits 130, no stack, nothing saved', { skip: !hasScript && 'no util-linux script' }, async () => {
  const dir = join(tmp.dir, 'ctrl-c');
  const r = await runInPty(['setup', 'gorgias'], { LIVECHAT_CONFIG_DIR: dir }, [{ when: /Gorgias domain/, keys: '\x03' }]);
  assert.equal(r.code, 130, r.screen);
  assert.doesNotMatch(r.screen, /\n\s+at |Error/);
  assert.equal(existsSync(join(dir, 'config.json')), false);
});

test('Ctrl-C at the masked key prompt exits 130 too', { skip: !hasScript && 'no util-linux script' }, async () => {
  const dir = join(tmp.dir, 'ctrl-c-key');
  const r = await runInPty(['setup', 'gorgias', '--domain', 'acme', '--username', 'ada@example.com'], { LIVECHAT_CONFIG_DIR: dir }, [
    { when: /API key/, keys: 'abc\x03' },
  ]);
  assert.equal(r.code, 130, r.screen);
  assert.doesNotMatch(r.screen, /\n\s+at |Error/);
  assert.equal(existsSync(join(dir, 'config.json')), false);
});

test('interactive setup: answers the prompts, checks, saves; the key is typed masked', { skip: !hasScript && 'no util-linux script' }, async () => {
  const dir = join(tmp.dir, 'interactive');
  const file = join(dir, 'config.json');
  const r = await runInPty(['setup', 'gorgias'], { LIVECHAT_CONFIG_DIR: dir }, [
    { when: /Gorgias domain/, keys: `${emu.url}\r` },
    { when: /username/, keys: 'ada@example.com\r' },
    { when: /API key/, keys: `${emu.apiKey}\r` },
    { when: /webhook receiver/, keys: '\r' },
  ]);
  assert.equal(r.code, 0, r.screen);
  assert.match(r.screen, /Credentials accepted/, 'the spinner ran and succeeded');
  assert.ok(r.screen.indexOf('Credentials accepted') < r.screen.indexOf('webhook receiver'), 'the key is checked before the receiver URL is asked');
  assert.match(r.screen, /Connected to Gorgias account emulator as Emulator Agent <ada@example\.com>/);
  assert.match(
    r.screen,
    /Next steps:[\s\S]*livechat config set base-url URL[\s\S]*livechat webhook install[\s\S]*livechat webhook-url[\s\S]*livechat macro create/,
  );
  assert.ok(!r.screen.includes(emu.apiKey), 'the key never echoes');
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), savedAnswers());
  assert.equal(statSync(file).mode & 0o777, 0o600);

  // Again: the prompts are prefilled from the saved file; Enter everywhere keeps it all.
  const again = await runInPty(['setup', 'gorgias'], { LIVECHAT_CONFIG_DIR: dir }, [
    { when: /Gorgias domain/, keys: '\r' },
    { when: /username/, keys: '\r' },
    { when: /API key \(Enter keeps \*\*\*\*cc33\)/, keys: '\r' },
    { when: /webhook receiver/, keys: 'https://bot.example.com/hook\r' },
  ]);
  assert.equal(again.code, 0, again.screen);
  assert.match(again.screen, /Gorgias domain.*\(http:\/\/127\.0\.0\.1:\d+\)/, 'the saved domain is the default');
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), savedAnswers({ baseUrl: 'https://bot.example.com/hook' }));
});

test(
  'interactive setup with a wrong key: asked again at once, the other answers kept; then saved',
  { skip: !hasScript && 'no util-linux script' },
  async () => {
    const dir = join(tmp.dir, 'interactive-retry');
    const file = join(dir, 'config.json');
    const r = await runInPty(['setup', 'gorgias'], { LIVECHAT_CONFIG_DIR: dir }, [
      { when: /Gorgias domain/, keys: `${emu.url}\r` },
      { when: /username/, keys: 'ada@example.com\r' },
      { when: /API key/, keys: 'definitely-wrong-key-000\r' },
      // The check failed: the domain and the username come back as the defaults, Enter keeps them.
      { when: /Try again[\s\S]*Gorgias domain/, keys: '\r' },
      { when: /username/, keys: '\r' },
      { when: /API key \(Enter keeps \*\*\*\*-000\)/, keys: `${emu.apiKey}\r` },
      { when: /webhook receiver/, keys: 'https://bot.example.com/hook\r' },
    ]);
    assert.equal(r.code, 0, r.screen);
    assert.equal(r.screen.match(/error: Gorgias credentials rejected \(401/g)?.length, 1, r.screen);
    assert.ok(
      r.screen.indexOf('webhook receiver') > r.screen.indexOf('Credentials accepted'),
      'the receiver URL is asked only after the second check passed',
    );
    assert.match(r.screen, /livechat webhook install/);
    assert.doesNotMatch(r.screen, /livechat config set base-url/, 'the base URL was given');
    assert.ok(!r.screen.includes(emu.apiKey), 'the key never echoes');
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), savedAnswers({ baseUrl: 'https://bot.example.com/hook' }));
  },
);

test(
  'interactive setup, a wrong key three times: exit 1, nothing saved, the receiver URL never asked',
  { skip: !hasScript && 'no util-linux script' },
  async () => {
    const dir = join(tmp.dir, 'interactive-wrong');
    const wrong = { when: /API key/, keys: 'definitely-wrong-key-000\r' };
    const r = await runInPty(['setup', 'gorgias', '--domain', emu.url, '--username', 'ada@example.com'], { LIVECHAT_CONFIG_DIR: dir }, [
      wrong,
      { when: /Try again[\s\S]*API key/, keys: '\r' },
      { when: /Try again[\s\S]*API key/, keys: '\r' },
    ]);
    assert.equal(r.code, 1, r.screen);
    // (the spinner's line is erased with escape codes, which stripAnsi drops, so no ^ anchor)
    assert.equal(r.screen.match(/error: Gorgias credentials rejected \(401/g)?.length, 3, r.screen);
    assert.doesNotMatch(r.screen, /webhook receiver/);
    assert.doesNotMatch(r.screen, /\n\s+at /);
    assert.equal(existsSync(join(dir, 'config.json')), false);
  },
);

test('Ctrl-C at the key asked again exits 130, nothing saved', { skip: !hasScript && 'no util-linux script' }, async () => {
  const dir = join(tmp.dir, 'ctrl-c-retry');
  const r = await runInPty(['setup', 'gorgias', '--domain', emu.url, '--username', 'ada@example.com'], { LIVECHAT_CONFIG_DIR: dir }, [
    { when: /API key/, keys: 'definitely-wrong-key-000\r' },
    { when: /Try again[\s\S]*API key/, keys: '\x03' },
  ]);
  assert.equal(r.code, 130, r.screen);
  assert.equal(existsSync(join(dir, 'config.json')), false);
});
