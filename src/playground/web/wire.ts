// What the playground's server and its pages say to each other (JSON, over /playground/ and its
// event stream). Types only, shared by both sides: the browser code is compiled on its own
// (tsconfig.web.json, with the DOM) and may import nothing outside this folder.

export interface Button {
  title: string;
  payload: string;
}

/** Whatever the channel knows about the user (UserMeta on the server). */
export interface User {
  name?: string;
  email?: string;
  channel?: string;
  [k: string]: unknown;
}

/** Who a line of the chat is from. `bridge`: a notice of the bridge itself; `event`: a turn of the hand-off, shown as a divider. */
export type ChatFrom = 'user' | 'bot' | 'agent' | 'bridge' | 'event';

export interface ChatEntry {
  seq: number;
  /** Simulated time, ms. */
  at: number;
  from: ChatFrom;
  text: string;
  buttons?: Button[];
  /** The payload of the button the user pressed, or of the event. */
  payload?: string;
}

export interface PlaygroundConfig {
  conversation_id: string;
  user: User;
  /** How the desk reaches Gorgias (the emulator, on the same port). */
  gorgias: { api: string; email: string; api_key: string };
  signoff_token: string;
  timeout_ms: number;
  store: 'memory';
}

/** As GET /v1/conversations/{id} of the channel API shows it: what the bridge knows of the conversation. */
export interface BridgeView {
  conversation_id: string;
  mode: 'BOT' | 'LIVECHAT';
  ticket_id: number | null;
  deadline: string | null;
  session: { number: number; started_at: string; last_activity_at: string; agent_messages_delivered: number; user_messages_posted: number } | null;
  last_session: { number: number; ticket_id: number | null; ended_by: string; ended_at: string } | null;
  next_timer_at: string | null;
}

export interface ClockView {
  /** Simulated now, ms. */
  now: number;
  /** How far the fast-forwards have moved it ahead of the wall clock. */
  ahead_ms: number;
}

export interface Snapshot {
  config: PlaygroundConfig;
  chat: ChatEntry[];
  bridge: BridgeView;
  clock: ClockView;
}
