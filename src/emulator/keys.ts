// Lookups by key for the emulator's records: each key holds its ids in ascending order, so a
// lookup costs what it finds, never a scan of everything stored (load runs hold thousands).

export interface KeyIndex<K> {
  add(key: K, id: number): void;
  remove(key: K, id: number): void;
  /** The ids under `key`, ascending; the same empty array when there are none. */
  get(key: K): readonly number[];
}

const NONE: readonly number[] = Object.freeze([]);

/** Where `id` goes in the ascending `ids`. */
function position(ids: readonly number[], id: number): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid] < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function keyIndex<K>(): KeyIndex<K> {
  const map = new Map<K, number[]>();
  return {
    add(key, id) {
      const ids = map.get(key);
      if (!ids) return void map.set(key, [id]);
      // New records have the highest id: appending is the usual case.
      if (ids[ids.length - 1] < id) ids.push(id);
      else {
        const at = position(ids, id);
        if (ids[at] !== id) ids.splice(at, 0, id);
      }
    },
    remove(key, id) {
      const ids = map.get(key);
      if (!ids) return;
      const at = position(ids, id);
      if (ids[at] === id) ids.splice(at, 1);
      if (ids.length === 0) map.delete(key);
    },
    get: (key) => map.get(key) ?? NONE,
  };
}

export const clone = <T>(v: T): T => structuredClone(v);
