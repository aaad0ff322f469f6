// An in-memory HelpdeskPort for unit and property tests of our own engine (the end-to-end path
// against the Gorgias emulator is in session-gorgias / session-faults). It keeps tickets and
// messages like Gorgias does (ids grow), and can fail calls in the two ways that matter:
// before anything is stored (5xx, 429) and after (a timeout once the server stored it).
import type { Clock } from '../src/clock.js';
import type { HelpdeskPort } from '../src/session/manager.js';

export interface MemoryMessage {
  id: number;
  text: string;
  fromAgent: boolean;
  externalId?: string;
  createdAt: number;
}

export interface MemoryTicket {
  id: number;
  conversationId: string;
  status: 'open' | 'closed';
  messages: MemoryMessage[];
}

export type HelpdeskCallName = 'openTicket' | 'postUserMessage' | 'findUserMessage' | 'endSession' | 'listMessagesSince';

export class HttpLikeError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly kind?: string,
  ) {
    super(message);
  }
}

export function memoryHelpdesk(clock: Pick<Clock, 'now'>) {
  let nextTicket = 1;
  let nextMessage = 1;
  const tickets = new Map<number, MemoryTicket>();
  const calls: Array<{ call: HelpdeskCallName; ticketId?: number; text?: string }> = [];
  /** Calls that fail before storing anything, answered with this status (503 by default); `hang`: calls never return. */
  const faults = { failNext: 0, failStatus: 503, storeThenTimeout: 0, only: undefined as HelpdeskCallName | undefined, hang: false };

  const addMessage = (t: MemoryTicket, text: string, fromAgent: boolean, externalId?: string): MemoryMessage => {
    const m: MemoryMessage = { id: nextMessage++, text, fromAgent, externalId, createdAt: clock.now() };
    t.messages.push(m);
    return m;
  };

  /** One call: async like HTTP, failing as the faults say. `store` runs only when the request "reached" the server. */
  async function call<T>(name: HelpdeskCallName, ticketId: number | undefined, store: () => T, text?: string): Promise<T> {
    calls.push({ call: name, ticketId, text });
    // A call made while `hang` is on never reaches Gorgias (the process that made it died).
    if (faults.hang) await new Promise<never>(() => undefined);
    await Promise.resolve();
    const applies = faults.only === undefined || faults.only === name;
    if (applies && faults.failNext > 0) {
      faults.failNext--;
      throw new HttpLikeError(`Gorgias answered ${faults.failStatus}`, faults.failStatus, faults.failStatus >= 500 ? 'server' : undefined);
    }
    const result = store();
    if (applies && faults.storeThenTimeout > 0 && name !== 'findUserMessage' && name !== 'listMessagesSince') {
      faults.storeThenTimeout--;
      throw new HttpLikeError('Gorgias did not answer within 100ms', undefined, 'timeout');
    }
    return result;
  }

  const ticket = (id: number) => {
    const t = tickets.get(id);
    if (!t) throw new HttpLikeError(`no ticket ${id}`, 404, 'not_found');
    return t;
  };

  const port: HelpdeskPort = {
    openTicket: (input) =>
      call('openTicket', undefined, () => {
        // Like gorgiasHelpdesk: the conversation's open ticket first, so a retry creates nothing twice.
        const open = [...tickets.values()].find((t) => t.conversationId === input.conversationId && t.status === 'open');
        if (open) {
          const already = open.messages.find((m) => !m.fromAgent && m.text === input.text);
          return { ticketId: open.id, messageId: (already ?? addMessage(open, input.text, false)).id };
        }
        const t: MemoryTicket = { id: nextTicket++, conversationId: input.conversationId, status: 'open', messages: [] };
        tickets.set(t.id, t);
        return { ticketId: t.id, messageId: addMessage(t, input.text, false).id };
      }),
    async postUserMessage(input) {
      if (input.retry) {
        const found = await call('findUserMessage', input.ticketId, () =>
          ticket(input.ticketId).messages.find((x) => x.externalId === input.externalId),
        );
        if (found) return { messageId: found.id, found: true };
      }
      return call(
        'postUserMessage',
        input.ticketId,
        () => ({ messageId: addMessage(ticket(input.ticketId), input.text, false, input.externalId).id }),
        input.text,
      );
    },
    endSession: (input) =>
      call('endSession', input.ticketId, () => {
        const t = ticket(input.ticketId);
        addMessage(t, `note: ${input.reason}`, false);
        t.status = 'closed';
      }),
    listMessagesSince: (ticketId, after) =>
      call('listMessagesSince', ticketId, () =>
        ticket(ticketId)
          .messages.filter((m) => after === undefined || m.id > after)
          .map((m) => ({ id: m.id, text: m.text, fromAgent: m.fromAgent, createdAt: m.createdAt })),
      ),
  };

  return {
    port,
    tickets,
    calls,
    faults,
    named: (name: HelpdeskCallName) => calls.filter((c) => c.call === name),
    openTicketOf: (conversationId: string) => [...tickets.values()].find((t) => t.conversationId === conversationId && t.status === 'open'),
    /** The agent writes on a ticket (no webhook: the test decides what Gorgias sends). */
    agentSays: (ticketId: number, text: string) => addMessage(ticket(ticketId), text, true),
  };
}

/** Retry waits that take no time: transient failures are retried at once, whatever the test clock does. */
export function instantRetryClock(clock: Clock): Clock {
  return { now: () => clock.now(), setTimer: (ms, fn) => clock.setTimer(ms, fn), sleep: () => Promise.resolve() };
}
