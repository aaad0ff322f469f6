// Heap per idle conversation in the bridge as `livechat serve` runs it (SQLite store, default
// cache): bot-only conversations, one user message each, then left alone. Measured in a child
// process with --expose-gc, after a full GC at each step; the heap should stop growing once the
// cache is full (it holds at most `cacheSize` conversations; the rest live in the data file).
//   node --expose-gc --import tsx bench/heap.ts child <conversations> <steps>   prints the JSON figures
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface HeapFigures {
  cacheSize: number;
  /** [conversations, heap bytes] after a full GC. */
  points: Array<[number, number]>;
  /** Bytes per conversation while the cache fills (0 -> cacheSize). */
  perConversationFilling: number;
  /** Bytes per conversation once it is full (cacheSize -> the last point): ~0 when bounded. */
  perConversationBeyond: number;
}

type Lib = typeof import('../src/index.js');
const dist = (module: string) => new URL(`../dist/${module}`, import.meta.url).href;
export const CACHE_SIZE = 10_000; // the engine's default, as serve runs it

async function child(total: number, steps: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc!;
  const [{ createBridge }, { openSqliteStore }] = (await Promise.all([import(dist('index.js')), import(dist('sqlite.js'))])) as [
    Lib,
    typeof import('../src/sqlite.js'),
  ];
  const dir = mkdtempSync(join(tmpdir(), 'livechat-bench-heap-'));
  const bridge = await createBridge({
    client: {} as never, // bot-only conversations never reach Gorgias
    webhookToken: 'bench-webhook-token',
    channelSecret: 'bench-channel-secret',
    deliver: async () => undefined,
    store: openSqliteStore(join(dir, 'livechat.db')),
    cacheSize: CACHE_SIZE,
  });
  const heap = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const points: Array<[number, number]> = [[0, heap()]];
  let n = 0;
  for (let step = 1; step <= steps; step++) {
    const upTo = Math.round((total * step) / steps);
    for (; n < upTo; n += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, upTo - n) }, (_, i) => bridge.userMessage(`idle-${n + i}`, `hello from ${n + i}, where is my order?`)),
      );
    }
    n = upTo;
    await bridge.manager.idle();
    points.push([n, heap()]);
  }
  await bridge.close({ timeoutMs: 2000 });
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify(points)}\n`);
}

/** `conversations` idle conversations, heap measured at `steps` points on the way. */
export function measureHeap(conversations = 3 * CACHE_SIZE, steps = 6): HeapFigures {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', import.meta.filename, 'child', String(conversations), String(steps)], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`heap bench exited ${r.status}: ${r.stderr}`);
  const points = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Array<[number, number]>;
  const at = (n: number) => {
    // the measured point nearest to n
    return points.reduce((best, p) => (Math.abs(p[0] - n) < Math.abs(best[0] - n) ? p : best));
  };
  const [n0, h0] = points[0];
  const [nc, hc] = at(CACHE_SIZE);
  const [nl, hl] = points.at(-1)!;
  return {
    cacheSize: CACHE_SIZE,
    points,
    perConversationFilling: (hc - h0) / Math.max(1, nc - n0),
    perConversationBeyond: nl > nc ? (hl - hc) / (nl - nc) : 0,
  };
}

if (process.argv[2] === 'child') await child(Number(process.argv[3]), Number(process.argv[4]));
