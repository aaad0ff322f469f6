// The one exit handler: every error ends here as one line and an exit code.
import { EXIT, LivechatError } from './errors.js';
import type { Io } from './io.js';

interface Reported {
  lines: string[];
  exitCode: number;
}

/** Pure: turn anything thrown into what the user sees and the exit code. */
export function describeError(err: unknown, debug: boolean): Reported {
  if (err instanceof LivechatError) {
    const lines = [`error: ${err.message}`, ...err.details.map((d) => `  ${d}`)];
    if (debug && err.stack) lines.push(err.stack);
    return { lines, exitCode: err.exitCode };
  }
  const e = err as { name?: string; code?: string; exitCode?: number; message?: string; stack?: string };
  // @inquirer/prompts throws this on Ctrl-C.
  if (e?.name === 'ExitPromptError' || e?.name === 'AbortPromptError') return { lines: [], exitCode: EXIT.interrupted };
  // commander (exitOverride): help and version are not errors; it already printed its message.
  if (typeof e?.code === 'string' && e.code.startsWith('commander.')) {
    // Help asked for (exitCode 0) is fine; help shown because a subcommand is missing is a usage error.
    return { lines: [], exitCode: e.exitCode === 0 ? EXIT.ok : EXIT.usage };
  }
  const message = e?.message ? String(e.message).split('\n')[0] : String(err);
  const lines = [`error: ${message}`];
  if (debug && e?.stack) lines.push(e.stack);
  else lines.push('  (run again with --debug for details)');
  return { lines, exitCode: EXIT.failure };
}

/**
 * Run the CLI and return its exit code. With no `io` it is the real process: it takes over
 * Ctrl-C and closed pipes and sets process.exitCode. With an `io` (tests) it touches neither.
 */
export async function main(argv: string[], io?: Io): Promise<number> {
  const env = io?.env ?? process.env;
  const debug = argv.includes('--debug') || Boolean(env.LIVECHAT_DEBUG);
  if (!io) takeOverProcess();
  // A command may have set process.exitCode itself (serve, after a failed shutdown).
  let exitCode: number | undefined;
  try {
    const { run } = await import('./cli.js');
    await run(argv, io);
  } catch (err) {
    const reported = describeError(err, debug);
    const text = `${reported.lines.join('\n')}\n`;
    if (reported.lines.length) {
      if (io) io.err(text);
      else process.stderr.write(text);
    }
    exitCode = reported.exitCode;
  }
  if (exitCode === undefined) return io ? EXIT.ok : Number(process.exitCode ?? EXIT.ok);
  if (!io) process.exitCode = exitCode;
  return exitCode;
}

function takeOverProcess(): void {
  // Ctrl-C outside a prompt: leave quietly with the conventional code, unless a long-running
  // command (the emulator) has taken Ctrl-C over with its own listener.
  const onInterrupt = (): void => {
    if (process.listenerCount('SIGINT') > 1) return;
    process.stderr.write('\n');
    process.exit(EXIT.interrupted);
  };
  process.on('SIGINT', onInterrupt);
  // A closed pipe (`livechat simulate | head`) is the reader saying "enough", not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
      throw err;
    });
  }
}
