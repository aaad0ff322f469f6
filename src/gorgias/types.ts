// Gorgias API objects, as we know them from the public reference. Shared by the
// client and the emulator so both speak the same shapes.

export interface ListMeta {
  next_cursor: string | null;
  prev_cursor: string | null;
}

export interface ListPage<T> {
  data: T[];
  meta: ListMeta;
}

export interface ErrorBody {
  error: { msg: string; data?: Record<string, unknown> };
}

export interface Account {
  domain: string;
  status: string; // [likely] e.g. "active"
  created_datetime?: string;
}

export interface User {
  id: number;
  email: string;
  name: string;
}

export interface CustomerChannel {
  type: string;
  address: string;
}

export interface Customer {
  id: number;
  email: string | null;
  name: string | null;
  external_id: string | null;
  channels: CustomerChannel[];
  data: Record<string, unknown> | null;
  created_datetime: string;
}

export interface MessageSender {
  id?: number;
  email?: string;
  name?: string;
}

export interface TicketMessage {
  id: number;
  ticket_id: number;
  channel: string;
  via: string;
  from_agent: boolean;
  sender: MessageSender;
  body_text: string;
  body_html: string;
  external_id: string | null;
  created_datetime: string;
  sent_datetime: string | null;
}

export interface Tag {
  name: string;
}

export interface Ticket {
  id: number;
  external_id: string | null;
  channel: string;
  via: string;
  subject: string | null;
  status: 'open' | 'closed';
  customer: Customer;
  requester?: Customer;
  tags: Tag[];
  messages: TicketMessage[];
  meta: Record<string, unknown> | null;
  created_datetime: string;
  updated_datetime: string;
  closed_datetime?: string | null;
  /** Set on a trashed ticket: never reuse it (list with `trashed=false`). */
  trashed_datetime?: string | null;
}

export interface NewMessage {
  channel: string;
  via: string;
  from_agent: boolean;
  sender: MessageSender;
  body_text: string;
  body_html?: string;
  external_id?: string;
  sent_datetime?: string;
}

export interface NewTicket {
  external_id?: string;
  channel: string;
  via: string;
  subject?: string;
  status?: 'open' | 'closed';
  customer: { id?: number; email?: string; name?: string; external_id?: string };
  tags?: Tag[];
  messages: NewMessage[];
  meta?: Record<string, unknown>;
}

export interface NewCustomer {
  name?: string;
  email?: string;
  external_id?: string;
  channels?: CustomerChannel[];
  data?: Record<string, unknown>;
}

export interface MacroAction {
  name: string; // e.g. "setResponseText", "addTags", "setStatus"
  title: string;
  type: 'user' | 'system';
  arguments: Record<string, unknown>;
}

export interface Macro {
  id: number;
  name: string;
  intent: string | null;
  actions: MacroAction[];
  created_datetime: string;
  updated_datetime: string;
}

export interface NewMacro {
  name: string;
  intent?: string | null;
  actions: MacroAction[];
}

export type IntegrationTrigger = 'ticket-created' | 'ticket-updated' | 'ticket-message-created';

export interface HttpIntegrationSettings {
  url: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  request_content_type: string;
  response_content_type: string;
  headers: Record<string, string>;
  triggers: Partial<Record<IntegrationTrigger, boolean>>;
  /** The body: an object of templates, or one template for all of it (e.g. `"{{context}}"`). */
  form?: Record<string, string> | string | null;
}

export interface Integration {
  id: number;
  type: string; // "http" for ours
  name: string;
  description: string | null;
  deactivated_datetime: string | null;
  http: HttpIntegrationSettings | null;
  created_datetime: string;
  updated_datetime: string;
}

export interface NewIntegration {
  type: 'http';
  name: string;
  description?: string;
  http: HttpIntegrationSettings;
}
