// A lock file around read-change-write of the config, so that concurrent runs (two first runs of
// `webhook-url`, say) see each other's writes instead of overwriting them. The lock holds the
// owner's pid; one left behind by a killed process is taken over.
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { realClock, type Clock } from '../clock.js';
import { LivechatError } from '../errors.js';

/** No write holds the lock for long: one older than this is left over from a killed process. */
export const STALE_LOCK_MS = 10_000;
const WAIT_MS = 5_000;

/** Tells apart two files or locks of one process; not a secret (node:crypto stays unloaded on the fast path). */
export function uniqueSuffix(): string {
  return Math.floor(Math.random() * 0x100000000)
    .toString(16)
    .padStart(8, '0');
}

/** True unless the process is known to be gone (EPERM: alive, somebody else's). */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(path: string): { text: string; pid: number; ageMs: number } | undefined {
  try {
    const text = readFileSync(path, 'utf8');
    const ageMs = realClock.now() - statSync(path).mtimeMs;
    return { text, pid: Number(text.split(' ')[0]), ageMs };
  } catch {
    return undefined; // gone meanwhile: try again
  }
}

function tryCreate(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new LivechatError(`cannot lock the config (${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, {
      kind: 'config',
    });
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Remove the lock if a killed run left it (its owner is gone, or it is too old). True if it was stale. */
export function removeStaleLock(path: string): boolean {
  const held = readLock(path);
  if (!held || (processAlive(held.pid) && held.ageMs <= STALE_LOCK_MS)) return false;
  // Remove it only if it is still the same lock that was judged.
  if (readLock(path)?.text === held.text) {
    try {
      unlinkSync(path);
    } catch {
      // somebody else removed it first
    }
  }
  return true;
}

/** Run `fn` while holding the lock file at `path`; waits a bounded time for another holder. */
export async function withLock<T>(path: string, fn: () => T | Promise<T>, clock: Clock = realClock): Promise<T> {
  const mine = `${process.pid} ${uniqueSuffix()}`;
  const deadline = clock.now() + WAIT_MS;
  while (!tryCreate(path, mine)) {
    if (removeStaleLock(path)) continue;
    if (clock.now() > deadline) {
      throw new LivechatError(`the config is locked by another livechat run (pid ${readLock(path)?.pid ?? '?'})`, {
        kind: 'config',
        details: [`if no livechat is running, remove ${path}`],
      });
    }
    await clock.sleep(5 + Math.floor(Math.random() * 15));
  }
  try {
    return await fn();
  } finally {
    if (readLock(path)?.text === mine) {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
  }
}
