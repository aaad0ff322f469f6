// Base URL and token for the webhook, shared by `webhook-url` and `webhook install/status`.
// Fast path: a plain config read; the lock and the write only when the token must be written.
import { resolveBaseUrl } from '../config/resolve.js';
import { readConfig, updateConfig, type StoredConfig } from '../config/store.js';
import { usageError } from '../errors.js';
import type { Io } from '../io.js';
import { checkBaseUrl, webhookUrlTemplate } from './template.js';
import { newWebhookToken } from './token.js';

export interface WebhookSettings {
  baseUrl: string;
  token: string | undefined;
  /** The template URL, when a token exists. */
  url: string | undefined;
  /** The token was created or replaced (and saved) on this run. */
  tokenChanged: boolean;
  /** What this run did to the saved token. */
  tokenAction: 'created' | 'updated' | 'unchanged';
}

export function noBaseUrlError(): Error {
  return usageError('no webhook base URL: pass --base-url URL, set LIVECHAT_BASE_URL, or run `livechat config set base-url URL`');
}

/** Resolve and check the base URL; warnings go to stderr. */
export function webhookBaseUrl(flag: string | undefined, io: Io, file: StoredConfig): string {
  const resolved = resolveBaseUrl(flag, io.env, file);
  if (!resolved.value) throw noBaseUrlError();
  const { url, warnings } = checkBaseUrl(resolved.value);
  for (const w of warnings) io.err(`warning: ${w}`);
  return url;
}

/**
 * The webhook settings. With `ensureToken`, a missing token is created and saved (once);
 * `rotate` always makes a new one.
 */
export async function webhookSettings(
  flags: { baseUrl?: string },
  io: Io,
  options: { ensureToken: boolean; rotate?: boolean },
): Promise<WebhookSettings> {
  const file = readConfig(io.env);
  const baseUrl = webhookBaseUrl(flags.baseUrl, io, file);
  let token = file.webhookToken;
  let tokenAction: WebhookSettings['tokenAction'] = 'unchanged';
  if (options.rotate || (options.ensureToken && !token)) {
    // Decided again under the lock: of two first runs, the second finds the first one's token.
    const saved = await updateConfig((current) => (options.rotate || !current.webhookToken ? { webhookToken: newWebhookToken() } : {}), io.env);
    token = saved.after.webhookToken;
    if (token !== saved.before.webhookToken) tokenAction = saved.before.webhookToken ? 'updated' : 'created';
  }
  const tokenChanged = tokenAction !== 'unchanged';
  return { baseUrl, token, url: token ? webhookUrlTemplate(baseUrl, token) : undefined, tokenChanged, tokenAction };
}
