// `livechat macro create|list|show|delete`: the agents' sign-off macro.
import { LivechatError, usageError } from '../errors.js';
import type { GorgiasClient } from '../gorgias/client.js';
import type { Macro } from '../gorgias/types.js';
import { canPrompt, printJson, type Io } from '../io.js';
import { applySignoffPlan, planSignoffMacro } from '../macro/ensure.js';
import { collectAll } from '../macro/progress.js';
import { carriesToken, DEFAULT_MACRO_NAME, resolveMacroRef, responseText, signoffMacroBody, signoffText } from '../macro/signoff.js';
import { paint } from '../style.js';
import { SESSION_END } from '../protocol.js';

interface GorgiasFlags {
  domain?: string;
  username?: string;
  json?: boolean;
}

async function connect(flags: GorgiasFlags, io: Io): Promise<GorgiasClient> {
  const { clientFromFlags } = await import('../gorgias/connect.js');
  return clientFromFlags(flags, io);
}

function allMacros(client: GorgiasClient, io: Io): Promise<Macro[]> {
  return collectAll(io, 'Reading macros', client.listMacros());
}

/** The text on one line; cut to `max` only on a terminal (piped output is never cut). */
function oneLine(io: Io, text: string | undefined, max = 70): string {
  const t = (text ?? '').replace(/\s+/g, ' ').trim();
  return io.stdoutIsTTY && t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function summary(m: Macro): string {
  return `#${m.id} "${m.name}"`;
}

/** By id: one GET. By name: the whole list, then an exact match. */
async function findMacro(client: GorgiasClient, io: Io, ref: string): Promise<Macro> {
  if (/^\d+$/.test(ref)) {
    try {
      return await client.getMacro(Number(ref));
    } catch (err) {
      if (!(err instanceof LivechatError && err.kind === 'not_found')) throw err;
      // Maybe a macro whose name is a number; else a clear "no macro" error.
      try {
        return resolveMacroRef(await allMacros(client, io), ref);
      } catch (e) {
        if (e instanceof LivechatError && e.kind === 'not_found') {
          throw new LivechatError(`no macro with id ${ref} (see \`livechat macro list --all\`)`, { kind: 'not_found' });
        }
        throw e;
      }
    }
  }
  try {
    return resolveMacroRef(await allMacros(client, io), ref);
  } catch (e) {
    if (e instanceof LivechatError && e.kind === 'not_found') {
      throw new LivechatError(`no macro named "${ref}" (names match exactly; see \`livechat macro list --all\`)`, { kind: 'not_found' });
    }
    throw e;
  }
}

export interface MacroCreateOptions extends GorgiasFlags {
  name?: string;
  text?: string;
  update?: boolean;
}

export async function macroCreate(opts: MacroCreateOptions, io: Io): Promise<void> {
  const { text, added } = signoffText(opts.text);
  const desired = signoffMacroBody(opts.name ?? DEFAULT_MACRO_NAME, text);
  if (added) io.err(`note: ${SESSION_END} added at the end of --text; the user gets an "End chat" button for it`);
  const client = await connect(opts, io);
  const plan = planSignoffMacro(await allMacros(client, io), desired, Boolean(opts.update));
  const c = paint(io);
  if (plan.ours.length > 1) io.err(`warning: ${plan.ours.length} macros carry ${SESSION_END}: ${plan.ours.map((m) => `#${m.id}`).join(', ')}`);
  const macro = await applySignoffPlan(client, plan, desired);
  const line = {
    create: `${c.green('created')} macro ${summary(macro)}: ${oneLine(io, responseText(macro), 500)}`,
    update: `${c.green('updated')} macro ${summary(macro)}: ${oneLine(io, responseText(macro), 500)}`,
    unchanged: `macro ${summary(macro)} already exists and matches; nothing changed`,
    differs: `macro ${summary(macro)} already exists; nothing changed (it differs from --name/--text: add --update to make it match)`,
  }[plan.action];
  // Like `webhook install --json`: what happened, then the macro.
  const action = { create: 'created', update: 'updated', unchanged: 'unchanged', differs: 'unchanged' }[plan.action];
  if (opts.json) printJson(io, { action, differs: plan.action === 'differs', macro });
  else io.out(line);
}

export interface MacroListOptions extends GorgiasFlags {
  all?: boolean;
}

export async function macroList(opts: MacroListOptions, io: Io): Promise<void> {
  const client = await connect(opts, io);
  const every = await allMacros(client, io);
  const shown = opts.all ? every : every.filter(carriesToken);
  if (opts.json) {
    printJson(io, shown);
    return;
  }
  if (shown.length === 0) {
    io.err(opts.all ? 'no macros in this account' : `no sign-off macro (none carries ${SESSION_END}); create one with \`livechat macro create\``);
    return;
  }
  const c = paint(io);
  const width = Math.max(...shown.map((m) => String(m.id).length)) + 1;
  for (const m of shown) {
    const mark = opts.all && carriesToken(m) ? c.green(' [sign-off]') : '';
    io.out(`${`#${m.id}`.padEnd(width)}  ${m.name}${mark}  ${c.dim(oneLine(io, responseText(m), 60))}`);
  }
}

export async function macroShow(ref: string, opts: GorgiasFlags, io: Io): Promise<void> {
  const client = await connect(opts, io);
  const m = await findMacro(client, io, ref);
  if (opts.json) {
    printJson(io, m);
    return;
  }
  const c = paint(io);
  const lines = [
    `${c.bold(summary(m))}${carriesToken(m) ? c.green(' (sign-off macro)') : ''}`,
    `created ${m.created_datetime}, updated ${m.updated_datetime}`,
  ];
  if (m.intent) lines.push(`intent: ${m.intent}`);
  if ((m.actions ?? []).length === 0) lines.push('no actions');
  for (const a of m.actions ?? []) {
    lines.push(`- ${a.name} (${a.title})`);
    for (const [k, v] of Object.entries(a.arguments ?? {})) lines.push(`    ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  io.out(lines.join('\n'));
}

export interface MacroDeleteOptions extends GorgiasFlags {
  yes?: boolean;
}

export async function macroDelete(ref: string, opts: MacroDeleteOptions, io: Io): Promise<void> {
  // Refuse before any call: a script without --yes must fail fast.
  if (!opts.yes && !canPrompt(io)) throw usageError(`refusing to delete macro "${ref}" without confirmation: pass --yes`);
  const client = await connect(opts, io);
  const m = await findMacro(client, io, ref);
  if (!opts.yes) {
    const { confirm } = await import('@inquirer/prompts');
    if (!(await confirm({ message: `Delete macro ${summary(m)}?`, default: false }))) {
      throw new LivechatError('cancelled; nothing deleted', { kind: 'cancelled' });
    }
  }
  await client.deleteMacro(m.id);
  if (opts.json) printJson(io, m);
  else io.out(`deleted macro ${summary(m)}`);
}
