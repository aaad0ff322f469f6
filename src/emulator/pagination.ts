// Cursor pagination: {data, meta: {next_cursor, prev_cursor}}, ordered by id (ascending or descending).
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

/** Index of the first item whose id is at least `id` (`strict`: above `id`); `items` ascend by id. */
function boundary(items: readonly { id: number }[], id: number, strict: boolean): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (items[mid].id < id || (strict && items[mid].id === id)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * One page of `items` (sorted by ascending id), found by binary search so a page costs its own
 * size whatever the list holds; `view` makes the answer's copy of each item on the page only.
 */
export function paginate<T extends { id: number }, U = T>(
  items: readonly T[],
  req: PageRequest,
  view: (item: T) => U = (item) => item as unknown as U,
): ListPage<U> {
  const n = items.length;
  const c = req.cursor ? decodeCursor(req.cursor) : undefined;
  // Positions count along the listing order; `at(p)` is the item at position p.
  const desc = req.order === 'desc';
  const at = (p: number) => items[desc ? n - 1 - p : p];
  let start = 0;
  let end = Math.min(n, req.limit);
  if (c?.direction === 'next') {
    // After the cursor: ids above it (asc), or below it (desc).
    start = desc ? n - boundary(items, c.id, false) : boundary(items, c.id, true);
    end = Math.min(n, start + req.limit);
  } else if (c?.direction === 'prev') {
    end = desc ? n - boundary(items, c.id, true) : boundary(items, c.id, false);
    start = Math.max(0, end - req.limit);
  }
  const page: T[] = [];
  for (let p = start; p < end; p++) page.push(at(p));
  const first = page[0];
  const last = page[page.length - 1];
  return {
    data: page.map(view),
    meta: {
      next_cursor: end < n && last ? encodeCursor('next', last.id) : null,
      prev_cursor: start > 0 && first ? encodeCursor('prev', first.id) : null,
    },
  };
}
