// `livechat playground` in a real chromium: the real binary, a whole hand-off clicked through in
// both panes (the user's chat and the agent's desk), a second session left to expire with the
// fast-forward, hostile text kept as text, and nothing drawn outside its pane. Also the desk alone
// against `livechat emulator`, the way to play the agent by hand.
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { artifact, browserTest, type BrowserTestContext } from './browser.ts';
import { gorgias, httpJson, spawnCli, type Spawned } from './serve-helpers.ts';

const START = 'LIVECHAT_SESSION_START';
const END = 'LIVECHAT_SESSION_END';
const NOTE = 'Carrier says it is late: offer a refund if she asks.';
const HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> & </ol>';

interface Line {
  from: string;
  text: string;
  buttons: string[];
}

interface Info {
  url: string;
  desk_url: string;
  gorgias: { url: string; api: string; email: string; api_key: string };
  conversation_id: string;
}

/** Spawn the real playground and open its page; the page's script errors fail the test. */
async function openPlayground(ctx: BrowserTestContext): Promise<{ run: Spawned; info: Info; page: Page; errors: string[] }> {
  const run = await spawnCli(['playground', '--port', '0', '--json'], {});
  ctx.t.after(() => run.kill());
  const info = run.info as unknown as Info;
  const page = await ctx.newPage({ width: 1280, height: 800 });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(info.url);
  await page.locator('body[data-ready=true]').waitFor();
  return { run, info, page, errors };
}

const chatLines = (page: Page): Promise<Line[]> =>
  page.locator('#chat .line').evaluateAll((els) =>
    els.map((li) => ({
      from: li.getAttribute('data-from') ?? '',
      text: (li.classList.contains('event') ? li.textContent : li.querySelector('.text')?.textContent) ?? '',
      buttons: [...li.querySelectorAll('.choice')].map((b) => b.textContent ?? ''),
    })),
  );

async function say(page: Page, text: string): Promise<void> {
  await page.fill('#chat input[name=text]', text);
  await page.press('#chat input[name=text]', 'Enter');
}

/** The newest button with this payload in the chat. */
const press = (page: Page, payload: string) => page.locator(`#chat .choice[data-payload=${payload}]`).last().click();

const line = (page: Page, from: string, text: string | RegExp) => page.locator(`#chat .line[data-from=${from}]`, { hasText: text }).last();

async function desk(page: Page, action: 'reply' | 'note' | 'macro', text?: string): Promise<void> {
  if (text !== undefined) await page.fill('#desk textarea[name=text]', text);
  await page.click(`#desk button[data-action=${action}]`);
}

const deskMessage = (page: Page, kind: string, text: string | RegExp) =>
  page.locator(`#desk .msg[data-kind=${kind}] .body`, { hasText: text }).last();

const mode = (page: Page, m: 'BOT' | 'LIVECHAT') => page.locator('#bridge-mode', { hasText: new RegExp(`^${m}$`) }).waitFor();

/** Every element of each pane stays inside it sideways, nothing scrolls or is cut sideways, the page does not scroll. */
async function assertFits(page: Page, when: string): Promise<void> {
  // (Through an element: test/ is type-checked without the DOM's globals.)
  const problems: string[] = await page.locator('html').evaluate((doc) => {
    const out: string[] = [];
    const document = doc.ownerDocument;
    if (doc.scrollWidth > doc.clientWidth) out.push(`the page scrolls sideways (${doc.scrollWidth} > ${doc.clientWidth})`);
    if (doc.scrollHeight > doc.clientHeight) out.push(`the page scrolls down (${doc.scrollHeight} > ${doc.clientHeight})`);
    // No named functions in here: the test runs through tsx, which would wrap them in a helper the page lacks.
    for (const pane of [...document.querySelectorAll('.pane, .topbar')]) {
      const box = pane.getBoundingClientRect();
      const where = pane.id || pane.className;
      for (const el of pane.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        const what = `${el.tagName.toLowerCase()}.${String(el.className)}`;
        if (r.width === 0 && r.height === 0) continue;
        if (r.left < box.left - 1 || r.right > box.right + 1)
          out.push(`${where}: ${what} spans ${r.left}-${r.right}, outside ${box.left}-${box.right}`);
        if (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') continue;
        if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1)
          out.push(`${where}: ${what} overflows sideways (${el.scrollWidth} > ${el.clientWidth})`);
      }
    }
    return out;
  });
  assert.deepEqual(problems, [], `${when}: something does not fit its pane`);
}

browserTest(
  'the playground: a whole hand-off in the chat and the desk, a note the user never sees, the sign-off, the bot again, and an expiry by fast-forward',
  async (ctx) => {
    const { page, errors, info } = await openPlayground(ctx);
    assert.equal(await page.title(), 'livechat playground');
    assert.equal(await page.locator('#bridge-mode').textContent(), 'BOT');
    assert.equal(await page.locator('#bridge-session').textContent(), 'no session yet');
    assert.match((await page.locator('#desk .empty').textContent())!, /No ticket yet/);

    // The bot answers and offers a human. The user's words are hostile, and long.
    const long = `order-${'x'.repeat(240)}`;
    await say(page, `Where is my order? ${HOSTILE} ${long}`);
    await line(page, 'bot', 'Bot here: I can track orders').waitFor();
    await press(page, START);
    await line(page, 'event', 'handed over to a human').waitFor();
    await mode(page, 'LIVECHAT');
    await page.locator('#bridge-ticket', { hasText: 'ticket #1' }).waitFor();
    assert.match((await page.locator('#bridge-session').textContent())!, /^session 1$/);
    assert.match((await page.locator('#bridge-deadline').textContent())!, /^expires \d\d:\d\d:\d\d \(in (29|30):\d\d\)$/);

    // The desk: the ticket, the hand-off message with the bot's turns, the user's metadata.
    await page.locator('#desk .ticket-item[data-ticket-id="1"][aria-current=true]').waitFor();
    const handoff = deskMessage(page, 'customer', 'Recent conversation with the bot');
    await handoff.waitFor();
    assert.ok((await handoff.textContent())!.includes(HOSTILE), "the agent reads the user's words as they were written");
    const meta = await page
      .locator('#desk .user-meta')
      .evaluate((dl) => Object.fromEntries([...dl.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling?.textContent])));
    assert.deepEqual(meta, { name: 'Ada Lovelace', email: 'ada@example.com', channel: 'web', page: '/orders/1042' });
    assert.match((await page.locator('#desk .ticket-head').textContent())!, /#1 Livechat with Ada Lovelace.*open.*livechat/);

    // The agent replies (hostile too); the user reads it as text.
    const reply = `Hi Ada, Grace here. ${HOSTILE} See https://example.com/${'y'.repeat(200)}`;
    await desk(page, 'reply', reply);
    await line(page, 'agent', 'Grace here').waitFor();
    assert.equal(await line(page, 'agent', 'Grace here').locator('.text').textContent(), reply);
    await deskMessage(page, 'agent', 'Grace here').waitFor();
    assert.equal(await page.locator('#desk textarea[name=text]').inputValue(), '', 'the reply box is emptied once sent');

    // The agent writes an internal note: on the desk, as a note.
    await desk(page, 'note', NOTE);
    await deskMessage(page, 'note', NOTE).waitFor();
    assert.match((await page.locator('#desk .desk-status').textContent())!, /Internal note added on #1/);

    // The sign-off macro: the user gets its words, without the token, and an [End chat] button.
    await desk(page, 'macro');
    await page.locator(`#chat .choice[data-payload=${END}]`).waitFor();
    // The sign-off came after the note: now that the user has it, the bridge has decided about the note.
    assert.deepEqual(
      (await chatLines(page)).filter((l) => l.text.includes(NOTE)),
      [],
      'the internal note reached the user',
    );
    const signoff = line(page, 'agent', 'Thanks for chatting with us!');
    assert.equal(await signoff.locator('.text').textContent(), 'Thanks for chatting with us! If you need anything else, just write again.');
    assert.deepEqual(await signoff.locator('.choice').allTextContents(), ['End chat']);
    await deskMessage(page, 'agent', END).waitFor();
    await assertFits(page, 'after the sign-off');
    await page.screenshot({ path: artifact('playground.png') });

    // The user presses [End chat]: the bot is back, the ticket is closed with the bridge's note.
    await press(page, END);
    await line(page, 'event', 'the user ended the chat').waitFor();
    await line(page, 'bot', 'Welcome back! How can I help?').waitFor();
    await mode(page, 'BOT');
    await page.locator('#bridge-session', { hasText: 'session 1 ended' }).waitFor();
    assert.equal(await page.locator('#bridge-deadline').textContent(), '');
    await page.locator('#desk .ticket-item[data-ticket-id="1"][data-status=closed]').waitFor();
    await deskMessage(page, 'note', 'The user ended the chat.').waitFor();

    // The bot answers again.
    await say(page, 'And my other order?');
    await line(page, 'bot', 'You said "And my other order?"').waitFor();

    // A second session, then 30 minutes of silence, fast-forwarded: it expires.
    await press(page, START);
    await mode(page, 'LIVECHAT');
    await page.locator('#bridge-ticket', { hasText: 'ticket #2' }).waitFor();
    await page.locator('#bridge-session', { hasText: 'session 2' }).waitFor();
    await page.locator('#desk .ticket-item[data-ticket-id="2"][aria-current=true]').waitFor();
    assert.equal(await page.locator('#clock-ahead').textContent(), '(real time)');
    await page.click('button[data-jump="1800000"]');
    await line(page, 'event', 'the chat expired').waitFor();
    await line(page, 'bot', 'Our agents seem to be away.').waitFor();
    await mode(page, 'BOT');
    await page.locator('#bridge-session', { hasText: 'session 2 expired' }).waitFor();
    assert.equal(await page.locator('#clock-ahead').textContent(), '(+30 min ahead)');
    await page.locator('#desk .ticket-item[data-ticket-id="2"][data-status=closed]').waitFor();
    await deskMessage(page, 'note', 'The chat expired after 30 minutes').waitFor();

    // The whole chat, in order.
    const lines = await chatLines(page);
    assert.deepEqual(
      lines.map((l) => [l.from, l.text.slice(0, 40), l.buttons]),
      [
        ['user', `Where is my order? ${HOSTILE}`.slice(0, 40), []],
        ['bot', 'Bot here: I can track orders and answer ', ['Talk to a human']],
        ['user', 'Talk to a human', []],
        ['event', 'handed over to a human: the bridge opens', []],
        ['agent', reply.slice(0, 40), []],
        ['agent', 'Thanks for chatting with us! If you need', ['End chat']],
        ['user', 'End chat', []],
        ['event', 'the user ended the chat: back to the bot', []],
        ['bot', 'Welcome back! How can I help?', []],
        ['user', 'And my other order?', []],
        ['bot', 'Bot here: I can track orders and answer ', ['Talk to a human']],
        ['user', 'Talk to a human', []],
        ['event', 'handed over to a human: the bridge opens', []],
        ['event', 'the chat expired: back to the bot', []],
        ['bot', 'Our agents seem to be away. Is there any', []],
      ],
    );

    // Hostile text stayed text everywhere.
    assert.equal(await page.locator('.pane img, .pane script').count(), 0);
    assert.equal(await page.locator('html').evaluate((html) => html.ownerDocument.defaultView.pwned), undefined);
    await assertFits(page, 'after the expiry');
    await page.screenshot({ path: artifact('playground-expired.png') });

    // What the page showed is what the bridge and Gorgias hold.
    const state = (await httpJson('GET', `${info.url}playground/state`)).body;
    assert.equal(state.bridge.mode, 'BOT');
    assert.deepEqual(state.bridge.last_session, { number: 2, ticket_id: 2, ended_by: 'expired', ended_at: state.bridge.last_session.ended_at });
    const api = gorgias(info.gorgias.url, info.gorgias.email, info.gorgias.api_key);
    const tickets = await api.tickets(info.conversation_id);
    assert.deepEqual(
      tickets.map((t: { id: number; status: string }) => [t.id, t.status]),
      [
        [1, 'closed'],
        [2, 'closed'],
      ],
    );
    assert.deepEqual(errors, [], 'the page logged errors');
  },
  120_000,
);

browserTest('the desk alone against `livechat emulator`: sign in, see a ticket, reply, write a note, apply the sign-off macro', async (ctx) => {
  const run = await spawnCli(['emulator', '--port', '0', '--json'], {});
  ctx.t.after(() => run.kill());
  const { url, email, api_key: key, desk_url: deskUrl } = run.info;
  assert.equal(deskUrl, `${url}/desk`);
  const api = gorgias(url, email, key);
  // A hand-off's ticket, as the bridge opens it, and the sign-off macro, as `macro create` makes it.
  const opened = await api.post('/tickets', {
    external_id: 'conv-desk',
    channel: 'chat',
    via: 'api',
    subject: 'Livechat with Bob',
    customer: { email: 'bob@example.com', name: 'Bob' },
    messages: [{ channel: 'chat', via: 'api', from_agent: false, sender: { email: 'bob@example.com' }, body_text: `I need a human ${HOSTILE}` }],
    meta: { livechat: { conversation_id: 'conv-desk', metadata: { name: 'Bob', plan: 'pro' } } },
  });
  assert.equal(opened.status, 201);
  const ticketId = opened.body.id as number;
  const macro = await api.post('/macros', {
    name: 'End livechat',
    intent: null,
    actions: [
      { name: 'setResponseText', type: 'user', title: 'Add response text', arguments: { body_text: `Bye! ${END}`, body_html: `<p>Bye! ${END}</p>` } },
    ],
  });
  assert.equal(macro.status, 201);

  const page = await ctx.newPage({ width: 1100, height: 760 });
  await page.goto(deskUrl);
  // A wrong key: refused, back to the form, saying so.
  await page.fill('input[name=email]', email);
  await page.fill('input[name=api_key]', 'wrong');
  await page.click('.sign-in button[type=submit]');
  await page.locator('.sign-in .problem', { hasText: 'refused the email and API key' }).waitFor();

  await page.fill('input[name=email]', email);
  await page.fill('input[name=api_key]', key);
  await page.click('.sign-in button[type=submit]');
  await page.locator(`#desk .ticket-item[data-ticket-id="${ticketId}"][aria-current=true]`).waitFor();
  await page.locator('#desk .whoami', { hasText: `<${email}>` }).waitFor();
  assert.equal(await deskMessage(page, 'customer', 'I need a human').textContent(), `I need a human ${HOSTILE}`);
  assert.equal(await page.locator('#desk .user-meta dd').last().textContent(), 'pro');

  await desk(page, 'reply', 'Hello Bob');
  await deskMessage(page, 'agent', 'Hello Bob').waitFor();
  await desk(page, 'note', 'Bob is a pro customer');
  await deskMessage(page, 'note', 'Bob is a pro customer').waitFor();
  await desk(page, 'macro');
  await deskMessage(page, 'agent', `Bye! ${END}`).waitFor();

  // Exactly what an agent's console would have written, through the API.
  const messages = ((await api.get(`/tickets/${ticketId}`)).body.messages as Array<Record<string, unknown>>).map((m) => [
    m.channel,
    m.from_agent,
    m.body_text,
  ]);
  assert.deepEqual(messages, [
    ['chat', false, `I need a human ${HOSTILE}`],
    ['chat', true, 'Hello Bob'],
    ['internal-note', true, 'Bob is a pro customer'],
    ['chat', true, `Bye! ${END}`],
  ]);
  assert.equal(await page.locator('.pane img, .pane script').count(), 0);
  await assertFits(page, 'the desk alone');
  await page.screenshot({ path: artifact('desk.png') });

  // Signing out forgets the key.
  await page.click('.sign-out');
  await page.locator('.sign-in').waitFor();
  assert.equal(await page.locator('html').evaluate((html) => html.ownerDocument.defaultView.sessionStorage.length), 0);
});
