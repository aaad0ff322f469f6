// The channel API: how a bot's channel hands the bridge what the user and the bot say. JSON in and
// out, `Authorization: Bearer <channel secret>`. A call is answered only once its input is
// committed. Parsing and validation are pure; the handler in ./index.ts does the I/O.
import type { ChannelInput, Submitted } from '../session/manager.js';
import type { ConversationState } from '../session/machine.js';
import type { Timers } from '../session/store.js';
import type { UserMeta } from '../session/types.js';

export const MAX_CONVERSATION_ID = 255;
export const MAX_TEXT = 32 * 1024;

export type ChannelRoute =
  { kind: 'input'; conversationId: string; what: 'messages' | 'payloads' | 'bot-turns' } | { kind: 'read'; conversationId: string };

export class ChannelError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** `/v1/conversations/{id}[/messages|/payloads|/bot-turns]` -> the route, or undefined. */
export function channelRoute(method: string, path: string): ChannelRoute | undefined {
  const m = /^\/v1\/conversations\/([^/]+)(?:\/(messages|payloads|bot-turns))?\/?$/.exec(path);
  if (!m) return undefined;
  let id: string;
  try {
    id = decodeURIComponent(m[1]);
  } catch {
    throw new ChannelError(400, 'the conversation id is not valid percent-encoding');
  }
  if (id.length > MAX_CONVERSATION_ID || /[\u0000-\u001f\u007f]/.test(id)) {
    throw new ChannelError(400, `the conversation id must be 1 to ${MAX_CONVERSATION_ID} characters, with no control characters`);
  }
  const what = m[2] as 'messages' | 'payloads' | 'bot-turns' | undefined;
  if (what) {
    if (method !== 'POST') throw new ChannelError(405, `use POST on /v1/conversations/{id}/${what}`);
    return { kind: 'input', conversationId: id, what };
  }
  if (method !== 'GET') throw new ChannelError(405, 'use GET on /v1/conversations/{id}');
  return { kind: 'read', conversationId: id };
}

function text(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  if (typeof v !== 'string' || v.trim() === '') throw new ChannelError(400, `"${key}" must be a non-empty string`);
  if (v.length > MAX_TEXT) throw new ChannelError(413, `"${key}" is longer than ${MAX_TEXT} characters`);
  return v;
}

function user(body: Record<string, unknown>): UserMeta | undefined {
  const v = body.user;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new ChannelError(400, '"user" must be an object (name, email, channel, ...)');
  for (const k of ['name', 'email', 'channel'] as const) {
    const f = (v as Record<string, unknown>)[k];
    if (f !== undefined && f !== null && typeof f !== 'string') throw new ChannelError(400, `"user.${k}" must be a string`);
  }
  return v as UserMeta;
}

/** The JSON body of a POST as the input it carries. */
export function channelInput(what: 'messages' | 'payloads' | 'bot-turns', raw: string): ChannelInput {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new ChannelError(400, 'the body must be JSON');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ChannelError(400, 'the body must be a JSON object');
  const b = body as Record<string, unknown>;
  if (what === 'messages') return { kind: 'userText', text: text(b, 'text'), user: user(b) };
  if (what === 'payloads') return { kind: 'userPayload', payload: text(b, 'payload'), user: user(b) };
  return { kind: 'botText', text: text(b, 'text') };
}

export function submittedBody(s: Submitted): Record<string, unknown> {
  return { routed: s.routed, mode: s.mode };
}

/** GET /v1/conversations/{id}: a conversation never seen is simply with the bot. */
export function conversationView(id: string, state: ConversationState | undefined, timers: Timers | undefined): Record<string, unknown> {
  const session = state?.session;
  const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());
  return {
    conversation_id: id,
    mode: state?.mode ?? 'BOT',
    ticket_id: session?.ticketId ?? null,
    deadline: iso(session?.deadline),
    session: session
      ? {
          number: session.gen,
          started_at: iso(session.startedAt),
          last_activity_at: iso(session.lastActivity),
          agent_messages_delivered: session.delivered,
          user_messages_posted: session.posted ?? 0,
        }
      : null,
    last_session: state?.last
      ? { number: state.last.gen, ticket_id: state.last.ticketId ?? null, ended_by: state.last.endedBy, ended_at: iso(state.last.endedAt) }
      : null,
    next_timer_at: iso(timers && Object.keys(timers).length ? Math.min(...Object.values(timers)) : undefined),
  };
}
