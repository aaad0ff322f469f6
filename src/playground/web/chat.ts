// The chat widget, as the user sees it: the bot's replies and buttons, the agent's messages, the
// bridge's notices, and the hand-off's turns as dividers.
import { clockTime, el, fill } from './dom.js';
import type { ChatEntry, User } from './wire.js';

export interface ChatOptions {
  user: User;
  say(text: string): Promise<void>;
  press(payload: string): Promise<void>;
}

export interface ChatPane {
  /** Show exactly these lines (a snapshot). */
  show(entries: ChatEntry[]): void;
  add(entry: ChatEntry): void;
}

const FROM: Record<ChatEntry['from'], string> = { user: 'You', bot: 'Bot', agent: 'Agent', bridge: 'livechat', event: '' };

export function mountChat(root: HTMLElement, options: ChatOptions): ChatPane {
  const log = el('ol', { class: 'chat-log', attrs: { 'aria-label': 'Chat', 'aria-live': 'polite' } });
  const input = el('input', { attrs: { name: 'text', type: 'text', placeholder: 'Write a message…', autocomplete: 'off', maxlength: '32768' } });
  const send = el('button', { class: 'primary', attrs: { type: 'submit' } }, 'Send');
  const form = el('form', { class: 'compose' }, input, send);
  const you = [options.user.name, options.user.email ? `<${String(options.user.email)}>` : undefined].filter(Boolean).join(' ');
  fill(root, el('header', { class: 'pane-head' }, el('h2', {}, 'Chat'), el('span', { class: 'sub' }, `as the user: ${you}`)), log, form);

  let lastSeq = 0;

  function line(e: ChatEntry): HTMLLIElement {
    const attrs = { 'data-from': e.from, 'data-seq': String(e.seq), 'data-payload': e.payload };
    const buttons = e.buttons ?? [];
    if (e.from === 'event') return el('li', { class: 'line event', attrs }, el('span', {}, e.text));
    return el(
      'li',
      { class: `line ${e.from}`, attrs },
      el('div', { class: 'who' }, el('span', {}, FROM[e.from]), el('time', {}, clockTime(e.at))),
      el('div', { class: 'text' }, e.text),
      buttons.length > 0 &&
        el(
          'div',
          { class: 'choices' },
          ...buttons.map((b) =>
            el(
              'button',
              { class: 'choice', attrs: { type: 'button', 'data-payload': b.payload }, on: { click: () => void options.press(b.payload) } },
              b.title,
            ),
          ),
        ),
    );
  }

  const scroll = () => {
    log.scrollTop = log.scrollHeight;
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value;
    if (text.trim() === '') return;
    input.value = '';
    void options.say(text);
  });

  return {
    show(entries) {
      fill(log, ...entries.map(line));
      lastSeq = entries.at(-1)?.seq ?? 0;
      scroll();
    },
    add(entry) {
      // A snapshot may already hold it (the stream reconnected).
      if (entry.seq <= lastSeq) return;
      lastSeq = entry.seq;
      log.append(line(entry));
      scroll();
    },
  };
}
