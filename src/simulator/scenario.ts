// Scenarios: built-in ones and the user-written JSON format. Pure parsing, no I/O.
import { usageError } from '../errors.js';
import { SESSION_END, SESSION_START } from '../protocol.js';
import type { UserMeta } from '../session/manager.js';

export type Step =
  | { user: string } // the user types a message
  | { payload: string } // the user presses a button / sends a payload
  | { press: string } // the user presses the button with this title, from the last agent message
  | { agent: string } // the agent replies in Gorgias
  | { macro: true | string } // the agent applies the sign-off macro (true) or the macro with this name
  | { wait: number }; // minutes of silence

export interface Scenario {
  name: string;
  conversation: string;
  user: UserMeta;
  steps: Step[];
}

export const BUILT_IN: Record<'handoff' | 'expiry', Scenario> = {
  handoff: {
    name: 'handoff',
    conversation: 'conv-handoff',
    user: { name: 'Ada Lovelace', email: 'ada@example.com', channel: 'webchat', locale: 'en-GB' },
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
    steps: [
      { user: 'Hello' },
      { payload: SESSION_START },
      { user: 'Can someone help me with a refund?' },
      { agent: 'Sure, which order is it?' },
      { wait: 30 },
      { user: 'Sorry, I was away. Is anyone there?' },
    ],
  },
};

const STEP_KEYS = ['user', 'payload', 'press', 'agent', 'macro', 'wait'] as const;

function fail(where: string, message: string): never {
  throw usageError(`scenario ${where}: ${message}`);
}

/** Validate a parsed scenario file. `where` names the file in messages. */
export function parseScenario(data: unknown, where: string): Scenario {
  if (!data || typeof data !== 'object' || Array.isArray(data)) fail(where, 'must be a JSON object with "steps"');
  const obj = data as Record<string, unknown>;
  if (!Array.isArray(obj.steps) || obj.steps.length === 0) fail(where, '"steps" must be a non-empty array');
  const steps = (obj.steps as unknown[]).map((raw, i): Step => {
    const at = `step ${i + 1}`;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) fail(where, `${at} must be an object`);
    const keys = Object.keys(raw).filter((k) => (STEP_KEYS as readonly string[]).includes(k));
    if (keys.length !== 1) fail(where, `${at} must have exactly one of ${STEP_KEYS.join(', ')}`);
    const key = keys[0] as (typeof STEP_KEYS)[number];
    const value = (raw as Record<string, unknown>)[key];
    if (key === 'wait') {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(where, `${at}: "wait" must be minutes >= 0`);
      return { wait: value };
    }
    if (key === 'macro') {
      if (value !== true && (typeof value !== 'string' || value === '')) fail(where, `${at}: "macro" must be true or a macro name`);
      return { macro: value };
    }
    if (typeof value !== 'string' || value === '') fail(where, `${at}: "${key}" must be a non-empty string`);
    return { [key]: value } as Step;
  });
  const user = obj.user ?? {};
  if (typeof user !== 'object' || Array.isArray(user)) fail(where, '"user" must be an object (name, email, channel, ...)');
  const conversation = obj.conversation ?? 'conv-scenario';
  if (typeof conversation !== 'string' || conversation === '') fail(where, '"conversation" must be a string');
  const name = typeof obj.name === 'string' && obj.name ? obj.name : 'scenario';
  return { name, conversation, user: user as UserMeta, steps };
}

export function describeStep(step: Step): string {
  if ('user' in step) return `user says "${step.user}"`;
  if ('payload' in step) return `user sends ${step.payload}`;
  if ('press' in step) return `user presses [${step.press}]`;
  if ('agent' in step) return `agent says "${step.agent}"`;
  if ('macro' in step) return step.macro === true ? 'agent applies the sign-off macro' : `agent applies macro "${step.macro}"`;
  return `${step.wait} minutes pass`;
}

export { SESSION_END, SESSION_START };
