// The words of the protocol between the channel, the bot and the agent.
export const SESSION_START = 'LIVECHAT_SESSION_START';
export const SESSION_END = 'LIVECHAT_SESSION_END';
export const SESSION_EXPIRED = 'LIVECHAT_SESSION_EXPIRED';
export const END_BUTTON_TITLE = 'End chat';
export const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;
export const SESSION_FAILED = 'LIVECHAT_SESSION_FAILED';

/** What the user reads when the agent's sign-off carries nothing but the token. */
export const DEFAULT_SIGNOFF_TEXT = 'Thanks for chatting with us!';

// The sign-off token counts only as a whole word: not inside LIVECHAT_SESSION_ENDED, nor inside a
// URL or a path (`?p=LIVECHAT_SESSION_END`). Sentence punctuation and HTML tags around it are fine.
const BEFORE = `(?<=^|[\\s(\\[{"'<>*_~])`;
const AFTER = `(?=$|[\\s.,!?;:)\\]}"'<>*_~])`;
const SIGNOFF_WORD = new RegExp(`${BEFORE}${SESSION_END}${AFTER}`, 'g');

export function hasSignoffToken(text: string): boolean {
  SIGNOFF_WORD.lastIndex = 0;
  return SIGNOFF_WORD.test(text);
}

/** The text without its sign-off tokens, spaces tidied. */
export function withoutSignoffToken(text: string): string {
  return text
    .replace(SIGNOFF_WORD, ' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/ ?\n ?/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/**
 * `livechat doctor` marks its test tickets with an external id that starts so. The bridge records
 * their webhooks (for the round trip) and hands them to nothing: no session, no user, no bot.
 */
export const DOCTOR_CONVERSATION_PREFIX = 'livechat-doctor-';

export function isDoctorConversation(conversationId: string | undefined): boolean {
  return conversationId !== undefined && conversationId.startsWith(DOCTOR_CONVERSATION_PREFIX);
}
