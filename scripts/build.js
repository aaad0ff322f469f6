#!/usr/bin/env node
// Builds dist/ with tsc. Plain JavaScript, since it runs where only node is sure to be there.
//
//   node scripts/build.js               clean dist/, compile, record what it was built from
//   node scripts/build.js --if-changed  the same, only when src/ changed since the last build
//   node scripts/build.js --check       exit 0 when dist/ is up to date, 1 when a build is due
//
// `prepare` runs it with --if-changed: `npm install` builds once, and `npx livechat` in the clone
// (which installs the project into npx's cache and so runs `prepare` again) does not rebuild.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const dist = join(root, 'dist');
const stamp = join(dist, '.build-hash');

function files(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}

/** What dist/ is built from: every source, the compiler options, the compiler's version. */
function sourceHash(tscVersion) {
  const hash = createHash('sha256').update(`typescript ${tscVersion}\n`);
  for (const file of [join(root, 'tsconfig.json'), join(root, 'tsconfig.web.json'), ...files(join(root, 'src'))]) {
    hash.update(`${relative(root, file)}\n`).update(readFileSync(file));
  }
  return hash.digest('hex');
}

function findTsc() {
  try {
    const require = createRequire(join(root, 'package.json'));
    const pkg = require.resolve('typescript/package.json');
    return { bin: join(pkg, '..', 'bin', 'tsc'), version: JSON.parse(readFileSync(pkg, 'utf8')).version };
  } catch {
    console.error('error: typescript is not installed here; run `npm install` in this folder first');
    process.exit(1);
  }
}

const mode = process.argv[2];
const tsc = findTsc();
const wanted = sourceHash(tsc.version);
const upToDate = existsSync(join(dist, 'main.js')) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === wanted;

if (mode === '--check') process.exit(upToDate ? 0 : 1);
if (mode === '--if-changed' && upToDate) process.exit(0);
if (mode !== undefined && mode !== '--if-changed') {
  console.error(`error: unknown option ${mode}; expected --if-changed or --check`);
  process.exit(2);
}

rmSync(dist, { recursive: true, force: true }); // no module of a deleted source is left behind
// The node program, then the browser modules of the playground (with the DOM, into dist/playground/web/).
for (const config of ['tsconfig.json', 'tsconfig.web.json']) {
  const r = spawnSync(process.execPath, [tsc.bin, '-p', join(root, config)], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
writeFileSync(stamp, `${wanted}\n`);
