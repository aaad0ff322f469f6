// Shapes shared by the session engine, the webhook receiver and the simulator.

/** Whatever the channel knows about the user; passed to Gorgias on the hand-off. */
export interface UserMeta {
  name?: string;
  email?: string;
  channel?: string;
  [k: string]: unknown;
}

export interface Turn {
  from: 'user' | 'bot';
  text: string;
}

export interface Button {
  title: string;
  payload: string;
}

export interface UserOutput {
  text: string;
  buttons?: Button[];
  /** Said by the bridge itself (e.g. Gorgias is unreachable), not an agent message. */
  notice?: boolean;
}

/** What the bridge sends the bot: the user's words while no session is open, and lifecycle events. */
export type BotInput =
  | { kind: 'message'; text: string }
  | { kind: 'payload'; payload: string }
  | { kind: 'event'; event: 'LIVECHAT_SESSION_EXPIRED' | 'LIVECHAT_SESSION_FAILED' };

/** One agent webhook, as the receiver parsed it (see src/webhook/template.ts for the params). */
export interface AgentWebhook {
  /** `external_id` = our conversation id. */
  conversationId?: string;
  ticketId?: number;
  eventType?: string;
  eventId?: string;
  messageId?: string;
  text: string;
  fromAgent: boolean;
}

export type WebhookOutcome = 'delivered' | 'duplicate' | 'echo' | 'unknown' | 'closed' | 'late';

/** An agent-side message read back from the helpdesk (catch-up, issue 7). */
export interface HelpdeskMessage {
  id: number;
  text: string;
  fromAgent: boolean;
  createdAt: number;
}

/** Why the bridge closes the ticket: the user left, the session expired, or Gorgias failed it. */
export type EndReason = 'ended' | 'expired' | 'failed';
