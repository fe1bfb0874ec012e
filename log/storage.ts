/**
 * The log's storage contract, shaped by what the backends offer (an SQLite file on Node; a Durable
 * Object with R2 on Workers): a handful of reads and one commit. Tiles and entry bundles are stored as
 * the rightmost (possibly partial) version under their (level, index): hashes and entries are immutable
 * once written, so a partial tile of width W is the first W hashes of the stored tile, and every partial
 * tile of every past checkpoint stays servable. Also here: an in-memory backend that can inject faults,
 * for tests of the appender's crash and failure handling.
 */
import { CodedError } from '../wasm-free-crypto/errors.js';

/** The committed state of the log: its size and the signed checkpoint for that size. */
export interface LogHead {
  size: number;
  checkpoint: string;
}

/** A tile or entry bundle to write: the full current bytes for (level, index). */
export interface TileWrite {
  level: number;
  index: number;
  data: Uint8Array;
}

/** Everything one batch changes, committed at once. */
export interface LogCommit {
  /** The size the head must have for the commit to apply (compare-and-swap against concurrent writers). */
  expectedSize: number;
  head: LogHead;
  tiles: TileWrite[];
  /** Entry bundles; `level` is unused (0). */
  bundles: TileWrite[];
  /**
   * Writes of a layer above the log (the directory's indexes) that must land atomically with this batch:
   * run inside the same transaction, before the head is written; throwing aborts the whole commit.
   */
  withinCommit?: () => void;
}

/** Thrown when a commit finds a head other than the one it expected: another writer got there first. */
export class StorageConflictError extends CodedError {
  constructor(message: string) {
    super('storage_conflict', message);
  }
}

export interface LogStorage {
  /** The last committed head, or null for a log never committed to. */
  loadHead(): Promise<LogHead | null>;
  /** The stored bytes of tile (level, index), or undefined. May extend past the head: callers bound widths by it. */
  readTile(level: number, index: number): Promise<Uint8Array | undefined>;
  /** The stored bytes of entry bundle `index`, or undefined; same caveat as readTile. */
  readEntryBundle(index: number): Promise<Uint8Array | undefined>;
  /**
   * Makes a batch durable. Crash-safety contract: when this resolves, the head, tiles and bundles are
   * all durable; if it rejects or the process dies first, the stored head is the previous one (tiles and
   * bundles written beyond it are harmless: readers bound by the head, and the next commit rewrites them).
   * Throws StorageConflictError if the stored head size is not `expectedSize`.
   */
  commit(c: LogCommit): Promise<void>;
  close(): Promise<void>;
}

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
