// Gorgias `{{...}}` templates, filled from {ticket, message, event}.
import { RENDER_OBJECTS_AS_JSON, type TemplateEncoding } from './guesses.js';

export type TemplateContext = Record<string, unknown>;

const VARIABLE = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** `ticket.messages[-1].body_text` -> ['ticket', 'messages', -1, 'body_text']; undefined if malformed. */
export function parsePath(path: string): Array<string | number> | undefined {
  const parts: Array<string | number> = [];
  const tokenRe = /^(?:[A-Za-z_$][\w$-]*|\[\s*-?\d+\s*\])(?:\.[A-Za-z_$][\w$-]*|\[\s*-?\d+\s*\])*$/;
  if (!tokenRe.test(path)) return undefined;
  for (const m of path.matchAll(/([A-Za-z_$][\w$-]*)|\[\s*(-?\d+)\s*\]/g)) {
    if (m[1] !== undefined) parts.push(m[1]);
    else parts.push(Number(m[2]));
  }
  return parts;
}

export function resolvePath(context: unknown, path: string): unknown {
  const parts = parsePath(path);
  if (!parts) return undefined;
  let cur: unknown = context;
  for (const p of parts) {
    if (cur === null || cur === undefined) return undefined;
    if (typeof p === 'number') {
      if (!Array.isArray(cur)) return undefined;
      cur = cur[p < 0 ? cur.length + p : p];
    } else {
      if (typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, p)) return undefined;
      cur = (cur as Record<string, unknown>)[p];
    }
  }
  return cur;
}

/** How a value reads in a template: unknown or null -> '', booleans 'true'/'false'. */
export function renderValue(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return RENDER_OBJECTS_AS_JSON ? JSON.stringify(v) : '';
}

/** Fill a template; `encode` is applied to each substituted value. */
export function fillTemplate(template: string, context: TemplateContext, encode: (s: string) => string = (s) => s): string {
  return template.replace(VARIABLE, (_m, path: string) => encode(renderValue(resolvePath(context, path))));
}

/** Fill an integration URL. 'encoded' percent-encodes every value ([guess], see guesses.ts). */
export function fillUrl(template: string, context: TemplateContext, encoding: TemplateEncoding): string {
  return fillTemplate(template, context, encoding === 'encoded' ? encodeURIComponent : (s) => s);
}
