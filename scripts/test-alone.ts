// Tests that stand alone: run every test file in its own `node --test`, then the whole suite with
// the files in a shuffled order, and report what failed. `npm run test:alone`.
//   --seed N        shuffle with this seed (printed on every run, so a failing order can be replayed)
//   --jobs N        files run alone N at a time (default 2, one per core here)
//   --each-test     also run every test of the named files alone (suites' hooks run), by --test-name-pattern
//   --no-alone      skip the first part; --no-shuffle skips the second
//   test/x.test.ts  only these files
// Node 20 has no --test-shuffle, hence the seeded shuffle of the file list.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { seededRandom } from '../src/random.ts';

const root = resolve(import.meta.dirname, '..');
// The same backstop as `npm test`: Node 20 applies it to each file as a whole too.
const TIMEOUT_MS = 300_000;
const NODE_TEST = ['--import', 'tsx', '--test', `--test-timeout=${TIMEOUT_MS}`];

interface Options {
  seed: number;
  jobs: number;
  alone: boolean;
  shuffle: boolean;
  eachTest: boolean;
  files: string[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = { seed: Math.floor(Math.random() * 2 ** 31), jobs: 2, alone: true, shuffle: true, eachTest: false, files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const number = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${a} needs a whole number`);
      return n;
    };
    if (a === '--seed') o.seed = number();
    else if (a === '--jobs') o.jobs = Math.max(1, number());
    else if (a === '--no-alone') o.alone = false;
    else if (a === '--no-shuffle') o.shuffle = false;
    else if (a === '--each-test') o.eachTest = true;
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else o.files.push(relative(root, resolve(a)));
  }
  if (o.files.length === 0) {
    o.files = readdirSync(resolve(root, 'test'))
      .filter((f) => f.endsWith('.test.ts'))
      .sort()
      .map((f) => `test/${f}`);
  }
  return o;
}

/** Pure: Fisher–Yates with the seeded generator. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const random = seededRandom(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

interface Ran {
  label: string;
  code: number | null;
  ms: number;
  output: string;
}

function runNode(label: string, args: string[]): Promise<Ran> {
  const started = performance.now();
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    // The runner's own --test-timeout stops a stuck test; this stops a stuck runner.
    const timer = setTimeout(() => child.kill('SIGKILL'), 10 * 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ label, code, ms: performance.now() - started, output });
    });
  });
}

async function inParallel<T, R>(items: readonly T[], jobs: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
  return results;
}

function report(r: Ran): void {
  process.stderr.write(`${r.code === 0 ? 'ok  ' : 'FAIL'} ${(r.ms / 1000).toFixed(1).padStart(6)} s  ${r.label}\n`);
}

/** The failing tests' names and first lines, out of the runner's spec output. */
function failures(output: string): string {
  const lines = output.split('\n');
  const start = lines.findIndex((l) => l.includes('failing tests:'));
  return (start >= 0 ? lines.slice(start) : lines.slice(-40)).join('\n');
}

/** Pure: the names of the tests with no subtests, at any depth, from the runner's TAP output (a
 * leaf's `ok` line comes right after its own `# Subtest:` line). */
export function leafTests(tap: string): string[] {
  const lines = tap.split('\n');
  const names: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const m = /^(\s*)(?:not )?ok \d+ - (.+?)(?: # .*)?$/.exec(lines[i]);
    if (m && lines[i - 1] === `${m[1]}# Subtest: ${m[2]}`) names.push(m[2]);
  }
  return [...new Set(names)];
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const failed: Ran[] = [];
  const keep = (r: Ran): Ran => {
    report(r);
    if (r.code !== 0) failed.push(r);
    return r;
  };

  if (o.alone) {
    process.stderr.write(`each file alone (${o.files.length} files, ${o.jobs} at a time):\n`);
    const ran = await inParallel(o.files, o.jobs, async (f) => keep(await runNode(f, [...NODE_TEST, '--test-reporter=spec', f])));
    const slowest = [...ran].sort((a, b) => b.ms - a.ms).slice(0, 5);
    process.stderr.write(`slowest: ${slowest.map((r) => `${r.label} ${(r.ms / 1000).toFixed(1)} s`).join(', ')}\n`);
  }

  if (o.eachTest) {
    for (const f of o.files) {
      const listing = await runNode(f, [...NODE_TEST, '--test-reporter=tap', f]);
      const names = leafTests(listing.output);
      process.stderr.write(`each test of ${f} alone (${names.length}):\n`);
      await inParallel(names, o.jobs, async (name) => {
        const r = await runNode(`${f} › ${name}`, [...NODE_TEST, '--test-reporter=spec', `--test-name-pattern=^${escapeRegExp(name)}$`, f]);
        // A pattern that matched nothing would pass with every test skipped: that is a failure here.
        if (r.code === 0 && !/^ℹ pass [1-9]/m.test(r.output)) r.code = -1;
        return keep(r);
      });
    }
  }

  if (o.shuffle) {
    const order = shuffled(o.files, o.seed);
    process.stderr.write(`the whole suite, shuffled with --seed ${o.seed}:\n  ${order.join('\n  ')}\n`);
    // One file at a time, so the files really run in this order.
    keep(await runNode(`the suite in the order of --seed ${o.seed}`, [...NODE_TEST, '--test-concurrency=1', '--test-reporter=spec', ...order]));
  }

  if (failed.length) {
    for (const r of failed) process.stderr.write(`\n--- ${r.label} ---\n${failures(r.output)}\n`);
    process.stderr.write(`\n${failed.length} failed; replay the order with: npm run test:alone -- --no-alone --seed ${o.seed}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`all passed (seed ${o.seed})\n`);
  }
}

if (import.meta.filename === process.argv[1]) await main();
