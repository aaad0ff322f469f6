// The webhook receiver over real HTTP on 127.0.0.1, feeding the real session manager.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createReceiver, decodeText, parseWebhook } from '../src/receiver/index.js';
import { createSessionManager, type HelpdeskPort, type SessionManager, type UserOutput } from '../src/session/manager.js';
import { SESSION_START } from '../src/protocol.js';
import type { AgentWebhook } from '../src/session/types.js';

const TOKEN = 's3cr3t-token';
const TRICKY = 'Tom & Jerry #1 + 50% off\nsecond line 👋 é';

const helpdesk: HelpdeskPort = {
  openTicket: async () => ({ ticketId: 100 }),
  postUserMessage: async () => ({ messageId: 1 }),
  endSession: async () => undefined,
};

let server: Server;
let base: string;
let port: number;
let manager: SessionManager;
const delivered: Array<{ id: string; out: UserOutput }> = [];
const events: AgentWebhook[] = [];
let eventSeq = 0;

before(async () => {
  manager = createSessionManager({
    helpdesk,
    sinks: { toUser: (id, out) => delivered.push({ id, out }), toBot: () => undefined },
  });
  await manager.userPayload('conv-1', SESSION_START);
  const handler = createReceiver({
    token: TOKEN,
    maxUrlBytes: 4096,
    maxBodyBytes: 2048,
    onEvent: (e) => {
      events.push(e);
      return manager.agentWebhook(e);
    },
  });
  server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}/gorgias/webhook`;
});

after(async () => {
  manager.close();
  await new Promise<void>((r) => server.close(() => r()));
});

/** The template's query, with the text placed as given (already encoded, or raw). */
function query(textPart: string, over: Record<string, string> = {}): string {
  const p = {
    external_id: 'conv-1',
    ticket_id: '100',
    event_type: 'ticket-message-created',
    event_id: `ev-${++eventSeq}`,
    message_id: String(1000 + eventSeq),
    ...over,
  };
  const head = Object.entries(p)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&');
  return `${head}&text=${textPart}&from_agent=${over.from_agent ?? 'true'}&token=${over.token ?? TOKEN}`;
}

async function call(url: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A request written byte for byte, for what fetch would re-encode or cut (a raw "#"). */
function raw(method: string, path: string, headers: Record<string, string> = {}, body = ''): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', `Content-Length: ${Buffer.byteLength(body)}`];
      for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
    });
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(data.split(' ')[1]);
      resolve({ status, body: data.slice(data.indexOf('\r\n\r\n') + 4) });
    });
  });
}

const lastText = () => delivered.at(-1)?.out.text;

describe('webhook receiver', () => {
  it('refuses a missing or wrong token with 401 and a JSON error', async () => {
    const noToken = await call(`${base}?${query('hi').replace(/&token=.*$/, '')}`);
    assert.equal(noToken.status, 401);
    assert.deepEqual(noToken.body, { error: 'missing token' });
    const wrong = await call(`${base}?${query('hi', { token: 'nope' })}`);
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body, { error: 'invalid token' });
    const almost = await call(`${base}?${query('hi', { token: TOKEN.slice(0, -1) })}`);
    assert.equal(almost.status, 401);
    assert.equal(events.length, 0, 'nothing reached the engine');
  });

  it('accepts the token in a header too', async () => {
    const res = await call(`${base}?${query('via header').replace(/&token=.*$/, '')}`, { headers: { 'x-livechat-token': TOKEN } });
    assert.equal(res.status, 200);
    assert.equal(lastText(), 'via header');
  });

  it('answers 400 with a reason for malformed input', async () => {
    const cases: Array<[string, RegExp]> = [
      [query('hi', { from_agent: 'maybe' }), /from_agent must be true or false/],
      [query('hi', { ticket_id: 'abc' }), /ticket_id must be a number/],
      [query('hi', { external_id: '', ticket_id: '' }), /missing external_id/],
      [query('hi', { event_id: '', message_id: '' }), /missing event_id and message_id/],
      [query('%FF%FE'), /UTF-8/],
      [`external_id=conv-1&event_id=x&token=${TOKEN}`, /missing text/],
    ];
    for (const [q, reason] of cases) {
      const res = await call(`${base}?${q}`);
      assert.equal(res.status, 400, q);
      assert.match(String(res.body.error), reason);
    }
    const badJson = await call(`${base}?token=${TOKEN}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text": ' });
    assert.equal(badJson.status, 400);
    assert.match(String(badJson.body.error), /not valid JSON/);
  });

  it('bounds the URL, the body and the methods', async () => {
    const longUrl = await call(`${base}?${query('x'.repeat(5000))}`);
    assert.equal(longUrl.status, 414);
    const bigBody = await call(`${base}?token=${TOKEN}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'y'.repeat(5000) }),
    });
    assert.equal(bigBody.status, 413);
    const put = await call(`${base}?${query('hi')}`, { method: 'PUT' });
    assert.equal(put.status, 405);
  });

  it('delivers a message once: a duplicate event is acknowledged but not shown again', async () => {
    const q = query('only%20once', { event_id: 'dup-1', message_id: '5001' });
    const first = await call(`${base}?${q}`);
    assert.deepEqual([first.status, first.body], [200, { ok: true, outcome: 'delivered' }]);
    const again = await call(`${base}?${q}`, { method: 'POST' });
    assert.deepEqual([again.status, again.body], [200, { ok: true, outcome: 'duplicate' }]);
    const sameMessage = await call(`${base}?${query('only%20once', { event_id: 'dup-2', message_id: '5001' })}`);
    assert.equal(sameMessage.body.outcome, 'duplicate');
    assert.equal(delivered.filter((d) => d.out.text === 'only once').length, 1);
  });

  it('ignores from_agent=false echoes (any spelling of the flag)', async () => {
    for (const flag of ['false', 'False', '0']) {
      const res = await call(`${base}?${query('echo', { from_agent: flag })}`);
      assert.deepEqual(res.body, { ok: true, outcome: 'echo' });
    }
    assert.ok(!delivered.some((d) => d.out.text === 'echo'));
    const yes = await call(`${base}?${query('True%20flag', { from_agent: 'True' })}`);
    assert.equal(yes.body.outcome, 'delivered');
  });

  it('acknowledges an unknown conversation, changes nothing, shows nothing', async () => {
    const before = delivered.length;
    const res = await call(`${base}?${query('who%3F', { external_id: 'ghost', ticket_id: '999' })}`);
    assert.deepEqual([res.status, res.body], [200, { ok: true, outcome: 'unknown' }]);
    assert.equal(delivered.length, before);
    assert.equal(manager.state('ghost'), 'BOT');
  });

  it('acknowledges and ignores other event types', async () => {
    const res = await call(`${base}?${query('x', { event_type: 'ticket-updated' })}`);
    assert.deepEqual(res.body, { ok: true, outcome: 'ignored' });
  });

  it('reads encodeURIComponent text with &, #, +, newlines and emoji (GET and POST)', async () => {
    for (const method of ['GET', 'POST']) {
      const res = await call(`${base}?${query(encodeURIComponent(TRICKY))}`, { method });
      assert.equal(res.body.outcome, 'delivered');
      assert.equal(lastText(), TRICKY);
    }
  });

  it('reads form-encoded text ("+" for spaces)', async () => {
    const form = new URLSearchParams({ text: TRICKY }).toString().slice('text='.length);
    assert.match(form, /\+/);
    await call(`${base}?${query(form)}`);
    assert.equal(lastText(), TRICKY);
  });

  it('reads raw text: &, #, + as they are, the rest escaped by the sender', async () => {
    // What an HTTP library sends for an unencoded template value: only what HTTP forbids is escaped.
    const rawish = TRICKY.replace(/[ \n%]|[^\x00-\x7f]+/gu, (c) => (c === '%' ? '%' : encodeURIComponent(c)));
    assert.ok(rawish.includes('&') && rawish.includes('#') && rawish.includes('+'));
    const res = await raw('GET', `/gorgias/webhook?${query(rawish)}`);
    assert.equal(res.status, 200, res.body);
    assert.equal(lastText(), TRICKY);
    const bare = await raw('POST', `/any/path?${query('a&b#c+d=e')}`);
    assert.equal(bare.status, 200, bare.body);
    assert.equal(lastText(), 'a&b#c+d=e');
  });

  it('reads the params from a JSON or form body on POST; the token comes in the URL or the header, never the body', async () => {
    const fields = { external_id: 'conv-1', ticket_id: 100, event_id: 'json-1', message_id: '7001', text: TRICKY, from_agent: true };
    const json = await call(base, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-livechat-token': TOKEN },
      body: JSON.stringify(fields),
    });
    assert.deepEqual([json.status, json.body.outcome], [200, 'delivered']);
    assert.equal(lastText(), TRICKY);
    const form = new URLSearchParams({ ...fields, ticket_id: '100', event_id: 'form-1', message_id: '7002', text: 'form body', from_agent: '1' });
    const formRes = await call(`${base}?token=${TOKEN}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    assert.equal(formRes.body.outcome, 'delivered');
    assert.equal(lastText(), 'form body');
    // The token is checked before a body is read: one in the body alone is no token.
    const before = events.length;
    const inBody = await call(base, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...fields, event_id: 'json-2', message_id: '7003', token: TOKEN }),
    });
    assert.deepEqual([inBody.status, inBody.body], [401, { error: 'missing token' }]);
    assert.equal(events.length, before);
  });
});

describe('parseWebhook and decodeText (pure)', () => {
  it('decides what "+" means from the rest of the text', () => {
    assert.equal(decodeText('hello+there'), 'hello there'); // form-encoded
    assert.equal(decodeText('1%2B1%20%3D%202'), '1+1 = 2'); // encodeURIComponent
    assert.equal(decodeText('1+1%20=%202'), '1+1 = 2'); // raw, spaces escaped by the sender
    assert.equal(decodeText('a+b&c'), 'a+b&c'); // raw
    assert.equal(decodeText('50%+off'), '50% off'); // a lone "%" stays
  });

  it('takes the text up to the last &from_agent= so raw text may contain the separators', () => {
    const r = parseWebhook(`/x?external_id=c&event_id=1&text=a&from_agent=true&b&from_agent=false&token=t`, '', undefined, { token: 't' });
    assert.ok(r.ok);
    assert.equal(r.event.text, 'a&from_agent=true&b');
    assert.equal(r.event.fromAgent, false);
  });

  it('treats an unfilled template variable as missing', () => {
    const r = parseWebhook(`/x?external_id={{ticket.external_id}}&ticket_id=5&message_id=9&text=hi&from_agent=1`, '', undefined);
    assert.ok(r.ok);
    assert.equal(r.event.conversationId, undefined);
    assert.equal(r.event.ticketId, 5);
  });
});

describe('parseWebhook: the installed body, missing values, and when to read a message back (pure)', () => {
  const HARD = 'a & b #1 + 2 = 3 100%\nمرحبا 🎉';
  const context = (message: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      ticket: { id: 100, external_id: 'conv-1', messages: [] },
      message: { id: 7, ticket_id: 100, body_text: HARD, from_agent: true, channel: 'chat', ...message },
      ...extra,
    });
  const url = '/w?external_id=conv-1&ticket_id=100&event_type=ticket-message-created&event_id=55&message_id=7&from_agent=True&channel=chat';
  const parse = (u: string, body = '', type: string | undefined = 'application/json', headerToken?: string) =>
    parseWebhook(u, body, type, { token: 't', headerToken });

  it('the {{context}} body gives the ids, the exact text and the channel; the token comes in the header', () => {
    const r = parse(url, context({}), 'application/json', 't');
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.event, {
      conversationId: 'conv-1',
      ticketId: 100,
      eventType: 'ticket-message-created',
      eventId: '55',
      messageId: '7',
      text: HARD,
      fromAgent: true,
      channel: 'chat',
    });
    assert.deepEqual(parse(url, context({})), { ok: false, status: 401, reason: 'missing token' });
    // The body wins over the URL, and an event in it is used.
    const noted = parse(
      '/w?message_id=1&from_agent=False',
      context({ channel: 'internal-note' }, { event: { id: 9, type: 'ticket-message-created' } }),
      undefined,
      't',
    );
    assert.ok(noted.ok);
    assert.deepEqual([noted.event.channel, noted.event.fromAgent, noted.event.messageId, noted.event.eventId], ['internal-note', true, '7', '9']);
  });

  it('a body without channel or with no text: read back (verify)', () => {
    const noChannel = parse(url.replace('&channel=chat', ''), context({ channel: null }), 'application/json', 't');
    assert.ok(noChannel.ok);
    assert.equal(noChannel.event.verify, 'channel');
    const noText = parse(url, context({ body_text: null }), 'application/json', 't');
    assert.ok(noText.ok);
    assert.equal(noText.event.verify, 'text');
  });

  it('None, null and empty mean missing; True and False are the flag', () => {
    const q = (over: string) => `/x?external_id=conv-1&ticket_id=5&event_id=1&message_id=9&text=hi&from_agent=True&channel=chat&token=t${over}`;
    const none = parseWebhook(
      '/x?external_id=None&ticket_id=5&event_id=None&message_id=9&text=hi&from_agent=False&channel=null&token=t',
      '',
      undefined,
      { token: 't' },
    );
    assert.ok(none.ok);
    assert.deepEqual(
      [none.event.conversationId, none.event.eventId, none.event.channel, none.event.fromAgent],
      [undefined, undefined, undefined, false],
    );
    assert.equal(none.event.verify, undefined, "a customer's echo is never read back");
    const flag = parse(q(''));
    assert.ok(flag.ok);
    assert.deepEqual([flag.event.fromAgent, flag.event.verify], [true, undefined]);
    const noText = parseWebhook(q('').replace('text=hi', 'text=None'), '', undefined, { token: 't' });
    assert.ok(noText.ok);
    assert.equal(noText.event.verify, 'text');
    const noFlag = parseWebhook(q('').replace('from_agent=True', 'from_agent=None'), '', undefined, { token: 't' });
    assert.ok(noFlag.ok);
    assert.deepEqual([noFlag.event.fromAgent, noFlag.event.verify], [true, 'text']);
    // Without a message id nothing can be read back: missing is malformed.
    const noId = parseWebhook('/x?external_id=c&event_id=1&text=None&from_agent=True&token=t', '', undefined, { token: 't' });
    assert.deepEqual(noId, { ok: false, status: 400, reason: 'missing text' });
  });

  it('a query text is read back when it may not be exact: cut short, an ambiguous "+", an unencoded %XX; a legacy URL for its channel', () => {
    const q = (text: string, tail = '&from_agent=True&channel=chat') =>
      `/x?external_id=c&ticket_id=5&event_id=1&message_id=9&text=${text}${tail}&token=t`;
    const verdict = (u: string) => {
      const r = parseWebhook(u, '', undefined, { token: 't' });
      assert.ok(r.ok, u);
      return [r.event.text, r.event.verify];
    };
    assert.deepEqual(verdict(q(encodeURIComponent(HARD))), [HARD, undefined], 'fully encoded: exact');
    assert.deepEqual(verdict(q('C++')), ['C  ', 'text'], '"+" may be a plus or a space');
    assert.deepEqual(verdict(q('Tom+%26+Jerry')), ['Tom & Jerry', 'text'], 'form-encoded: read back too');
    assert.deepEqual(verdict(q('a%20&%20b+c')), ['a & b+c', 'text'], 'unencoded "&" with %XX: a typed %20 would be lost');
    assert.deepEqual(verdict(q('a&b+c')), ['a&b+c', undefined], 'unencoded, nothing to decode: exact');
    // A raw "#" ends the URL: no from_agent after the text (the token came in the header).
    const cut = parseWebhook('/x?external_id=c&ticket_id=5&event_id=1&message_id=9&text=Tom%20&%20Jerry%20', '', undefined, {
      token: 't',
      headerToken: 't',
    });
    assert.ok(cut.ok);
    assert.deepEqual([cut.event.text, cut.event.fromAgent, cut.event.verify], ['Tom & Jerry ', true, 'text']);
    assert.deepEqual(verdict(q('hello', '&from_agent=True')), ['hello', 'channel'], 'a template from before &channel=');
  });
});
