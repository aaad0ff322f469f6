// The one parser for number flags: a bad value is a usage error (exit 2) that names the flag.
import { usageError } from './errors.js';

export interface NumberRule {
  min?: number;
  max?: number;
  integer?: boolean;
}

export function parseNumber(raw: string, flag: string, rule: NumberRule = {}): number {
  const text = raw.trim();
  const n = /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  const range =
    rule.min !== undefined && rule.max !== undefined ? ` from ${rule.min} to ${rule.max}` : rule.min !== undefined ? ` of at least ${rule.min}` : '';
  const what = `${rule.integer ? 'a whole number' : 'a number'}${range}`;
  if (
    !Number.isFinite(n) ||
    (rule.integer && !Number.isInteger(n)) ||
    (rule.min !== undefined && n < rule.min) ||
    (rule.max !== undefined && n > rule.max)
  ) {
    throw usageError(`${flag} must be ${what}, got "${raw}"`);
  }
  return n;
}
