// The pages: the playground at / and the agent desk alone at /desk, their scripts (the modules
// compiled from ./web/) and their stylesheet under /assets/. `livechat emulator` serves the desk
// too, through the emulator's `pages` hook. Nothing on a page comes from its URL or from stored
// data: the scripts fetch it, and the policy below allows no inline script at all.
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { escapeHtml } from '../html.js';
import { SESSION_END } from '../protocol.js';
import { STYLE } from './style.js';

/** The browser modules in ./web/, as compiled. */
export const WEB_MODULES = ['app', 'chat', 'desk', 'desk-page', 'dom'] as const;

const SECURITY: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

function page(title: string, script: string, body: Record<string, string> = {}): string {
  const attrs = Object.entries(body)
    .map(([k, v]) => ` data-${k}="${escapeHtml(v)}"`)
    .join('');
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    '<link rel="stylesheet" href="/assets/style.css">',
    `<script type="module" src="/assets/${script}.js"></script>`,
    '</head>',
    `<body${attrs}><div id="app"><noscript>This page needs JavaScript.</noscript></div></body>`,
    '</html>',
    '',
  ].join('\n');
}

/**
 * Where the compiled modules are: beside this file in dist/; under dist/playground/ when this
 * code runs from the bundled CLI (dist/livechat.cjs); or, when it runs from src/ (tests through
 * tsx), in the build's dist/.
 */
function webDir(): URL {
  const candidates = ['./web/', './playground/web/', '../../dist/playground/web/'].map((p) => new URL(p, import.meta.url));
  return candidates.find((dir) => existsSync(fileURLToPath(new URL('dom.js', dir)))) ?? candidates[0];
}

export interface PagesOptions {
  /** Serve the playground at / (the emulator alone serves only the desk). */
  playground: boolean;
}

/** A request handler for the pages; answers false for any path that is not one. */
export function createPages(options: PagesOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const dir = webDir();
  const cache = new Map<string, string>();
  const module = (name: string): string | undefined => {
    if (!cache.has(name)) {
      const file = fileURLToPath(new URL(`${name}.js`, dir));
      if (!existsSync(file)) return undefined;
      cache.set(name, readFileSync(file, 'utf8'));
    }
    return cache.get(name);
  };
  const html = {
    playground: page('livechat playground', 'app'),
    desk: page('Agent desk · Gorgias emulator', 'desk-page', { 'signoff-token': SESSION_END }),
  };

  return (req, res) => {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') return false;
    const path = (req.url ?? '/').split('?')[0];
    const answer = (type: string, body: string, status = 200) => {
      res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'content-length': String(Buffer.byteLength(body)), ...SECURITY });
      res.end(method === 'HEAD' ? undefined : body);
      return true;
    };
    if (path === '/' && options.playground) return answer('text/html', html.playground);
    if (path === '/desk' || path === '/desk/') return answer('text/html', html.desk);
    if (path === '/assets/style.css') return answer('text/css', STYLE);
    // Browsers ask for one; without this the request would reach the webhook receiver (a 401).
    if (path === '/favicon.ico') {
      res.writeHead(204, SECURITY).end();
      return true;
    }
    const m = /^\/assets\/([a-z-]+)\.js$/.exec(path);
    if (m && (WEB_MODULES as readonly string[]).includes(m[1])) {
      const code = module(m[1]);
      if (code === undefined) return answer('text/plain', `${m[1]}.js is not built: run npm run build`, 500);
      return answer('text/javascript', code);
    }
    return false;
  };
}
