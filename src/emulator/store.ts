// The emulator's in-memory Gorgias: customers, tickets, messages, macros, integrations.
// The HTTP routes, the agent console and test seeding all call these same functions, so a
// message created any way fires the same events.
import type {
  Customer,
  CustomerChannel,
  Integration,
  HttpIntegrationSettings,
  Macro,
  MacroAction,
  MessageSender,
  NewCustomer,
  NewIntegration,
  NewMacro,
  NewMessage,
  NewTicket,
  Tag,
  Ticket,
  TicketMessage,
  User,
} from '../gorgias/types.js';
import type { Clock } from '../clock.js';
import { invalid, notFound } from './errors.js';
import {
  ACCOUNT_DOMAIN,
  ACCOUNT_USER_ID,
  ACCOUNT_USER_NAME,
  FIELD_ERRORS,
  FIRST_MESSAGES_FIRE_MESSAGE_CREATED,
  HTTP_METHODS,
  MESSAGE_REQUIRED,
  REOPEN_ON_CUSTOMER_MESSAGE,
  TICKET_STATUSES,
  accountPayload,
} from './guesses.js';
import { Checker, asBody, isObject, optionalString, type Body } from './validate.js';

export type StoreEvent =
  | { type: 'ticket-message-created'; ticket: Ticket; message: TicketMessage }
  | { type: 'ticket-created'; ticket: Ticket }
  | { type: 'ticket-updated'; ticket: Ticket };

/** Partial updates accepted by PUT. */
export type TicketPatch = Partial<Pick<NewTicket, 'external_id' | 'subject' | 'status' | 'tags' | 'meta' | 'channel'>> & Record<string, unknown>;
export type MacroPatch = Partial<NewMacro>;
export type IntegrationPatch = Partial<Omit<NewIntegration, 'http'>> & {
  http?: Partial<HttpIntegrationSettings>;
  deactivated_datetime?: string | null;
};

export interface CustomerFilter {
  email?: string;
  external_id?: string;
}
export interface TicketFilter {
  external_id?: string;
  customer_id?: number;
}

export interface EmulatorStore {
  readonly user: User;
  account(): Record<string, unknown>;
  getUser(id: number): User;

  createCustomer(input: NewCustomer): Customer;
  getCustomer(id: number): Customer;
  listCustomers(filter?: CustomerFilter): Customer[];

  /** Opens a ticket with its first messages; finds or creates the customer. */
  createTicket(input: NewTicket): Ticket;
  getTicket(id: number): Ticket;
  updateTicket(id: number, patch: TicketPatch): Ticket;
  listTickets(filter?: TicketFilter): Ticket[];

  /** The one path for a new message (API, agent console, seeding): fires the webhooks. */
  createMessage(ticketId: number, input: Partial<NewMessage>): TicketMessage;
  listMessages(ticketId: number): TicketMessage[];

  createMacro(input: NewMacro): Macro;
  getMacro(id: number): Macro;
  updateMacro(id: number, patch: MacroPatch): Macro;
  deleteMacro(id: number): void;
  listMacros(): Macro[];

  createIntegration(input: NewIntegration): Integration;
  getIntegration(id: number): Integration;
  updateIntegration(id: number, patch: IntegrationPatch): Integration;
  deleteIntegration(id: number): void;
  listIntegrations(filter?: { type?: string }): Integration[];
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
}

export interface StoreOptions {
  clock: Clock;
  email: string;
  emit?: (event: StoreEvent) => void;
}

const clone = <T>(v: T): T => structuredClone(v);

function parseId(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

export function createStore(options: StoreOptions): EmulatorStore {
  const { clock } = options;
  const emit = options.emit ?? (() => {});
  const iso = () => new Date(clock.now()).toISOString();
  const createdAt = iso();
  const user: User = { id: ACCOUNT_USER_ID, email: options.email, name: ACCOUNT_USER_NAME };

  const customers = new Map<number, Customer>();
  const tickets = new Map<number, TicketRecord>();
  const messages = new Map<number, TicketMessage>();
  const macros = new Map<number, Macro>();
  const integrations = new Map<number, Integration>();
  const next = { customer: 1, ticket: 1, message: 1, macro: 1, integration: 1 };

  // ---- customers -------------------------------------------------------------------------

  function customerRecord(id: number): Customer {
    const c = customers.get(id);
    if (!c) throw notFound();
    return c;
  }

  function findCustomerByEmail(email: string): Customer | undefined {
    const want = email.toLowerCase();
    for (const c of customers.values()) {
      if (c.email?.toLowerCase() === want) return c;
      if (c.channels.some((ch) => ch.type === 'email' && ch.address.toLowerCase() === want)) return c;
    }
    return undefined;
  }

  function findCustomerByExternalId(externalId: string): Customer | undefined {
    for (const c of customers.values()) if (c.external_id === externalId) return c;
    return undefined;
  }

  function checkCustomer(body: Body): Checker {
    const check = new Checker(body);
    check.optionalString('name');
    check.optionalString('email');
    check.optionalString('external_id');
    check.optionalObject('data');
    if (body.channels !== undefined && body.channels !== null && !Array.isArray(body.channels)) check.add('channels', FIELD_ERRORS.notList);
    if (!check.has('email') && !check.has('external_id')) check.add('email', FIELD_ERRORS.emailOrExternalId);
    return check;
  }

  function insertCustomer(body: Body): Customer {
    const email = optionalString(body.email);
    const channels: CustomerChannel[] = Array.isArray(body.channels)
      ? body.channels
          .filter(isObject)
          .map((ch) => ({ type: typeof ch.type === 'string' ? ch.type : 'email', address: typeof ch.address === 'string' ? ch.address : '' }))
      : [];
    if (email && !channels.some((ch) => ch.type === 'email' && ch.address === email)) channels.unshift({ type: 'email', address: email });
    const customer: Customer = {
      id: next.customer++,
      email,
      name: optionalString(body.name),
      external_id: optionalString(body.external_id),
      channels,
      data: isObject(body.data) ? clone(body.data) : null,
      created_datetime: iso(),
    };
    customers.set(customer.id, customer);
    return customer;
  }

  function createCustomer(input: NewCustomer): Customer {
    const body = asBody(input);
    const check = checkCustomer(body);
    check.done();
    if (typeof body.email === 'string' && findCustomerByEmail(body.email)) throw invalid({ email: [FIELD_ERRORS.emailTaken] });
    return clone(insertCustomer(body));
  }

  /** A ticket's `customer`: by id, else email, else external_id; created when not found. */
  function resolveCustomer(ref: unknown, field: string): Customer {
    if (!isObject(ref)) throw invalid({ [field]: [ref === undefined || ref === null ? FIELD_ERRORS.missing : FIELD_ERRORS.notObject] });
    const id = parseId(ref.id);
    if (ref.id !== undefined && ref.id !== null) {
      const found = id === undefined ? undefined : customers.get(id);
      if (!found) throw invalid({ [field]: { id: [FIELD_ERRORS.customerNotFound] } });
      return found;
    }
    const email = typeof ref.email === 'string' && ref.email !== '' ? ref.email : undefined;
    const externalId = typeof ref.external_id === 'string' && ref.external_id !== '' ? ref.external_id : undefined;
    const found = (email && findCustomerByEmail(email)) || (externalId && findCustomerByExternalId(externalId));
    if (found) return found;
    const check = checkCustomer(ref);
    if (!check.ok) throw invalid({ [field]: check.errors });
    return insertCustomer(ref);
  }

  // ---- tickets and messages ---------------------------------------------------------------

  function ticketRecord(id: number): TicketRecord {
    const t = tickets.get(id);
    if (!t) throw notFound();
    return t;
  }

  function ticketView(t: TicketRecord): Ticket {
    const customer = clone(customerRecord(t.customerId));
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
    } as Ticket;
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

  /** Validates a message body; `prefix` nests errors for a ticket's `messages`. */
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
    return check;
  }

  function resolveSender(body: Body, ticket: TicketRecord): MessageSender {
    const s = isObject(body.sender) ? body.sender : undefined;
    if (body.from_agent === true) {
      if (!s || s.id === user.id || s.email === user.email || (s.id === undefined && s.email === undefined)) {
        return { id: user.id, email: user.email, name: user.name };
      }
      return { id: parseId(s.id), email: optionalString(s.email) ?? undefined, name: optionalString(s.name) ?? undefined };
    }
    const customer = s && (s.id !== undefined || s.email !== undefined) ? resolveCustomer(s, 'sender') : customerRecord(ticket.customerId);
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
    ticket.messageIds.push(message.id);
    ticket.updated_datetime = message.created_datetime;
    if (!message.from_agent && ticket.status === 'closed' && REOPEN_ON_CUSTOMER_MESSAGE) {
      ticket.status = 'open';
      ticket.closed_datetime = null;
    }
    return message;
  }

  function createTicket(input: NewTicket): Ticket {
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

    const customer = resolveCustomer(customerRef, 'customer');
    const now = iso();
    const firstChannel = (rawMessages as Body[])[0].channel;
    const record: TicketRecord = {
      id: next.ticket++,
      external_id: optionalString(body.external_id),
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
    };
    tickets.set(record.id, record);
    const created = (rawMessages as Body[]).map((m) => insertMessage(record, m));
    const view = ticketView(record);
    emit({ type: 'ticket-created', ticket: ticketView(record) });
    if (FIRST_MESSAGES_FIRE_MESSAGE_CREATED) {
      for (const m of created) emit({ type: 'ticket-message-created', ticket: ticketView(record), message: clone(m) });
    }
    return view;
  }

  function updateTicket(id: number, patch: TicketPatch): Ticket {
    const t = ticketRecord(id);
    const body = asBody(patch);
    const check = new Checker(body);
    check.oneOf('status', TICKET_STATUSES);
    check.optionalString('subject');
    check.optionalString('external_id');
    check.optionalString('channel');
    check.optionalObject('meta');
    const tags = checkTags(check);
    check.done();
    if (body.customer !== undefined && body.customer !== null) t.customerId = resolveCustomer(body.customer, 'customer').id;
    if (typeof body.status === 'string' && body.status !== t.status) {
      t.status = body.status as 'open' | 'closed';
      t.closed_datetime = t.status === 'closed' ? iso() : null;
    }
    if ('subject' in body) t.subject = optionalString(body.subject);
    if ('external_id' in body) t.external_id = optionalString(body.external_id);
    if (typeof body.channel === 'string') t.channel = body.channel;
    if (tags) t.tags = tags;
    if ('meta' in body) t.meta = isObject(body.meta) ? clone(body.meta) : null;
    t.updated_datetime = iso();
    emit({ type: 'ticket-updated', ticket: ticketView(t) });
    return ticketView(t);
  }

  function createMessage(ticketId: number, input: Partial<NewMessage>): TicketMessage {
    const t = ticketRecord(ticketId);
    const body = asBody(input);
    checkMessage(body).done();
    const message = insertMessage(t, body);
    emit({ type: 'ticket-message-created', ticket: ticketView(t), message: clone(message) });
    return clone(message);
  }

  // ---- macros -----------------------------------------------------------------------------

  function checkActions(check: Checker): MacroAction[] | undefined {
    const v = check.body.actions;
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) {
      check.add('actions', FIELD_ERRORS.notList);
      return undefined;
    }
    const actions: MacroAction[] = [];
    const nested: Record<string, unknown> = {};
    v.forEach((a, i) => {
      if (!isObject(a)) nested[i] = { _schema: [FIELD_ERRORS.notObject] };
      else if (typeof a.name !== 'string' || a.name === '') nested[i] = { name: [FIELD_ERRORS.missing] };
      else if (a.arguments !== undefined && a.arguments !== null && !isObject(a.arguments)) nested[i] = { arguments: [FIELD_ERRORS.notObject] };
      else {
        actions.push({
          name: a.name,
          title: typeof a.title === 'string' ? a.title : a.name,
          type: a.type === 'system' ? 'system' : 'user',
          arguments: isObject(a.arguments) ? clone(a.arguments) : {},
        });
      }
    });
    if (Object.keys(nested).length) check.add('actions', nested);
    return actions;
  }

  function macroRecord(id: number): Macro {
    const m = macros.get(id);
    if (!m) throw notFound();
    return m;
  }

  function createMacro(input: NewMacro): Macro {
    const body = asBody(input);
    const check = new Checker(body);
    check.requireString('name', { nonEmpty: true });
    check.optionalString('intent');
    const actions = checkActions(check);
    check.done();
    const now = iso();
    const macro: Macro = {
      id: next.macro++,
      name: String(body.name),
      intent: optionalString(body.intent),
      actions: actions ?? [],
      created_datetime: now,
      updated_datetime: now,
    };
    macros.set(macro.id, macro);
    return clone(macro);
  }

  function updateMacro(id: number, patch: MacroPatch): Macro {
    const m = macroRecord(id);
    const body = asBody(patch);
    const check = new Checker(body);
    check.optionalString('name', { nonEmpty: true });
    check.optionalString('intent');
    const actions = checkActions(check);
    check.done();
    if (typeof body.name === 'string') m.name = body.name;
    if ('intent' in body) m.intent = optionalString(body.intent);
    if (actions) m.actions = actions;
    m.updated_datetime = iso();
    return clone(m);
  }

  // ---- integrations -----------------------------------------------------------------------

  function integrationRecord(id: number): Integration {
    const i = integrations.get(id);
    if (!i) throw notFound();
    return i;
  }

  /** Validates and normalises `http`; `base` holds the current settings for a PUT. */
  function checkHttp(check: Checker, base: HttpIntegrationSettings | null): HttpIntegrationSettings | undefined {
    const v = check.body.http;
    if (v === undefined || v === null) return undefined;
    if (!isObject(v)) {
      check.add('http', FIELD_ERRORS.notObject);
      return undefined;
    }
    const merged: Body = { ...(base ?? {}), ...v };
    const hc = new Checker(merged);
    hc.requireString('url', { nonEmpty: true });
    hc.requireString('method');
    if (typeof merged.method === 'string' && !(HTTP_METHODS as readonly string[]).includes(merged.method.toUpperCase())) {
      hc.add('method', FIELD_ERRORS.oneOf(HTTP_METHODS));
    }
    hc.optionalString('request_content_type');
    hc.optionalString('response_content_type');
    hc.optionalObject('headers');
    hc.optionalObject('triggers');
    hc.optionalObject('form');
    if (isObject(merged.headers) && Object.values(merged.headers).some((h) => typeof h !== 'string')) hc.add('headers', FIELD_ERRORS.notString);
    if (isObject(merged.triggers) && Object.values(merged.triggers).some((t) => typeof t !== 'boolean')) hc.add('triggers', FIELD_ERRORS.notBoolean);
    if (isObject(merged.form) && Object.values(merged.form).some((f) => typeof f !== 'string')) hc.add('form', FIELD_ERRORS.notString);
    if (!hc.ok) {
      check.add('http', hc.errors);
      return undefined;
    }
    return {
      url: String(merged.url),
      method: String(merged.method).toUpperCase() as HttpIntegrationSettings['method'],
      request_content_type: optionalString(merged.request_content_type) ?? 'application/json',
      response_content_type: optionalString(merged.response_content_type) ?? 'application/json',
      headers: isObject(merged.headers) ? (clone(merged.headers) as Record<string, string>) : {},
      triggers: isObject(merged.triggers) ? clone(merged.triggers) : {},
      form: isObject(merged.form) ? (clone(merged.form) as Record<string, string>) : null,
    };
  }

  function createIntegration(input: NewIntegration): Integration {
    const body = asBody(input);
    const check = new Checker(body);
    check.requireString('type', { nonEmpty: true });
    check.requireString('name', { nonEmpty: true });
    check.optionalString('description');
    const http = checkHttp(check, null);
    if (body.type === 'http' && (body.http === undefined || body.http === null)) check.add('http', FIELD_ERRORS.missing);
    check.done();
    const now = iso();
    const integration: Integration = {
      id: next.integration++,
      type: String(body.type),
      name: String(body.name),
      description: optionalString(body.description),
      deactivated_datetime: optionalString(body.deactivated_datetime),
      http: http ?? null,
      created_datetime: now,
      updated_datetime: now,
    };
    integrations.set(integration.id, integration);
    return clone(integration);
  }

  function updateIntegration(id: number, patch: IntegrationPatch): Integration {
    const i = integrationRecord(id);
    const body = asBody(patch);
    const check = new Checker(body);
    check.optionalString('name', { nonEmpty: true });
    check.optionalString('description');
    check.optionalString('deactivated_datetime');
    if (body.type !== undefined && body.type !== i.type) check.add('type', FIELD_ERRORS.oneOf([i.type]));
    const http = checkHttp(check, i.http);
    check.done();
    if (typeof body.name === 'string') i.name = body.name;
    if ('description' in body) i.description = optionalString(body.description);
    if ('deactivated_datetime' in body) i.deactivated_datetime = optionalString(body.deactivated_datetime);
    if (http) i.http = http;
    i.updated_datetime = iso();
    return clone(i);
  }

  const sorted = <T extends { id: number }>(m: Map<number, T>) => [...m.values()].sort((a, b) => a.id - b.id);

  return {
    user: clone(user),
    account: () => accountPayload(ACCOUNT_DOMAIN, createdAt),
    getUser(id) {
      if (id !== 0 && id !== user.id) throw notFound();
      return clone(user);
    },
    createCustomer,
    getCustomer: (id) => clone(customerRecord(id)),
    listCustomers(filter = {}) {
      return sorted(customers)
        .filter((c) => filter.email === undefined || findCustomerByEmail(filter.email)?.id === c.id)
        .filter((c) => filter.external_id === undefined || c.external_id === filter.external_id)
        .map(clone);
    },
    createTicket,
    getTicket: (id) => ticketView(ticketRecord(id)),
    updateTicket,
    listTickets(filter = {}) {
      return sorted(tickets)
        .filter((t) => filter.external_id === undefined || t.external_id === filter.external_id)
        .filter((t) => filter.customer_id === undefined || t.customerId === filter.customer_id)
        .map(ticketView);
    },
    createMessage,
    listMessages: (ticketId) => ticketRecord(ticketId).messageIds.map((m) => clone(messages.get(m)!)),
    createMacro,
    getMacro: (id) => clone(macroRecord(id)),
    updateMacro,
    deleteMacro(id) {
      macroRecord(id);
      macros.delete(id);
    },
    listMacros: () => sorted(macros).map(clone),
    createIntegration,
    getIntegration: (id) => clone(integrationRecord(id)),
    updateIntegration,
    deleteIntegration(id) {
      integrationRecord(id);
      integrations.delete(id);
    },
    listIntegrations(filter = {}) {
      return sorted(integrations)
        .filter((i) => filter.type === undefined || i.type === filter.type)
        .map(clone);
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
