// The saved config. Reads are a plain JSON read (fast: `webhook-url` pays for it on every run).
// Writes take the lock, read again, and write a temp file (0600) that is renamed over the config,
// so a reader never sees half a file. Every read also tidies: it tightens a config that others
// can read and removes temp files that a killed write left behind.
import {
  chmodSync,
  closeSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { realClock } from '../clock.js';
import { LivechatError } from '../errors.js';
import { processAlive, removeStaleLock, STALE_LOCK_MS, uniqueSuffix, withLock } from './lock.js';
import { configDir, configFile, configLockFile, configTempPrefix, ownsConfigDir } from './paths.js';

export interface StoredConfig {
  domain?: string;
  username?: string;
  apiKey?: string;
  /** Public URL of the webhook receiver. */
  baseUrl?: string;
  /** Secret that the webhook URL carries; >= 128 bits. */
  webhookToken?: string;
  /** Authenticates channel calls to `livechat serve` and signs its deliveries. */
  channelSecret?: string;
}

/** Where notes about the config file go (stderr unless a command says otherwise). */
export type Notice = (line: string) => void;
const toStderr: Notice = (line) => void process.stderr.write(`${line}\n`);

const KEYS: Array<keyof StoredConfig> = ['domain', 'username', 'apiKey', 'baseUrl', 'webhookToken', 'channelSecret'];

/** Pure: validate what was parsed from the file. */
export function parseConfig(text: string, path: string): StoredConfig {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new LivechatError(`config file ${path} is not valid JSON (${(err as Error).message}); fix or remove it`, {
      kind: 'config',
    });
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new LivechatError(`config file ${path} must hold a JSON object; fix or remove it`, { kind: 'config' });
  }
  const out: StoredConfig = {};
  for (const key of KEYS) {
    const v = (data as Record<string, unknown>)[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') {
      throw new LivechatError(`config file ${path}: "${key}" must be a string; fix or remove it`, { kind: 'config' });
    }
    out[key] = v;
  }
  return out;
}

const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, '0');

/** A config that others can read is made 0600, or the user is told to do it. */
function tightenFile(fd: number, path: string, notice: Notice): void {
  const mode = fstatSync(fd).mode;
  if ((mode & 0o077) === 0) return;
  try {
    fchmodSync(fd, 0o600);
    notice(`note: config file ${path} was readable by other users (mode ${octal(mode)}); it is now 0600`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    notice(`warning: config file ${path} is readable by other users (mode ${octal(mode)}) and could not be changed (${code}); run chmod 600 ${path}`);
  }
}

/** livechat's own folder is kept 0700 (one made by an older version was 0755). */
function tightenDir(env: NodeJS.ProcessEnv): void {
  if (!ownsConfigDir(env)) return;
  const dir = configDir(env);
  try {
    if ((statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
  } catch {
    // not there yet, or not ours to change: the file itself is 0600 either way
  }
}

/** A temp file is left over when its writer is gone, or when it is older than any write takes. */
function leftover(name: string, prefix: string, ageMs: number): boolean {
  const pid = /^(\d+)-/.exec(name.slice(prefix.length))?.[1];
  return ageMs > STALE_LOCK_MS || (pid !== undefined && !processAlive(Number(pid)));
}

/** Remove what killed writes left: temp files (their content may hold the API key) and the lock. */
function removeLeftovers(env: NodeJS.ProcessEnv): void {
  const prefix = basename(configTempPrefix(env));
  const lock = basename(configLockFile(env));
  const dir = configDir(env);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  if (names.includes(lock)) removeStaleLock(join(dir, lock));
  names = names.filter((n) => n.startsWith(prefix));
  for (const name of names) {
    const path = join(dir, name);
    try {
      if (leftover(name, prefix, realClock.now() - statSync(path).mtimeMs)) unlinkSync(path);
    } catch {
      // removed by another run meanwhile
    }
  }
}

interface ReadResult {
  config: StoredConfig;
  exists: boolean;
}

function readTidy(env: NodeJS.ProcessEnv, notice: Notice): ReadResult {
  const path = configFile(env);
  removeLeftovers(env);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { config: {}, exists: false };
    throw new LivechatError(`cannot read config file ${path} (${code ?? (err as Error).message})`, { kind: 'config' });
  }
  let text: string;
  try {
    tightenFile(fd, path, notice);
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  tightenDir(env);
  if (text.trim() === '') return { config: {}, exists: true };
  return { config: parseConfig(text, path), exists: true };
}

export function readConfig(env: NodeJS.ProcessEnv = process.env, notice: Notice = toStderr): StoredConfig {
  return readTidy(env, notice).config;
}

/** Write the whole file: a temp file (0600, synced), then a rename over the config. */
function writeAtomically(path: string, text: string): void {
  const temp = `${path}.tmp-${process.pid}-${uniqueSuffix()}`;
  try {
    const fd = openSync(temp, 'wx', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (err) {
    try {
      unlinkSync(temp);
    } catch {
      // never created, or already renamed
    }
    throw new LivechatError(`cannot write config file ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, {
      kind: 'config',
    });
  }
  try {
    const dirFd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // the rename is done; syncing the folder is a best effort
  }
}

function ensureDir(env: NodeJS.ProcessEnv): void {
  const dir = configDir(env);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new LivechatError(`cannot create config folder ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, {
      kind: 'config',
    });
  }
  tightenDir(env);
}

/** What a write did to the file. */
export type ConfigAction = 'created' | 'updated' | 'unchanged';

export interface ConfigUpdate {
  before: StoredConfig;
  after: StoredConfig;
  action: ConfigAction;
}

const sameConfig = (a: StoredConfig, b: StoredConfig) => KEYS.every((k) => a[k] === b[k]);

/**
 * Change the saved config under the lock: `change` sees what is saved now (re-read after the lock
 * is taken, so a concurrent run's write is never lost) and returns a patch (undefined leaves a key
 * alone). Refuses to touch a corrupt file.
 */
export async function updateConfig(
  change: (current: StoredConfig) => Partial<StoredConfig>,
  env: NodeJS.ProcessEnv = process.env,
  notice: Notice = toStderr,
): Promise<ConfigUpdate> {
  ensureDir(env);
  return withLock(configLockFile(env), () => {
    const { config: before, exists } = readTidy(env, notice); // throws on a corrupt file: never silently wiped
    const patch = change(before);
    const after: StoredConfig = { ...before };
    for (const key of KEYS) if (patch[key] !== undefined) after[key] = patch[key];
    if (exists && sameConfig(before, after)) return { before, after, action: 'unchanged' };
    writeAtomically(configFile(env), `${JSON.stringify(after, null, 2)}\n`);
    return { before, after, action: exists ? 'updated' : 'created' };
  });
}

/** Merge `patch` into the saved config. */
export async function writeConfig(patch: Partial<StoredConfig>, env: NodeJS.ProcessEnv = process.env, notice?: Notice): Promise<StoredConfig> {
  return (await updateConfig(() => patch, env, notice)).after;
}
