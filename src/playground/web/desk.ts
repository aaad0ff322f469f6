// The agent desk: Gorgias as an agent sees it, built on the REST API alone (the same calls work
// against `livechat emulator`, which serves this desk at /desk). Tickets, their messages with the
// user's metadata, a reply, an internal note, and the sign-off macro.
import { clockTime, el, fill } from './dom.js';

// What the desk reads of the Gorgias objects (src/gorgias/types.ts has them whole).
interface Person {
  id?: number;
  name?: string | null;
  email?: string | null;
}
interface TicketMessage {
  id: number;
  channel: string;
  from_agent: boolean;
  sender?: Person;
  body_text: string;
  created_datetime: string;
}
interface Ticket {
  id: number;
  external_id: string | null;
  channel: string;
  subject: string | null;
  status: string;
  customer?: Person;
  tags?: Array<{ name: string }>;
  messages?: TicketMessage[];
  meta: Record<string, unknown> | null;
  updated_datetime: string;
}
interface MacroAction {
  name: string;
  arguments: Record<string, unknown>;
}
interface Macro {
  id: number;
  name: string;
  actions: MacroAction[];
}
interface ListPage<T> {
  data: T[];
  meta?: { next_cursor?: string | null };
}

export interface DeskOptions {
  /** The API base: `/api` when the page is served by the emulator or the playground. */
  api: string;
  email: string;
  apiKey: string;
  /** The word that makes a macro the sign-off one (LIVECHAT_SESSION_END). */
  signoffToken: string;
  /** The playground calls `refresh` on its live events. Without it the desk polls. */
  live?: (refresh: () => void) => void;
  pollMs?: number;
  /** The API refused the email and key. */
  onUnauthorized?: (message: string) => void;
}

export interface Desk {
  refresh(): Promise<void>;
  destroy(): void;
}

/** The channel of an internal note: agents see it, the customer never does. */
export const NOTE_CHANNEL = 'internal-note';
/** How the desk's own messages arrive ([guess]: what the Gorgias web app sends). */
const VIA = 'helpdesk';
const TICKETS_SHOWN = 30;
const DEFAULT_POLL_MS = 3000;

class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
}

function basic(email: string, key: string): string {
  const bytes = new TextEncoder().encode(`${email}:${key}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

type MessageKind = 'customer' | 'agent' | 'note';

export function messageKind(m: Pick<TicketMessage, 'channel' | 'from_agent'>): MessageKind {
  if (m.channel === NOTE_CHANNEL) return 'note';
  return m.from_agent ? 'agent' : 'customer';
}

/** As `carriesToken` in src/macro/signoff.ts: ours by the token in a reply action, never by name. */
function isSignoff(macro: Macro, token: string): boolean {
  return (macro.actions ?? []).some((a) => [a.arguments?.body_text, a.arguments?.body_html].some((v) => typeof v === 'string' && v.includes(token)));
}

function metadataOf(ticket: Ticket): Array<[string, string]> {
  const livechat = ticket.meta?.livechat as { conversation_id?: unknown; metadata?: unknown } | undefined;
  const meta = livechat?.metadata;
  const rows: Array<[string, string]> = [];
  if (meta && typeof meta === 'object' && !Array.isArray(meta)) {
    for (const [k, v] of Object.entries(meta as Record<string, unknown>)) {
      if (v === undefined || v === null || v === '') continue;
      rows.push([k, typeof v === 'string' ? v : JSON.stringify(v)]);
    }
  }
  return rows;
}

const who = (c: { name?: string | null; email?: string | null } | undefined) =>
  c ? [c.name, c.email ? `<${c.email}>` : undefined].filter(Boolean).join(' ') || 'someone' : 'someone';

export function mountDesk(root: HTMLElement, options: DeskOptions): Desk {
  const auth = basic(options.email, options.apiKey);
  let me: Person | undefined;
  let tickets: Ticket[] = [];
  let selected: number | undefined;
  let ticket: Ticket | undefined;
  let shownList = '';
  let shownTicket = '';
  let shownTicketId: number | undefined;
  let busy = false;
  let destroyed = false;
  let poll: number | undefined;

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${options.api}${path}`, {
      method,
      // The key goes in the header; with credentials omitted a 401 never opens the browser's own login prompt.
      credentials: 'omit',
      headers: { authorization: auth, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const msg = (json as { error?: { msg?: unknown } } | undefined)?.error?.msg;
      const retry = Number(res.headers.get('retry-after'));
      throw new ApiFailure(res.status, typeof msg === 'string' ? msg : `HTTP ${res.status}`, Number.isFinite(retry) ? retry : undefined);
    }
    return json as T;
  }

  // ---- the page -------------------------------------------------------------------------------
  const whoami = el('span', { class: 'whoami' }, 'signing in…');
  const list = el('ul', { class: 'ticket-list', attrs: { 'aria-label': 'Tickets' } });
  const ticketHead = el('header', { class: 'ticket-head' });
  const meta = el('div', { class: 'ticket-meta' });
  const messages = el('ol', { class: 'messages', attrs: { 'aria-label': 'Messages' } });
  const text = el('textarea', {
    attrs: { name: 'text', rows: '3', placeholder: 'Write to the customer, or a note for the team', maxlength: '32768' },
  });
  const status = el('p', { class: 'desk-status', attrs: { role: 'status', 'aria-live': 'polite' } });
  const button = (action: string, label: string, cls = '') =>
    el('button', { class: cls, attrs: { type: action === 'reply' ? 'submit' : 'button', 'data-action': action } }, label);
  const replyButton = button('reply', 'Send reply', 'primary');
  const noteButton = button('note', 'Internal note', 'note');
  const macroButton = button('macro', 'Apply sign-off macro');
  const form = el('form', { class: 'reply' }, text, el('div', { class: 'actions' }, replyButton, noteButton, macroButton));
  const empty = el('p', { class: 'empty' }, 'No ticket yet. When the user asks for a human, the hand-off opens one here.');
  const view = el('article', { class: 'ticket', attrs: { 'aria-label': 'Ticket' } }, empty);

  fill(
    root,
    el('header', { class: 'pane-head' }, el('h2', {}, 'Agent desk'), el('span', { class: 'sub' }, 'Gorgias'), whoami),
    el(
      'div',
      { class: 'desk-body' },
      el('nav', { class: 'tickets' }, el('h3', {}, 'Tickets'), list),
      el('div', { class: 'ticket-pane' }, view, status),
    ),
  );

  const say = (line: string, kind: 'ok' | 'error' = 'ok') => {
    status.textContent = line;
    status.dataset.kind = kind;
  };

  const setBusy = (on: boolean) => {
    busy = on;
    const closedOrNone = !ticket;
    for (const b of [replyButton, noteButton, macroButton]) b.disabled = on || closedOrNone;
  };

  function renderList(): void {
    const key = JSON.stringify([selected, tickets.map((t) => [t.id, t.status, t.subject, t.messages?.length ?? 0, t.updated_datetime])]);
    if (key === shownList) return;
    shownList = key;
    const open = tickets.filter((t) => t.status === 'open');
    const closed = tickets.filter((t) => t.status !== 'open');
    const item = (t: Ticket) =>
      el(
        'li',
        {
          class: 'ticket-item',
          attrs: { 'data-ticket-id': String(t.id), 'data-status': t.status, 'aria-current': t.id === selected ? 'true' : undefined },
        },
        el(
          'button',
          { attrs: { type: 'button' }, on: { click: () => select(t.id) } },
          el('span', { class: 'ticket-id' }, `#${t.id}`),
          el('span', { class: 'ticket-subject' }, t.subject ?? '(no subject)'),
          el('span', { class: 'ticket-sub' }, `${who(t.customer)} · ${t.status}`),
        ),
      );
    fill(
      list,
      ...(open.length ? open.map(item) : [el('li', { class: 'none' }, 'No open ticket')]),
      closed.length > 0 && el('li', { class: 'group' }, 'Closed'),
      ...closed.map(item),
    );
  }

  function renderTicket(): void {
    const key = JSON.stringify(ticket ?? null);
    if (key === shownTicket) return;
    shownTicket = key;
    setBusy(busy);
    if (!ticket) {
      fill(view, empty);
      shownTicketId = undefined;
      return;
    }
    const t = ticket;
    fill(
      ticketHead,
      el('h3', {}, el('span', { class: 'ticket-id' }, `#${t.id}`), ' ', t.subject ?? '(no subject)'),
      el('span', { class: 'badge', attrs: { 'data-status': t.status } }, t.status),
      ...(t.tags ?? []).map((tag) => el('span', { class: 'tag' }, tag.name)),
    );
    const rows = (pairs: Array<[string, string]>) => pairs.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]);
    const user = metadataOf(t);
    fill(
      meta,
      el(
        'div',
        { class: 'meta-group', attrs: { 'aria-label': 'Ticket' } },
        el('h4', {}, 'Ticket'),
        el(
          'dl',
          {},
          ...rows([
            ['customer', who(t.customer)],
            ...(t.external_id ? [['conversation', t.external_id] as [string, string]] : []),
            ['channel', t.channel],
          ]),
        ),
      ),
      el(
        'div',
        { class: 'meta-group', attrs: { 'aria-label': 'User metadata' } },
        el('h4', {}, 'User metadata'),
        user.length ? el('dl', { class: 'user-meta' }, ...rows(user)) : el('p', {}, 'none given'),
      ),
    );
    const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
    fill(
      messages,
      ...(t.messages ?? []).map((m) => {
        const kind = messageKind(m);
        const from =
          kind === 'note' ? `Internal note · ${who(m.sender)}` : kind === 'agent' ? `Agent · ${who(m.sender)}` : `Customer · ${who(m.sender)}`;
        return el(
          'li',
          { class: `msg ${kind}`, attrs: { 'data-kind': kind, 'data-message-id': String(m.id) } },
          el(
            'div',
            { class: 'who' },
            el('span', {}, from),
            el('time', { attrs: { datetime: m.created_datetime } }, clockTime(Date.parse(m.created_datetime))),
          ),
          el('div', { class: 'body' }, m.body_text),
        );
      }),
    );
    const switched = shownTicketId !== t.id;
    shownTicketId = t.id;
    if (view.firstChild !== ticketHead) fill(view, ticketHead, meta, messages, form);
    if (atBottom || switched) messages.scrollTop = messages.scrollHeight;
  }

  function select(id: number): void {
    if (id !== selected) say('');
    selected = id;
    renderList();
    void refresh();
  }

  // ---- keeping up -----------------------------------------------------------------------------
  let running: Promise<void> | undefined;
  let again = false;

  async function load(): Promise<void> {
    me ??= await call<Person>('GET', '/users/0');
    whoami.textContent = `signed in as ${who(me)}`;
    const q = new URLSearchParams({ limit: String(TICKETS_SHOWN), order_by: 'created_datetime:desc', trashed: 'false' });
    tickets = (await call<ListPage<Ticket>>('GET', `/tickets?${q.toString()}`)).data;
    // Nothing chosen, or the chosen one closed while a newer one is open: show the newest open ticket.
    const newestOpen = tickets.find((t) => t.status === 'open');
    const current = tickets.find((t) => t.id === selected);
    const was = selected;
    if (newestOpen && (!current || (current.status !== 'open' && newestOpen.id > current.id))) selected = newestOpen.id;
    if (selected === undefined && tickets.length) selected = tickets[0].id;
    if (was !== undefined && selected !== was) say('');
    renderList();
    // The ticket embeds its messages (GET /api/tickets/{id}).
    ticket = selected === undefined ? undefined : await call<Ticket>('GET', `/tickets/${selected}`);
    renderTicket();
  }

  /** One refresh at a time; asked again meanwhile, it runs once more after. */
  function refresh(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await load();
        } while (again && !destroyed);
      } catch (err) {
        failed(err);
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  function failed(err: unknown): void {
    if (err instanceof ApiFailure && err.status === 401) {
      say(`Gorgias refused the email and API key: ${err.message}`, 'error');
      options.onUnauthorized?.(err.message);
      return;
    }
    if (err instanceof ApiFailure && err.status === 429) {
      const wait = err.retryAfterS ?? 1;
      say(`Rate limited by Gorgias: trying again in ${wait} s`, 'error');
      // The desk's own wait, in the browser.
      window.setTimeout(() => void refresh(), wait * 1000);
      return;
    }
    say(err instanceof Error ? err.message : String(err), 'error');
  }

  async function act(what: () => Promise<string>): Promise<void> {
    if (busy || !ticket) return;
    setBusy(true);
    try {
      say(await what());
    } catch (err) {
      failed(err);
    } finally {
      setBusy(false);
    }
    await refresh();
  }

  const post = (ticketId: number, body: Record<string, unknown>) =>
    call<TicketMessage>('POST', `/tickets/${ticketId}/messages`, {
      via: VIA,
      from_agent: true,
      sender: me ? { id: me.id } : undefined,
      ...body,
    });

  const written = (): string | undefined => {
    const value = text.value;
    if (value.trim() === '') {
      say('Write something first.', 'error');
      text.focus();
      return undefined;
    }
    return value;
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = written();
    if (value === undefined || !ticket) return;
    const t = ticket;
    void act(async () => {
      await post(t.id, { channel: t.channel, body_text: value });
      text.value = '';
      return `Reply sent on #${t.id}.`;
    });
  });
  noteButton.addEventListener('click', () => {
    const value = written();
    if (value === undefined || !ticket) return;
    const t = ticket;
    void act(async () => {
      await post(t.id, { channel: NOTE_CHANNEL, body_text: value });
      text.value = '';
      return `Internal note added on #${t.id} (the customer never sees it).`;
    });
  });
  macroButton.addEventListener('click', () => {
    if (!ticket) return;
    const t = ticket;
    void act(async () => {
      const macro = await findSignoff();
      if (!macro) throw new Error(`No sign-off macro (one whose reply carries ${options.signoffToken}): run \`livechat macro create\`.`);
      // As the Gorgias web app does: the macro's reply is sent as the agent's message; a status it sets is applied.
      // [guess] Tags a macro adds are not applied here: a PUT of tags replaces them all.
      const response = macro.actions.find((a) => a.name === 'setResponseText');
      const body_text = typeof response?.arguments.body_text === 'string' ? response.arguments.body_text : '';
      const body_html = typeof response?.arguments.body_html === 'string' ? response.arguments.body_html : undefined;
      await post(t.id, { channel: t.channel, body_text, ...(body_html === undefined ? {} : { body_html }) });
      const setStatus = macro.actions.find((a) => a.name === 'setStatus' && typeof a.arguments.status === 'string');
      if (setStatus) await call('PUT', `/tickets/${t.id}`, { status: setStatus.arguments.status });
      return `Macro “${macro.name}” applied on #${t.id}.`;
    });
  });

  async function findSignoff(): Promise<Macro | undefined> {
    let cursor: string | null | undefined;
    for (let page = 0; page < 50; page++) {
      const q = new URLSearchParams({ limit: '100', ...(cursor ? { cursor } : {}) });
      const got = await call<ListPage<Macro>>('GET', `/macros?${q.toString()}`);
      const found = got.data.find((m) => isSignoff(m, options.signoffToken));
      if (found) return found;
      cursor = got.meta?.next_cursor;
      if (!cursor) return undefined;
    }
    return undefined;
  }

  if (options.live) options.live(() => void refresh());
  else {
    // Standalone: poll, gently (the API key's 40 calls per 20 s are shared with the bridge), and not while hidden.
    const tick = () => {
      if (destroyed) return;
      if (!document.hidden) void refresh();
      poll = window.setTimeout(tick, options.pollMs ?? DEFAULT_POLL_MS);
    };
    poll = window.setTimeout(tick, options.pollMs ?? DEFAULT_POLL_MS);
  }
  setBusy(false);
  void refresh();

  return {
    refresh,
    destroy() {
      destroyed = true;
      if (poll !== undefined) window.clearTimeout(poll);
      root.replaceChildren();
    },
  };
}
