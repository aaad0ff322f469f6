// What `livechat doctor` prints: one line per check, one JSON object, or a JUnit XML report that
// CI systems show natively. Pure; secrets are removed by the caller, after rendering.
import type { ChalkInstance } from 'chalk';
import type { Check, CheckStatus } from './checks.js';

export const MARK: Record<CheckStatus, string> = { pass: '✓', fail: '✗', warn: '!', skip: '-' };

const TITLE_WIDTH = 'integration'.length;

export function checkLine(c: Check, paint?: ChalkInstance): string {
  const colour = { pass: paint?.green, fail: paint?.red, warn: paint?.yellow, skip: paint?.dim }[c.status] ?? ((s: string) => s);
  const fix = c.fix && (c.status === 'fail' || c.status === 'warn') ? `; fix: ${c.fix}` : '';
  return `${colour(MARK[c.status])} ${c.name.padEnd(TITLE_WIDTH)}  ${c.message}${fix}`;
}

export interface Tally {
  ok: boolean;
  passed: number;
  warnings: number;
  failed: number;
  skipped: number;
}

export function tally(checks: Check[]): Tally {
  const n = (s: CheckStatus) => checks.filter((c) => c.status === s).length;
  return { ok: n('fail') === 0, passed: n('pass'), warnings: n('warn'), failed: n('fail'), skipped: n('skip') };
}

export function jsonReport(checks: Check[]): Record<string, unknown> {
  return {
    ...tally(checks),
    // The facts beside the verdict, which wins a clash of names.
    checks: checks.map((c) => ({ ...(c.details ?? {}), name: c.name, status: c.status, message: c.message, fix: c.fix ?? null, ms: c.ms ?? null })),
  };
}

/** Text as XML character data or attribute value: escaped, and without the characters XML 1.0 forbids. */
export function xmlText(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const seconds = (ms: number | undefined) => ((ms ?? 0) / 1000).toFixed(3);

/** One `<testsuite>`, a `<testcase>` per check: a failure is `<failure>`, a skip `<skipped>`, a warning passes with its text in `<system-out>`. */
export function junitReport(checks: Check[], options: { timestamp: string; hostname?: string }): string {
  const t = tally(checks);
  const total = checks.reduce((ms, c) => ms + (c.ms ?? 0), 0);
  const attrs = (o: Record<string, string | number>) =>
    Object.entries(o)
      .map(([k, v]) => ` ${k}="${xmlText(String(v))}"`)
      .join('');
  const suite = { name: 'livechat doctor', tests: checks.length, failures: t.failed, errors: 0, skipped: t.skipped, time: seconds(total) };
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs(suite)}>`,
    `  <testsuite${attrs({ ...suite, timestamp: options.timestamp, ...(options.hostname ? { hostname: options.hostname } : {}) })}>`,
  ];
  for (const c of checks) {
    const head = `    <testcase${attrs({ classname: 'livechat.doctor', name: c.name, time: seconds(c.ms) })}`;
    const said = c.fix ? `${c.message}\nfix: ${c.fix}` : c.message;
    if (c.status === 'fail') {
      lines.push(`${head}>`, `      <failure${attrs({ message: c.message, type: c.name })}>${xmlText(said)}</failure>`, '    </testcase>');
    } else if (c.status === 'skip') {
      lines.push(`${head}>`, `      <skipped${attrs({ message: c.message })}/>`, '    </testcase>');
    } else {
      lines.push(`${head}>`, `      <system-out>${xmlText(`${c.status === 'warn' ? 'warning: ' : ''}${said}`)}</system-out>`, '    </testcase>');
    }
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
