// Hostile input against the real webhook receiver on 127.0.0.1: malformed, huge, wrongly encoded,
// token-less, slow and non-HTTP requests, written byte for byte on raw sockets (fetch would
// refuse or normalise most of them). Each one gets a 4xx (non-HTTP garbage may just be hung up
// on), nothing reaches onEvent, valid webhooks sent in between arrive exactly once, and the heap
// does not grow with the barrage.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  createReceiver,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_URL_BYTES,
  listenReceiver,
  SERVER_MAX_HEADER_SIZE,
  type RejectedRequest,
  type RunningReceiver,
} from '../src/receiver/index.js';
import type { AgentWebhook } from '../src/session/types.js';

const TOKEN = 'hostile-test-token-0123456789';

let receiver: RunningReceiver;
const events: AgentWebhook[] = [];
const rejected: RejectedRequest[] = [];

before(async () => {
  // The real defaults (URL, body and header limits), as `livechat` runs it.
  const handler = createReceiver({
    token: TOKEN,
    onEvent: (e) => {
      events.push(e);
    },
    onRejected: (r) => rejected.push(r),
  });
  receiver = await listenReceiver(handler, 0, '127.0.0.1');
});

after(async () => {
  await receiver.close();
});

// ---- raw HTTP over a socket ------------------------------------------------------------------

interface Exchange {
  /** Status of the first response, if one came back. */
  status?: number;
  /** The connection was reset rather than closed (the server stopped reading a huge upload). */
  reset: boolean;
}

/**
 * Write `data`, read until the server closes the connection. `endAfterWrite` half-closes our side
 * (for garbage that never completes a request, so the server sees the end of it).
 */
function exchange(data: Buffer | string, endAfterWrite = false): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let reset = false;
    const socket = connect(receiver.port, '127.0.0.1', () => {
      socket.write(data);
      if (endAfterWrite) socket.end();
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within 5 s to ${String(data).slice(0, 80)}`));
    }, 5000);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') reset = true;
      else reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const head = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3}) /.exec(head);
      resolve({ status: m ? Number(m[1]) : undefined, reset });
    });
  });
}

/** A complete HTTP/1.1 request; Content-Length is added unless a Transfer-Encoding is given. */
function request(method: string, target: string | Buffer, headers: Record<string, string> = {}, body: string | Buffer = ''): Buffer {
  const head = [`Host: 127.0.0.1`, 'Connection: close'];
  const lower = Object.keys(headers).map((k) => k.toLowerCase());
  if (!lower.includes('transfer-encoding') && !lower.includes('content-length') && (body.length > 0 || method === 'POST')) {
    head.push(`Content-Length: ${Buffer.byteLength(body)}`);
  }
  for (const [k, v] of Object.entries(headers)) head.push(`${k}: ${v}`);
  return Buffer.concat([
    Buffer.from(`${method} `, 'latin1'),
    Buffer.isBuffer(target) ? target : Buffer.from(target, 'latin1'),
    Buffer.from(` HTTP/1.1\r\n${head.join('\r\n')}\r\n\r\n`, 'latin1'),
    Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
  ]);
}

/** `body` as chunked transfer encoding; `terminate: false` leaves the last chunk unsent. */
function chunked(body: Buffer, chunkSize: number, terminate = true): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < body.length; i += chunkSize) {
    const c = body.subarray(i, i + chunkSize);
    parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
  }
  if (terminate) parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

// ---- the webhook URL ------------------------------------------------------------------------

interface Fields {
  external_id?: string;
  ticket_id?: string;
  event_type?: string;
  event_id?: string;
  message_id?: string;
  text?: string;
  from_agent?: string;
  token?: string;
}

/** The template's query with each value placed as given (so it may be malformed on purpose). */
function query(over: Fields = {}): string {
  const p: Fields = {
    external_id: 'conv-h',
    ticket_id: '42',
    event_type: 'ticket-message-created',
    event_id: 'ev-bad',
    message_id: '9000',
    text: 'hello',
    from_agent: 'true',
    token: TOKEN,
    ...over,
  };
  return Object.entries(p)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

const path = (over: Fields = {}) => `/gorgias/webhook?${query(over)}`;

// ---- valid webhooks, to be found exactly once ------------------------------------------------

const sentValid = new Map<string, string>(); // event id -> text
let validSeq = 0;

/** A valid webhook with a unique event id and awkward text, as GET, a JSON POST or a form POST. */
function validRequest(): Buffer {
  const n = ++validSeq;
  const id = `ok-${n}`;
  const text = `agent reply #${n} & 50% off + "quotes" 👋 é\nline 2`;
  sentValid.set(id, text);
  const fields = { external_id: 'conv-ok', ticket_id: '77', event_id: id, message_id: String(50_000 + n), from_agent: 'true' };
  switch (n % 3) {
    case 0:
      return request('GET', path({ ...fields, text: encodeURIComponent(text), token: TOKEN }));
    case 1: // the installed form: the token in a header
      return request(
        'POST',
        '/gorgias/webhook',
        { 'Content-Type': 'application/json', 'X-Livechat-Token': TOKEN },
        JSON.stringify({ ...fields, text }),
      );
    default:
      return request(
        'POST',
        `/gorgias/webhook?token=${TOKEN}`,
        { 'Content-Type': 'application/x-www-form-urlencoded' },
        new URLSearchParams({ ...fields, text }).toString(),
      );
  }
}

async function sendValid(): Promise<void> {
  const r = await exchange(validRequest());
  assert.equal(r.status, 200, `valid webhook ok-${validSeq}`);
}

/** Every valid webhook sent so far was recorded exactly once, with its text; nothing else was. */
function assertExactlyOnce(): void {
  const seen = new Map<string, number>();
  for (const e of events) seen.set(e.eventId ?? '?', (seen.get(e.eventId ?? '?') ?? 0) + 1);
  assert.deepEqual([...seen.keys()].sort(), [...sentValid.keys()].sort(), 'recorded events are exactly the valid ones');
  for (const [id, count] of seen) assert.equal(count, 1, `${id} recorded ${count} times`);
  for (const e of events) assert.equal(e.text, sentValid.get(e.eventId!), `text of ${e.eventId}`);
}

// ---- the catalogue --------------------------------------------------------------------------

/** Expected answer: an exact status, several allowed, or "hung up" (4xx or closed with no answer). */
type Expect = number | number[] | 'hung-up';

interface Hostile {
  name: string;
  data: Buffer | string;
  expect: Expect;
  /** Half-close after writing (garbage that is no complete request). */
  end?: boolean;
  /** The client keeps uploading past the limit: the server may reset the connection instead. */
  mayReset?: boolean;
}

const big = (n: number, c = 'a') => c.repeat(n);
const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

const malformedQueries: Hostile[] = [
  { name: 'truncated UTF-8 escape %E0%A4 in text', data: request('GET', path({ text: 'x%E0%A4' })), expect: 400 },
  { name: 'lone high surrogate (CESU %ED%A0%80) in text', data: request('GET', path({ text: '%ED%A0%80' })), expect: 400 },
  { name: 'lone low surrogate (CESU %ED%B0%80) in text', data: request('GET', path({ text: 'a%ED%B0%80b' })), expect: 400 },
  { name: 'overlong NUL %C0%80 in text', data: request('GET', path({ text: '%C0%80' })), expect: 400 },
  { name: 'byte %FF in text', data: request('GET', path({ text: '%FF' })), expect: 400 },
  { name: 'bad escape %E0%A4 in event_id', data: request('GET', path({ event_id: '%E0%A4' })), expect: 400 },
  { name: 'bad escape %ZZ in ticket_id', data: request('GET', path({ ticket_id: '%ZZ' })), expect: 400 },
  { name: 'NUL %00 in ticket_id', data: request('GET', path({ ticket_id: '42%00' })), expect: 400 },
  { name: 'NUL %00 as from_agent', data: request('GET', path({ from_agent: '%00' })), expect: 400 },
  { name: 'bad escape %ZZ in from_agent', data: request('GET', path({ from_agent: 'tr%ZZue' })), expect: 400 },
  { name: 'bad escape %ZZ as token', data: request('GET', path({ token: '%ZZ' })), expect: 401 },
  { name: 'token with a NUL appended', data: request('GET', path({ token: `${TOKEN}%00` })), expect: 401 },
  { name: 'parameter given twice with different values', data: request('GET', `${path()}&event_id=other`), expect: 400 },
  {
    name: 'raw NUL byte in the URL',
    data: request('GET', Buffer.concat([Buffer.from(path({ text: 'a' })), Buffer.from([0]), Buffer.from('b')])),
    expect: 400,
  },
  {
    name: 'raw 0xFF byte in the URL',
    data: request('GET', Buffer.concat([Buffer.from(path({ text: 'a' })), Buffer.from([0xff, 0xfe])])),
    expect: 400,
  },
  { name: 'raw (unescaped) UTF-8 in the URL', data: request('GET', Buffer.from(path({ text: 'héllo' }), 'utf8')), expect: 400 },
  { name: 'raw space in the URL', data: request('GET', path({ text: 'two words' })), expect: 400 },
  { name: 'only a query, no fields', data: request('GET', '/?&&&==&'), expect: 401 },
];

const hugeUrls: Hostile[] = [
  { name: 'URL one byte over the receiver limit', data: request('GET', `/w?${query({ text: big(DEFAULT_MAX_URL_BYTES) })}`), expect: 414 },
  { name: 'URL over the server header limit', data: request('GET', `/w?${query({ text: big(SERVER_MAX_HEADER_SIZE) })}`), expect: 431 },
  { name: '1 MB URL', data: request('GET', `/w?${query({ text: big(1 << 20) })}`), expect: 431, mayReset: true },
  { name: 'one huge header', data: request('GET', path(), { 'X-Padding': big(SERVER_MAX_HEADER_SIZE) }), expect: 431 },
];

const overBody = Buffer.from(JSON.stringify({ text: big(DEFAULT_MAX_BODY_BYTES) }));
const hugeBodies: Hostile[] = [
  {
    name: 'declared Content-Length of 1 TB, no body sent',
    data: request('POST', path(), { 'Content-Type': 'application/json', 'Content-Length': String(1e12) }),
    expect: 413,
  },
  {
    name: 'declared body one byte over the limit, sent',
    data: request('POST', path(), { 'Content-Type': 'application/json' }, big(DEFAULT_MAX_BODY_BYTES + 1)),
    expect: 413,
    mayReset: true,
  },
  {
    name: 'chunked body over the limit, never terminated',
    data: request('POST', path(), { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }, chunked(overBody, 4096, false)),
    expect: 413,
    mayReset: true,
  },
  {
    name: 'chunked body 64 KB over the limit',
    data: request(
      'POST',
      path(),
      { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
      chunked(Buffer.alloc(DEFAULT_MAX_BODY_BYTES + (1 << 16), 0x61), 16384),
    ),
    expect: 413,
    mayReset: true,
  },
];

const jsonPost = (body: string | Buffer, type = 'application/json') => request('POST', `/w?token=${TOKEN}`, { 'Content-Type': type }, body);
const validJsonFields = { external_id: 'conv-h', event_id: 'ev-bad', message_id: '1', text: 'hi', from_agent: true };
const badBodies: Hostile[] = [
  {
    name: 'invalid UTF-8 JSON body',
    data: jsonPost(Buffer.concat([Buffer.from('{"text":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])),
    expect: 400,
  },
  {
    name: 'UTF-16 JSON body',
    data: jsonPost(Buffer.from(JSON.stringify(validJsonFields), 'utf16le'), 'application/json; charset=utf-16le'),
    expect: 400,
  },
  { name: 'fields in a text/plain body', data: jsonPost(JSON.stringify(validJsonFields), 'text/plain'), expect: 400 },
  { name: 'fields in an octet-stream body', data: jsonPost(JSON.stringify(validJsonFields), 'application/octet-stream'), expect: 400 },
  { name: 'truncated JSON', data: jsonPost('{"external_id": "conv-h", "text": "hi'), expect: 400 },
  { name: 'JSON array', data: jsonPost('[1,2,3]'), expect: 400 },
  { name: 'JSON string', data: jsonPost('"hello"'), expect: 400 },
  { name: 'JSON number', data: jsonPost('42'), expect: 400 },
  { name: 'JSON null', data: jsonPost('null'), expect: 400 },
  { name: 'deeply nested JSON array', data: jsonPost(deepArray(30_000)), expect: 400 },
  {
    name: 'deeply nested object as text',
    data: jsonPost(`{"external_id":"conv-h","event_id":"x","from_agent":true,"text":${deepObject(10_000)}}`),
    expect: 400,
  },
  { name: 'deeply nested object, no fields', data: jsonPost(`{"x":${deepObject(10_000)}}`), expect: 400 },
  {
    name: 'token as an array in the body (no token: refused before the body is read)',
    data: request('POST', '/w', { 'Content-Type': 'application/json' }, JSON.stringify({ ...validJsonFields, token: [TOKEN] })),
    expect: 401,
  },
  {
    name: 'form body with a bad escape',
    data: jsonPost(`external_id=conv-h&event_id=x&text=%E0%A4&from_agent=true`, 'application/x-www-form-urlencoded'),
    expect: 400,
  },
];

const badTokens: Hostile[] = [
  { name: 'no token', data: request('GET', path({ token: undefined })), expect: 401 },
  { name: 'empty token', data: request('GET', path({ token: '' })), expect: 401 },
  { name: 'wrong token', data: request('GET', path({ token: 'nope' })), expect: 401 },
  { name: 'token one character short', data: request('GET', path({ token: TOKEN.slice(0, -1) })), expect: 401 },
  { name: 'token with a suffix', data: request('GET', path({ token: `${TOKEN}x` })), expect: 401 },
  { name: '30 KB token', data: request('GET', path({ token: big(30_000, 't') })), expect: 401 },
  { name: 'wrong token in the header', data: request('GET', path({ token: undefined }), { 'X-Livechat-Token': 'nope' }), expect: 401 },
  {
    name: 'right and wrong token headers',
    data: request('GET', path({ token: undefined }), { 'X-Livechat-Token': TOKEN, 'x-livechat-token': 'nope' }),
    expect: 401,
  },
  { name: 'wrong token in the query beats the header', data: request('GET', path({ token: 'nope' }), { 'X-Livechat-Token': TOKEN }), expect: 401 },
  {
    name: 'no token in a JSON body',
    data: request('POST', '/w', { 'Content-Type': 'application/json' }, JSON.stringify(validJsonFields)),
    expect: 401,
  },
  {
    name: 'the token in the body only',
    data: request('POST', '/w', { 'Content-Type': 'application/json' }, JSON.stringify({ ...validJsonFields, token: TOKEN })),
    expect: 401,
  },
  {
    name: 'websocket upgrade without a token',
    data: request('GET', path({ token: undefined }), { Upgrade: 'websocket', Connection: 'Upgrade' }),
    expect: 401,
  },
];

const wrongMethods: Hostile[] = [
  ...['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'HEAD', 'PROPFIND'].map((m) => ({ name: `${m}`, data: request(m, path()), expect: 405 })),
  { name: 'unknown method FOO', data: request('FOO', path()), expect: 400 },
  { name: 'lower-case get', data: request('get', path()), expect: 400 },
];

const garbage: Hostile[] = [
  { name: 'TLS ClientHello', data: Buffer.from('16030100a5010000a10303' + 'ab'.repeat(32), 'hex'), expect: 'hung-up', end: true },
  { name: 'HTTP/2 preface', data: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', expect: 'hung-up', end: true },
  { name: 'random bytes', data: Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)), expect: 'hung-up', end: true },
  { name: 'SSH banner', data: 'SSH-2.0-OpenSSH_9.6\r\n', expect: 'hung-up', end: true },
  { name: 'CONNECT tunnel', data: 'CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n', expect: 'hung-up', end: true },
  { name: 'header line without a colon', data: `GET ${path()} HTTP/1.1\r\nHost: a\r\nnot a header\r\n\r\n`, expect: 400 },
  {
    name: 'Content-Length and Transfer-Encoding (smuggling)',
    data: `POST ${path()} HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    expect: 400,
  },
  {
    name: 'two different Content-Lengths',
    data: `POST ${path()} HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab`,
    expect: 400,
  },
  { name: 'negative Content-Length', data: `POST ${path()} HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n`, expect: 400 },
  { name: 'bad chunk size', data: `POST ${path()} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nab\r\n0\r\n\r\n`, expect: 400 },
  { name: 'HTTP/9.9', data: `GET ${path()} HTTP/9.9\r\nHost: a\r\n\r\n`, expect: 'hung-up', end: true },
  { name: 'a request line only, then EOF', data: `GET ${path()} HTTP/1.1\r\n`, expect: 'hung-up', end: true },
];

const CATALOGUE: Array<[string, Hostile[]]> = [
  ['malformed query strings', malformedQueries],
  ['huge URLs and headers', hugeUrls],
  ['huge bodies', hugeBodies],
  ['wrongly encoded bodies', badBodies],
  ['missing or wrong tokens', badTokens],
  ['wrong methods', wrongMethods],
  ['non-HTTP garbage and broken framing', garbage],
];

function assertAnswer(h: Hostile, r: Exchange): void {
  if (h.expect === 'hung-up') {
    if (r.status !== undefined) assert.ok(r.status >= 400 && r.status < 500, `${h.name}: got ${r.status}`);
    return;
  }
  if (h.mayReset && r.status === undefined && r.reset) return; // refused by reset mid-upload
  const allowed = Array.isArray(h.expect) ? h.expect : [h.expect];
  assert.ok(
    r.status !== undefined && allowed.includes(r.status),
    `${h.name}: expected ${allowed.join('/')}, got ${r.status ?? 'no answer'}${r.reset ? ' (reset)' : ''}`,
  );
}

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

function gcIfPossible(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

describe('webhook receiver under hostile input', () => {
  for (const [group, cases] of CATALOGUE) {
    it(`${group}: each gets a 4xx, valid webhooks in between arrive`, async () => {
      for (const h of cases) {
        assertAnswer(h, await exchange(h.data, h.end));
        await sendValid();
      }
      assertExactlyOnce();
    });
  }

  it('never answers 5xx to anything', async () => {
    // Sends the whole catalogue itself, so that it stands alone.
    const from = rejected.length;
    for (const [, cases] of CATALOGUE) for (const h of cases) await exchange(h.data, h.end);
    const mine = rejected.slice(from);
    assert.ok(mine.length > 0);
    assert.deepEqual(
      mine.filter((r) => r.status >= 500),
      [],
    );
  });

  it('slow, partial requests do not block anyone else', async () => {
    const slow: Socket[] = [];
    const open = (data: string) =>
      new Promise<Socket>((resolve, reject) => {
        const s = connect(receiver.port, '127.0.0.1', () => {
          s.write(data);
          resolve(s);
        });
        s.on('error', reject);
      });
    for (let i = 0; i < 20; i++) {
      slow.push(await open(`GET ${path()} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${i}`)); // headers never finished
      slow.push(await open(`POST ${path()} HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"te`)); // body never finished
      slow.push(await open(`POST ${path()} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc`)); // chunk never finished
    }
    const answered = slow.map(() => false);
    slow.forEach((s, i) => s.on('data', () => (answered[i] = true)));

    await Promise.all(Array.from({ length: 30 }, () => sendValid()));
    assertExactlyOnce();
    assert.ok(
      answered.every((a) => !a),
      'the partial requests are still waiting, not answered',
    );
    assert.ok(
      slow.every((s) => !s.destroyed),
      'and still connected',
    );
    for (const s of slow) s.destroy();
  });

  it('stays up with bounded memory through a few hundred huge and garbage requests', async () => {
    const gc = gcIfPossible();
    gc?.();
    // Heap plus Buffer memory (request bodies live outside the JS heap).
    const used = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const heapBefore = used();

    const barrage: Array<Hostile | 'valid'> = [];
    const heavy = [...hugeUrls, ...hugeBodies, ...garbage, badBodies.find((b) => b.name === 'deeply nested JSON array')!];
    const megabyteBody = hugeBodies.find((b) => b.name === 'chunked body 64 KB over the limit')!;
    for (let i = 0; i < 400; i++) {
      barrage.push(i % 4 === 0 ? megabyteBody : heavy[i % heavy.length]); // ~130 MB sent in all
      if (i % 12 === 0) barrage.push('valid');
    }
    await pool(barrage, 16, async (h) => {
      if (h === 'valid') return sendValid();
      assertAnswer(h, await exchange(h.data, h.end));
    });
    await sendValid(); // still answering afterwards

    gc?.();
    const grownMb = (used() - heapBefore) / 2 ** 20;
    const boundMb = gc ? 20 : 200; // without a forced gc, garbage is still on the heap
    assert.ok(grownMb < boundMb, `memory grew by ${grownMb.toFixed(1)} MB (bound ${boundMb} MB)`);
    assertExactlyOnce();
    // No connection is kept: every one above was closed by the server (or by us). Closing is
    // asynchronous on the server's side, so give it a moment.
    const connections = () => new Promise<number>((r, j) => receiver.server.getConnections((e, n) => (e ? j(e) : r(n))));
    for (let i = 0; i < 100 && (await connections()) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await connections(), 0, 'connections left open');
  });
});

describe('webhook receiver against clients that hold sockets', () => {
  // Short bounds, so the test does not wait 10 s; `livechat serve` uses the defaults (10 s and 15 s).
  const LIMITS = { headersTimeoutMs: 300, requestTimeoutMs: 600, checkEveryMs: 50, maxConnections: 8 };
  let bounded: RunningReceiver;
  const seen: AgentWebhook[] = [];
  /** Per request: whether the handler started to read its body. */
  const reading: boolean[] = [];

  before(async () => {
    const handler = createReceiver({ token: TOKEN, onEvent: (e) => void seen.push(e) });
    bounded = await listenReceiver(
      (req, res) => {
        handler(req, res);
        reading.push(req.readableFlowing === true || req.listenerCount('data') > 0);
      },
      0,
      '127.0.0.1',
      LIMITS,
    );
  });
  after(() => bounded.close());

  interface Held {
    socket: Socket;
    /** Everything the server wrote, once it closed the connection; rejects after 5 s. */
    closed: Promise<string>;
  }

  /** Connect and write `data`, and never anything more. */
  const hold = (data: string) =>
    new Promise<Held>((resolve, reject) => {
      const socket = connect(bounded.port, '127.0.0.1', () => {
        socket.write(data);
        resolve({ socket, closed });
      });
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
      const closed = new Promise<string>((done, fail) => {
        const timer = setTimeout(() => {
          socket.destroy();
          fail(new Error('the server kept the connection open for 5 s'));
        }, 5000);
        socket.on('close', () => {
          clearTimeout(timer);
          done(got);
        });
      });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
      });
    });
  const status = (answer: string) => Number(/^HTTP\/1\.1 (\d{3}) /.exec(answer)?.[1]);
  const slowBody = (target: string, headers = '') =>
    `POST ${target} HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n${headers}\r\n{"ticket":`;

  it('a slow body without the token is refused before it is read, and the socket closed', async () => {
    for (const [target, headers] of [
      [path({ token: undefined }), ''],
      [path({ token: 'nope' }), ''],
      [path({ token: undefined }), 'X-Livechat-Token: nope\r\n'],
    ]) {
      const h = await hold(slowBody(target, headers));
      const answer = await h.closed;
      assert.equal(status(answer), 401, answer);
      assert.match(answer, /connection: close/i);
    }
    assert.deepEqual(reading, [false, false, false], 'no body was read');
    assert.equal(seen.length, 0);
  });

  it('a client that never finishes its headers, or its body, is dropped after the timeouts', async () => {
    const headers = await hold(`GET ${path({ token: undefined })} HTTP/1.1\r\nHost: a\r\nX-Slow: 1`);
    assert.equal(status(await headers.closed), 408);
    const body = await hold(slowBody(path())); // with the token: the body is awaited, but not for ever
    assert.equal(status(await body.closed), 408);
    assert.equal(reading.at(-1), true, 'that body was being read');
    const idle = await hold(''); // connected, says nothing
    await idle.closed;
    assert.equal(seen.length, 0);
  });

  it('connections past the cap are dropped at once; the others are served', async () => {
    const held = await Promise.all(Array.from({ length: LIMITS.maxConnections }, () => hold(`GET ${path()} HTTP/1.1\r\nHost: a\r\n`)));
    const extra = await hold(`GET ${path()} HTTP/1.1\r\nHost: a\r\n\r\n`);
    assert.equal(await extra.closed, '', 'dropped without an answer');
    for (const h of held) h.socket.destroy();
    await Promise.all(held.map((h) => h.closed));
    const after = await hold(`GET ${path({ event_id: 'after-cap' })} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
    assert.equal(status(await after.closed), 200);
    assert.deepEqual(
      seen.map((e) => e.eventId),
      ['after-cap'],
    );
  });
});
