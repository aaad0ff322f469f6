// `livechat setup gorgias` on a real pseudo-terminal, through util-linux `script`.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BIN, tempConfigDir } from './helpers.ts';

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const tmp = tempConfigDir();
after(tmp.cleanup);

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
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
  const command = [process.execPath, BIN, ...args].map(shellQuote).join(' ');
  const childEnv: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm', COLUMNS: '120', LINES: '40' };
  for (const k of ['NO_COLOR', 'GORGIAS_DOMAIN', 'GORGIAS_USERNAME', 'GORGIAS_API_KEY', 'LIVECHAT_BASE_URL', 'LIVECHAT_DEBUG', 'FORCE_COLOR']) delete childEnv[k];
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

