// `livechat webhook install|status`: create, update and check the Gorgias HTTP integration.
import { LivechatError, usageError } from '../errors.js';
import type { Integration } from '../gorgias/types.js';
import { canPrompt, printJson, type Io } from '../io.js';
import { collectAll } from '../macro/progress.js';
import { paint } from '../style.js';
import { FORM_LABEL, desiredIntegration, maskIntegration, maskUrlToken, statusReport } from '../webhook/integration.js';
import { applyInstall, planInstall } from '../webhook/install.js';
import { webhookSettings } from '../webhook/settings.js';
import { WEBHOOK_EVENT } from '../webhook/template.js';

interface GorgiasFlags {
  domain?: string;
  username?: string;
  baseUrl?: string;
  json?: boolean;
}

export interface WebhookInstallOptions extends GorgiasFlags {
  yes?: boolean;
}

async function connect(flags: GorgiasFlags, io: Io) {
  const { clientFromFlags } = await import('../gorgias/connect.js');
  return clientFromFlags(flags, io);
}

function describe(i: Integration): string {
  return `#${i.id} "${i.name}" -> ${maskUrlToken(i.http?.url ?? '(no URL)')}`;
}

async function confirmUpdate(io: Io, question: string): Promise<boolean> {
  const { confirm } = await import('@inquirer/prompts');
  return confirm({ message: question, default: true });
}

export async function webhookInstall(opts: WebhookInstallOptions, io: Io): Promise<void> {
  // Before any network call: the token must exist (created once, shared with `webhook-url`).
  const s = await webhookSettings(opts, io, { ensureToken: true });
  const token = s.token as string;
  if (s.tokenChanged) io.err('created a new webhook token and saved it in the config');
  const desired = desiredIntegration(s.baseUrl, token);
  const client = await connect(opts, io);
  const plan = planInstall(await collectAll(io, 'Reading integrations', client.listIntegrations()), desired);
  const c = paint(io);

  if (plan.ours > 1) {
    io.err(`warning: ${plan.ours} HTTP integrations call ${s.baseUrl}; keep one (see \`livechat webhook status\`)`);
  }
  if (plan.action === 'update' && !opts.yes) {
    const { integration: target, differences } = plan;
    if (!canPrompt(io)) {
      throw usageError(`integration #${target.id} needs an update (${differences.join('; ')}); pass --yes to update it without asking`);
    }
    io.err(`integration ${describe(target)} differs:`);
    for (const d of differences) io.err(`  - ${d}`);
    if (!(await confirmUpdate(io, `Update integration #${target.id}?`))) {
      throw new LivechatError('cancelled; nothing changed', { kind: 'cancelled' });
    }
  }
  const { action, integration } = await applyInstall(client, plan, desired);
  if (opts.json) printJson(io, { action, integration: maskIntegration(integration) });
  else if (action === 'unchanged') io.out(`${c.green('ok')}: integration ${describe(integration)} is already right; nothing changed`);
  else if (action === 'updated' && plan.action === 'update') {
    io.out(`${c.green('updated')} integration ${describe(integration)} (${plan.differences.map(short).join('; ')})`);
  } else io.out(`${c.green('created')} integration ${describe(integration)}, event ${WEBHOOK_EVENT}, POST with the {{context}} JSON body`);
  // [guess] Clearing deactivated_datetime reactivates it; if Gorgias kept it off, say what to do.
  if (integration.deactivated_datetime) {
    throw new LivechatError(`integration #${integration.id} is still deactivated (since ${integration.deactivated_datetime})`, {
      kind: 'check_failed',
      details: ['Gorgias did not turn it back on through the API: re-enable it in Gorgias under Integrations > HTTP'],
    });
  }
}

/** The deactivation without its advice (the update was the advice), for the one-line summary. */
const short = (d: string) => (d.startsWith('is deactivated') ? d.replace(/\): .*$/s, ')') : d);

export async function webhookStatus(opts: GorgiasFlags, io: Io): Promise<void> {
  const s = await webhookSettings(opts, io, { ensureToken: false });
  const client = await connect(opts, io);
  const all = await collectAll(io, 'Reading integrations', client.listIntegrations());
  const report = statusReport(all, { baseUrl: s.baseUrl, token: s.token });
  if (opts.json) {
    printJson(io, {
      ok: report.ok,
      base_url: s.baseUrl,
      event: WEBHOOK_EVENT,
      problems: report.problems,
      notes: report.notes,
      integrations: report.integrations.map((e) => ({ ...e, url: maskUrlToken(e.url), ours: e.class !== 'other' })),
    });
  } else {
    const c = paint(io);
    if (report.integrations.length === 0) io.out('no HTTP integrations in this account');
    for (const e of report.integrations) {
      const mark = e.class === 'other' ? '      ' : e.class === 'ours-ok' ? c.green('ours ok') : c.red('ours !!');
      const state = e.active ? '' : ` ${c.red('(deactivated)')}`;
      const form = e.class === 'other' ? '' : `  (${FORM_LABEL[e.form]})`;
      io.out(`${mark.padEnd(7)} #${e.id} ${e.name}${state}  [${e.events.join(', ') || 'no events'}]${form}  ${maskUrlToken(e.url)}`);
    }
    for (const n of report.notes) io.out(`note: ${n}`);
    if (report.ok) io.out(c.green(`all right: one integration sends ${WEBHOOK_EVENT} to ${s.baseUrl}`));
  }
  if (!report.ok) {
    throw new LivechatError(`webhook check failed (${report.problems.length} problem${report.problems.length === 1 ? '' : 's'})`, {
      kind: 'check_failed',
      details: [...report.problems, 'fix: `livechat webhook install` (with --yes in scripts) creates or updates the integration'],
    });
  }
}
