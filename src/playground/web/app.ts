// The playground page: the chat as the user, the agent desk as Gorgias, the bridge's state and the
// clock with its fast-forward. Live through server-sent events from /playground/events.
import { mountChat, type ChatPane } from './chat.js';
import { mountDesk } from './desk.js';
import { aheadWords, clockTime, countdown, el, fill } from './dom.js';
import type { BridgeView, ChatEntry, ClockView, PlaygroundConfig, Snapshot } from './wire.js';

const JUMPS: Array<[string, number]> = [
  ['+1 min', 60_000],
  ['+5 min', 5 * 60_000],
  ['+30 min', 30 * 60_000],
];

const root = document.getElementById('app')!;
const problem = el('p', { class: 'problem', attrs: { role: 'alert' } });
const mode = el('span', { class: 'badge', attrs: { id: 'bridge-mode' } }, '…');
const ticket = el('span', { attrs: { id: 'bridge-ticket' } });
const session = el('span', { attrs: { id: 'bridge-session' } });
const deadline = el('span', { attrs: { id: 'bridge-deadline' } });
const now = el('time', { attrs: { id: 'clock-now' } });
const ahead = el('span', { attrs: { id: 'clock-ahead' } });
const jumps = JUMPS.map(([label, ms]) =>
  el(
    'button',
    { attrs: { type: 'button', 'data-jump': String(ms), title: `move the clock ${label.slice(1)} ahead` }, on: { click: () => void jump(ms) } },
    label,
  ),
);
const chatPane = el('section', { class: 'pane chat', attrs: { id: 'chat' } });
const deskPane = el('section', { class: 'pane desk', attrs: { id: 'desk' } });
const footer = el('footer', { class: 'foot' });

fill(
  root,
  el(
    'header',
    { class: 'topbar' },
    el('h1', {}, 'livechat playground'),
    el(
      'div',
      { class: 'bridge-state', attrs: { 'aria-label': 'Bridge state' } },
      el('span', { class: 'label' }, 'bridge'),
      mode,
      ticket,
      session,
      deadline,
    ),
    el('div', { class: 'clock', attrs: { 'aria-label': 'Clock' } }, el('span', { class: 'label' }, 'clock'), now, ahead, ...jumps),
  ),
  problem,
  el('main', { class: 'panes' }, chatPane, deskPane),
  footer,
);

let chat: ChatPane | undefined;
let refreshDesk: (() => void) | undefined;
let bridge: BridgeView | undefined;
/** Simulated time minus this browser's clock. */
let skew = 0;
let aheadMs = 0;

const simNow = () => Date.now() + skew;

function showProblem(text: string): void {
  problem.textContent = text;
  problem.hidden = text === '';
}
showProblem('');

async function send(path: string, body: unknown): Promise<void> {
  try {
    const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) {
      const answer = (await res.json().catch(() => ({}))) as { error?: unknown };
      showProblem(typeof answer.error === 'string' ? answer.error : `HTTP ${res.status}`);
    } else showProblem('');
  } catch (err) {
    showProblem(`the playground does not answer: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function jump(ms: number): Promise<void> {
  for (const b of jumps) b.disabled = true;
  ahead.textContent = 'fast-forwarding…';
  try {
    await send('/playground/clock', { ms });
  } finally {
    for (const b of jumps) b.disabled = false;
    renderTime();
  }
}

function mount(config: PlaygroundConfig): void {
  chat = mountChat(chatPane, {
    user: config.user,
    say: (text) => send('/playground/messages', { text }),
    press: (payload) => send('/playground/payloads', { payload }),
  });
  mountDesk(deskPane, {
    api: config.gorgias.api,
    email: config.gorgias.email,
    apiKey: config.gorgias.api_key,
    signoffToken: config.signoff_token,
    live: (refresh) => (refreshDesk = refresh),
  });
  fill(
    footer,
    `conversation ${config.conversation_id} · sessions expire after ${Math.round(config.timeout_ms / 60_000)} min without messages · ` +
      `state in memory: gone when the playground stops · the desk also runs alone at `,
    el('a', { attrs: { href: '/desk', target: '_blank', rel: 'noopener' } }, '/desk'),
  );
}

function renderBridge(): void {
  const b = bridge;
  if (!b) return;
  mode.textContent = b.mode;
  mode.dataset.mode = b.mode;
  ticket.textContent = b.ticket_id === null ? (b.mode === 'LIVECHAT' ? 'ticket: opening…' : 'no ticket') : `ticket #${b.ticket_id}`;
  session.textContent = b.session
    ? `session ${b.session.number}`
    : b.last_session
      ? `session ${b.last_session.number} ${b.last_session.ended_by}`
      : 'no session yet';
  renderTime();
}

function renderTime(): void {
  const t = simNow();
  now.textContent = clockTime(t);
  now.setAttribute('datetime', new Date(t).toISOString());
  if (!jumps[0].disabled) ahead.textContent = `(${aheadWords(aheadMs)})`;
  const due = bridge?.deadline ? Date.parse(bridge.deadline) : undefined;
  deadline.textContent = due === undefined ? '' : `expires ${clockTime(due)} (in ${countdown(Math.max(0, due - t))})`;
  if (due === undefined) deadline.removeAttribute('data-deadline');
  else deadline.dataset.deadline = new Date(due).toISOString();
}

function setClock(c: ClockView): void {
  skew = c.now - Date.now();
  aheadMs = c.ahead_ms;
  renderTime();
}

const events = new EventSource('/playground/events');
const data = <T>(e: Event) => JSON.parse((e as MessageEvent<string>).data) as T;
events.addEventListener('snapshot', (e) => {
  const s = data<Snapshot>(e);
  if (!chat) mount(s.config);
  chat!.show(s.chat);
  bridge = s.bridge;
  setClock(s.clock);
  renderBridge();
  refreshDesk?.();
  showProblem('');
  document.body.dataset.ready = 'true';
});
events.addEventListener('chat', (e) => chat?.add(data<ChatEntry>(e)));
events.addEventListener('bridge', (e) => {
  bridge = data<BridgeView>(e);
  renderBridge();
});
events.addEventListener('clock', (e) => setClock(data<ClockView>(e)));
events.addEventListener('gorgias', () => refreshDesk?.());
events.addEventListener('error', () => {
  if (events.readyState !== EventSource.OPEN) showProblem('lost the playground: reconnecting…');
});

// The page's own display tick (in the browser): the clock and the countdown move every second.
window.setInterval(renderTime, 1000);
