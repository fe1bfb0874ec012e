/**
 * The log's storage contract, shaped by what the backends offer (an SQLite file on Node; a Durable
 * Object with R2 on Workers): a handful of reads and one commit. Tiles and entry bundles are stored as
 * the rightmost (possibly partial) version under their (level, index): hashes and entries are immutable
 * once written, so a partial tile of width W is the first W hashes of the stored tile, and every partial
 * tile of every past checkpoint stays servable. The tests have an in-memory backend that can inject
 * faults (test/doubles/memory-log-storage.ts).
 */
import { CodedError } from '../../wasm-free-crypto/errors.js';

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
export class StorageConflictError extends CodedError<'storage_conflict'> {
  override readonly name = 'StorageConflictError';
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
