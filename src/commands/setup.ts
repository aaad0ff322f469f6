// `livechat setup gorgias`: ask for (or take) the credentials, check them, then save them.
import { configFile } from '../config/paths.js';
import { resolveCredentials } from '../config/resolve.js';
import { readConfig, updateConfig, type StoredConfig } from '../config/store.js';
import { LivechatError, missingValue, usageError, type ErrorKind } from '../errors.js';
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

type Credentials = Omit<Answers, 'baseUrl'>;

/** On a TTY: ask for the credentials no flag gave, prefilled from the last try, the environment and the saved file. */
async function promptCredentials(given: Partial<Answers>, defaults: Partial<Credentials>): Promise<Credentials> {
  const { input, password } = await import('@inquirer/prompts');
  const domain =
    given.domain ||
    (await input({
      message: 'Gorgias domain (acme for acme.gorgias.com):',
      default: defaults.domain,
      required: true,
      validate: validDomain,
    }));
  const username =
    given.username ||
    (await input({
      message: 'Gorgias username (your email):',
      default: defaults.username,
      required: true,
    }));
  let apiKey = given.apiKey;
  if (!apiKey) {
    const kept = defaults.apiKey;
    const typed = await password({
      message: kept ? `Gorgias API key (Enter keeps ${maskSecret(kept)}):` : 'Gorgias API key (Settings > REST API):',
      mask: '*',
      validate: (v) => (v.trim() || kept ? true : 'the API key is required'),
    });
    apiKey = typed.trim() || kept!;
  }
  return { domain: domain.trim(), username: username.trim(), apiKey };
}

/** On a TTY, after the credentials were checked: the receiver URL, unless a flag gave it. */
async function promptBaseUrl(given: Partial<Answers>, env: NodeJS.ProcessEnv, saved: StoredConfig): Promise<string | undefined> {
  if (given.baseUrl) return given.baseUrl;
  const { input } = await import('@inquirer/prompts');
  const typed = await input({
    message: 'Public URL of your webhook receiver (optional, Enter to skip):',
    default: env.LIVECHAT_BASE_URL || saved.baseUrl,
    validate: validBaseUrl,
  });
  return typed.trim() || undefined;
}

/** How many times a person may get the credentials wrong before setup gives up. */
const PROMPT_TRIES = 3;
/** Failed checks that another answer can fix (a typo in the domain, the username or the key). */
const ANSWER_CAN_FIX = new Set<ErrorKind>(['auth', 'forbidden', 'not_found', 'unreachable', 'timeout']);

async function verify(answers: Credentials, io: Io): Promise<{ account: Account; user: User }> {
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
  const saved = readConfig(io.env, (line) => io.err(line)); // a corrupt file stops here, untouched
  if (opts.apiKey && opts.apiKeyStdin) throw usageError('use either --api-key or --api-key-stdin, not both');
  if (opts.apiKey) io.err(ARGV_WARNING);
  const given: Partial<Answers> = {
    domain: opts.domain?.trim() || undefined,
    username: opts.username?.trim() || undefined,
    apiKey: opts.apiKey?.trim() || (opts.apiKeyStdin ? await readKeyFromStdin(io.stdin) : undefined),
    baseUrl: opts.baseUrl?.trim() || undefined,
  };
  if (given.domain) gorgiasBaseUrl(given.domain); // a bad --domain fails before any prompt
  // stdin carries the key with --api-key-stdin, so no prompts then.
  const interactive = canPrompt(io) && !opts.apiKeyStdin;
  const check = opts.verify !== false;
  let answers: Answers;
  let checked: { account: Account; user: User } | undefined;
  if (interactive) {
    // The credentials are checked before anything else is asked; a wrong answer is asked again,
    // with the other answers kept as the defaults.
    const promptsSomething = !given.domain || !given.username || !given.apiKey;
    let defaults: Partial<Credentials> = {
      domain: io.env.GORGIAS_DOMAIN || saved.domain,
      username: io.env.GORGIAS_USERNAME || saved.username,
      apiKey: io.env.GORGIAS_API_KEY || saved.apiKey,
    };
    let credentials: Credentials;
    for (let attempt = 1; ; attempt++) {
      credentials = await promptCredentials(given, defaults);
      if (!check) break;
      try {
        checked = await verify(credentials, io);
        break;
      } catch (err) {
        if (!(err instanceof LivechatError && ANSWER_CAN_FIX.has(err.kind)) || !promptsSomething || attempt >= PROMPT_TRIES) throw err;
        io.err(`error: ${err.message}`);
        for (const d of err.details) io.err(`  ${d}`);
        io.err('Try again (Enter keeps an answer):');
        defaults = credentials;
      }
    }
    answers = { ...credentials, baseUrl: await promptBaseUrl(given, io.env, saved) };
  } else {
    answers = answersWithoutPrompt(given, io.env, saved);
  }

  const apiBaseUrl = gorgiasBaseUrl(answers.domain);
  let baseUrl: string | undefined;
  if (answers.baseUrl) {
    const url = checkBaseUrl(answers.baseUrl);
    for (const w of url.warnings) io.err(`warning: ${w}`);
    baseUrl = url.url;
  }

  if (check && !checked) checked = await verify(answers, io);
  const { action, after } = await updateConfig(
    () => ({ domain: answers.domain, username: answers.username, apiKey: answers.apiKey, baseUrl }),
    io.env,
    (line) => io.err(line),
  );

  const path = configFile(io.env);
  if (opts.json) {
    printJson(io, {
      action,
      domain: answers.domain,
      username: answers.username,
      api_key: maskSecret(answers.apiKey),
      api_base_url: apiBaseUrl,
      base_url: after.baseUrl ?? null,
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
  if (!after.baseUrl && !io.env.LIVECHAT_BASE_URL) {
    lines.push(`  ${c.cyan('livechat config set base-url URL')}  the public URL of your webhook receiver (needed by the next two)`);
  }
  lines.push(`  ${c.cyan('livechat webhook install')}          create the Gorgias HTTP integration that calls your receiver`);
  lines.push(`  ${c.cyan('livechat webhook-url')}              or print its URL, to paste into Gorgias by hand`);
  lines.push(`  ${c.cyan('livechat macro create')}             create the agents' sign-off macro`);
  io.out(lines.join('\n'));
}
