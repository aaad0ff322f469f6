// The HelpdeskPort on the Gorgias client: what a hand-off, a user message and an end look like as
// Gorgias API calls. The client is a type import only, so loading this module loads no undici.
import { createHash } from 'node:crypto';
import { realClock, type Clock } from '../clock.js';
import type { GorgiasClient } from '../gorgias/client.js';
import type { NewMessage, NewTicket, Ticket, TicketMessage } from '../gorgias/types.js';
import type { HelpdeskPort } from '../session/manager.js';
import { INTERNAL_NOTE_CHANNEL, type CallPriority, type EndReason, type HelpdeskMessage, type Turn, type UserMeta } from '../session/types.js';
import { escapeHtml, textToHtml } from '../html.js';

/** The part of the client the port uses (the real client satisfies it; tests may pass a smaller one). */
export type HelpdeskClient = Pick<
  GorgiasClient,
  'username' | 'createTicket' | 'listTickets' | 'updateTicket' | 'createMessage' | 'listMessages' | 'getMessage'
> &
  Partial<Pick<GorgiasClient, 'listRecentMessages' | 'ready'>> & {
    /** The client with its calls at a priority in the key's call budget (the real client has it). */
    at?(priority: CallPriority): HelpdeskClient;
  };

// ---- [guess]es about the real Gorgias API, kept together -------------------------------------
/** [guess] A customer needs an address; users without email get one under a reserved domain we control. */
export const PLACEHOLDER_EMAIL_DOMAIN = 'users.livechat.invalid';
/** [guess] `chat` is the channel agents expect for a live conversation; `api` is how it came in. */
const CHANNEL = 'chat';
const VIA = 'api';
/** [sure] Closing is `PUT /tickets/{id}` with `{status: "closed"}`, and nothing else: `tags` there would replace them all. */
const CLOSED = { status: 'closed' } as const;
/**
 * [likely] A ticket created a moment ago may not show up in an external_id lookup yet. So a retry
 * of a create that got no answer looks, waits this long, and looks again before it creates.
 * [guess] the length of the lag.
 */
export const DEFAULT_RELOOK_MS = 2_000;
const MAX_REMEMBERED = 1_000;
// ------------------------------------------------------------------------------------------------

export const LIVECHAT_TAG = 'livechat';

export interface GorgiasHelpdeskOptions {
  /** Tag put on hand-off tickets. */
  tag?: string;
  placeholderDomain?: string;
  /** For the expiry note ("after 30 minutes without messages"). */
  timeoutMs?: number;
  /** The wait between the two lookups of a retried hand-off (DEFAULT_RELOOK_MS); 0: look once. */
  relookMs?: number;
  /** What that wait runs on. Default: the real clock. */
  clock?: Clock;
}

/** A stable address for a user with no email. */
export function placeholderEmail(key: string, domain = PLACEHOLDER_EMAIL_DOMAIN): string {
  const slug = key
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 40);
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return `${slug ? `${slug}.` : ''}${hash}@${domain}`;
}

/** Who the customer is on Gorgias: their email, or an external id plus a placeholder address. */
export function customerFor(user: UserMeta, conversationId: string, domain = PLACEHOLDER_EMAIL_DOMAIN): NewTicket['customer'] {
  const name = str(user.name);
  const email = str(user.email);
  if (email) return { email, ...(name ? { name } : {}) };
  const externalId = str(user.id) ?? str(user.userId) ?? conversationId;
  return { email: placeholderEmail(externalId, domain), external_id: externalId, ...(name ? { name } : {}) };
}

function metaLines(user: UserMeta): string[] {
  return Object.entries(user)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
}

/** The first message of a hand-off: who asked, who they are, and the recent turns with the bot. */
export function handoffBody(text: string, user: UserMeta, history: Turn[]): { body_text: string; body_html: string } {
  const details = metaLines(user);
  const turns = history.map((t) => `${t.from === 'user' ? 'User' : 'Bot'}: ${t.text}`);
  const parts = [text];
  if (details.length) parts.push(['About the user:', ...details.map((d) => `- ${d}`)].join('\n'));
  if (turns.length) parts.push(['Recent conversation with the bot:', ...turns].join('\n'));
  const body_text = parts.join('\n\n');
  let body_html = `<p>${escapeHtml(text)}</p>`;
  if (details.length) body_html += `<p>About the user:</p><ul>${details.map((d) => `<li>${escapeHtml(d)}</li>`).join('')}</ul>`;
  if (turns.length) {
    body_html += `<p>Recent conversation with the bot:</p><ul>${history
      .map((t) => `<li><b>${t.from === 'user' ? 'User' : 'Bot'}:</b> ${escapeHtml(t.text).replace(/\n/g, '<br>')}</li>`)
      .join('')}</ul>`;
  }
  return { body_text, body_html };
}

export function endNote(reason: EndReason, timeoutMs?: number): string {
  if (reason === 'ended') return 'The user ended the chat.';
  if (reason === 'failed') return "The chat stopped: Gorgias could not be reached to pass on the user's messages; the user is back with the bot.";
  const minutes = timeoutMs === undefined ? undefined : Math.round(timeoutMs / 60_000);
  return `The chat expired${minutes === undefined ? '' : ` after ${minutes} minute${minutes === 1 ? '' : 's'}`} without messages; the user is back with the bot.`;
}

/** The ticket that opens a hand-off (reference: "Ticket with its first message"). */
export function handoffTicket(
  input: { conversationId: string; user: UserMeta; text: string; history: Turn[] },
  options: GorgiasHelpdeskOptions = {},
): NewTicket {
  const customer = customerFor(input.user, input.conversationId, options.placeholderDomain);
  const who = str(input.user.name) ?? str(input.user.email) ?? input.conversationId;
  return {
    external_id: input.conversationId,
    channel: CHANNEL,
    via: VIA,
    subject: `Livechat with ${who}`,
    status: 'open',
    customer,
    tags: [{ name: options.tag ?? LIVECHAT_TAG }],
    messages: [
      { channel: CHANNEL, via: VIA, from_agent: false, sender: { email: customer.email }, ...handoffBody(input.text, input.user, input.history) },
    ],
    meta: { livechat: { conversation_id: input.conversationId, metadata: input.user } },
  };
}

/** A message as the engine sees it. */
function helpdeskMessage(m: TicketMessage): HelpdeskMessage {
  return {
    id: m.id,
    text: m.body_text,
    fromAgent: m.from_agent,
    createdAt: Date.parse(m.created_datetime),
    channel: m.channel,
    ticketId: m.ticket_id,
  };
}

/** The bridge's notice for agents: an internal note from the key's user, which the customer never sees. */
export function agentNote(text: string, externalId: string, userEmail: string): NewMessage {
  return {
    channel: INTERNAL_NOTE_CHANNEL,
    via: VIA,
    from_agent: true,
    sender: { email: userEmail },
    body_text: text,
    body_html: textToHtml(text),
    external_id: externalId,
  };
}

export function gorgiasHelpdesk(client: HelpdeskClient, options: GorgiasHelpdeskOptions = {}): HelpdeskPort {
  const clock = options.clock ?? realClock;
  const relookMs = options.relookMs ?? DEFAULT_RELOOK_MS;
  // Where each call waits in the key's call budget: the user waits for hand-offs, messages and
  // read-backs; nobody waits for the end of a session.
  const interactive = client.at?.('interactive') ?? client;
  const housekeeping = client.at?.('housekeeping') ?? client;
  const at = (p: CallPriority) => client.at?.(p) ?? client;
  /** ticket -> the customer's address, so later messages are posted as them. */
  const senders = new Map<number, string>();
  /** Conversations whose last create was answered with an error: it created nothing, no need to wait. */
  const refusedCreates = new Set<string>();

  const senderFor = (ticketId: number, user: UserMeta | undefined, conversationId: string): string => {
    const email = user ? customerFor(user, conversationId, options.placeholderDomain).email : undefined;
    return email ?? senders.get(ticketId) ?? placeholderEmail(conversationId, options.placeholderDomain);
  };

  const message = (email: string, text: string, externalId?: string): NewMessage => ({
    channel: CHANNEL,
    via: VIA,
    from_agent: false,
    sender: { email },
    body_text: text,
    body_html: textToHtml(text),
    ...(externalId === undefined ? {} : { external_id: externalId }),
  });

  async function findOpenTicket(conversationId: string): Promise<Ticket | undefined> {
    // trashed=false is sent by the client; the filter may be loose [guess], so match exactly.
    for await (const t of interactive.listTickets({ external_id: conversationId, trashed: false })) {
      if (t.external_id === conversationId && t.status === 'open' && !t.trashed_datetime) return t;
    }
    return undefined;
  }

  async function findMessage(c: HelpdeskClient, ticketId: number, match: (m: TicketMessage) => boolean): Promise<TicketMessage | undefined> {
    // [sure] Nothing filters messages by external_id: scan the ticket's messages.
    for await (const m of c.listMessages(ticketId)) if (match(m)) return m;
    return undefined;
  }

  /** A retried hand-off: the ticket an earlier try may have opened, looked for twice if that try got no answer. */
  async function earlierTicket(conversationId: string): Promise<Ticket | undefined> {
    const refused = refusedCreates.delete(conversationId);
    const found = await findOpenTicket(conversationId);
    if (found || relookMs <= 0 || refused) return found;
    await clock.sleep(relookMs);
    return findOpenTicket(conversationId);
  }

  return {
    async openTicket(input) {
      const body = handoffTicket(input, options);
      const email = body.customer.email!;
      const first = body.messages[0];
      // No lookup on a first try (one call less per hand-off); a retry reuses what an earlier try opened.
      const existing = input.retry ? await earlierTicket(input.conversationId) : undefined;
      if (existing) {
        senders.set(existing.id, email);
        const mine = (m: TicketMessage) => m.body_text === first.body_text && !m.from_agent;
        // [guess] A listed ticket may not embed its messages: read them when it does not.
        const already = existing.messages ? existing.messages.find(mine) : await findMessage(interactive, existing.id, mine);
        if (already) return { ticketId: existing.id, messageId: already.id };
        const posted = await interactive.createMessage(existing.id, first);
        return { ticketId: existing.id, messageId: posted.id };
      }
      let ticket: Ticket;
      try {
        ticket = await interactive.createTicket(body);
      } catch (err) {
        // An answered error created nothing; no answer (a timeout) may have created the ticket.
        if (typeof (err as { status?: unknown }).status === 'number') {
          refusedCreates.add(input.conversationId);
          // Only hand-offs that never opened stay here: keep the set small.
          if (refusedCreates.size > MAX_REMEMBERED) refusedCreates.delete(refusedCreates.values().next().value!);
        }
        throw err;
      }
      senders.set(ticket.id, email);
      return { ticketId: ticket.id, messageId: ticket.messages?.[0]?.id };
    },

    async postUserMessage(input) {
      if (input.retry) {
        // An earlier try may have been stored after all. [guess] Gorgias keeps a message's external_id as sent.
        const found = await findMessage(interactive, input.ticketId, (m) => m.external_id === input.externalId);
        if (found) return { messageId: found.id, found: true };
      }
      const email = senderFor(input.ticketId, input.user, input.conversationId);
      senders.set(input.ticketId, email);
      const posted = await interactive.createMessage(input.ticketId, message(email, input.text, input.externalId));
      return { messageId: posted.id };
    },

    async endSession(input) {
      // Posted once: a retry looks for the note an earlier try may have stored before it posts.
      const posted = input.retry ? await findMessage(housekeeping, input.ticketId, (m) => m.external_id === input.noteExternalId) : undefined;
      if (!posted) {
        await housekeeping.createMessage(input.ticketId, agentNote(endNote(input.reason, options.timeoutMs), input.noteExternalId, client.username));
      }
      await housekeeping.updateTicket(input.ticketId, { ...CLOSED });
      senders.delete(input.ticketId);
    },

    async listMessagesSince(ticketId, afterMessageId, how = {}): Promise<HelpdeskMessage[]> {
      const out: HelpdeskMessage[] = [];
      for await (const m of at(how.priority ?? 'background').listMessages(ticketId)) {
        if (afterMessageId !== undefined && m.id <= afterMessageId) continue;
        out.push(helpdeskMessage(m));
      }
      return out.sort((a, b) => a.id - b.id);
    },

    async getMessage(ticketId, messageId) {
      const m = await interactive.getMessage(ticketId, messageId);
      return m && helpdeskMessage(m);
    },

    ...(client.ready ? { ready: (p: CallPriority) => client.ready!(p) } : {}),

    ...(client.listRecentMessages
      ? {
          async listRecentMessages(afterMessageId: number, how: { maxCalls?: number } = {}) {
            const recent = await at('background').listRecentMessages!({ afterId: afterMessageId, maxPages: how.maxCalls });
            return recent && { messages: recent.messages.map(helpdeskMessage), complete: recent.complete };
          },
        }
      : {}),
  };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() ? v.trim() : undefined;
}
