// The words of the protocol between the channel, the bot and the agent.
export const SESSION_START = 'LIVECHAT_SESSION_START';
export const SESSION_END = 'LIVECHAT_SESSION_END';
export const SESSION_EXPIRED = 'LIVECHAT_SESSION_EXPIRED';
export const END_BUTTON_TITLE = 'End chat';
export const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;
export const SESSION_FAILED = 'LIVECHAT_SESSION_FAILED';
