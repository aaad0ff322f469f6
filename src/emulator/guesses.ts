// Every place where the emulator guesses about the real Gorgias API, in one file so it is easy
// to correct. Each is marked [sure], [likely] or [guess], as our notes on the public API rate it.

/** Page size when `limit` is absent. */
export const DEFAULT_PAGE_SIZE = 30; // [guess]

/** `limit` above this is silently capped (not an error). */
export const MAX_PAGE_SIZE = 100; // [guess]

/** Cursors are opaque strings: base64url of `<direction>:<boundary id>`. */
export function encodeCursor(direction: 'next' | 'prev', id: number): string {
  return Buffer.from(`${direction}:${id}`, 'utf8').toString('base64url'); // [guess] format
}

export function decodeCursor(cursor: string): { direction: 'next' | 'prev'; id: number } | undefined {
  const m = /^(next|prev):(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return m ? { direction: m[1] as 'next' | 'prev', id: Number(m[2]) } : undefined;
}

/** What GET /api/account answers. */
export function accountPayload(domain: string, createdIso: string): Record<string, unknown> {
  // [guess] the real account has many more fields; these are the ones we read.
  return { domain, status: 'active', created_datetime: createdIso, settings: {} };
}

/** The account subdomain the emulator pretends to be. */
export const ACCOUNT_DOMAIN = 'emulator'; // [guess]

/** The account user that owns the API key (GET /api/users/0). */
export const ACCOUNT_USER_ID = 1; // [guess]
export const ACCOUNT_USER_NAME = 'Emulator Agent'; // [guess]

/** A create (POST) answers 201 with the new object. */
export const CREATE_STATUS = 201; // [guess]

/** DELETE answers 204 with no body. */
export const DELETE_STATUS = 204; // [guess]

/**
 * `DELETE /api/tickets/{id}` removes the ticket and its messages for good: it is listed nowhere,
 * trashed or not, and reading it answers 404. [guess] The real API has the call; whether a deleted
 * ticket lingers somewhere (a trash) is not documented.
 */
export const TICKET_DELETE_REMOVES = true;

/** Field error wording under `error.data`. */
export const FIELD_ERRORS = {
  missing: 'Missing data for required field.', // [guess] marshmallow-style wording
  notString: 'Not a valid string.', // [guess]
  notBoolean: 'Not a valid boolean.', // [guess]
  notList: 'Not a valid list.', // [guess]
  notObject: 'Not a valid mapping type.', // [guess]
  oneOf: (choices: readonly string[]) => `Must be one of: ${choices.join(', ')}.`, // [guess]
  notPositiveInt: 'Must be a positive integer.', // [guess]
  invalidCursor: 'Invalid cursor.', // [guess]
  emailOrExternalId: 'Either email or external_id is required.', // [guess]
  emailTaken: 'A customer with this email already exists.', // [guess] real status may be 409
  notEmpty: 'Shorter than minimum length 1.', // [guess]
  customerNotFound: 'Customer not found.', // [guess] an unknown customer id in a ticket is a 400, not a 404
  noteFromAgent: 'An internal note is always from an agent.', // [guess] wording; the rule is [sure]
  noteSender: 'The sender of an internal note must be a user.', // [guess] wording; the rule is [sure]
} as const;

/** Top-level `error.msg` texts. */
export const ERROR_MESSAGES = {
  unauthorized: 'Unauthorized: invalid credentials.', // [guess]
  notFound: 'Resource not found.', // [guess]
  routeNotFound: 'The requested URL was not found on the server.', // [guess]
  methodNotAllowed: 'The method is not allowed for the requested URL.', // [guess]
  validation: 'Invalid request data.', // [guess]
  badJson: 'Invalid JSON body.', // [guess]
  rateLimited: 'Too many requests. Please retry after the delay in the Retry-After header.', // [guess]
  injected: (status: number) => `Injected fault: HTTP ${status}.`, // emulator-only
} as const;

/**
 * Template values substituted into an integration URL are encodeURIComponent-encoded.
 * [guess] Gorgias does not document this. 'raw' substitutes them as they are and lets the URL
 * parser do what a browser would (spaces -> %20, newlines dropped, '#' starts a fragment).
 */
export type TemplateEncoding = 'encoded' | 'raw';
export const DEFAULT_TEMPLATE_ENCODING: TemplateEncoding = 'encoded'; // [guess]

/**
 * A template value that is an object or array is rendered as JSON, so a `form` that is the one
 * template `"{{context}}"` sends the whole ticket and message as a JSON body. [likely] Public
 * production code installs exactly that form and reads `body.ticket` and `body.message`.
 */
export const RENDER_OBJECTS_AS_JSON = true;

/**
 * Templates are rendered by Jinja in Python: null reads `None`, booleans `True` and `False` (in
 * the URL and in `form` values; a JSON body from `{{context}}` keeps JSON's null, true, false).
 * An unknown variable reads as empty. [likely] per the reference.
 */
export const PYTHON_LITERALS = true;

/** What `{{context}}` holds: the event's ticket, message and event. [guess] the exact keys. */
export function webhookContext(ticket: unknown, message: unknown, event: unknown): Record<string, unknown> {
  const context = { ticket, message, event };
  return { ...context, context };
}

/** `event.object_type` for each trigger. */
export const EVENT_OBJECT_TYPE = { message: 'TicketMessage', ticket: 'Ticket' } as const; // [guess]

/** The first messages of a new ticket also fire `ticket-message-created`. */
export const FIRST_MESSAGES_FIRE_MESSAGE_CREATED = true; // [guess]

/** An integration call with no `form` is sent without a body. */
export const EMPTY_BODY_WITHOUT_FORM = true; // [guess]

/** Gorgias gives up waiting for a slow receiver after this long. [guess] the duration. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/**
 * A call that timed out is made again this many times (same event, same body), so the receiver
 * may get it twice. [sure] Gorgias "generally keeps retrying" a call that timed out; [guess] once.
 * A call that was answered, with any status, is never retried.
 */
export const RETRIES_AFTER_TIMEOUT = 1;

/**
 * [sure] Gorgias deactivates an HTTP integration after 100 failed calls in a row (it sets
 * `deactivated_datetime` and stops calling it). [guess] A failure is an answer outside 2xx, a
 * refused connection or a timeout; one success resets the count (Gorgias says "a few").
 */
export const DEACTIVATE_AFTER_FAILURES = 100;

/** Required fields of a message (POST /api/tickets/{id}/messages and a ticket's `messages`). */
export const MESSAGE_REQUIRED = ['channel', 'via', 'from_agent'] as const; // [guess]

/** A customer message on a closed ticket reopens it. */
export const REOPEN_ON_CUSTOMER_MESSAGE = true; // [guess]

/** [sure] The channel of an agent's internal note: agents see it, the customer never does. */
export const NOTE_CHANNEL = 'internal-note';

/**
 * What `GET /api/tickets` lists when `trashed` is not given. [guess] The documentation says both
 * ways; we list trashed tickets too, the answer that punishes a client that forgets `trashed=false`.
 */
export const TRASHED_DEFAULT: boolean | 'any' = 'any';

/**
 * `GET /api/messages` without `ticket_id` lists the whole account's messages. [guess] Only the
 * listing with `ticket_id` is documented.
 */
export const ACCOUNT_MESSAGES_LISTING = true;

/** Paths that still answer but are deprecated: our client must never call them. [sure] */
export const DEPRECATED_ROUTES: ReadonlyArray<{ method: string; pattern: RegExp; instead: string }> = [
  { method: 'GET', pattern: /^\/api\/tickets\/\d+\/messages\/?$/, instead: 'GET /api/messages?ticket_id=' },
];

/** Ticket channels and statuses we accept. */
export const TICKET_STATUSES = ['open', 'closed'] as const; // [likely]
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const; // [guess] reference names GET/POST
