/**
 * A bounded cache of stored map rows in front of a source (stored-map.ts), evicting rows not used since the
 * last pass (CLOCK, second chance: a hit only marks the row used, so that hits cost no reordering). Every
 * path starts at the root, so the upper levels are used all the time and stay; a lookup or an update then
 * reads from storage only the few nodes near its leaf. The cache holds the committed
 * rows only: after a commit, `committed` replaces the cached copies of the rows it wrote (rows it did not
 * hold are left to be read when needed, so that a large epoch does not push out the upper levels).
 */
import { mapKeyString, type MapNodeRow } from './map-nodes.js';
import type { MapNodeSource } from './stored-map.js';

export class MapNodeCache implements MapNodeSource {
  private readonly rows = new Map<string, { value: Uint8Array; used: boolean }>();
  private hits = 0;
  private misses = 0;

  /** `capacity`: how many rows to keep at most (at least 1). */
  constructor(
    private readonly source: MapNodeSource,
    readonly capacity: number,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError('a map cache holds at least one row');
  }

  mapNode(key: Uint8Array): Uint8Array | undefined {
    const k = mapKeyString(key);
    const cached = this.rows.get(k);
    if (cached !== undefined) {
      this.hits++;
      cached.used = true;
      return cached.value;
    }
    this.misses++;
    const value = this.source.mapNode(key);
    if (value !== undefined) this.remember(k, value);
    return value;
  }

  /** After the rows were committed to the source: the cached copies of those rows are replaced. */
  committed(rows: MapNodeRow[]): void {
    for (const r of rows) {
      const cached = this.rows.get(mapKeyString(r.key));
      if (cached) cached.value = r.value;
    }
  }

  /** Forgets every row (after a failed commit whose rows may have been read, or for a new epoch). */
  clear(): void {
    this.rows.clear();
  }

  /** Rows held, and reads answered from the cache and from the source so far (for metrics and benchmarks). */
  get stats(): { rows: number; hits: number; misses: number } {
    return { rows: this.rows.size, hits: this.hits, misses: this.misses };
  }

  /** Adds a row; beyond the capacity, the oldest row not used since it was last passed goes. */
  private remember(k: string, value: Uint8Array): void {
    this.rows.set(k, { value, used: false });
    while (this.rows.size > this.capacity) {
      const [oldest, entry] = this.rows.entries().next().value as [string, { value: Uint8Array; used: boolean }];
      this.rows.delete(oldest);
      if (entry.used) this.rows.set(oldest, { value: entry.value, used: false }); // a second chance, at the back
    }
  }
}
