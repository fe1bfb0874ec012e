/**
 * LogStorage on an embedded SQLite file (better-sqlite3, Node only). One batch is one `BEGIN IMMEDIATE`
 * transaction that writes the tiles, the entry bundles and the new head (signed checkpoint) together, in
 * WAL mode with `synchronous = FULL`, so a commit that returned survives a crash or power loss and a
 * commit that did not return left nothing behind. The appender publishes a checkpoint only after its
 * commit returned; so the log never serves a checkpoint it could lose, and after a restart it continues
 * from exactly the last checkpoint it may have shown anyone (no regression, no fork).
 *
 * Checkpoints of the WAL (copying its pages back into the file) run where the opener says: by default
 * SQLite's own, at the end of the commit that passed 1,000 pages, inside `commit()`; with `checkpoints:
 * 'external'`, by a `WalCheckpointConnection` of another thread (api/node/wal-checkpointer.ts), so that an
 * epoch's commit writes and syncs its pages once, in the WAL, and returns.
 */
import Database from 'better-sqlite3';
import { LOG_SCHEMA } from './log-sql.js';
import { StorageConflictError, type LogCommit, type LogHead, type LogStorage } from './storage.js';

function asBytes(b: Uint8Array | undefined): Uint8Array | undefined {
  return b === undefined ? undefined : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** SQLite's own WAL checkpoint threshold in pages (its default), restored by `checkpointInline`. */
const INLINE_CHECKPOINT_PAGES = 1000;

/** Who checkpoints the WAL: the committing connection (SQLite's default) or another one. */
export type WalCheckpoints = 'inline' | 'external';

export class SqliteLogStorage implements LogStorage {
  readonly db: Database.Database;
  private readonly ownsDb: boolean;
  private readonly stmts;

  /**
   * Opens (creating if needed) the log tables in the SQLite file at `path`, or in an open database; with
   * `checkpoints: 'external'` its commits never checkpoint the WAL (see the file comment).
   */
  constructor(pathOrDb: string | Database.Database, opts: { checkpoints?: WalCheckpoints } = {}) {
    this.ownsDb = typeof pathOrDb === 'string';
    this.db = typeof pathOrDb === 'string' ? new Database(pathOrDb) : pathOrDb;
    this.db.pragma('journal_mode = WAL');
    // FULL: a commit is on disk before commit() returns, so a published checkpoint survives power loss.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    // Reads map the file instead of copying pages through read(): a lookup touches a few random pages of
    // indexes far larger than SQLite's page cache. (Writes still go through the WAL as before.)
    this.db.pragma('mmap_size = 2147483648');
    if (opts.checkpoints === 'external') this.db.pragma('wal_autocheckpoint = 0');
    this.db.exec(LOG_SCHEMA);
    this.stmts = {
      head: this.db.prepare<[], { size: number; checkpoint: string }>(
        'SELECT size, checkpoint FROM log_head WHERE id = 1',
      ),
      tile: this.db.prepare<[number, number], { data: Uint8Array }>(
        'SELECT data FROM log_tiles WHERE level = ? AND idx = ?',
      ),
      bundle: this.db.prepare<[number], { data: Uint8Array }>('SELECT data FROM log_bundles WHERE idx = ?'),
      putTile: this.db.prepare('INSERT OR REPLACE INTO log_tiles (level, idx, data) VALUES (?, ?, ?)'),
      putBundle: this.db.prepare('INSERT OR REPLACE INTO log_bundles (idx, data) VALUES (?, ?)'),
      putHead: this.db.prepare('INSERT OR REPLACE INTO log_head (id, size, checkpoint) VALUES (1, ?, ?)'),
    };
  }

  async loadHead(): Promise<LogHead | null> {
    return this.loadHeadSync();
  }

  loadHeadSync(): LogHead | null {
    const row = this.stmts.head.get();
    return row ? { size: row.size, checkpoint: row.checkpoint } : null;
  }

  async readTile(level: number, index: number): Promise<Uint8Array | undefined> {
    return asBytes(this.stmts.tile.get(level, index)?.data);
  }

  async readEntryBundle(index: number): Promise<Uint8Array | undefined> {
    return asBytes(this.stmts.bundle.get(index)?.data);
  }

  async commit(c: LogCommit): Promise<void> {
    this.commitSync(c);
  }

  /**
   * The whole batch in one IMMEDIATE transaction: the write lock is taken first, so the head check and
   * the writes cannot interleave with another process; the head row is written last, inside the same
   * transaction, so it can never point past tiles or bundles that are not there.
   */
  commitSync(c: LogCommit): void {
    const run = this.db.transaction(() => {
      const size = this.stmts.head.get()?.size ?? 0;
      if (size !== c.expectedSize) throw new StorageConflictError(`log head is ${size}, expected ${c.expectedSize}`);
      c.withinCommit?.();
      for (const t of c.tiles) this.stmts.putTile.run(t.level, t.index, t.data);
      for (const b of c.bundles) this.stmts.putBundle.run(b.index, b.data);
      this.stmts.putHead.run(c.head.size, c.head.checkpoint);
    });
    run.immediate();
  }

  /** From now on the committing connection checkpoints the WAL again, as SQLite does by default. */
  checkpointInline(): void {
    this.db.pragma(`wal_autocheckpoint = ${INLINE_CHECKPOINT_PAGES}`);
  }

  async close(): Promise<void> {
    if (this.ownsDb) this.db.close();
  }
}

/** What one checkpoint did: the WAL's pages, those copied into the file, and whether a writer held it back. */
export interface WalCheckpointResult {
  walPages: number;
  checkpointedPages: number;
  busy: boolean;
}

/**
 * A connection that only checkpoints the WAL of an existing database, for a thread beside the writer's:
 * PASSIVE checkpoints, which copy the pages no reader still needs and never block the writer or the
 * readers. With `synchronous = FULL` the file is synced before SQLite may reuse the WAL, so the pages a
 * commit synced to the WAL are never only in memory.
 */
export class WalCheckpointConnection {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path, { fileMustExist: true });
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('synchronous = FULL');
    if (this.db.pragma('journal_mode', { simple: true }) !== 'wal')
      throw new Error(`${path} is not in WAL mode: there is no WAL to checkpoint`);
  }

  checkpoint(): WalCheckpointResult {
    const [row] = this.db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
    return { walPages: row.log, checkpointedPages: row.checkpointed, busy: row.busy !== 0 };
  }

  close(): void {
    this.db.close();
  }
}
