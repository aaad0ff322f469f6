// Domain -> API base URL. Pure, so commands can show it without loading undici.
import { usageError } from '../errors.js';

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const EXPECTED = 'expected acme, acme.gorgias.com or a full URL such as http://127.0.0.1:8787';

/**
 * `acme` | `acme.gorgias.com` | `https://acme.gorgias.com` -> `https://acme.gorgias.com/api`.
 * Any other full http(s) URL (the emulator, tests) is used as it is, plus `/api`.
 */
export function gorgiasBaseUrl(domain: string): string {
  const raw = (domain ?? '').trim();
  if (!raw) throw usageError(`the Gorgias domain is empty (${EXPECTED})`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) return fromUrl(raw);
  const host = raw.toLowerCase().replace(/\/+$/, '');
  const sub = host.endsWith('.gorgias.com') ? host.slice(0, -'.gorgias.com'.length) : host;
  if (!LABEL.test(sub)) throw usageError(`"${raw}" is not a Gorgias domain (${EXPECTED})`);
  return `https://${sub}.gorgias.com/api`;
}

function fromUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw usageError(`"${raw}" is not a valid URL (${EXPECTED})`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw usageError(`the Gorgias URL must be http(s), got "${u.protocol}"`);
  if (u.username || u.password) throw usageError('the Gorgias URL must not contain credentials');
  if (u.search || u.hash) throw usageError('the Gorgias URL must not contain a query string or fragment');
  const path = u.pathname.replace(/\/+$/, '');
  const base = `${u.protocol}//${u.host}${path}`;
  return path.endsWith('/api') ? base : `${base}/api`;
}
