/**
 * An in-memory LogStorage for tests of the appender's crash and failure handling: it keeps the contract of
 * log/merkle/storage.ts (compare-and-swap on the head, `withinCommit` inside the commit) and can fail a
 * commit before it writes anything, or tear one between its tiles and its head.
 */
import { StorageConflictError, type LogCommit, type LogHead, type LogStorage } from '../../log/merkle/storage.js';

/** Faults the in-memory backend can inject. */
export interface MemoryFaults {
  /** Reject the next commit before it writes anything. */
  failNextCommit?: boolean;
  /** On the next commit, write the tiles and bundles, then reject before the head (a crash between the two). */
  tearNextCommit?: boolean;
}

/** An in-memory LogStorage for tests, with fault injection. */
export class MemoryLogStorage implements LogStorage {
  head: LogHead | null = null;
  readonly tiles = new Map<string, Uint8Array>();
  readonly bundles = new Map<number, Uint8Array>();
  faults: MemoryFaults = {};
  commits = 0;

  async loadHead(): Promise<LogHead | null> {
    return this.head ? { ...this.head } : null;
  }

  async readTile(level: number, index: number): Promise<Uint8Array | undefined> {
    return this.tiles.get(`${level}/${index}`)?.slice();
  }

  async readEntryBundle(index: number): Promise<Uint8Array | undefined> {
    return this.bundles.get(index)?.slice();
  }

  async commit(c: LogCommit): Promise<void> {
    if (this.faults.failNextCommit) {
      this.faults.failNextCommit = false;
      throw new Error('injected fault: commit failed');
    }
    if ((this.head?.size ?? 0) !== c.expectedSize)
      throw new StorageConflictError(`head is ${this.head?.size ?? 0}, expected ${c.expectedSize}`);
    c.withinCommit?.();
    for (const t of c.tiles) this.tiles.set(`${t.level}/${t.index}`, t.data.slice());
    for (const b of c.bundles) this.bundles.set(b.index, b.data.slice());
    if (this.faults.tearNextCommit) {
      this.faults.tearNextCommit = false;
      throw new Error('injected fault: crashed before the head was written');
    }
    this.head = { ...c.head };
    this.commits++;
  }

  async close(): Promise<void> {}
}
