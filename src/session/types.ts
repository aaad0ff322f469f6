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
  /** The message's channel (`internal-note` for an agent's note, which never reaches the user). */
  channel?: string;
  /**
   * Set by the receiver when the webhook alone cannot be trusted: the message's channel is not
   * given (`channel`), or its text came from the URL and may have been cut (`text`). The bridge then
   * reads the message from the API before it shows anything.
   */
  verify?: 'channel' | 'text';
}

/** `note`: an agent's internal note, never shown to the user. `pending`: recorded, shown once the message is read back. */
export type WebhookOutcome = 'delivered' | 'duplicate' | 'echo' | 'unknown' | 'closed' | 'late' | 'note' | 'pending';

/** The channel of an agent's internal note in Gorgias: agents see it, the customer never does. */
export const INTERNAL_NOTE_CHANNEL = 'internal-note';

/** An agent-side message read back from the helpdesk (catch-up, issue 7). */
export interface HelpdeskMessage {
  id: number;
  text: string;
  fromAgent: boolean;
  createdAt: number;
  /** `internal-note` for notes (never shown to the user). */
  channel?: string;
  /** Set by account-wide listings (`listRecentMessages`). */
  ticketId?: number;
}

/** Where a call waits when the key's call budget is short: the user waits on the first, nobody on the last. */
export type { CallPriority } from '../budget/budget.js';

/** Why the bridge closes the ticket: the user left, the session expired, or Gorgias failed it. */
export type EndReason = 'ended' | 'expired' | 'failed';
