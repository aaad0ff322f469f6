// `livechat config show | path | set`: the saved configuration, secrets masked.
import { configFile } from '../config/paths.js';
import { readConfig, writeConfig, type StoredConfig } from '../config/store.js';
import { usageError } from '../errors.js';
import { gorgiasBaseUrl } from '../gorgias/base-url.js';
import { printJson, type Io } from '../io.js';
import { maskSecret } from '../mask.js';
import { checkBaseUrl } from '../webhook/template.js';

export interface ConfigView {
  domain: string | null;
  username: string | null;
  api_key: string | null;
  api_base_url: string | null;
  base_url: string | null;
  webhook_token: string | null;
  channel_secret: string | null;
  config_file: string;
}

/** Pure: what `config show` displays. Secrets are masked here, before anything prints them. */
export function configView(config: StoredConfig, path: string): ConfigView {
  let apiBase: string | null = null;
  if (config.domain) {
    try {
      apiBase = gorgiasBaseUrl(config.domain);
    } catch {
      apiBase = null;
    }
  }
  return {
    domain: config.domain ?? null,
    username: config.username ?? null,
    api_key: config.apiKey ? maskSecret(config.apiKey) : null,
    api_base_url: apiBase,
    base_url: config.baseUrl ?? null,
    webhook_token: config.webhookToken ? maskSecret(config.webhookToken) : null,
    channel_secret: config.channelSecret ? maskSecret(config.channelSecret) : null,
    config_file: path,
  };
}

export function formatConfigView(v: ConfigView): string {
  const rows: Array<[string, string | null]> = [
    ['domain', v.domain],
    ['username', v.username],
    ['api key', v.api_key],
    ['api base URL', v.api_base_url],
    ['base URL', v.base_url],
    ['webhook token', v.webhook_token],
    ['channel secret', v.channel_secret],
    ['config file', v.config_file],
  ];
  return rows.map(([k, val]) => `${`${k}:`.padEnd(15)}${val ?? '(not set)'}`).join('\n');
}

export async function configShow(opts: { json?: boolean }, io: Io): Promise<void> {
  const view = configView(readConfig(io.env), configFile(io.env));
  if (opts.json) printJson(io, view);
  else io.out(formatConfigView(view));
}

export async function configPath(io: Io): Promise<void> {
  io.out(configFile(io.env));
}

const SETTABLE = ['domain', 'username', 'base-url'] as const;

export async function configSet(key: string, value: string, io: Io): Promise<void> {
  const v = value.trim();
  let patch: Partial<StoredConfig>;
  if (key === 'domain') {
    gorgiasBaseUrl(v); // throws a usage error on a bad domain
    patch = { domain: v };
  } else if (key === 'username') {
    if (!v) throw usageError('the username must not be empty');
    patch = { username: v };
  } else if (key === 'base-url') {
    const check = checkBaseUrl(v);
    for (const w of check.warnings) io.err(`warning: ${w}`);
    patch = { baseUrl: check.url };
  } else {
    throw usageError(
      `unknown config key "${key}"; expected one of ${SETTABLE.join(', ')}`,
      key === 'api-key' || key === 'apiKey' ? ['the API key is set with `livechat setup gorgias`'] : [],
    );
  }
  await writeConfig(patch, io.env);
  io.out(`${key} saved to ${configFile(io.env)}`);
}
