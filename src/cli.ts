// Wires commander. Each action imports its command module only when it runs, so `--help`
// loads nothing but commander.
import { Command, Option, type OptionValues } from '@commander-js/extra-typings';
import { createRequire } from 'node:module';
import { processIo, type Io } from './io.js';

/** Set by the bundler (scripts/build.js) in the shipped CLI; read from package.json when run from the modules. */
declare const LIVECHAT_VERSION: string | undefined;
const version =
  typeof LIVECHAT_VERSION === 'string' ? LIVECHAT_VERSION : (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** Connection flags shared by every command that talks to Gorgias. */
function withGorgias<Args extends unknown[], Opts extends OptionValues, Globals extends OptionValues>(cmd: Command<Args, Opts, Globals>) {
  return cmd
    .option('--domain <domain>', 'Gorgias domain: acme, acme.gorgias.com or a full URL (env GORGIAS_DOMAIN)')
    .option('--username <email>', 'Gorgias user email (env GORGIAS_USERNAME)');
}

/** The whole CLI; `io` is where its output goes (tests run commands in process with their own). */
export function buildProgram(io: Io = processIo()): Command {
  const program = new Command();
  program
    .name('livechat')
    .description('Hand chatbot users over to a human agent on Gorgias, and back.')
    .version(version, '-v, --version', 'print the version')
    .option('--debug', 'show stack traces and request details (never the API key)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (str) => io.out(str),
      writeErr: (str) => io.err(str),
      outputError: (str, write) => write(str),
      // As commander's own default (80 off a terminal), but asking the injected Io whether there is one.
      getOutHelpWidth: () => (io.stdoutIsTTY ? process.stdout.columns : 80),
      getErrHelpWidth: () => (io.stderrIsTTY ? process.stderr.columns : 80),
    });

  const setup = program.command('setup').description('configure livechat');
  withGorgias(
    setup
      .command('gorgias')
      .description('ask for, check and save the Gorgias credentials')
      .option('--api-key-stdin', 'read the API key from standard input')
      .option('--api-key <key>', 'the API key (visible to other users in the process list; prefer GORGIAS_API_KEY)')
      .option('--base-url <url>', 'public URL of your webhook receiver (env LIVECHAT_BASE_URL)')
      .option('--no-verify', 'save without checking the credentials against Gorgias')
      .option('--json', 'print the result as JSON'),
  ).action(async (opts) => (await import('./commands/setup.js')).setupGorgias(opts, io));

  const config = program.command('config').description('show or change the saved configuration');
  config
    .command('show')
    .description('print the configuration, with the API key and the webhook token masked')
    .option('--show-secrets', 'print the API key and the webhook token in clear')
    .option('--json', 'print as JSON')
    .action(async (opts) => (await import('./commands/config.js')).configShow(opts, io));
  config
    .command('path')
    .description('print where the configuration file is')
    .option('--json', 'print {config_file, exists} as JSON')
    .action(async (opts) => (await import('./commands/config.js')).configPath(opts, io));
  config
    .command('set')
    .description('set one value: domain, username or base-url')
    .argument('<key>', 'domain | username | base-url')
    .argument('<value>', 'the new value')
    .option('--json', 'print {action, key, value, config_file} as JSON')
    .action(async (key, value, opts) => (await import('./commands/config.js')).configSet(key, value, opts, io));

  program
    .command('webhook-url')
    .description('print the URL template to paste into a Gorgias HTTP integration')
    .option('--base-url <url>', 'public URL of your webhook receiver (env LIVECHAT_BASE_URL)')
    .option('--rotate-token', 'replace the secret token (the integration must then be updated)')
    .option('--show-secrets', 'print the token in clear (it is masked otherwise)')
    .option('--json', 'print {action, url, base_url, event, variables} as JSON')
    .action(async (opts) => (await import('./commands/webhook-url.js')).webhookUrl(opts, io));

  const webhook = program.command('webhook').description('create or check the Gorgias HTTP integration');
  withGorgias(
    webhook
      .command('install')
      .description('create or update the HTTP integration through the API')
      .option('--base-url <url>', 'public URL of your webhook receiver (env LIVECHAT_BASE_URL)')
      .option('-y, --yes', 'update a mismatching integration without asking')
      .option('--json', 'print {action, integration} as JSON, the token masked'),
  ).action(async (opts) => (await import('./commands/webhook.js')).webhookInstall(opts, io));
  withGorgias(
    webhook
      .command('status')
      .description('check the HTTP integration against the config (exit 1 on any difference)')
      .option('--base-url <url>', 'public URL of your webhook receiver (env LIVECHAT_BASE_URL)')
      .option('--json', 'print the check as JSON'),
  ).action(async (opts) => (await import('./commands/webhook.js')).webhookStatus(opts, io));

  const macro = program.command('macro').description("manage the agents' sign-off macro");
  withGorgias(
    macro
      .command('create')
      .description('create the sign-off macro (idempotent)')
      .option('--name <name>', 'macro name', 'End livechat')
      .option('--text <text>', 'reply text; LIVECHAT_SESSION_END is added if missing')
      .option('--update', 'make an existing sign-off macro match --name and --text')
      .option('--json', 'print {action, differs, macro} as JSON'),
  ).action(async (opts) => (await import('./commands/macro.js')).macroCreate(opts, io));
  withGorgias(
    macro
      .command('list')
      .description('list the sign-off macros')
      .option('--all', 'list every macro, not only the sign-off ones')
      .option('--json', 'print as a JSON array'),
  ).action(async (opts) => (await import('./commands/macro.js')).macroList(opts, io));
  withGorgias(
    macro.command('show').description('show one macro').argument('<id|name>', 'macro id or exact name').option('--json', 'print as JSON'),
  ).action(async (ref, opts) => (await import('./commands/macro.js')).macroShow(ref, opts, io));
  withGorgias(
    macro
      .command('delete')
      .description('delete one macro')
      .argument('<id|name>', 'macro id or exact name')
      .option('-y, --yes', 'do not ask for confirmation')
      .option('--json', 'print the deleted macro as JSON'),
  ).action(async (ref, opts) => (await import('./commands/macro.js')).macroDelete(ref, opts, io));

  withGorgias(
    program
      .command('serve')
      .description('run the hand-off bridge: webhook receiver, session engine and channel API, state in SQLite or Redis')
      .option('--port <port>', 'port to listen on (env PORT; default 8080; 0 picks a free one)')
      .option('--host <host>', 'interface to bind', '127.0.0.1')
      .option('--data <file>', 'SQLite data file (env LIVECHAT_DATA; default $XDG_DATA_HOME/livechat/livechat.db)')
      .option('--store <url>', 'share state with other serve processes on Redis: redis://[:password@]host:port/db (env LIVECHAT_STORE)')
      .option('--instance <name>', "this process's name in claims, logs and metrics (env LIVECHAT_INSTANCE; default hostname-pid)")
      .option('--lease <seconds>', "with --store: a dead process's work is taken over this long after its last renewal", '30')
      .option('--deliver-url <url>', 'where deliveries for the user and the bot are POSTed (env LIVECHAT_DELIVER_URL)')
      .option('--timeout <minutes>', 'inactivity timeout of a session, in minutes', '30')
      .option('--retention <days>', 'forget conversations idle for this long', '30')
      .option('--log-format <format>', 'json (one line per event) or pretty (default: pretty on a terminal, else json)')
      .option('--call-budget <percent>', "share of the key's Gorgias call limit the bridge uses (env LIVECHAT_CALL_BUDGET; default 80)")
      .option('--call-limit <n>', 'calls Gorgias allows per window for the key (env LIVECHAT_CALL_LIMIT; default 40)')
      .option('--call-window <seconds>', 'the call limit window (env LIVECHAT_CALL_WINDOW; default 20)')
      .option('--print-secret', 'print the channel secret (created if missing) and exit')
      .option('--json', 'print where it listens as one JSON line on stdout'),
  ).action(async (opts) => (await import('./commands/serve.js')).serve(opts, io));

  withGorgias(
    program
      .command('doctor')
      .description('check the live setup: config, credentials, integration, macro, receiver, serve (exit 1 on any failure)')
      .option('--base-url <url>', 'public URL of your webhook receiver (env LIVECHAT_BASE_URL)')
      .option('--serve-url <url>', "where `livechat serve` answers (env LIVECHAT_SERVE_URL; default: the base URL's origin)")
      .option('--roundtrip', 'also send a test message through Gorgias and wait for its webhook at serve')
      .option('--roundtrip-timeout <seconds>', 'how long the round trip waits for the webhook', '30')
      .option('--junit <file>', 'also write the checks as a JUnit XML report')
      .option('--json', 'print {ok, passed, warnings, failed, skipped, checks} as JSON'),
  ).action(async (opts) => (await import('./commands/doctor.js')).doctor(opts, io));

  program
    .command('emulator')
    .description('run a local Gorgias API emulator for your own bot and tests')
    .option('--port <port>', 'port to listen on (0 picks a free one)', '8787')
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--email <email>', 'the account email to accept', 'agent@example.com')
    .option('--api-key <key>', 'the API key to accept (default: a generated one, printed once)')
    .option('--rate-limit <n>', 'calls allowed per window and key (off or 0: no limit)', '40')
    .option('--rate-window <seconds>', 'rate-limit window in seconds', '20')
    .option('--json', 'print the connection details as one JSON line')
    .action(async (opts) => (await import('./commands/emulator.js')).emulator(opts, io));

  program
    .command('playground')
    .description('play a hand-off in the browser: a chat as the user, an agent desk as Gorgias, a fast-forward')
    .option('--port <port>', 'port to listen on (0 picks a free one)', '8788')
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--timeout <minutes>', 'inactivity timeout of a session, in minutes', '30')
    .option('--json', 'print the URLs and the emulator credentials as one JSON line')
    .action(async (opts) => (await import('./commands/playground.js')).playground(opts, io));

  program
    .command('simulate')
    .description('play the whole handoff lifecycle locally, fast-forwarded (no Gorgias account needed)')
    .addOption(new Option('--scenario <name|file>', 'handoff, expiry, restart, all, or a scenario JSON file').default('all'))
    .option('--store <kind>', 'where the bridge keeps its state: memory or sqlite (default: memory; sqlite when the bridge restarts)')
    .option('--timeout <minutes>', 'inactivity timeout in minutes', '30')
    .option('--faults', 'turn on fault injection: 500s, 429 storms, dropped/duplicated/delayed webhooks')
    .option('--sessions <n>', 'load mode: run N conversations through the whole lifecycle')
    .option('--concurrency <n>', 'load mode: conversations in flight at once', '50')
    .option('--rate-limit <n>', "Gorgias's calls per 20 s, on the simulated clock; the bridge uses 80% (default 40; off: no limit)")
    .option('--seed <n>', 'seed for fault injection')
    .option('--format <format>', 'text, json (one JSON object per line, then a summary line) or mermaid (a sequence diagram)')
    .option('--json', 'the same as --format json')
    .option('--report <file.html>', 'also write the run as a self-contained HTML sequence diagram')
    .action(async (opts) => (await import('./commands/simulate.js')).simulate(opts, io));

  return program;
}

export async function run(argv: string[], io: Io = processIo()): Promise<void> {
  await buildProgram(io).parseAsync(argv, { from: 'user' });
}
