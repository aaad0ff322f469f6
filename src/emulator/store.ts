// The emulator's in-memory Gorgias, one module per resource: customers, tickets and their
// messages, macros, integrations. The HTTP routes, the agent console and test seeding all call
// these same functions, so a message created any way fires the same events.
import type {
  Customer,
  Integration,
  ListPage,
  Macro,
  NewCustomer,
  NewIntegration,
  NewMacro,
  NewMessage,
  NewTicket,
  Ticket,
  TicketMessage,
  User,
} from '../gorgias/types.js';
import type { Clock } from '../clock.js';
import { createCustomers, type CustomerFilter } from './customers.js';
import { notFound } from './errors.js';
import { ACCOUNT_DOMAIN, ACCOUNT_USER_ID, ACCOUNT_USER_NAME, accountPayload } from './guesses.js';
import { createIntegrations, type IntegrationPatch } from './integrations.js';
import { clone } from './keys.js';
import { createMacros, type MacroPatch } from './macros.js';
import type { PageRequest } from './pagination.js';
import { createTickets, type MessageFilter, type TicketEvent, type TicketFilter, type TicketPatch } from './tickets.js';

export type { CustomerFilter } from './customers.js';
export type { IntegrationPatch } from './integrations.js';
export type { MacroPatch } from './macros.js';
export type { MessageFilter, TicketFilter, TicketPatch } from './tickets.js';

export type StoreEvent = TicketEvent;

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
  deleteTicket(id: number): void;
  listTickets(filter?: TicketFilter): Ticket[];
  ticketsPage(filter: TicketFilter, page: PageRequest): ListPage<Ticket>;

  /** The one path for a new message (API, agent console, seeding): fires the webhooks. */
  createMessage(ticketId: number, input: Partial<NewMessage>): TicketMessage;
  getMessage(ticketId: number, messageId: number): TicketMessage;
  listMessages(ticketId: number): TicketMessage[];
  /** By ticket, or the whole account's (`GET /api/messages` without ticket_id: a [guess]). */
  messagesPage(filter: MessageFilter, page: PageRequest): ListPage<TicketMessage>;

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
  /** Exists and is not deactivated. */
  integrationActive(id: number): boolean;
}

export interface StoreOptions {
  clock: Clock;
  email: string;
  emit?: (event: StoreEvent) => void;
}

export function createStore(options: StoreOptions): EmulatorStore {
  const { clock } = options;
  const iso = () => new Date(clock.now()).toISOString();
  const createdAt = iso();
  const user: User = { id: ACCOUNT_USER_ID, email: options.email, name: ACCOUNT_USER_NAME };
  const customers = createCustomers(iso);
  const tickets = createTickets({ iso, user, customers, emit: options.emit ?? (() => {}) });
  const macros = createMacros(iso);
  const integrations = createIntegrations(iso);

  return {
    user: clone(user),
    account: () => accountPayload(ACCOUNT_DOMAIN, createdAt),
    getUser(id) {
      if (id !== 0 && id !== user.id) throw notFound();
      return clone(user);
    },
    createCustomer: customers.create,
    getCustomer: (id) => clone(customers.record(id)),
    listCustomers: customers.list,
    createTicket: tickets.create,
    getTicket: tickets.get,
    updateTicket: tickets.update,
    deleteTicket: tickets.delete,
    listTickets: tickets.list,
    ticketsPage: tickets.page,
    createMessage: tickets.createMessage,
    getMessage: tickets.getMessage,
    listMessages: tickets.listMessages,
    messagesPage: tickets.messagesPage,
    createMacro: macros.create,
    getMacro: macros.get,
    updateMacro: macros.update,
    deleteMacro: macros.delete,
    listMacros: macros.list,
    createIntegration: integrations.create,
    getIntegration: integrations.get,
    updateIntegration: integrations.update,
    deleteIntegration: integrations.delete,
    listIntegrations: integrations.list,
    integrationActive: integrations.active,
  };
}
