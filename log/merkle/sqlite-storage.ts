/**
 * LogStorage on an embedded SQLite file (better-sqlite3, Node only). One batch is one `BEGIN IMMEDIATE`
 * transaction that writes the tiles, the entry bundles and the new head (signed checkpoint) together, in
 * WAL mode with `synchronous = FULL`, so a commit that returned survives a crash or power loss and a
 * commit that did not return left nothing behind. The appender publishes a checkpoint only after its
 * commit returned; so the log never serves a checkpoint it could lose, and after a restart it continues
 * from exactly the last checkpoint it may have shown anyone (no regression, no fork).
 */
import Database from 'better-sqlite3';
import { LOG_SCHEMA } from './log-sql.js';
import { StorageConflictError, type LogCommit, type LogHead, type LogStorage } from './storage.js';

function asBytes(b: Uint8Array | undefined): Uint8Array | undefined {
  return b === undefined ? undefined : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export class SqliteLogStorage implements LogStorage {
  readonly db: Database.Database;
  private readonly ownsDb: boolean;
  private readonly stmts;

  /** Opens (creating if needed) the log tables in the SQLite file at `path`, or in an open database. */
  constructor(pathOrDb: string | Database.Database) {
    this.ownsDb = typeof pathOrDb === 'string';
    this.db = typeof pathOrDb === 'string' ? new Database(pathOrDb) : pathOrDb;
    this.db.pragma('journal_mode = WAL');
    // FULL: a commit is on disk before commit() returns, so a published checkpoint survives power loss.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    // Reads map the file instead of copying pages through read(): a lookup touches a few random pages of
    // indexes far larger than SQLite's page cache. (Writes still go through the WAL as before.)
    this.db.pragma('mmap_size = 2147483648');
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

  async close(): Promise<void> {
    if (this.ownsDb) this.db.close();
  }
}
