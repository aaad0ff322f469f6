// Body validation: collect field errors the way Gorgias reports them under `error.data`.
import { invalid, type FieldErrors } from './errors.js';
import { FIELD_ERRORS } from './guesses.js';

export type Body = Record<string, unknown>;

export function isObject(v: unknown): v is Body {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Collects errors for one object; `done()` throws a 400 if any were found. */
export class Checker {
  readonly errors: FieldErrors = {};
  constructor(readonly body: Body) {}

  add(field: string, message: unknown): void {
    const prev = this.errors[field];
    if (Array.isArray(prev) && typeof message === 'string') prev.push(message);
    else this.errors[field] = typeof message === 'string' ? [message] : message;
  }

  has(field: string): boolean {
    return this.body[field] !== undefined && this.body[field] !== null;
  }

  requireString(field: string, opts: { nonEmpty?: boolean } = {}): void {
    const v = this.body[field];
    if (v === undefined || v === null) this.add(field, FIELD_ERRORS.missing);
    else this.optionalString(field, opts);
  }

  optionalString(field: string, opts: { nonEmpty?: boolean } = {}): void {
    const v = this.body[field];
    if (v === undefined || v === null) return;
    if (typeof v !== 'string') this.add(field, FIELD_ERRORS.notString);
    else if (opts.nonEmpty && v.trim() === '') this.add(field, FIELD_ERRORS.notEmpty);
  }

  requireBoolean(field: string): void {
    const v = this.body[field];
    if (v === undefined || v === null) this.add(field, FIELD_ERRORS.missing);
    else if (typeof v !== 'boolean') this.add(field, FIELD_ERRORS.notBoolean);
  }

  optionalObject(field: string): void {
    const v = this.body[field];
    if (v !== undefined && v !== null && !isObject(v)) this.add(field, FIELD_ERRORS.notObject);
  }

  oneOf(field: string, choices: readonly string[]): void {
    const v = this.body[field];
    if (v === undefined || v === null) return;
    if (typeof v !== 'string' || !choices.includes(v)) this.add(field, FIELD_ERRORS.oneOf(choices));
  }

  get ok(): boolean {
    return Object.keys(this.errors).length === 0;
  }

  done(): void {
    if (!this.ok) throw invalid(this.errors);
  }
}

/** A request body must be a JSON object. */
export function asBody(v: unknown): Body {
  if (!isObject(v)) throw invalid({ _schema: [FIELD_ERRORS.notObject] });
  return v;
}

export function optionalString(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}
