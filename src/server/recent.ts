// The last webhooks the bridge took, ids and outcome only (never the text), in a small ring in
// memory: `GET /v1/webhooks/recent[?message_id=N]` behind the channel secret, so that
// `livechat doctor --roundtrip` can see its test message arrive.
import type { AgentWebhook } from '../session/types.js';

export const RECENT_WEBHOOKS_PATH = '/v1/webhooks/recent';
export const RECENT_WEBHOOKS_KEPT = 100;

export interface RecentWebhook {
  received_at: string;
  conversation_id: string | null;
  ticket_id: number | null;
  message_id: string | null;
  event_id: string | null;
  outcome: string;
}

export interface RecentWebhooks {
  record(event: AgentWebhook, outcome: string, at: number): void;
  /** Oldest first; only those of one message when `messageId` is given. */
  list(messageId?: string): RecentWebhook[];
}

export function recentWebhooks(kept = RECENT_WEBHOOKS_KEPT): RecentWebhooks {
  // The time is formatted only when listed: recording runs on every webhook.
  const ring: Array<Omit<RecentWebhook, 'received_at'> & { at: number }> = [];
  return {
    record(event, outcome, at) {
      ring.push({
        at,
        conversation_id: event.conversationId ?? null,
        ticket_id: event.ticketId ?? null,
        message_id: event.messageId ?? null,
        event_id: event.eventId ?? null,
        outcome,
      });
      if (ring.length > kept) ring.shift();
    },
    list: (messageId) =>
      (messageId === undefined ? ring : ring.filter((w) => w.message_id === messageId)).map(({ at, ...w }) => ({
        received_at: new Date(at).toISOString(),
        ...w,
      })),
  };
}

/** The `message_id` filter of a query string, if any (a number, as Gorgias ids are). */
export function messageIdFilter(query: string): string | undefined | Error {
  const v = new URLSearchParams(query).get('message_id');
  if (v === null || v === '') return undefined;
  return /^\d{1,15}$/.test(v) ? v : new Error('message_id must be a number');
}
