// The desk alone, as `livechat emulator` serves it at /desk (and the playground too): sign in with
// the emulator's username and API key, then play the agent. The key stays in this tab's
// sessionStorage, never in the URL.
import { mountDesk, type Desk } from './desk.js';
import { el, fill } from './dom.js';

const KEY = 'livechat-desk';
const root = document.getElementById('app')!;
const token = document.body.dataset.signoffToken ?? 'LIVECHAT_SESSION_END';
let desk: Desk | undefined;

interface Credentials {
  email: string;
  apiKey: string;
}

function saved(): Credentials | undefined {
  try {
    const c = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Credentials | null;
    return c && typeof c.email === 'string' && typeof c.apiKey === 'string' ? c : undefined;
  } catch {
    return undefined;
  }
}

function signIn(message = ''): void {
  desk?.destroy();
  desk = undefined;
  sessionStorage.removeItem(KEY);
  const email = el('input', { attrs: { name: 'email', type: 'email', value: 'agent@example.com', required: '', autocomplete: 'username' } });
  const key = el('input', { attrs: { name: 'api_key', type: 'password', required: '', autocomplete: 'current-password' } });
  const form = el(
    'form',
    { class: 'sign-in' },
    el('h1', {}, 'Agent desk'),
    el('p', {}, 'Play the agent against this Gorgias emulator: its username and API key, as `livechat emulator` printed them.'),
    el('label', {}, 'Username ', email),
    el('label', {}, 'API key ', key),
    el('button', { class: 'primary', attrs: { type: 'submit' } }, 'Sign in'),
    message && el('p', { class: 'problem', attrs: { role: 'alert' } }, message),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const c = { email: email.value.trim(), apiKey: key.value.trim() };
    sessionStorage.setItem(KEY, JSON.stringify(c));
    open(c);
  });
  fill(root, form);
}

function open(c: Credentials): void {
  const pane = el('section', { class: 'pane desk alone', attrs: { id: 'desk' } });
  const out = el('button', { class: 'sign-out', attrs: { type: 'button' }, on: { click: () => signIn() } }, 'Sign out');
  fill(root, el('div', { class: 'desk-page' }, pane, out));
  desk = mountDesk(pane, {
    api: '/api',
    email: c.email,
    apiKey: c.apiKey,
    signoffToken: token,
    onUnauthorized: (msg) => signIn(`Gorgias refused the email and API key: ${msg}`),
  });
}

const c = saved();
if (c) open(c);
else signIn();
