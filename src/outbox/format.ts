// What the deliver URL receives: one JSON object per delivery. Pure.
import { SESSION_END } from '../protocol.js';
import type { QueuedDelivery } from '../session/store.js';
import type { Button } from '../session/types.js';

export interface UserMessageBody {
  id: string;
  type: 'user.message';
  conversation_id: string;
  text: string;
  buttons?: Button[];
  /** Said by the bridge itself (Gorgias could not be reached), not by an agent. */
  notice?: true;
  created_at: string;
}

export interface BotEventBody {
  id: string;
  type: 'bot.event';
  conversation_id: string;
  /** LIVECHAT_SESSION_END, LIVECHAT_SESSION_EXPIRED or LIVECHAT_SESSION_FAILED. */
  event: string;
  created_at: string;
}

/** For the bot, when the bridge is not told that the caller routes the user's words itself. */
export interface BotInputBody {
  id: string;
  type: 'bot.message' | 'bot.payload';
  conversation_id: string;
  text?: string;
  payload?: string;
  created_at: string;
}

export type DeliveryBody = UserMessageBody | BotEventBody | BotInputBody;

export function deliveryBody(d: QueuedDelivery): DeliveryBody {
  const base = { id: d.id, conversation_id: d.conversationId, created_at: new Date(d.createdAt).toISOString() };
  if (d.user) {
    return {
      id: d.id,
      type: 'user.message',
      conversation_id: d.conversationId,
      text: d.user.text,
      ...(d.user.buttons?.length ? { buttons: d.user.buttons } : {}),
      ...(d.user.notice ? { notice: true as const } : {}),
      created_at: base.created_at,
    };
  }
  const bot = d.bot!;
  if (bot.kind === 'event') return { ...base, type: 'bot.event', event: bot.event };
  if (bot.kind === 'payload' && bot.payload === SESSION_END) return { ...base, type: 'bot.event', event: SESSION_END };
  if (bot.kind === 'payload') return { ...base, type: 'bot.payload', payload: bot.payload };
  return { ...base, type: 'bot.message', text: bot.text };
}
