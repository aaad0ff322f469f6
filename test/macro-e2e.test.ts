// End-to-end: `livechat macro create|list|show|delete` through bin/livechat.js against the
// Gorgias emulator, with small pages so every list spans at least 3 of them.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { startEmulator, type Emulator } from '../src/emulator/index.ts';
import type { Macro } from '../src/gorgias/types.ts';
import { parseWebhook } from '../src/receiver/parse.ts';
import { startReceiver, type Receiver } from './emulator-helpers.ts';
import { runInProcess, tempConfigDir, type CliResult } from './helpers.ts';

const PAGE = 5;
// Each test has its own config dir and emulator (with the same twelve macros): none leans on what ran before it.
let cfg: ReturnType<typeof tempConfigDir>;
let emu: Emulator;
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  cfg = tempConfigDir();
  emu = await startEmulator({ port: 0, rateLimit: false, maxPageSize: PAGE, defaultPageSize: PAGE });
  env = { LIVECHAT_CONFIG_DIR: cfg.dir, GORGIAS_DOMAIN: emu.url, GORGIAS_USERNAME: emu.email, GORGIAS_API_KEY: emu.apiKey };
  const names = [
    'Refund',
    'Dup',
    'Shipping delay',
    'Dup',
    'Greeting',
    'Password reset',
    'Escalate',
    'Close spam',
    'Order status',
    'Thanks',
    'Survey',
    'Out of office',
  ];
  for (const name of names) {
    emu.store.createMacro({
      name,
      actions: [
        {
          name: 'setResponseText',
          type: 'user',
          title: 'Add response text',
          arguments: { body_text: `${name} text`, body_html: `<p>${name} text</p>` },
        },
      ],
    });
  }
});
afterEach(async () => {
  await emu.close();
  cfg.cleanup();
});

const cli = (args: string[]): Promise<CliResult> => runInProcess(args, { env });
const signoffs = () => emu.store.listMacros().filter((m) => JSON.stringify(m.actions).includes('LIVECHAT_SESSION_END'));
/** Each test that needs the sign-off macro makes it first: it stands alone. */
const createOurs = async () => assert.equal((await cli(['macro', 'create'])).code, 0, 'stands alone: creates the sign-off macro first');
const pagesRead = () => emu.requests.filter((r) => r.method === 'GET' && r.path === '/api/macros').length;

test('create makes one sign-off macro carrying the token in body_text and body_html; twice makes one', async () => {
  const before = pagesRead();
  const r = await cli(['macro', 'create']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^created macro #\d+ "End livechat": .*LIVECHAT_SESSION_END/);
  assert.equal(r.stderr, '');
  assert.ok(pagesRead() - before >= 3, 'followed every page before creating');

  assert.equal(signoffs().length, 1);
  const m = signoffs()[0];
  assert.equal(m.name, 'End livechat');
  assert.equal(m.actions.length, 1);
  const a = m.actions[0];
  assert.equal(a.name, 'setResponseText');
  assert.equal(a.type, 'user');
  assert.match(String(a.arguments.body_text), /LIVECHAT_SESSION_END$/);
  assert.match(String(a.arguments.body_html), /^<p>.*LIVECHAT_SESSION_END<\/p>$/);

  const again = await cli(['macro', 'create', '--json']);
  assert.equal(again.code, 0, again.stderr);
  const j = JSON.parse(again.stdout) as { action: string; differs: boolean; macro: Macro };
  assert.deepEqual([j.action, j.differs, j.macro.id], ['unchanged', false, m.id]);
  assert.equal(signoffs().length, 1);
  assert.equal(emu.store.listMacros().length, 13);
});

test('create finds ours by the token, not the name; --update makes it match', async () => {
  await createOurs();
  const id = signoffs()[0].id;
  const r = await cli(['macro', 'create', '--name', 'Bye <3', '--text', 'Tom & Jerry say bye']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /note: LIVECHAT_SESSION_END added/);
  assert.match(r.stdout, /already exists; nothing changed .*--update/);
  assert.equal(signoffs()[0].name, 'End livechat');

  const u = await cli(['macro', 'create', '--name', 'Bye <3', '--text', 'Tom & Jerry say bye', '--update']);
  assert.equal(u.code, 0, u.stderr);
  assert.match(u.stdout, new RegExp(`^updated macro #${id} "Bye <3"`));
  assert.equal(signoffs().length, 1);
  const m = signoffs()[0];
  assert.equal(m.id, id);
  assert.equal(m.name, 'Bye <3');
  assert.deepEqual(m.actions[0].arguments, {
    body_text: 'Tom & Jerry say bye LIVECHAT_SESSION_END',
    body_html: '<p>Tom &amp; Jerry say bye LIVECHAT_SESSION_END</p>',
  });
  // --update back to the defaults.
  assert.equal((await cli(['macro', 'create', '--update'])).code, 0);
  assert.equal(signoffs()[0].name, 'End livechat');
});

test('list shows the sign-off macros; --all every macro over every page; --json arrays', async () => {
  await createOurs();
  const ours = signoffs()[0];
  const r = await cli(['macro', 'list']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', 'no spinner in a pipe');
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  assert.match(lines[0], new RegExp(`^#${ours.id}\\s+End livechat\\s+Thanks for chatting`));
  assert.ok(lines[0].endsWith('just write again. LIVECHAT_SESSION_END'), `piped output is never cut: ${lines[0]}`);
  assert.doesNotMatch(r.stdout, /…/);

  const all = await cli(['macro', 'list', '--all']);
  assert.equal(all.code, 0);
  const allLines = all.stdout.trim().split('\n');
  assert.equal(allLines.length, 13);
  assert.equal(allLines.filter((l) => l.includes('[sign-off]')).length, 1);
  assert.match(all.stdout, /Out of office/);

  const j = await cli(['macro', 'list', '--json']);
  assert.deepEqual(
    (JSON.parse(j.stdout) as Macro[]).map((m) => m.id),
    [ours.id],
  );
  const ja = await cli(['macro', 'list', '--all', '--json']);
  const every = JSON.parse(ja.stdout) as Macro[];
  assert.equal(every.length, 13);
  assert.equal(new Set(every.map((m) => m.id)).size, 13);
});

test('show by id and by exact name; a name matching several macros is a conflict; a missing id fails', async () => {
  await createOurs();
  const ours = signoffs()[0];
  const byId = await cli(['macro', 'show', String(ours.id)]);
  assert.equal(byId.code, 0, byId.stderr);
  assert.match(byId.stdout, new RegExp(`^#${ours.id} "End livechat" \\(sign-off macro\\)`));
  assert.match(byId.stdout, /- setResponseText \(Add response text\)/);
  assert.match(byId.stdout, /body_html: <p>.*LIVECHAT_SESSION_END<\/p>/);

  const byName = await cli(['macro', 'show', 'Out of office', '--json']);
  assert.equal(byName.code, 0, byName.stderr);
  assert.equal((JSON.parse(byName.stdout) as Macro).name, 'Out of office');

  const dups = emu.store
    .listMacros()
    .filter((m) => m.name === 'Dup')
    .map((m) => `#${m.id}`);
  const conflict = await cli(['macro', 'show', 'Dup']);
  assert.equal(conflict.code, 1);
  assert.equal(conflict.stdout, '');
  assert.match(conflict.stderr, new RegExp(`^error: 2 macros are named "Dup": use the id \\(${dups.join(', ')}\\)`));

  const missing = await cli(['macro', 'show', '99999']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^error: no macro with id 99999/);
  const noName = await cli(['macro', 'show', 'No such macro']);
  assert.equal(noName.code, 1);
  assert.match(noName.stderr, /^error: no macro named "No such macro"/);
});

test('applying the macro in the agent console sends the token through the webhook', async () => {
  await createOurs();
  const rx: Receiver = await startReceiver();
  try {
    const url = (await cli(['webhook-url', '--base-url', rx.url, '--show-secrets'])).stdout.trim();
    emu.store.createIntegration({
      type: 'http',
      name: 'Livechat bridge',
      http: {
        url,
        method: 'POST',
        request_content_type: 'application/json',
        response_content_type: 'application/json',
        headers: {},
        triggers: { 'ticket-message-created': true },
      },
    });
    const t = emu.store.createTicket({
      external_id: 'conv-7',
      channel: 'chat',
      via: 'api',
      customer: { email: 'ada@example.com' },
      messages: [{ channel: 'chat', via: 'api', from_agent: false, sender: { email: 'ada@example.com' }, body_text: 'help' }],
    });
    const msg = await emu.agent.applyMacro(t.id, signoffs()[0].id);
    assert.match(msg.body_text, /LIVECHAT_SESSION_END$/);
    await emu.idle();
    const events = rx.received.map((r) => parseWebhook(r.url, r.body, r.headers['content-type']));
    const agent = events.find((e) => e.ok && e.event.fromAgent);
    assert.ok(agent?.ok);
    assert.equal(agent.event.conversationId, 'conv-7');
    assert.equal(agent.event.text, msg.body_text);
  } finally {
    await rx.close();
  }
});

test('delete: refused with no TTY and no --yes; --yes deletes; a missing macro fails', async () => {
  await createOurs();
  const target = emu.store.listMacros().find((m) => m.name === 'Survey')!;
  const refused = await cli(['macro', 'delete', String(target.id)]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /--yes/);
  assert.ok(
    emu.store.listMacros().some((m) => m.id === target.id),
    'still there',
  );

  const del = await cli(['macro', 'delete', 'Survey', '--yes', '--json']);
  assert.equal(del.code, 0, del.stderr);
  assert.equal((JSON.parse(del.stdout) as Macro).id, target.id);
  assert.ok(!emu.store.listMacros().some((m) => m.id === target.id));

  const gone = await cli(['macro', 'delete', String(target.id), '--yes']);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, new RegExp(`^error: no macro with id ${target.id}`));

  const ours = signoffs()[0];
  const d2 = await cli(['macro', 'delete', String(ours.id), '-y']);
  assert.equal(d2.code, 0);
  assert.equal(d2.stdout.trim(), `deleted macro #${ours.id} "End livechat"`);
  const empty = await cli(['macro', 'list']);
  assert.equal(empty.code, 0);
  assert.equal(empty.stdout, '');
  assert.match(empty.stderr, /no sign-off macro/);
});

test('a wrong API key: one line, exit 1', async () => {
  const r = await runInProcess(['macro', 'list'], { env: { ...env, GORGIAS_API_KEY: 'wrong-key-123456' } });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^error: Gorgias credentials rejected \(401/);
  assert.ok(!r.stderr.includes('wrong-key-123456'));
});

test('a 5xx storm beyond the retries and a 429: one clear line each', async () => {
  emu.faults.failNext(10, 503);
  const r = await cli(['macro', 'list']);
  assert.equal(r.code, 1);
  assert.match(r.stderr.trim().split('\n').at(-1)!, /^error: /);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  emu.faults.reset();

  emu.faults.rateLimitStorm(10, 0);
  const limited = await cli(['macro', 'list']);
  assert.equal(limited.code, 1);
  const last = limited.stderr.trim().split('\n').at(-1)!;
  assert.match(last, /^error: .*429/);
  assert.doesNotMatch(limited.stderr, /\n\s+at /);
  emu.faults.reset();
  assert.equal((await cli(['macro', 'list', '--all'])).code, 0);
});
