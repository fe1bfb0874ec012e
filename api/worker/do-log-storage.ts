/**
 * LogStorage on a Cloudflare Durable Object's SQLite storage (`ctx.storage.sql`), the Worker deployment's
 * counterpart of `sqlite-storage.ts`: the same three tables and the same semantics. One batch is one
 * `transactionSync`: the head check, the `withinCommit` writes of the layer above, the tiles, the entry
 * bundles and the new head land together or not at all. A Durable Object holds its output (responses,
 * outgoing messages) until its storage writes are durable, so a checkpoint the appender publishes after
 * `commit()` returned is never seen by anyone before it is on disk.
 *
 * No Node or Workers imports: the storage is described structurally (what `DurableObjectStorage` offers),
 * so this file type-checks and runs anywhere, and the Worker passes its `ctx.storage` in.
 */
import { LOG_SCHEMA } from '../../log/merkle/log-sql.js';
import { StorageConflictError, type LogCommit, type LogHead, type LogStorage } from '../../log/merkle/storage.js';

/** A column value as Durable Object SQL returns it (BLOBs come back as ArrayBuffer). */
export type DoSqlValue = ArrayBuffer | string | number | null;

/** The part of a Durable Object SQL cursor used here. */
export interface DoSqlCursor<T extends Record<string, DoSqlValue>> {
  toArray(): T[];
}

/** The part of `DurableObjectStorage` used here: synchronous SQL and synchronous transactions. */
export interface DoSqlStorage {
  sql: {
    exec<T extends Record<string, DoSqlValue>>(query: string, ...bindings: unknown[]): DoSqlCursor<T>;
  };
  transactionSync<T>(closure: () => T): T;
}

/** A BLOB column as a Uint8Array; anything else (a corrupted row) is treated as missing. */
function asBytes(v: DoSqlValue | undefined): Uint8Array | undefined {
  return v instanceof ArrayBuffer ? new Uint8Array(v) : undefined;
}

/** A BLOB binding: an ArrayBuffer of exactly the view's bytes (a view's buffer may be larger or shared). */
function blob(b: Uint8Array): ArrayBuffer {
  return b.slice().buffer as ArrayBuffer;
}

export class DoLogStorage implements LogStorage {
  /** Opens (creating if needed) the log tables in the Durable Object's SQLite database. */
  constructor(private readonly storage: DoSqlStorage) {
    storage.sql.exec(LOG_SCHEMA);
  }

  async loadHead(): Promise<LogHead | null> {
    return this.loadHeadSync();
  }

  loadHeadSync(): LogHead | null {
    const [row] = this.storage.sql
      .exec<{ size: number; checkpoint: string }>('SELECT size, checkpoint FROM log_head WHERE id = 1')
      .toArray();
    return row ? { size: row.size, checkpoint: row.checkpoint } : null;
  }

  async readTile(level: number, index: number): Promise<Uint8Array | undefined> {
    const [row] = this.storage.sql
      .exec<{ data: ArrayBuffer }>('SELECT data FROM log_tiles WHERE level = ? AND idx = ?', level, index)
      .toArray();
    return asBytes(row?.data);
  }

  async readEntryBundle(index: number): Promise<Uint8Array | undefined> {
    const [row] = this.storage.sql
      .exec<{ data: ArrayBuffer }>('SELECT data FROM log_bundles WHERE idx = ?', index)
      .toArray();
    return asBytes(row?.data);
  }

  async commit(c: LogCommit): Promise<void> {
    this.commitSync(c);
  }

  /**
   * The whole batch in one synchronous transaction. A Durable Object is single-threaded and nothing can
   * interleave with synchronous code, so the head check and the writes are atomic; the head row is written
   * last, so it never points past tiles or bundles that are not there. Throwing rolls everything back.
   */
  commitSync(c: LogCommit): void {
    const sql = this.storage.sql;
    this.storage.transactionSync(() => {
      const size = this.loadHeadSync()?.size ?? 0;
      if (size !== c.expectedSize) throw new StorageConflictError(`log head is ${size}, expected ${c.expectedSize}`);
      c.withinCommit?.();
      for (const t of c.tiles)
        sql.exec(
          'INSERT OR REPLACE INTO log_tiles (level, idx, data) VALUES (?, ?, ?)',
          t.level,
          t.index,
          blob(t.data),
        );
      for (const b of c.bundles)
        sql.exec('INSERT OR REPLACE INTO log_bundles (idx, data) VALUES (?, ?)', b.index, blob(b.data));
      sql.exec(
        'INSERT OR REPLACE INTO log_head (id, size, checkpoint) VALUES (1, ?, ?)',
        c.head.size,
        c.head.checkpoint,
      );
    });
  }

  /** Nothing to release: the Durable Object owns the database. */
  async close(): Promise<void> {}
}
