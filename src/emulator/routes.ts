// The API routes: path + method -> a store call. Pure request/answer, no HTTP plumbing.
import { ApiError, invalid } from './errors.js';
import { ACCOUNT_MESSAGES_LISTING, CREATE_STATUS, DELETE_STATUS, ERROR_MESSAGES, FIELD_ERRORS } from './guesses.js';
import { paginate, parsePageRequest, type PageLimits } from './pagination.js';
import type { EmulatorStore } from './store.js';

export interface ApiRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

export interface ApiAnswer {
  status: number;
  body?: unknown;
}

type Handler = (params: number[], req: ApiRequest) => ApiAnswer;

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

const ID = '(\\d{1,15})';
const ok = (body: unknown, status = 200): ApiAnswer => ({ status, body });

function intFilter(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null) return undefined;
  if (!/^\d+$/.test(v)) throw invalid({ [name]: [FIELD_ERRORS.notPositiveInt] });
  return Number(v);
}

const strFilter = (query: URLSearchParams, name: string) => query.get(name) ?? undefined;

function boolFilter(query: URLSearchParams, name: string): boolean | undefined {
  const v = query.get(name);
  if (v === null) return undefined;
  if (/^(true|1)$/i.test(v)) return true;
  if (/^(false|0)$/i.test(v)) return false;
  throw invalid({ [name]: [FIELD_ERRORS.notBoolean] });
}

export function createRoutes(store: EmulatorStore, limits: PageLimits): (req: ApiRequest) => ApiAnswer {
  const list = <T extends { id: number }>(items: T[], req: ApiRequest) => ok(paginate(items, page(req)));
  const page = (req: ApiRequest) => parsePageRequest(req.query, limits);

  const routes: Route[] = [];
  const on = (method: string, path: string, handler: Handler) =>
    routes.push({ method, pattern: new RegExp(`^/api${path.replaceAll(':id', ID)}/?$`), handler });

  on('GET', '/account', () => ok(store.account()));
  on('GET', '/users/:id', ([id]) => ok(store.getUser(id)));

  on('GET', '/customers', (_p, req) =>
    list(store.listCustomers({ email: strFilter(req.query, 'email'), external_id: strFilter(req.query, 'external_id') }), req),
  );
  on('POST', '/customers', (_p, req) => ok(store.createCustomer(req.body as never), CREATE_STATUS));
  on('GET', '/customers/:id', ([id]) => ok(store.getCustomer(id)));

  on('GET', '/tickets', (_p, req) => {
    const filter = {
      external_id: strFilter(req.query, 'external_id'),
      customer_id: intFilter(req.query, 'customer_id'),
      trashed: boolFilter(req.query, 'trashed'),
    };
    return ok(store.ticketsPage(filter, page(req)));
  });
  on('POST', '/tickets', (_p, req) => ok(store.createTicket(req.body as never), CREATE_STATUS));
  on('GET', '/tickets/:id', ([id]) => ok(store.getTicket(id)));
  on('PUT', '/tickets/:id', ([id], req) => ok(store.updateTicket(id, req.body as never)));
  on('DELETE', '/tickets/:id', ([id]) => {
    store.deleteTicket(id);
    return { status: DELETE_STATUS };
  });
  // Deprecated (see DEPRECATED_ROUTES), still answers like the real one.
  on('GET', '/tickets/:id/messages', ([id], req) => list(store.listMessages(id), req));
  on('POST', '/tickets/:id/messages', ([id], req) => ok(store.createMessage(id, req.body as never), CREATE_STATUS));
  on('GET', '/tickets/:id/messages/:id', ([id, messageId]) => ok(store.getMessage(id, messageId)));
  on('GET', '/messages', (_p, req) => {
    const ticketId = intFilter(req.query, 'ticket_id');
    if (ticketId === undefined && !ACCOUNT_MESSAGES_LISTING) throw invalid({ ticket_id: [FIELD_ERRORS.missing] });
    return ok(store.messagesPage({ ticket_id: ticketId }, page(req)));
  });

  on('GET', '/macros', (_p, req) => list(store.listMacros(), req));
  on('POST', '/macros', (_p, req) => ok(store.createMacro(req.body as never), CREATE_STATUS));
  on('GET', '/macros/:id', ([id]) => ok(store.getMacro(id)));
  on('PUT', '/macros/:id', ([id], req) => ok(store.updateMacro(id, req.body as never)));
  on('DELETE', '/macros/:id', ([id]) => {
    store.deleteMacro(id);
    return { status: DELETE_STATUS };
  });

  on('GET', '/integrations', (_p, req) => list(store.listIntegrations({ type: strFilter(req.query, 'type') }), req));
  on('POST', '/integrations', (_p, req) => ok(store.createIntegration(req.body as never), CREATE_STATUS));
  on('GET', '/integrations/:id', ([id]) => ok(store.getIntegration(id)));
  on('PUT', '/integrations/:id', ([id], req) => ok(store.updateIntegration(id, req.body as never)));
  on('DELETE', '/integrations/:id', ([id]) => {
    store.deleteIntegration(id);
    return { status: DELETE_STATUS };
  });

  return (req) => {
    let pathMatched = false;
    for (const route of routes) {
      const m = route.pattern.exec(req.path);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== req.method) continue;
      return route.handler(m.slice(1).map(Number), req);
    }
    if (pathMatched) throw new ApiError(405, ERROR_MESSAGES.methodNotAllowed);
    throw new ApiError(404, ERROR_MESSAGES.routeNotFound);
  };
}

/** Whether a route takes a JSON body. */
export const takesBody = (method: string) => method === 'POST' || method === 'PUT' || method === 'PATCH';
