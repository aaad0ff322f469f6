// Cursor pagination: {data, meta: {next_cursor, prev_cursor}}, ordered by id.
import type { ListPage } from '../gorgias/types.js';
import { invalid } from './errors.js';
import { FIELD_ERRORS, decodeCursor, encodeCursor } from './guesses.js';

export interface PageRequest {
  limit: number;
  cursor?: string;
  /** 'desc' lists newest first (`order_by=created_datetime:desc`). */
  order: 'asc' | 'desc';
}

export interface PageLimits {
  defaultPageSize: number;
  maxPageSize: number;
}

/** Reads `limit`, `cursor` and `order_by` from a query; bad values are a 400 with field details. */
export function parsePageRequest(query: URLSearchParams, limits: PageLimits): PageRequest {
  const errors: Record<string, string[]> = {};
  let limit = limits.defaultPageSize;
  const rawLimit = query.get('limit');
  if (rawLimit !== null) {
    const n = /^\d+$/.test(rawLimit) ? Number(rawLimit) : NaN;
    if (!Number.isSafeInteger(n) || n < 1) errors.limit = [FIELD_ERRORS.notPositiveInt];
    else limit = Math.min(n, limits.maxPageSize);
  }
  const cursor = query.get('cursor') || undefined;
  if (cursor !== undefined && !decodeCursor(cursor)) errors.cursor = [FIELD_ERRORS.invalidCursor];
  let order: 'asc' | 'desc' = 'asc';
  const orderBy = query.get('order_by');
  if (orderBy !== null) {
    const m = /^(id|created_datetime)(?::(asc|desc))?$/.exec(orderBy);
    if (!m) errors.order_by = [FIELD_ERRORS.oneOf(['created_datetime:asc', 'created_datetime:desc', 'id:asc', 'id:desc'])];
    else order = (m[2] as 'asc' | 'desc' | undefined) ?? 'asc';
  }
  if (Object.keys(errors).length) throw invalid(errors);
  return { limit, cursor, order };
}

/** One page of `items` (sorted by ascending id). */
export function paginate<T extends { id: number }>(items: T[], req: PageRequest): ListPage<T> {
  const ordered = req.order === 'asc' ? items : [...items].reverse();
  // `before(a, b)`: a comes before b in this order.
  const before = (a: number, b: number) => (req.order === 'asc' ? a < b : a > b);
  const c = req.cursor ? decodeCursor(req.cursor) : undefined;
  let start = 0;
  let end = ordered.length;
  if (c?.direction === 'next') {
    start = ordered.findIndex((x) => before(c.id, x.id));
    if (start < 0) start = ordered.length;
    end = Math.min(ordered.length, start + req.limit);
  } else if (c?.direction === 'prev') {
    end = ordered.findIndex((x) => !before(x.id, c.id));
    if (end < 0) end = ordered.length;
    start = Math.max(0, end - req.limit);
  } else {
    end = Math.min(ordered.length, req.limit);
  }
  const data = ordered.slice(start, end);
  const first = data[0];
  const last = data[data.length - 1];
  return {
    data,
    meta: {
      next_cursor: end < ordered.length && last ? encodeCursor('next', last.id) : null,
      prev_cursor: start > 0 && first ? encodeCursor('prev', first.id) : null,
    },
  };
}
