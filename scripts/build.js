#!/usr/bin/env node
// Builds dist/: the library with tsc (modules and types, what `import 'gorgias-livechat'` loads),
// and the CLI with esbuild as one file, dist/livechat.cjs, that bin/livechat.js requires. Plain
// JavaScript, since it runs where only node is sure to be there.
//
// Why one CommonJS file: `livechat --help` then loads one file, not a tree of ES modules (and
// node's ES module loader with them); each command inside it is still initialized only when it
// runs. Measured by `npm run bench` (start-up): --help went from 1.40 to 1.24 x `node -e 0`,
// webhook-url from 1.56 to 1.31; ES module chunks (esbuild --splitting) got 1.32 and 1.49. A V8
// code cache of the bundle (see cacheCli) then saves compiling it on every start.
// Packages are bundled only when they are small and every command needs them (commander, chalk);
// the others (native, heavy, or ES-only and imported lazily) stay in node_modules.
//
//   node scripts/build.js               clean dist/, compile, bundle, record what it was built from
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

/** What dist/ is built from: every source, the compiler options, this script, the tools' versions. */
function sourceHash(tscVersion, esbuildVersion) {
  const hash = createHash('sha256').update(`typescript ${tscVersion}\nesbuild ${esbuildVersion}\n`);
  for (const file of [
    join(root, 'tsconfig.json'),
    join(root, 'tsconfig.web.json'),
    join(root, 'scripts', 'build.js'),
    join(root, 'bin', 'load.js'),
    ...files(join(root, 'src')),
  ]) {
    hash.update(`${relative(root, file)}\n`).update(readFileSync(file));
  }
  return hash.digest('hex');
}

const require = createRequire(join(root, 'package.json'));

/** A dev dependency's package folder and version. */
function findTool(name) {
  try {
    const pkg = require.resolve(`${name}/package.json`);
    return { dir: join(pkg, '..'), version: JSON.parse(readFileSync(pkg, 'utf8')).version };
  } catch {
    console.error(`error: ${name} is not installed here; run \`npm install\` in this folder first`);
    process.exit(1);
  }
}

/** Packages bundled into the CLI file; every other dependency is required from node_modules. */
const BUNDLED = new Set(['commander', '@commander-js/extra-typings', 'chalk']);

async function bundleCli() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const { build } = require('esbuild');
  await build({
    entryPoints: [join(root, 'src', 'main.ts')],
    outfile: join(dist, 'livechat.cjs'),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    minify: true,
    external: Object.keys(pkg.dependencies).filter((d) => !BUNDLED.has(d)),
    define: { LIVECHAT_VERSION: JSON.stringify(pkg.version), 'import.meta.url': '__livechatUrl' },
    banner: {
      js: "const __livechatUrl = require('node:url').pathToFileURL(__filename).href; const __livechatImport = (s) => require('./import.cjs')(s);",
    },
    plugins: [lazyChildProcess, importThroughNode],
    logLevel: 'warning',
  });
  if (/\bimport\(/.test(readFileSync(join(dist, 'livechat.cjs'), 'utf8'))) {
    console.error('error: dist/livechat.cjs holds an import(); import packages by a string literal so the build routes it');
    process.exit(1);
  }
}

/**
 * The bundle's import() of a package (ES-only ones, loaded lazily) goes through dist/import.cjs,
 * a file node compiles itself: node 20 loses the dynamic-import hook of a script that V8 restored
 * from a code cache ("A dynamic import callback was not specified"), so bin/load.js could not
 * use the cache otherwise.
 */
const importThroughNode = {
  name: 'import-through-node',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replace(/\bimport\((['"])(?![./])([^'"]+)\1\)/g, '__livechatImport($1$2$1)'),
      loader: 'ts',
    }));
    b.onEnd(() => writeFileSync(join(dist, 'import.cjs'), 'module.exports = (specifier) => import(specifier);\n'));
  },
};

/** commander requires child_process for executable subcommands, which livechat has none of: load it only if used. */
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'lazy' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
      contents: "let m; module.exports = new Proxy({}, { get: (_, k) => (m ??= require('node:child_process'))[k] });",
      loader: 'js',
    }));
  },
};

/**
 * V8's code cache of the bundle, beside it, for bin/load.js: made in a child node (no flags, as
 * the CLI runs) after `--help` and `webhook-url --help` ran, so the functions start-up needs are
 * compiled in it too. Start-up then skips compiling the bundle: --help went from 1.33 to about
 * 1.19 x `node -e 0` here.
 */
function cacheCli() {
  const file = join(dist, 'livechat.cjs');
  const code = `
    const { run } = require(${JSON.stringify(join(root, 'bin', 'load.js'))});
    const { script, exports: cli } = run(${JSON.stringify(file)});
    const io = { out() {}, err() {}, stdoutIsTTY: false, stderrIsTTY: false, stdinIsTTY: false, color: false, env: {} };
    (async () => {
      for (const argv of [['--help'], ['webhook-url', '--help']]) await cli.main(argv, io);
      require('node:fs').writeFileSync(${JSON.stringify(`${file}.cache`)}, script.createCachedData());
    })();`;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const r = spawnSync(process.execPath, ['-e', code], { stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const mode = process.argv[2];
const tsc = findTool('typescript');
const esbuild = findTool('esbuild');
const wanted = sourceHash(tsc.version, esbuild.version);
const upToDate =
  existsSync(join(dist, 'main.js')) &&
  existsSync(join(dist, 'livechat.cjs.cache')) &&
  existsSync(stamp) &&
  readFileSync(stamp, 'utf8').trim() === wanted;

if (mode === '--check') process.exit(upToDate ? 0 : 1);
if (mode === '--if-changed' && upToDate) process.exit(0);
if (mode !== undefined && mode !== '--if-changed') {
  console.error(`error: unknown option ${mode}; expected --if-changed or --check`);
  process.exit(2);
}

rmSync(dist, { recursive: true, force: true }); // no module of a deleted source is left behind
// The library, then the browser modules of the playground (with the DOM, into dist/playground/web/).
for (const config of ['tsconfig.json', 'tsconfig.web.json']) {
  const r = spawnSync(process.execPath, [join(tsc.dir, 'bin', 'tsc'), '-p', join(root, config)], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
try {
  await bundleCli();
} catch {
  process.exit(1); // esbuild has printed why
}
cacheCli();
writeFileSync(stamp, `${wanted}\n`);
