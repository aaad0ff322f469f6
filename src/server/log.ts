// The bridge's log: one JSON line per event (pino) for machines, or a readable line for people.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export type LogFormat = 'json' | 'pretty';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** `time level message key=value...`, for a terminal (or anything that is not a log pipeline). */
export function prettyLine(level: LogLevel, msg: string, fields: LogFields | undefined, at: Date, color: boolean): string {
  const tag = level === 'info' ? '' : `${level}: `;
  const extra = Object.entries(fields ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  const time = at.toISOString().slice(11, 19);
  const line = `${time} ${tag}${msg}${extra ? ` ${extra}` : ''}`;
  if (!color) return line;
  const paint = level === 'error' ? '\u001b[31m' : level === 'warn' ? '\u001b[33m' : level === 'debug' ? '\u001b[2m' : '';
  return paint ? `${paint}${line}\u001b[0m` : line;
}

export interface LoggerOptions {
  format: LogFormat;
  level?: LogLevel;
  /** Where lines go (stderr). */
  write: (line: string) => void;
  color?: boolean;
  now: () => number;
}

export async function createLogger(options: LoggerOptions): Promise<Logger> {
  const min = ORDER[options.level ?? 'info'];
  if (options.format === 'json') {
    const { pino } = await import('pino');
    const sink = { write: (line: string) => options.write(line.endsWith('\n') ? line.slice(0, -1) : line) };
    const p = pino({ level: options.level ?? 'info', base: undefined, timestamp: () => `,"time":"${new Date(options.now()).toISOString()}"` }, sink);
    return {
      debug: (msg, f) => p.debug(f ?? {}, msg),
      info: (msg, f) => p.info(f ?? {}, msg),
      warn: (msg, f) => p.warn(f ?? {}, msg),
      error: (msg, f) => p.error(f ?? {}, msg),
    };
  }
  const at = (level: LogLevel) => (msg: string, fields?: LogFields) => {
    if (ORDER[level] >= min) options.write(prettyLine(level, msg, fields, new Date(options.now()), options.color ?? false));
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
