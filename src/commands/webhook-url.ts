// `livechat webhook-url`: the template to paste into Gorgias. Config only, and kept fast:
// no network, no prompt, the lock and a write only when the token must be saved.
// The token is masked unless --show-secrets asks for the URL to paste.
import type { Io } from '../io.js';
import { printJson } from '../io.js';
import { maskUrlToken } from '../webhook/integration.js';
import { WEBHOOK_EVENT, WEBHOOK_VARIABLES } from '../webhook/template.js';
import { webhookSettings } from '../webhook/settings.js';

export interface WebhookUrlOptions {
  baseUrl?: string;
  rotateToken?: boolean;
  showSecrets?: boolean;
  json?: boolean;
}

export async function webhookUrl(opts: WebhookUrlOptions, io: Io): Promise<void> {
  const s = await webhookSettings(opts, io, { ensureToken: true, rotate: opts.rotateToken });
  const url = opts.showSecrets ? (s.url as string) : maskUrlToken(s.url as string);
  if (opts.rotateToken) {
    io.err('warning: new webhook token saved; the Gorgias integration still has the old one and must be updated');
    io.err('  run `livechat webhook install` (or paste the new URL into Integrations > HTTP)');
  }
  if (opts.json) {
    printJson(io, {
      action: s.tokenAction,
      url,
      base_url: s.baseUrl,
      event: WEBHOOK_EVENT,
      variables: WEBHOOK_VARIABLES.map(([param, variable]) => ({ param, variable })),
    });
    return;
  }
  if (!io.stdoutIsTTY) {
    io.out(url);
    if (!opts.showSecrets) io.err('note: the token is masked; add --show-secrets to print the URL to paste');
    return;
  }
  const { paint } = await import('../style.js'); // chalk only when it is needed
  const c = paint(io);
  const lines = opts.showSecrets
    ? [c.bold('Paste this URL into Gorgias:'), '', url, '']
    : [
        c.bold('The URL to paste into Gorgias (token masked):'),
        '',
        url,
        '',
        `Print it with the token: ${c.cyan('livechat webhook-url --show-secrets')}`,
      ];
  io.out(
    [
      ...lines,
      `In Gorgias: Integrations > HTTP > Add new integration. URL: the line above.`,
      `Method POST, content type application/json. Tick only the ${c.bold(WEBHOOK_EVENT)} event.`,
      'The URL carries a secret token: keep it private. Or let livechat do it: `livechat webhook install`.',
    ].join('\n'),
  );
}
