// The agents' sign-off macro: a reply that carries LIVECHAT_SESSION_END, so the user gets an
// "End chat" button. Pure functions; `livechat macro ...` does the talking.
import { LivechatError, usageError } from '../errors.js';
import type { Macro, MacroAction, NewMacro } from '../gorgias/types.js';
import { SESSION_END } from '../protocol.js';
import { textToHtml } from '../html.js';

export const DEFAULT_MACRO_NAME = 'End livechat';
export const DEFAULT_SIGNOFF = `Thanks for chatting with us! If you need anything else, just write again. ${SESSION_END}`;

/** The reply text, with the token added at the end when the text lacks it. */
export function signoffText(text?: string): { text: string; added: boolean } {
  if (text === undefined) return { text: DEFAULT_SIGNOFF, added: false };
  if (text.trim() === '') throw usageError('--text must not be empty');
  if (text.includes(SESSION_END)) return { text, added: false };
  return { text: `${text.trimEnd()} ${SESSION_END}`, added: true };
}

export function responseTextAction(text: string): MacroAction {
  return {
    name: 'setResponseText',
    type: 'user',
    title: 'Add response text',
    arguments: { body_text: text, body_html: textToHtml(text) },
  };
}

export function signoffMacroBody(name: string, text: string): NewMacro {
  if (name.trim() === '') throw usageError('--name must not be empty');
  return { name, intent: null, actions: [responseTextAction(text)] };
}

function actionCarriesToken(a: MacroAction): boolean {
  const args = a.arguments ?? {};
  return [args.body_text, args.body_html].some((v) => typeof v === 'string' && v.includes(SESSION_END));
}

/** Ours is recognised by the token in a reply action, never by the name. */
export function carriesToken(macro: Pick<Macro, 'actions'>): boolean {
  return (macro.actions ?? []).some(actionCarriesToken);
}

/** The macro's reply text (first setResponseText action), if any. */
export function responseText(macro: Pick<Macro, 'actions'>): string | undefined {
  const a = (macro.actions ?? []).find((x) => x.name === 'setResponseText');
  const t = a?.arguments?.body_text;
  return typeof t === 'string' ? t : undefined;
}

/**
 * What `--update` sends to make `existing` match `desired`, or null when it already does.
 * The reply action that carries the token is replaced; the admin's other actions stay.
 */
export function macroUpdate(existing: Macro, desired: NewMacro): NewMacro | null {
  const want = desired.actions[0];
  const mine = (existing.actions ?? []).findIndex(actionCarriesToken);
  const current = mine === -1 ? undefined : existing.actions[mine];
  const sameAction =
    current !== undefined &&
    current.name === want.name &&
    current.arguments.body_text === want.arguments.body_text &&
    current.arguments.body_html === want.arguments.body_html;
  if (existing.name === desired.name && sameAction) return null;
  const actions = [...(existing.actions ?? [])];
  if (mine === -1) actions.push(want);
  else actions[mine] = want;
  return { name: desired.name, intent: existing.intent ?? null, actions };
}

/** A macro by numeric id or exact name. Several names -> a conflict listing the ids. */
export function resolveMacroRef(macros: Macro[], ref: string): Macro {
  if (/^\d+$/.test(ref)) {
    const byId = macros.find((m) => m.id === Number(ref));
    if (byId) return byId;
  }
  const byName = macros.filter((m) => m.name === ref);
  if (byName.length === 1) return byName[0];
  if (byName.length > 1) {
    throw new LivechatError(`${byName.length} macros are named "${ref}": use the id (${byName.map((m) => `#${m.id}`).join(', ')})`, {
      kind: 'conflict',
    });
  }
  throw new LivechatError(`no macro with ${/^\d+$/.test(ref) ? 'id' : 'name'} "${ref}"`, { kind: 'not_found' });
}
