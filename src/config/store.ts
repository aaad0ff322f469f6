// The saved config. Reads are a plain JSON read (fast, and `webhook-url` pays for it on every
// run); writes go through conf, which writes atomically with mode 0600.
import { readFileSync } from 'node:fs';
import { LivechatError } from '../errors.js';
import { configDir, configFile } from './paths.js';

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

export function readConfig(env: NodeJS.ProcessEnv = process.env): StoredConfig {
  const path = configFile(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return {};
    throw new LivechatError(`cannot read config file ${path} (${code ?? (err as Error).message})`, { kind: 'config' });
  }
  if (text.trim() === '') return {};
  return parseConfig(text, path);
}

/** Merge `patch` into the saved config (undefined leaves a key alone). Refuses to touch a corrupt file. */
export async function writeConfig(patch: Partial<StoredConfig>, env: NodeJS.ProcessEnv = process.env): Promise<StoredConfig> {
  const current = readConfig(env); // throws on a corrupt file: never silently wiped
  const next: StoredConfig = { ...current };
  for (const key of KEYS) if (patch[key] !== undefined) next[key] = patch[key];
  const { default: Conf } = await import('conf');
  try {
    const conf = new Conf<StoredConfig>({
      cwd: configDir(env),
      configName: 'config',
      projectName: 'livechat',
      configFileMode: 0o600,
      clearInvalidConfig: false,
    });
    conf.store = next;
  } catch (err) {
    throw new LivechatError(`cannot write config file ${configFile(env)} (${(err as Error).message})`, {
      kind: 'config',
    });
  }
  return next;
}
