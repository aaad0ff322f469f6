// `livechat webhook-url`: the template to paste into Gorgias. Config only, and kept fast:
// no network, no prompt, conf only when the token must be written.
import type { Io } from '../io.js';
import { printJson } from '../io.js';
import { WEBHOOK_EVENT, WEBHOOK_VARIABLES } from '../webhook/template.js';
import { webhookSettings } from '../webhook/settings.js';

export interface WebhookUrlOptions {
  baseUrl?: string;
  rotateToken?: boolean;
  json?: boolean;
}

export async function webhookUrl(opts: WebhookUrlOptions, io: Io): Promise<void> {
  const s = await webhookSettings(opts, io, { ensureToken: true, rotate: opts.rotateToken });
  const url = s.url as string;
  if (opts.rotateToken) {
    io.err('warning: new webhook token saved; the Gorgias integration still has the old one and must be updated');
    io.err('  run `livechat webhook install` (or paste the new URL into Integrations > HTTP)');
  }
  if (opts.json) {
    printJson(io, {
      url,
      base_url: s.baseUrl,
      event: WEBHOOK_EVENT,
      variables: WEBHOOK_VARIABLES.map(([param, variable]) => ({ param, variable })),
    });
    return;
  }
  if (!io.stdoutIsTTY) {
    io.out(url);
    return;
  }
  const { paint } = await import('../style.js'); // chalk only when it is needed
  const c = paint(io);
  io.out(
    [
      c.bold('Paste this URL into Gorgias:'),
      '',
      url,
      '',
      `In Gorgias: Integrations > HTTP > Add new integration. URL: the line above.`,
      `Method POST, content type application/json. Tick only the ${c.bold(WEBHOOK_EVENT)} event.`,
      'The URL carries a secret token: keep it private. Or let livechat do it: `livechat webhook install`.',
    ].join('\n'),
  );
}
