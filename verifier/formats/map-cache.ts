/**
 * A bounded cache of stored map rows in front of a source (stored-map.ts), evicting rows not used since the
 * last pass (CLOCK, second chance: a hit only marks the row used, so that hits cost no reordering). Every
 * path starts at the root, so the upper levels are used all the time and stay; a lookup or an update then
 * reads from storage only the few nodes near its leaf. The cache holds the committed
 * rows only: after a commit, `committed` replaces the cached copies of the rows it wrote (rows it did not
 * hold are left to be read when needed, so that a large epoch does not push out the upper levels).
 *
 * The rows sit in a fixed ring of slots that the clock's hand sweeps, and a Map finds a key's slot. (A Map
 * used as the queue itself, deleting at its front and adding at its back, is slow in V8: its iterator
 * walks over every deleted entry at the front until the table is rebuilt: about 40 µs more per miss.)
 */
import { mapKeyId, ownRowBytes, type MapNodeRow } from './map-nodes.js';
import type { MapNodeSource } from './stored-map.js';

export class MapNodeCache implements MapNodeSource {
  /** Each key's slot. */
  private readonly slots = new Map<number | string, number>();
  /** Per slot: its key, its row, and whether it was used since the hand last passed it. */
  private readonly keys: (number | string)[] = [];
  private readonly values: Uint8Array[] = [];
  private readonly used: boolean[] = [];
  /** The slot the clock's hand looks at next. */
  private hand = 0;
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
    const k = mapKeyId(key);
    const slot = this.slots.get(k);
    if (slot !== undefined) {
      this.hits++;
      this.used[slot] = true;
      return this.values[slot];
    }
    this.misses++;
    const value = this.source.mapNode(key);
    if (value !== undefined) this.remember(k, value);
    return value;
  }

  /** After the rows were committed to the source: the cached copies of those rows are replaced. */
  committed(rows: MapNodeRow[]): void {
    for (const r of rows) {
      const slot = this.slots.get(mapKeyId(r.key));
      if (slot !== undefined) this.values[slot] = ownRowBytes(r.value); // not a view of a batch's slab
    }
  }

  /** Forgets every row (after a failed commit whose rows may have been read, or for a new epoch). */
  clear(): void {
    this.slots.clear();
    this.keys.length = 0;
    this.values.length = 0;
    this.used.length = 0;
    this.hand = 0;
  }

  /** Rows held, and reads answered from the cache and from the source so far (for metrics and benchmarks). */
  get stats(): { rows: number; hits: number; misses: number } {
    return { rows: this.slots.size, hits: this.hits, misses: this.misses };
  }

  /** Adds a row: in a new slot until the cache is full, then in the first slot the hand finds unused. */
  private remember(k: number | string, value: Uint8Array): void {
    let slot = this.keys.length;
    if (slot >= this.capacity) {
      while (this.used[this.hand]) {
        this.used[this.hand] = false; // a second chance: evicted next time round unless used again
        this.hand = (this.hand + 1) % this.capacity;
      }
      slot = this.hand;
      this.hand = (this.hand + 1) % this.capacity;
      this.slots.delete(this.keys[slot]);
    }
    this.slots.set(k, slot);
    this.keys[slot] = k;
    this.values[slot] = value;
    this.used[slot] = false;
  }
}
