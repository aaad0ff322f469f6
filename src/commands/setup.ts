// `livechat setup gorgias`: ask for (or take) the credentials, check them, then save them.
import { configFile } from '../config/paths.js';
import { resolveCredentials } from '../config/resolve.js';
import { readConfig, writeConfig, type StoredConfig } from '../config/store.js';
import { missingValue, usageError } from '../errors.js';
import { gorgiasBaseUrl } from '../gorgias/base-url.js';
import { debugWanted } from '../gorgias/connect.js';
import type { Account, User } from '../gorgias/types.js';
import { canPrompt, printJson, type Io } from '../io.js';
import { maskSecret } from '../mask.js';
import { paint } from '../style.js';
import { checkBaseUrl } from '../webhook/template.js';

export interface SetupOptions {
  domain?: string;
  username?: string;
  apiKey?: string;
  apiKeyStdin?: boolean;
  baseUrl?: string;
  /** false with --no-verify */
  verify?: boolean;
  json?: boolean;
}

interface Answers {
  domain: string;
  username: string;
  apiKey: string;
  baseUrl?: string;
}

const ARGV_WARNING =
  'warning: --api-key is visible to other users of this machine (process list, shell history); prefer GORGIAS_API_KEY or --api-key-stdin';

/** The first line of standard input, trimmed. */
export async function readKeyFromStdin(stream: NodeJS.ReadableStream = process.stdin): Promise<string> {
  let text = '';
  stream.setEncoding('utf8');
  for await (const chunk of stream) text += chunk as string;
  const key =
    text
      .split(/\r?\n/)
      .find((l) => l.trim() !== '')
      ?.trim() ?? '';
  if (!key) throw usageError('--api-key-stdin: nothing on standard input');
  return key;
}

/** Pure: the non-interactive answers, flags > env > saved, or the first missing flag. */
export function answersWithoutPrompt(given: Partial<Answers>, env: NodeJS.ProcessEnv, saved: StoredConfig): Answers {
  const { domain, username, apiKey } = resolveCredentials(given, env, saved);
  if (!domain.value) throw missingValue('--domain', 'GORGIAS_DOMAIN');
  if (!username.value) throw missingValue('--username', 'GORGIAS_USERNAME');
  if (!apiKey.value) throw missingValue('--api-key-stdin', 'GORGIAS_API_KEY');
  // The base URL is optional here and only saved when given now (not from the file).
  return { domain: domain.value, username: username.value, apiKey: apiKey.value, baseUrl: given.baseUrl || env.LIVECHAT_BASE_URL || undefined };
}

function validDomain(value: string): true | string {
  try {
    gorgiasBaseUrl(value);
    return true;
  } catch (err) {
    return (err as Error).message;
  }
}

function validBaseUrl(value: string): true | string {
  if (!value.trim()) return true;
  try {
    checkBaseUrl(value.trim());
    return true;
  } catch (err) {
    return (err as Error).message;
  }
}

/** On a TTY: ask for what no flag gave, prefilled from the environment and the saved file. */
async function promptAnswers(given: Partial<Answers>, env: NodeJS.ProcessEnv, saved: StoredConfig): Promise<Answers> {
  const { input, password } = await import('@inquirer/prompts');
  const domain =
    given.domain ||
    (await input({
      message: 'Gorgias domain (acme for acme.gorgias.com):',
      default: env.GORGIAS_DOMAIN || saved.domain,
      required: true,
      validate: validDomain,
    }));
  const username =
    given.username ||
    (await input({
      message: 'Gorgias username (your email):',
      default: env.GORGIAS_USERNAME || saved.username,
      required: true,
    }));
  let apiKey = given.apiKey;
  if (!apiKey) {
    const kept = env.GORGIAS_API_KEY || saved.apiKey;
    const typed = await password({
      message: kept ? `Gorgias API key (Enter keeps ${maskSecret(kept)}):` : 'Gorgias API key (Settings > REST API):',
      mask: '*',
      validate: (v) => (v.trim() || kept ? true : 'the API key is required'),
    });
    apiKey = typed.trim() || kept!;
  }
  let baseUrl = given.baseUrl;
  if (!baseUrl) {
    const typed = await input({
      message: 'Public URL of your webhook receiver (optional, Enter to skip):',
      default: env.LIVECHAT_BASE_URL || saved.baseUrl,
      validate: validBaseUrl,
    });
    baseUrl = typed.trim() || undefined;
  }
  return { domain: domain.trim(), username: username.trim(), apiKey, baseUrl };
}

async function verify(answers: Answers, io: Io): Promise<{ account: Account; user: User }> {
  const { createGorgiasClient } = await import('../gorgias/client.js');
  const client = createGorgiasClient({
    domain: answers.domain,
    username: answers.username,
    apiKey: answers.apiKey,
    notice: (line) => io.err(line),
    debug: debugWanted(io) ? (line) => io.err(`debug: ${line}`) : undefined,
  });
  // A pty with no size reports 0 columns, and ora would then loop clearing lines.
  const spinnable = io.color && io.stderrIsTTY && (process.stderr.columns ?? 0) > 0;
  const spin = spinnable
    ? (await import('ora')).default({ text: `Checking the credentials with ${client.baseUrl}`, stream: process.stderr }).start()
    : undefined;
  try {
    const account = await client.getAccount();
    const user = await client.getCurrentUser();
    spin?.succeed('Credentials accepted');
    return { account, user };
  } catch (err) {
    spin?.stop();
    throw err;
  }
}

export async function setupGorgias(opts: SetupOptions, io: Io): Promise<void> {
  const saved = readConfig(io.env); // a corrupt file stops here, untouched
  if (opts.apiKey && opts.apiKeyStdin) throw usageError('use either --api-key or --api-key-stdin, not both');
  if (opts.apiKey) io.err(ARGV_WARNING);
  const given: Partial<Answers> = {
    domain: opts.domain?.trim() || undefined,
    username: opts.username?.trim() || undefined,
    apiKey: opts.apiKey?.trim() || (opts.apiKeyStdin ? await readKeyFromStdin() : undefined),
    baseUrl: opts.baseUrl?.trim() || undefined,
  };
  // stdin carries the key with --api-key-stdin, so no prompts then.
  const answers = canPrompt(io) && !opts.apiKeyStdin ? await promptAnswers(given, io.env, saved) : answersWithoutPrompt(given, io.env, saved);

  const apiBaseUrl = gorgiasBaseUrl(answers.domain);
  let baseUrl: string | undefined;
  if (answers.baseUrl) {
    const check = checkBaseUrl(answers.baseUrl);
    for (const w of check.warnings) io.err(`warning: ${w}`);
    baseUrl = check.url;
  }

  const checked = opts.verify === false ? undefined : await verify(answers, io);
  await writeConfig({ domain: answers.domain, username: answers.username, apiKey: answers.apiKey, baseUrl }, io.env);

  const path = configFile(io.env);
  if (opts.json) {
    printJson(io, {
      domain: answers.domain,
      username: answers.username,
      api_key: maskSecret(answers.apiKey),
      api_base_url: apiBaseUrl,
      base_url: baseUrl ?? saved.baseUrl ?? null,
      verified: Boolean(checked),
      account: checked ? { domain: checked.account.domain, status: checked.account.status } : null,
      user: checked ? { id: checked.user.id, email: checked.user.email, name: checked.user.name } : null,
      config_file: path,
    });
    return;
  }
  const c = paint(io);
  const lines: string[] = [];
  if (checked) {
    const who = checked.user.name ? `${checked.user.name} <${checked.user.email}>` : checked.user.email;
    lines.push(`Connected to Gorgias account ${c.bold(checked.account.domain)} as ${c.bold(who)}.`);
  } else {
    lines.push(`Not checked (--no-verify): ${apiBaseUrl} as ${answers.username}.`);
  }
  lines.push(`Saved to ${path} (API key ${maskSecret(answers.apiKey)}).`);
  lines.push('', 'Next steps:');
  lines.push(`  ${c.cyan('livechat webhook-url')}    print the URL to paste into a Gorgias HTTP integration`);
  lines.push(`  ${c.cyan('livechat macro create')}   create the agents' sign-off macro`);
  io.out(lines.join('\n'));
}
