// Scenarios: built-in ones and the user-written JSON format. Pure parsing, no I/O.
import { usageError } from '../errors.js';
import { DEFAULT_TIMEOUT_MS, SESSION_END, SESSION_START } from '../protocol.js';
import type { UserMeta } from '../session/manager.js';

export type Step =
  | { user: string } // the user types a message
  | { payload: string } // the user presses a button / sends a payload
  | { press: string } // the user presses the button with this title, from the last agent message
  | { agent: string } // the agent replies in Gorgias
  | { macro: true | string } // the agent applies the sign-off macro (true) or the macro with this name
  | { wait: number } // minutes of silence
  | { crash: true } // the bridge dies (kill -9): webhooks meanwhile are lost
  | { restart: true }; // a new bridge on the same data

export interface Scenario {
  name: string;
  conversation: string;
  user: UserMeta;
  steps: Step[];
  /**
   * The inactivity timeout the waits were written for. Set on the built-in scenarios, whose waits
   * then scale with `--timeout` (a 2-minute pause at 30 minutes is 4 seconds at 1 minute); a
   * scenario file's waits are taken as written.
   */
  waitsForTimeoutMs?: number;
}

export const BUILT_IN: Record<'handoff' | 'expiry' | 'restart', Scenario> = {
  handoff: {
    name: 'handoff',
    conversation: 'conv-handoff',
    user: { name: 'Ada Lovelace', email: 'ada@example.com', channel: 'webchat', locale: 'en-GB' },
    waitsForTimeoutMs: DEFAULT_TIMEOUT_MS,
    steps: [
      { user: 'Hi there' },
      { user: 'Where is my order #1042?' },
      { payload: SESSION_START },
      { user: 'I need a human, please' },
      { wait: 2 },
      { agent: "Hi Ada, I'm Grace from support. Let me check order #1042." },
      { user: 'Thanks! It was due on Monday & is still not here' },
      { wait: 5 },
      { agent: 'It ships tomorrow, with 20% off for the delay.' },
      { macro: true },
      { press: 'End chat' },
      { user: 'Back to the bot?' },
    ],
  },
  expiry: {
    name: 'expiry',
    conversation: 'conv-expiry',
    user: { name: 'Alan Turing', email: 'alan@example.com', channel: 'messenger' },
    waitsForTimeoutMs: DEFAULT_TIMEOUT_MS,
    steps: [
      { user: 'Hello' },
      { payload: SESSION_START },
      { user: 'Can someone help me with a refund?' },
      { agent: 'Sure, which order is it?' },
      { wait: 30 },
      { user: 'Sorry, I was away. Is anyone there?' },
    ],
  },
  restart: {
    name: 'restart',
    conversation: 'conv-restart',
    user: { name: 'Grace Hopper', email: 'grace@example.com', channel: 'webchat' },
    waitsForTimeoutMs: DEFAULT_TIMEOUT_MS,
    steps: [
      { payload: SESSION_START },
      { user: 'My parcel never came' },
      { agent: 'Sorry to hear that! Which order is it?' },
      { user: 'Order #2001' },
      { crash: true },
      { agent: 'Found it: it is at the depot.' },
      { wait: 2 },
      { restart: true },
      { user: 'Can it come tomorrow?' },
      { agent: 'Yes, tomorrow morning.' },
      { macro: true },
      { press: 'End chat' },
      { user: 'Thanks, bot' },
    ],
  },
};

/** Whether a scenario restarts the bridge (it then needs a store that outlives it). */
export const restarts = (s: Scenario): boolean => s.steps.some((step) => 'crash' in step || 'restart' in step);

const STEP_KEYS = ['user', 'payload', 'press', 'agent', 'macro', 'wait', 'crash', 'restart'] as const;
const SCENARIO_KEYS = ['name', 'conversation', 'user', 'steps'];
/** What a user may send that the bridge acts on; other payloads go to the bot as they are. */
const USER_PAYLOADS = [SESSION_START, SESSION_END];
/** A word of the protocol, or a misspelling of one. */
const PROTOCOL_WORD = /\bLIVECHAT_[A-Z0-9_]+\b/g;

function fail(where: string, message: string): never {
  throw usageError(`scenario ${where}: ${message}`);
}

function quoteList(items: readonly string[]): string {
  return items.map((k) => `"${k}"`).join(', ');
}

/** Pure: Levenshtein distance, to suggest the word that was meant. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

function unknownWord(word: string, known: string[]): string {
  const closest = [...known].sort((x, y) => distance(word, x) - distance(word, y))[0];
  return `unknown payload ${word} (did you mean ${closest}? known: ${known.join(', ')})`;
}

function parseStep(raw: unknown, at: string, where: string): Step {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) fail(where, `${at} must be an object`);
  const keys = Object.keys(raw);
  const unknown = keys.filter((k) => !(STEP_KEYS as readonly string[]).includes(k));
  if (unknown.length) fail(where, `${at}: unknown key ${quoteList(unknown)} (a step has exactly one of ${STEP_KEYS.join(', ')})`);
  if (keys.length !== 1) fail(where, `${at} must have exactly one of ${STEP_KEYS.join(', ')}, not ${quoteList(keys) || 'none'}`);
  const key = keys[0] as (typeof STEP_KEYS)[number];
  const value = (raw as Record<string, unknown>)[key];
  if (key === 'wait') {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(where, `${at}: "wait" must be minutes >= 0`);
    return { wait: value };
  }
  if (key === 'crash' || key === 'restart') {
    if (value !== true) fail(where, `${at}: "${key}" must be true`);
    return { [key]: true } as Step;
  }
  if (key === 'macro') {
    if (value !== true && (typeof value !== 'string' || value === '')) fail(where, `${at}: "macro" must be true or a macro name`);
    return { macro: value };
  }
  if (typeof value !== 'string' || value === '') fail(where, `${at}: "${key}" must be a non-empty string`);
  if (key === 'payload' && value.startsWith('LIVECHAT_') && !USER_PAYLOADS.includes(value))
    fail(where, `${at}: ${unknownWord(value, USER_PAYLOADS)}`);
  if (key === 'agent') {
    // The agent's only word is the sign-off token; a misspelt one would never end the session.
    const wrong = (value.match(PROTOCOL_WORD) ?? []).find((w) => w !== SESSION_END);
    if (wrong) fail(where, `${at}: ${unknownWord(wrong, [SESSION_END])} in the agent's text`);
  }
  return { [key]: value } as Step;
}

/** Validate a parsed scenario file, strictly: an unknown key is an error. `where` names the file in messages. */
export function parseScenario(data: unknown, where: string): Scenario {
  if (!data || typeof data !== 'object' || Array.isArray(data)) fail(where, 'must be a JSON object with "steps"');
  const obj = data as Record<string, unknown>;
  const unknown = Object.keys(obj).filter((k) => !SCENARIO_KEYS.includes(k));
  if (unknown.length) fail(where, `unknown key ${quoteList(unknown)} (expected ${quoteList(SCENARIO_KEYS)})`);
  if (!Array.isArray(obj.steps) || obj.steps.length === 0) fail(where, '"steps" must be a non-empty array');
  const steps = (obj.steps as unknown[]).map((raw, i) => parseStep(raw, `step ${i + 1}`, where));
  const user = obj.user ?? {};
  if (typeof user !== 'object' || user === null || Array.isArray(user)) fail(where, '"user" must be an object (name, email, channel, ...)');
  const conversation = obj.conversation ?? 'conv-scenario';
  if (typeof conversation !== 'string' || conversation === '') fail(where, '"conversation" must be a string');
  if (obj.name !== undefined && (typeof obj.name !== 'string' || obj.name === '')) fail(where, '"name" must be a non-empty string');
  const name = typeof obj.name === 'string' ? obj.name : 'scenario';
  return { name, conversation, user: user as UserMeta, steps };
}

export function describeStep(step: Step): string {
  if ('user' in step) return `user says "${step.user}"`;
  if ('payload' in step) return `user sends ${step.payload}`;
  if ('press' in step) return `user presses [${step.press}]`;
  if ('agent' in step) return `agent says "${step.agent}"`;
  if ('macro' in step) return step.macro === true ? 'agent applies the sign-off macro' : `agent applies macro "${step.macro}"`;
  if ('crash' in step) return 'the bridge crashes';
  if ('restart' in step) return 'the bridge restarts';
  return `${step.wait} minutes pass`;
}

export { SESSION_END, SESSION_START };
