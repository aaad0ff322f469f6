// `livechat config show | path | set`: the saved configuration, secrets masked.
import { configFile } from '../config/paths.js';
import { existsSync } from 'node:fs';
import { readConfig, updateConfig, type StoredConfig } from '../config/store.js';
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
export function configView(config: StoredConfig, path: string, showSecrets = false): ConfigView {
  const secret = (value: string | undefined) => (value ? (showSecrets ? value : maskSecret(value)) : null);
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
    api_key: secret(config.apiKey),
    api_base_url: apiBase,
    base_url: config.baseUrl ?? null,
    webhook_token: secret(config.webhookToken),
    channel_secret: secret(config.channelSecret),
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
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, val]) => `${`${k}:`.padEnd(width)}${val ?? '(not set)'}`).join('\n');
}

export async function configShow(opts: { json?: boolean; showSecrets?: boolean }, io: Io): Promise<void> {
  const view = configView(
    readConfig(io.env, (line) => io.err(line)),
    configFile(io.env),
    opts.showSecrets,
  );
  if (opts.json) printJson(io, view);
  else io.out(formatConfigView(view));
}

export async function configPath(opts: { json?: boolean }, io: Io): Promise<void> {
  const path = configFile(io.env);
  if (opts.json) printJson(io, { config_file: path, exists: existsSync(path) });
  else io.out(path);
}

const SETTABLE = ['domain', 'username', 'base-url'] as const;

export async function configSet(key: string, value: string, opts: { json?: boolean }, io: Io): Promise<void> {
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
  const { action } = await updateConfig(
    () => patch,
    io.env,
    (line) => io.err(line),
  );
  const saved = Object.values(patch)[0];
  const path = configFile(io.env);
  if (opts.json) printJson(io, { action, key, value: saved, config_file: path });
  else if (action === 'unchanged') io.out(`${key} is already ${saved} in ${path}; nothing changed`);
  else io.out(`${key} saved to ${path}`);
}
