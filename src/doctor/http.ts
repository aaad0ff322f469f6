// Doctor's own HTTP calls, to the receiver and to `serve`: one try each, bounded, never thrown.
import { request } from 'undici';
import { isTimeout, networkCode } from '../gorgias/errors.js';
import type { ProbeResult } from './checks.js';

/** Each probe gets this long, headers and body. */
export const PROBE_TIMEOUT_MS = 10_000;

export interface ProbeRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

/** The status, and the body when it is JSON; `bridge` when it is the receiver's `{ok: true, outcome}`. */
export async function probe(r: ProbeRequest): Promise<ProbeResult> {
  const timeoutMs = r.timeoutMs ?? PROBE_TIMEOUT_MS;
  try {
    const res = await request(r.url, {
      method: r.method,
      headers: { 'user-agent': 'livechat-doctor', ...r.headers },
      body: r.body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.body.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    const b = body as { ok?: unknown; outcome?: unknown } | undefined;
    return { status: res.statusCode, bridge: b?.ok === true && typeof b.outcome === 'string', body };
  } catch (err) {
    return { error: isTimeout(err) ? `no answer within ${timeoutMs / 1000} s` : networkCode(err) };
  }
}
