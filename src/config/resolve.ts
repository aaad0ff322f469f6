// Pure precedence: flags, then environment, then the saved file.
import type { StoredConfig } from './store.js';

export interface GorgiasFlags {
  domain?: string;
  username?: string;
  apiKey?: string;
}

export interface Resolved<T> {
  value: T | undefined;
  source: 'flag' | 'env' | 'config' | 'none';
}

function pick(flag: string | undefined, envValue: string | undefined, file: string | undefined): Resolved<string> {
  if (flag) return { value: flag, source: 'flag' };
  if (envValue) return { value: envValue, source: 'env' };
  if (file) return { value: file, source: 'config' };
  return { value: undefined, source: 'none' };
}

export interface ResolvedCredentials {
  domain: Resolved<string>;
  username: Resolved<string>;
  apiKey: Resolved<string>;
}

export function resolveCredentials(flags: GorgiasFlags, env: NodeJS.ProcessEnv, file: StoredConfig): ResolvedCredentials {
  return {
    domain: pick(flags.domain, env.GORGIAS_DOMAIN, file.domain),
    username: pick(flags.username, env.GORGIAS_USERNAME, file.username),
    apiKey: pick(flags.apiKey, env.GORGIAS_API_KEY, file.apiKey),
  };
}

export function resolveBaseUrl(flag: string | undefined, env: NodeJS.ProcessEnv, file: StoredConfig): Resolved<string> {
  return pick(flag, env.LIVECHAT_BASE_URL, file.baseUrl);
}
