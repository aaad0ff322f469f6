// The one error type. src/main.ts turns it into a one-line message and an exit code.

export type ErrorKind =
  | 'usage' // bad flag, missing flag with no TTY, bad argument: exit 2
  | 'config' // config file unreadable or corrupt
  | 'auth' // 401: credentials rejected
  | 'forbidden' // 403
  | 'not_found' // 404
  | 'validation' // 400 / 422
  | 'rate_limited' // 429 after the bounded retries
  | 'server' // 5xx after the bounded retries
  | 'unreachable' // DNS, refused connection, reset
  | 'timeout'
  | 'conflict' // e.g. a name that matches several macros
  | 'check_failed' // a check (webhook status, simulate) found a difference
  | 'cancelled' // Ctrl-C or a "no" at a confirmation
  | 'failure';

export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

export interface LivechatErrorOptions {
  kind?: ErrorKind;
  exitCode?: number;
  /** Extra lines shown after the message (e.g. field details, how to fix). */
  details?: string[];
  cause?: unknown;
}

export class LivechatError extends Error {
  readonly kind: ErrorKind;
  readonly exitCode: number;
  readonly details: string[];

  constructor(message: string, options: LivechatErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LivechatError';
    this.kind = options.kind ?? 'failure';
    this.exitCode = options.exitCode ?? (this.kind === 'usage' ? EXIT.usage : this.kind === 'cancelled' ? EXIT.interrupted : EXIT.failure);
    this.details = options.details ?? [];
  }
}

export function usageError(message: string, details: string[] = []): LivechatError {
  return new LivechatError(message, { kind: 'usage', details });
}

/** A value is missing and we may not prompt for it: name the flag and the variable. */
export function missingValue(flag: string, envVar?: string, details: string[] = []): LivechatError {
  return usageError(`missing ${flag}${envVar ? ` (or ${envVar})` : ''}`, details);
}

/** A server that could not listen: a taken port or a bad interface is the caller's to fix (exit 2). */
export function listenError(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE') return usageError(`port ${port} on ${host} is already in use (try --port 0)`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EACCES') return usageError(`cannot listen on ${host}:${port}: ${code}`);
  return err;
}
