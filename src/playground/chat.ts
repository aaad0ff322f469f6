// The user's side of the playground: one conversation with the simulator's scripted bot, handed
// over through the bridge, and what the bridge delivers back. Every line is kept, in order, for the
// chat pane.
import type { Bridge } from '../bridge/index.js';
import type { Clock } from '../clock.js';
import { SESSION_END, SESSION_EXPIRED, SESSION_FAILED, SESSION_START } from '../protocol.js';
import type { Deliver, Submitted } from '../session/manager.js';
import type { BotInput, UserMeta, UserOutput } from '../session/types.js';
import { botReply } from '../simulator/world.js';
import type { ChatEntry } from './web/wire.js';

export type { ChatEntry, ChatFrom } from './web/wire.js';

export interface ChatOptions {
  conversationId: string;
  user: UserMeta;
  clock: Clock;
  /** The bridge, once it exists (it needs `deliver` to be made). */
  bridge: () => Bridge;
  onEntry(entry: ChatEntry): void;
}

export interface Chat {
  readonly conversationId: string;
  readonly user: UserMeta;
  entries(): ChatEntry[];
  /** The user writes. While no session is open, the bot answers. */
  say(text: string): Promise<Submitted>;
  /** The user presses a button. */
  press(payload: string): Promise<Submitted>;
  /** What the bridge delivers (to createBridge). */
  deliver: Deliver;
}

/** The divider the chat shows at each turn of the hand-off. */
export const EVENT_WORDS: Record<string, string> = {
  [SESSION_START]: 'handed over to a human: the bridge opens a Gorgias ticket',
  [SESSION_END]: 'the user ended the chat: back to the bot',
  [SESSION_EXPIRED]: 'the chat expired: back to the bot',
  [SESSION_FAILED]: 'Gorgias could not be reached: back to the bot',
};

/** What the bot is told by a delivery for it, as the simulator's bot takes it. */
function botInputOf(bot: BotInput): { input: BotInput; event?: string } {
  if (bot.kind === 'event') return { input: bot, event: bot.event };
  if (bot.kind === 'payload' && bot.payload === SESSION_END) return { input: bot, event: SESSION_END };
  return { input: bot };
}

export function createChat(options: ChatOptions): Chat {
  const { conversationId, user, clock } = options;
  const log: ChatEntry[] = [];
  let seq = 0;

  const add = (entry: Omit<ChatEntry, 'seq' | 'at'>): void => {
    const full: ChatEntry = { seq: ++seq, at: clock.now(), ...entry };
    log.push(full);
    options.onEntry(full);
  };

  /** The bot answers; the bridge records what it said (the agent sees it on a hand-off). */
  const botAnswers = (input: BotInput): Promise<void> => {
    const reply: UserOutput | undefined = botReply(input);
    if (!reply) return Promise.resolve();
    add({ from: 'bot', text: reply.text, ...(reply.buttons?.length ? { buttons: reply.buttons } : {}) });
    return options.bridge().botSaid(conversationId, reply.text);
  };

  return {
    conversationId,
    user,
    entries: () => [...log],
    async say(text) {
      add({ from: 'user', text });
      const submitted = await options.bridge().userMessage(conversationId, text, user);
      if (submitted.routed === 'bot') await botAnswers({ kind: 'message', text });
      return submitted;
    },
    async press(payload) {
      const title = log.findLast((e) => e.buttons?.some((b) => b.payload === payload))?.buttons?.find((b) => b.payload === payload)?.title;
      add({ from: 'user', text: title ?? payload, payload });
      const before = options.bridge().manager.state(conversationId);
      const submitted = await options.bridge().userPayload(conversationId, payload, user);
      if (submitted.routed === 'bot') await botAnswers({ kind: 'payload', payload });
      else if (payload === SESSION_START && before === 'BOT') add({ from: 'event', text: EVENT_WORDS[SESSION_START], payload });
      return submitted;
    },
    async deliver(d) {
      // The playground's channel has one conversation; another one's deliveries have nowhere to go.
      if (d.conversationId !== conversationId) return;
      if (d.user) {
        add({ from: d.user.notice ? 'bridge' : 'agent', text: d.user.text, ...(d.user.buttons?.length ? { buttons: d.user.buttons } : {}) });
        return;
      }
      if (!d.bot) return;
      const { input, event } = botInputOf(d.bot);
      if (event) add({ from: 'event', text: EVENT_WORDS[event] ?? event, payload: event });
      // Not awaited: the delivery is taken once the bot has it, and what the bot says is a new input.
      botAnswers(input).catch(() => {});
    },
  };
}
