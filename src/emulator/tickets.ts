// The emulator's tickets and their messages. Every new message, whichever way it comes (API,
// agent console, a new ticket's first messages, seeding), goes through `insertMessage` and fires
// the same events. Tickets are found by external_id and customer, messages by ticket, by key.
import type { ListPage, MessageSender, NewMessage, NewTicket, Tag, Ticket, TicketMessage, User } from '../gorgias/types.js';
import type { Customers } from './customers.js';
import { notFound } from './errors.js';
import {
  FIELD_ERRORS,
  FIRST_MESSAGES_FIRE_MESSAGE_CREATED,
  MESSAGE_REQUIRED,
  NOTE_CHANNEL,
  REOPEN_ON_CUSTOMER_MESSAGE,
  TICKET_DELETE_REMOVES,
  TICKET_STATUSES,
  TRASHED_DEFAULT,
} from './guesses.js';
import { clone, keyIndex } from './keys.js';
import { paginate, type PageRequest } from './pagination.js';
import { Checker, asBody, isObject, optionalString, type Body } from './validate.js';

export type TicketEvent =
  | { type: 'ticket-message-created'; ticket: Ticket; message: TicketMessage }
  | { type: 'ticket-created'; ticket: Ticket }
  | { type: 'ticket-updated'; ticket: Ticket };

/** Partial updates accepted by PUT. */
export type TicketPatch = Partial<Pick<NewTicket, 'external_id' | 'subject' | 'status' | 'tags' | 'meta' | 'channel'>> & {
  /** [guess] A ticket is trashed (and restored) by setting this. */
  trashed_datetime?: string | null;
} & Record<string, unknown>;

export interface TicketFilter {
  external_id?: string;
  customer_id?: number;
  /** true: only trashed tickets; false: none of them; absent: see TRASHED_DEFAULT. */
  trashed?: boolean;
}

export interface MessageFilter {
  ticket_id?: number;
}

export interface Tickets {
  create: (input: NewTicket) => Ticket;
  get: (id: number) => Ticket;
  update: (id: number, patch: TicketPatch) => Ticket;
  /** Gone for good, with its messages (see TICKET_DELETE_REMOVES). */
  delete: (id: number) => void;
  list: (filter?: TicketFilter) => Ticket[];
  page: (filter: TicketFilter, page: PageRequest) => ListPage<Ticket>;
  createMessage: (ticketId: number, input: Partial<NewMessage>) => TicketMessage;
  getMessage: (ticketId: number, messageId: number) => TicketMessage;
  listMessages: (ticketId: number) => TicketMessage[];
  messagesPage: (filter: MessageFilter, page: PageRequest) => ListPage<TicketMessage>;
}

interface TicketRecord {
  id: number;
  external_id: string | null;
  channel: string;
  via: string;
  subject: string | null;
  status: 'open' | 'closed';
  customerId: number;
  tags: Tag[];
  messageIds: number[];
  meta: Record<string, unknown> | null;
  created_datetime: string;
  updated_datetime: string;
  closed_datetime: string | null;
  trashed_datetime: string | null;
}

export interface TicketsOptions {
  iso: () => string;
  user: User;
  customers: Customers;
  emit: (event: TicketEvent) => void;
}

export function createTickets(options: TicketsOptions): Tickets {
  const { iso, user, customers, emit } = options;
  const tickets = new Map<number, TicketRecord>();
  /** Every ticket and every message, ascending by id (ids only grow): pages by binary search. */
  const allTickets: TicketRecord[] = [];
  const allMessages: TicketMessage[] = [];
  const messages = new Map<number, TicketMessage>();
  const byExternalId = keyIndex<string>();
  const byCustomer = keyIndex<number>();
  const next = { ticket: 1, message: 1 };

  function record(id: number): TicketRecord {
    const t = tickets.get(id);
    if (!t) throw notFound();
    return t;
  }

  function view(t: TicketRecord): Ticket {
    const customer = clone(customers.record(t.customerId));
    return {
      id: t.id,
      external_id: t.external_id,
      channel: t.channel,
      via: t.via,
      subject: t.subject,
      status: t.status,
      customer,
      requester: clone(customer),
      tags: clone(t.tags),
      messages: t.messageIds.map((m) => clone(messages.get(m)!)),
      meta: clone(t.meta),
      created_datetime: t.created_datetime,
      updated_datetime: t.updated_datetime,
      closed_datetime: t.closed_datetime,
      trashed_datetime: t.trashed_datetime,
    };
  }

  function setExternalId(t: TicketRecord, externalId: string | null): void {
    if (t.external_id !== null) byExternalId.remove(t.external_id, t.id);
    t.external_id = externalId;
    if (externalId !== null) byExternalId.add(externalId, t.id);
  }

  function setCustomer(t: TicketRecord, customerId: number): void {
    byCustomer.remove(t.customerId, t.id);
    t.customerId = customerId;
    byCustomer.add(customerId, t.id);
  }

  function checkTags(check: Checker): Tag[] | undefined {
    const v = check.body.tags;
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) {
      check.add('tags', FIELD_ERRORS.notList);
      return undefined;
    }
    const tags: Tag[] = [];
    v.forEach((t, i) => {
      if (isObject(t) && typeof t.name === 'string' && t.name !== '') tags.push({ name: t.name });
      else check.add('tags', { [i]: { name: [FIELD_ERRORS.missing] } });
    });
    return tags;
  }

  const isUser = (s: Body) => s.id === user.id || (typeof s.email === 'string' && s.email.toLowerCase() === user.email.toLowerCase());

  function checkMessage(body: Body): Checker {
    const check = new Checker(body);
    for (const field of MESSAGE_REQUIRED) {
      if (field === 'from_agent') check.requireBoolean(field);
      else check.requireString(field);
    }
    check.optionalString('body_text');
    check.optionalString('body_html');
    check.optionalString('external_id');
    check.optionalString('sent_datetime');
    check.optionalObject('sender');
    if (!check.has('body_text') && !check.has('body_html')) check.add('body_text', FIELD_ERRORS.missing);
    // [sure] A note is always from an agent, and its sender is a user. [guess] the errors.
    if (body.channel === NOTE_CHANNEL) {
      if (body.from_agent === false) check.add('from_agent', FIELD_ERRORS.noteFromAgent);
      const s = isObject(body.sender) ? body.sender : undefined;
      if (s && (s.id !== undefined || s.email !== undefined) && !isUser(s)) check.add('sender', FIELD_ERRORS.noteSender);
    }
    return check;
  }

  function resolveSender(body: Body, ticket: TicketRecord): MessageSender {
    const s = isObject(body.sender) ? body.sender : undefined;
    if (body.from_agent === true) {
      if (!s || isUser(s) || (s.id === undefined && s.email === undefined)) return { id: user.id, email: user.email, name: user.name };
      return {
        id: typeof s.id === 'number' ? s.id : undefined,
        email: optionalString(s.email) ?? undefined,
        name: optionalString(s.name) ?? undefined,
      };
    }
    const customer = s && (s.id !== undefined || s.email !== undefined) ? customers.resolve(s, 'sender') : customers.record(ticket.customerId);
    return { id: customer.id, email: customer.email ?? undefined, name: customer.name ?? undefined };
  }

  function insertMessage(ticket: TicketRecord, body: Body): TicketMessage {
    const text = optionalString(body.body_text);
    const html = optionalString(body.body_html);
    const message: TicketMessage = {
      id: next.message++,
      ticket_id: ticket.id,
      channel: String(body.channel),
      via: String(body.via),
      from_agent: body.from_agent === true,
      sender: resolveSender(body, ticket),
      body_text: text ?? stripHtml(html ?? ''),
      body_html: html ?? textToHtml(text ?? ''),
      external_id: optionalString(body.external_id),
      created_datetime: iso(),
      sent_datetime: optionalString(body.sent_datetime),
    };
    messages.set(message.id, message);
    allMessages.push(message);
    ticket.messageIds.push(message.id);
    ticket.updated_datetime = message.created_datetime;
    if (!message.from_agent && ticket.status === 'closed' && REOPEN_ON_CUSTOMER_MESSAGE) {
      ticket.status = 'open';
      ticket.closed_datetime = null;
    }
    return message;
  }

  function create(input: NewTicket): Ticket {
    const body = asBody(input);
    const check = new Checker(body);
    check.optionalString('external_id');
    check.optionalString('subject');
    check.optionalString('channel');
    check.optionalString('via');
    check.oneOf('status', TICKET_STATUSES);
    check.optionalObject('meta');
    const tags = checkTags(check);
    const rawMessages = body.messages;
    if (rawMessages === undefined || rawMessages === null) check.add('messages', FIELD_ERRORS.missing);
    else if (!Array.isArray(rawMessages)) check.add('messages', FIELD_ERRORS.notList);
    else if (rawMessages.length === 0) check.add('messages', FIELD_ERRORS.notEmpty);
    else {
      const nested: Record<string, unknown> = {};
      rawMessages.forEach((m, i) => {
        if (!isObject(m)) nested[i] = { _schema: [FIELD_ERRORS.notObject] };
        else {
          const mc = checkMessage(m);
          if (!mc.ok) nested[i] = mc.errors;
        }
      });
      if (Object.keys(nested).length) check.add('messages', nested);
    }
    // The customer defaults to the sender of the first customer message.
    const firstCustomerSender: unknown = Array.isArray(rawMessages)
      ? (rawMessages as unknown[]).filter(isObject).find((m) => m.from_agent === false && isObject(m.sender))?.sender
      : undefined;
    const customerRef = body.customer ?? firstCustomerSender;
    if (customerRef === undefined || customerRef === null) check.add('customer', FIELD_ERRORS.missing);
    check.done();

    const customer = customers.resolve(customerRef, 'customer');
    const now = iso();
    const firstChannel = (rawMessages as Body[])[0].channel;
    const t: TicketRecord = {
      id: next.ticket++,
      external_id: null,
      channel: optionalString(body.channel) ?? String(firstChannel),
      via: optionalString(body.via) ?? 'api',
      subject: optionalString(body.subject),
      status: (body.status as 'open' | 'closed' | undefined) ?? 'open',
      customerId: customer.id,
      tags: tags ?? [],
      messageIds: [],
      meta: isObject(body.meta) ? clone(body.meta) : null,
      created_datetime: now,
      updated_datetime: now,
      closed_datetime: body.status === 'closed' ? now : null,
      trashed_datetime: null,
    };
    tickets.set(t.id, t);
    allTickets.push(t);
    setExternalId(t, optionalString(body.external_id));
    byCustomer.add(t.customerId, t.id);
    const created = (rawMessages as Body[]).map((m) => insertMessage(t, m));
    const answer = view(t);
    emit({ type: 'ticket-created', ticket: view(t) });
    if (FIRST_MESSAGES_FIRE_MESSAGE_CREATED) {
      for (const m of created) emit({ type: 'ticket-message-created', ticket: view(t), message: clone(m) });
    }
    return answer;
  }

  function update(id: number, patch: TicketPatch): Ticket {
    const t = record(id);
    const body = asBody(patch);
    const check = new Checker(body);
    check.oneOf('status', TICKET_STATUSES);
    check.optionalString('subject');
    check.optionalString('external_id');
    check.optionalString('channel');
    check.optionalString('trashed_datetime');
    check.optionalObject('meta');
    const tags = checkTags(check);
    check.done();
    if (body.customer !== undefined && body.customer !== null) setCustomer(t, customers.resolve(body.customer, 'customer').id);
    if (typeof body.status === 'string' && body.status !== t.status) {
      t.status = body.status as 'open' | 'closed';
      t.closed_datetime = t.status === 'closed' ? iso() : null;
    }
    if ('subject' in body) t.subject = optionalString(body.subject);
    if ('external_id' in body) setExternalId(t, optionalString(body.external_id));
    if (typeof body.channel === 'string') t.channel = body.channel;
    if ('trashed_datetime' in body) t.trashed_datetime = optionalString(body.trashed_datetime);
    if (tags) t.tags = tags;
    if ('meta' in body) t.meta = isObject(body.meta) ? clone(body.meta) : null;
    t.updated_datetime = iso();
    emit({ type: 'ticket-updated', ticket: view(t) });
    return view(t);
  }

  /** Out of every index and listing; later reads of it or its messages answer 404. */
  function remove(id: number): void {
    const t = record(id);
    if (!TICKET_DELETE_REMOVES) {
      t.trashed_datetime = iso();
      return;
    }
    tickets.delete(id);
    allTickets.splice(allTickets.indexOf(t), 1);
    setExternalId(t, null);
    byCustomer.remove(t.customerId, t.id);
    const gone = new Set(t.messageIds);
    for (const m of gone) messages.delete(m);
    for (let i = allMessages.length - 1; i >= 0; i--) if (gone.has(allMessages[i].id)) allMessages.splice(i, 1);
  }

  /** The matching records, ascending by id, found by key when the filter has one. */
  function matching(filter: TicketFilter): readonly TicketRecord[] {
    let found: readonly TicketRecord[];
    if (filter.external_id !== undefined) found = byExternalId.get(filter.external_id).map(record);
    else if (filter.customer_id !== undefined) found = byCustomer.get(filter.customer_id).map(record);
    else found = allTickets;
    const trashed = filter.trashed ?? TRASHED_DEFAULT;
    if (filter.customer_id !== undefined && filter.external_id !== undefined) found = found.filter((t) => t.customerId === filter.customer_id);
    if (trashed !== 'any') found = found.filter((t) => (t.trashed_datetime !== null) === trashed);
    return found;
  }

  function ticketMessages(ticketId: number): TicketMessage[] {
    const t = tickets.get(ticketId);
    return t ? t.messageIds.map((m) => messages.get(m)!) : [];
  }

  return {
    create,
    get: (id) => view(record(id)),
    update,
    delete: remove,
    list: (filter = {}) => matching(filter).map(view),
    page: (filter, page) => paginate(matching(filter), page, view),
    createMessage(ticketId, input) {
      const t = record(ticketId);
      const body = asBody(input);
      checkMessage(body).done();
      const message = insertMessage(t, body);
      emit({ type: 'ticket-message-created', ticket: view(t), message: clone(message) });
      return clone(message);
    },
    getMessage(ticketId, messageId) {
      const m = messages.get(messageId);
      if (!m || m.ticket_id !== record(ticketId).id) throw notFound();
      return clone(m);
    },
    listMessages: (ticketId) => record(ticketId).messageIds.map((m) => clone(messages.get(m)!)),
    messagesPage(filter, page) {
      // [guess] An unknown ticket_id lists nothing (a filter), rather than a 404.
      return paginate(filter.ticket_id === undefined ? allMessages : ticketMessages(filter.ticket_id), page, clone);
    },
  };
}

function stripHtml(html: string): string {
  return html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

function textToHtml(text: string): string {
  const escaped = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  return escaped === '' ? '' : `<div>${escaped.replace(/\n/g, '<br>')}</div>`;
}
