// Gorgias `{{...}}` templates, filled from {ticket, message, event, context}, the way a Jinja
// renderer in Python would ([likely], see guesses.ts): `{{ path }}` or `{{ path | tojson }}`.
import { PYTHON_LITERALS, RENDER_OBJECTS_AS_JSON, type TemplateEncoding } from './guesses.js';

export type TemplateContext = Record<string, unknown>;

const VARIABLE = /\{\{\s*([^{}]*?)\s*\}\}/g;
const FILTERS = new Set(['tojson']);

/** A template that cannot be filled (an unknown filter): the call is not made, as with a bad URL. */
export class TemplateError extends Error {}

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

/**
 * How a value reads in a template. Unknown -> '' (Jinja's undefined). With PYTHON_LITERALS, null
 * reads `None` and booleans `True`/`False`, as Python prints them; otherwise '' and `true`/`false`.
 */
export function renderValue(v: unknown): string {
  if (v === undefined) return '';
  if (v === null) return PYTHON_LITERALS ? 'None' : '';
  if (typeof v === 'boolean') return PYTHON_LITERALS ? (v ? 'True' : 'False') : String(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return RENDER_OBJECTS_AS_JSON ? JSON.stringify(v) : '';
}

/** One `{{ ... }}`: a path, then filters. Throws TemplateError on a filter we do not know. */
function renderExpression(expression: string, context: TemplateContext): string {
  const [path, ...filters] = expression.split('|').map((s) => s.trim());
  let value = resolvePath(context, path);
  let rendered: string | undefined;
  for (const f of filters) {
    if (!FILTERS.has(f)) throw new TemplateError(`unknown filter "${f}" in {{${expression}}}`);
    // tojson: JSON text, so a string keeps its quotes and escapes, null reads null.
    rendered = JSON.stringify(value ?? null);
    value = rendered;
  }
  return rendered ?? renderValue(value);
}

/** Fill a template; `encode` is applied to each substituted value. */
export function fillTemplate(template: string, context: TemplateContext, encode: (s: string) => string = (s) => s): string {
  return template.replace(VARIABLE, (_m, expression: string) => encode(renderExpression(expression, context)));
}

/** Fill an integration URL. 'encoded' percent-encodes every value ([guess], see guesses.ts). */
export function fillUrl(template: string, context: TemplateContext, encoding: TemplateEncoding): string {
  return fillTemplate(template, context, encoding === 'encoded' ? encodeURIComponent : (s) => s);
}
