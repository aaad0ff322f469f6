// `livechat doctor`: a smoke check of the live setup, one line per check; exit 1 on any failure.
// Never prompts. With --roundtrip, Ctrl-C (or SIGTERM) stops the wait, deletes the test ticket,
// then exits 130; a second Ctrl-C leaves at once.
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { realClock } from '../clock.js';
import { LivechatError } from '../errors.js';
import { debugWanted } from '../gorgias/connect.js';
import type { Io } from '../io.js';
import { redact } from '../mask.js';
import { parseNumber } from '../numbers.js';
import { paint } from '../style.js';
import { checkLine, jsonReport, junitReport, tally } from '../doctor/report.js';
import { DEFAULT_ROUNDTRIP_TIMEOUT_MS } from '../doctor/roundtrip.js';
import { runDoctor, serveUrlOf } from '../doctor/run.js';

export interface DoctorCommandOptions {
  domain?: string;
  username?: string;
  baseUrl?: string;
  serveUrl?: string;
  roundtrip?: boolean;
  roundtripTimeout?: string;
  junit?: string;
  json?: boolean;
}

export async function doctor(opts: DoctorCommandOptions, io: Io): Promise<void> {
  const timeoutS = parseNumber(opts.roundtripTimeout ?? String(DEFAULT_ROUNDTRIP_TIMEOUT_MS / 1000), '--roundtrip-timeout', { min: 1, max: 600 });
  serveUrlOf(opts.serveUrl, io.env, undefined); // a bad --serve-url is a usage error before any check runs
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    stopListening();
    io.err('interrupted: cleaning up the test ticket (Ctrl-C again to leave it)');
  };
  const stopListening = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  // Only the round trip has something to clean up; without it, Ctrl-C leaves at once (main.ts).
  if (opts.roundtrip) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const c = paint(io);
  const secrets: string[] = [];
  const safe = (text: string) => redact(text, secrets);
  let result;
  try {
    result = await runDoctor({
      env: io.env,
      domain: opts.domain,
      username: opts.username,
      baseUrl: opts.baseUrl,
      serveUrl: opts.serveUrl,
      roundtripTimeoutMs: opts.roundtrip ? timeoutS * 1000 : undefined,
      clock: realClock,
      debug: debugWanted(io),
      interrupted: () => interrupted,
      progress: (line) => io.err(safe(line)),
      onCheck: (check) => {
        if (!opts.json) io.out(safe(checkLine(check, c)));
      },
      secrets,
    });
  } finally {
    stopListening();
  }
  const { checks } = result;
  if (opts.json) io.out(safe(JSON.stringify(jsonReport(checks), null, 2)));
  if (opts.junit) {
    try {
      writeFileSync(opts.junit, safe(junitReport(checks, { timestamp: new Date(realClock.now()).toISOString(), hostname: hostname() })));
    } catch (err) {
      throw new LivechatError(`cannot write --junit ${opts.junit} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  if (interrupted) throw new LivechatError('interrupted', { kind: 'cancelled' });
  const t = tally(checks);
  if (!t.ok) {
    const names = checks.filter((x) => x.status === 'fail').map((x) => x.name);
    throw new LivechatError(`${t.failed} of ${checks.length} checks failed: ${names.join(', ')}`, { kind: 'check_failed' });
  }
  if (!opts.json) io.err(t.warnings ? `all checks pass, ${t.warnings} with a warning` : 'all checks pass');
}
