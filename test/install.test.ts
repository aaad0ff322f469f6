// Installing puts `livechat` on the PATH, and a first `npx livechat` in the clone does not rebuild.
// Real npm: `npm pack`, then `npm install -g --prefix` into a scratch folder; `npx` in a copy of
// the project. npm's cache is a scratch one too, seeded from nothing but what npm fetches.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { after, test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string> };
const scratch = mkdtempSync(join(tmpdir(), 'livechat-install-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command with a deadline; npm's own chatter (update notices, funding, audit) is off. */
function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  // `npm test` passes its own npm_* settings down (local prefix, cache...): none may leak in.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
  Object.assign(env, { npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' }, options.env);
  return new Promise((done, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

test('the package is named so that npx cannot find somebody else’s, and its command is livechat', () => {
  assert.notEqual(pkg.name, 'livechat');
  assert.deepEqual(Object.keys(pkg.bin), ['livechat']);
});

test('npm pack, then npm install -g --prefix: livechat --version runs from the PATH', { timeout: 240_000 }, async () => {
  // dist/ is fresh: `npm test` built it. Scripts are off so that a pack never rebuilds dist/
  // under the other test files running beside this one.
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch]);
  assert.equal(packed.code, 0, packed.stderr);
  const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const shipped = info.files.map((f) => f.path);
  for (const file of ['bin/livechat.js', 'bin/load.js', 'dist/main.js', 'dist/livechat.cjs', 'dist/livechat.cjs.cache', 'dist/import.cjs']) {
    assert.ok(shipped.includes(file), `${file} not in ${shipped.join(', ')}`);
  }
  assert.ok(!shipped.some((p) => p.startsWith('src/') || p.startsWith('test/') || p.endsWith('.build-hash')), shipped.join(', '));

  const prefix = join(scratch, 'prefix');
  // --ignore-scripts skips compiling better-sqlite3 (a minute on 2 cores, and only `serve` loads
  // it); everything else runs as installed.
  const installed = await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--ignore-scripts', join(scratch, info.filename)]);
  assert.equal(installed.code, 0, installed.stderr);

  // From another folder, by name, through the PATH only.
  const onPath = await run('livechat', ['--version'], { cwd: scratch, env: { PATH: `${join(prefix, 'bin')}${delimiter}${process.env.PATH}` } });
  assert.equal(onPath.code, 0, onPath.stderr);
  assert.equal(onPath.stdout.trim(), pkg.version);
  const help = await run('livechat', ['simulate', '--scenario', 'handoff', '--json'], {
    cwd: scratch,
    env: { PATH: `${join(prefix, 'bin')}${delimiter}${process.env.PATH}` },
  });
  assert.equal(help.code, 0, help.stderr);
  assert.equal((JSON.parse(help.stdout.trim().split('\n').at(-1)!) as { ok: boolean }).ok, true, 'the installed copy runs a whole simulation');
});

test('a first npx livechat in the clone runs prepare, which does not rebuild an up-to-date dist/', { timeout: 120_000 }, async () => {
  const check = await run(process.execPath, ['scripts/build.js', '--check']);
  assert.equal(check.code, 0, 'dist/ is up to date after `npm run build`');

  // A copy of the clone (its node_modules shared), so npx links a folder it has never seen.
  const copy = join(scratch, 'clone');
  for (const entry of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.web.json', 'bin', 'dist', 'scripts', 'src']) {
    cpSync(join(ROOT, entry), join(copy, entry), { recursive: true, preserveTimestamps: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  const built = statSync(join(copy, 'dist', 'main.js')).mtimeMs;
  const npxCache = join(scratch, 'npm-cache');

  const r = await run('npx', ['livechat', '--version'], { cwd: copy, env: { npm_config_cache: npxCache } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), pkg.version);
  assert.ok(readdirSync(join(npxCache, '_npx')).length > 0, 'npx installed the project into its cache (and so ran prepare)');
  assert.equal(statSync(join(copy, 'dist', 'main.js')).mtimeMs, built, 'prepare did not rebuild dist/');

  // A change to a source is seen: the next install would build.
  writeFileSync(join(copy, 'src', 'protocol.ts'), `${readFileSync(join(copy, 'src', 'protocol.ts'), 'utf8')}\n// changed\n`);
  const stale = await run(process.execPath, ['scripts/build.js', '--check'], { cwd: copy });
  assert.equal(stale.code, 1, 'a changed source makes dist/ stale');
});

// bin/load.js: the bundle starts from V8's code cache; a cache V8 rejects only costs the compile.
const BUNDLE = join(ROOT, 'dist', 'livechat.cjs');
const LOAD = join(ROOT, 'bin', 'load.js');

test("the bundle's code cache matches it: V8 takes it, and the CLI runs from it", async () => {
  const probe = `const { run } = require(${JSON.stringify(LOAD)});
    const { script, exports } = run(${JSON.stringify(BUNDLE)}, require('node:fs').readFileSync(${JSON.stringify(`${BUNDLE}.cache`)}));
    console.log(JSON.stringify({ rejected: script.cachedDataRejected, main: typeof exports.main }));`;
  const r = await run(process.execPath, ['-e', probe]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { rejected: false, main: 'function' });
  assert.doesNotMatch(readFileSync(BUNDLE, 'utf8'), /\bimport\(/, 'a script restored from a cache cannot run import() on node 20');
});

test('a code cache V8 rejects (other source, other node) leaves the CLI as it is, only slower', async () => {
  const dir = mkdtempSync(join(scratch, 'cache-'));
  const copy = join(dir, 'livechat.cjs');
  cpSync(BUNDLE, copy);
  writeFileSync(`${copy}.cache`, Buffer.alloc(4096, 7));
  const probe = `require(${JSON.stringify(LOAD)})(${JSON.stringify(copy)}).main(['--version'])`;
  const r = await run(process.execPath, ['-e', probe]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), pkg.version);
  assert.equal(r.stderr, '');
});
