// The confirmations of `macro delete` and `webhook install` on a real pseudo-terminal
// (util-linux `script`), against the emulator.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { startEmulator, type Emulator } from '../src/emulator/index.ts';
import { BIN, runCli, tempConfigDir } from './helpers.ts';

const skip = spawnSync('script', ['--version'], { encoding: 'utf8' }).status !== 0 && 'no util-linux script';
const cfg = tempConfigDir();
let emu: Emulator;
let env: NodeJS.ProcessEnv;

before(async () => {
  emu = await startEmulator({ port: 0, rateLimit: false });
  env = { LIVECHAT_CONFIG_DIR: cfg.dir, GORGIAS_DOMAIN: emu.url, GORGIAS_USERNAME: emu.email, GORGIAS_API_KEY: emu.apiKey };
});
after(async () => {
  await emu.close();
  cfg.cleanup();
});

const strip = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Run the CLI on a pty; when `when` shows up, type `keys`. */
function inPty(args: string[], when: RegExp, keys: string): Promise<{ code: number | null; screen: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, TERM: 'xterm', COLUMNS: '120' };
  delete childEnv.NO_COLOR;
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let raw = '';
    let answered = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const onData = (d: Buffer) => {
      raw += d.toString('utf8');
      if (!answered && when.test(strip(raw))) {
        answered = true;
        child.stdin.write(keys);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, screen: strip(raw) });
    });
  });
}

test('macro delete asks on a TTY: "n" keeps it, "y" deletes it', { skip }, async () => {
  const m = emu.store.createMacro({ name: 'Old macro', actions: [] });
  const no = await inPty(['macro', 'delete', 'Old macro'], /Delete macro #\d+ "Old macro"\?/, 'n\r');
  assert.equal(no.code, 130, no.screen);
  assert.match(no.screen, /cancelled; nothing deleted/);
  assert.ok(emu.store.listMacros().some((x) => x.id === m.id));

  const yes = await inPty(['macro', 'delete', String(m.id)], /Delete macro/, 'y\r');
  assert.equal(yes.code, 0, yes.screen);
  assert.match(yes.screen, new RegExp(`deleted macro #${m.id} "Old macro"`));
  assert.ok(!emu.store.listMacros().some((x) => x.id === m.id));
});

test('webhook install asks before updating a stale integration on a TTY', { skip }, async () => {
  const base = 'https://bot.example.com/hook';
  assert.equal((await runCli(['webhook', 'install', '--base-url', base], { env })).code, 0);
  const id = emu.store.listIntegrations()[0].id;
  emu.store.updateIntegration(id, { http: { method: 'GET' } });
  const r = await inPty(['webhook', 'install', '--base-url', base], /Update integration #\d+\?/, 'y\r');
  assert.equal(r.code, 0, r.screen);
  assert.match(r.screen, /wrong method: GET/);
  assert.match(r.screen, /updated integration/);
  assert.equal(emu.store.getIntegration(id).http?.method, 'POST');
  assert.equal(emu.store.listIntegrations().length, 1);
});
