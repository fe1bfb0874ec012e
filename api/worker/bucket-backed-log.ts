/**
 * The log's storage on the Worker when the R2 bucket is bound (step 3 of "The writer past one object",
 * docs/ARCHITECTURE.md): the Durable Object keeps the log's right edge (the head, each level's rightmost tile
 * and the rightmost entry bundle, which the appender rebuilds its frontier from: log/merkle/tile-writer.ts) and
 * every tile not yet published; a full tile or entry bundle that the bucket's checkpoint covers lives in the
 * bucket only. A read of a tile or bundle the object no longer holds is answered from the bucket's full one
 * (a partial tile of any width is a prefix of it, as the object's own rows are: log/merkle/storage.ts): a
 * witness's consistency proof, an erased version's commitment, a partial tile the bucket lacks.
 *
 * Crash safety, in the order things happen: the epoch commits its tiles in the object (`commit`, the object's
 * own transaction); publication copies them to the bucket, tiles first and the checkpoint last
 * (log/merkle/tile-publication.ts), so the bucket's checkpoint is the marker of what the bucket holds; only after
 * publication returned that size does `trimPublished` delete the object's copies of the full tiles and bundles
 * below it, a chunk per call, so that the work of one alarm stays bounded. A crash anywhere leaves each tile in
 * the object, in the bucket, or in both.
 *
 * From then on the bucket holds the only copy of those tiles: it must not be emptied or replaced (README,
 * "Deploying to Cloudflare"); publication refuses a bucket holding another log's checkpoint, and a read of a
 * tile neither holds is a `corrupt_log` error, never a guess.
 */
import type { LogCommit, LogHead, LogStorage } from '../../log/merkle/storage.js';
import type { TileBucket } from '../../log/merkle/tile-publication.js';
import { entryBundlePath, TILE_WIDTH, tilePath } from '../../verifier/formats/tiles.js';
import type { DoLogStorage, DoSqlStorage } from './do-log-storage.js';

/** Rows `trimPublished` deletes at most per call (tiles and bundles together, about 8 KiB each: 80 MiB). */
export const TRIM_CHUNK = 10_000;

export class BucketBackedLogStorage implements LogStorage {
  constructor(
    private readonly own: DoLogStorage,
    private readonly storage: Pick<DoSqlStorage, 'sql'>,
    private readonly bucket: TileBucket,
    private readonly prefix: string,
  ) {}

  loadHead(): Promise<LogHead | null> {
    return this.own.loadHead();
  }

  commit(c: LogCommit): Promise<void> {
    return this.own.commit(c);
  }

  close(): Promise<void> {
    return this.own.close();
  }

  /** The object's row, else the bucket's full tile (the only copy once trimmed). */
  async readTile(level: number, index: number): Promise<Uint8Array | undefined> {
    return (await this.own.readTile(level, index)) ?? this.fromBucket(tilePath({ level, n: index, width: TILE_WIDTH }));
  }

  async readEntryBundle(index: number): Promise<Uint8Array | undefined> {
    return (await this.own.readEntryBundle(index)) ?? this.fromBucket(entryBundlePath(index, TILE_WIDTH));
  }

  private async fromBucket(key: string): Promise<Uint8Array | undefined> {
    const object = await this.bucket.get(this.prefix + key);
    return object ? new Uint8Array(await object.arrayBuffer()) : undefined;
  }

  /**
   * Deletes the object's copies of full tiles and entry bundles that the bucket's checkpoint of
   * `publishedSize` entries covers (publishToBucket returned it), at most `limit` rows, lowest first; returns
   * how many it deleted (fewer than `limit`: none is left below that size).
   */
  trimPublished(publishedSize: number, limit = TRIM_CHUNK): number {
    let deleted = this.trimTable('log_bundles', '', Math.floor(publishedSize / TILE_WIDTH), limit);
    for (let level = 0; TILE_WIDTH ** (level + 1) <= publishedSize && deleted < limit; level++) {
      const full = Math.floor(publishedSize / TILE_WIDTH ** (level + 1));
      deleted += this.trimTable('log_tiles', `level = ${level} AND`, full, limit - deleted);
    }
    return deleted;
  }

  /** Deletes up to `limit` rows of `table` (`where` narrowing it) with an index below `below`. */
  private trimTable(table: string, where: string, below: number, limit: number): number {
    const sql = this.storage.sql;
    const ids = sql
      .exec<{ idx: number }>(`SELECT idx FROM ${table} WHERE ${where} idx < ? ORDER BY idx LIMIT ?`, below, limit)
      .toArray();
    if (ids.length === 0) return 0;
    sql.exec(`DELETE FROM ${table} WHERE ${where} idx <= ?`, ids[ids.length - 1].idx);
    return ids.length;
  }
}
