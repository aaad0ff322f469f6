// Where output goes. Results on stdout, diagnostics on stderr; commands take an Io so tests
// and the simulator can capture it.

export interface Io {
  out(text: string): void;
  err(text: string): void;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  readonly stdinIsTTY: boolean;
  /** Colour and spinners: only on a TTY and never with NO_COLOR. */
  readonly color: boolean;
  readonly env: NodeJS.ProcessEnv;
  /** Standard input; the process's own when absent (tests hand in their own). */
  readonly stdin?: NodeJS.ReadableStream;
  /** The command line, for program-level flags such as --debug; process.argv when absent. */
  readonly argv?: readonly string[];
}

export function colorAllowed(env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return true;
  return isTTY;
}

export function processIo(): Io {
  const stdoutIsTTY = Boolean(process.stdout.isTTY);
  const stderrIsTTY = Boolean(process.stderr.isTTY);
  return {
    out: (text) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    stdoutIsTTY,
    stderrIsTTY,
    stdinIsTTY: Boolean(process.stdin.isTTY),
    color: colorAllowed(process.env, stdoutIsTTY),
    env: process.env,
    stdin: process.stdin,
  };
}

/** Interactive prompts need a terminal on both ends. */
export function canPrompt(io: Io): boolean {
  return io.stdinIsTTY && io.stdoutIsTTY;
}

export function printJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}
