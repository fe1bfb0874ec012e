/**
 * The directory's rows read from the D1 replica (d1-layout.ts): a name's label from its name shard, a label's
 * account row and versions from its label's shard, and the newest rows of the stored map's nodes. Shared by the isolate's reader (d1-reader.ts), which
 * answers lookups at the replica's servable epoch, and by the Durable Object's own reads of its bulk
 * (replicated-store.ts), which lays the epochs not yet replicated over them. Each method is one D1 query; rows
 * of a shard applied ahead of the meta database are returned as they are (each caller says what that means).
 */
import {
  DIRECTORY_QUERIES as Q,
  type RawAccount,
  type RawNamed,
  type RawVersion,
} from '../../log/directory/directory-sql.js';
import { DirectoryError } from '../../log/directory/errors.js';
import type { AccountRow, NamedAccount, VersionRow } from '../../log/directory/store.js';
import { toHex } from '../../wasm-free-crypto/bytes.js';
import { mapKeyString } from '../../verifier/formats/map-nodes.js';
import {
  labelShard,
  mapRowShard,
  nameShard,
  REPLICA_QUERIES as R,
  type IndexDatabase,
  type IndexLayout,
  type IndexStatement,
} from './d1-layout.js';
import { blob, blobBytes, doRowReaders, type BlobColumn } from './do-directory-store.js';

/**
 * Map rows' keys one query names at most: as literals, about 70 characters each, so about 70 KB of SQL (D1 takes
 * statements of up to 100 KB). An epoch's plan names the keys of 24 levels below each row a walk met
 * (directory-map.ts `fetchPaths`, at most 50,000 a round: replicated-store.ts), so a round is up to 50 queries over
 * all databases, and about two rounds fetch the paths (d1-layout.ts MAX_SHARDS: within the 1,000 queries a Worker
 * invocation may make).
 */
const MAP_KEYS_PER_QUERY = 1000;

/** `SELECT` of the rows of `keys` at most epoch ?1, with the keys as literals (D1 binds at most 100 values). */
export function mapRowsQuery(keys: Uint8Array[]): string {
  const list = keys.map((k) => `X'${toHex(k)}'`).join(', ');
  return `SELECT key, epoch, node FROM dir_map_rows WHERE key IN (${list}) AND epoch <= ?`;
}

/** A label's account row with its latest version's row, in one query of the label's shard. */
const BY_LABEL =
  'SELECT a.label, a.version, a.history, a.prev_history, a.vrf_proof, v.opening, v.statement, v.signature, v.credential, v.log_index ' +
  'FROM dir_accounts a LEFT JOIN dir_versions v ON v.id = a.id AND v.version = a.version WHERE a.label = ?';

/**
 * A database's marker is below the epoch its reader needs it at: it went back (emptied, restored, rebound). A
 * `busy` DirectoryError, so that the read app answers it 503 as any replica not ready to answer, not as an internal
 * error: the isolate then hands the read to the object and reads the servable epoch again before the next.
 */
export class ReplicaBehindError extends DirectoryError {
  constructor(message: string) {
    super('busy', message);
  }
}

/**
 * The results of `statements` on `db`, in one batch with the database's marker: a marker below `atLeast` means the
 * database went back (emptied, restored, another copy bound), and its rows are not an answer (`ReplicaBehindError`).
 */
export async function batchAtLeast(
  db: IndexDatabase,
  statements: IndexStatement[],
  atLeast: number,
): Promise<Record<string, unknown>[][]> {
  const results = await db.batch([...statements, db.prepare(R.marker)]);
  const epoch = (results[statements.length].results[0] as { epoch: number } | undefined)?.epoch ?? -1;
  if (epoch < atLeast) throw new ReplicaBehindError(`a database of the replica is at epoch ${epoch}, not ${atLeast}`);
  return results.slice(0, -1).map((r) => r.results as Record<string, unknown>[]);
}

export class D1IndexRows {
  /**
   * `atLeast`: for a reader that needs every database at or past an epoch (the object's, replicated-store.ts),
   * that epoch; each query then goes in one batch with its database's marker, and a database behind it is a
   * `ReplicaBehindError`, not an answer.
   */
  constructor(
    private readonly layout: IndexLayout,
    private readonly atLeast: () => number | undefined = () => undefined,
  ) {}

  private shardOf(label: Uint8Array): IndexDatabase {
    return this.layout.shards[labelShard(label, this.layout.bits)];
  }

  /** The rows `statement` selects from `db`, its marker checked (see the constructor). */
  private async rowsOf<T>(db: IndexDatabase, statement: IndexStatement): Promise<T[]> {
    const atLeast = this.atLeast();
    if (atLeast === undefined) return (await statement.all<T>()).results;
    const [rows] = await batchAtLeast(db, [statement], atLeast);
    return rows as T[];
  }

  private async firstOf<T>(db: IndexDatabase, statement: IndexStatement): Promise<T | undefined> {
    return (await this.rowsOf<T>(db, statement))[0];
  }

  /** The label of (provider, account) in its name shard, or undefined. */
  async labelOfName(provider: string, account: string): Promise<Uint8Array | undefined> {
    const { shards, bits } = this.layout;
    const db = shards[nameShard(provider, account, bits)];
    const row = await this.firstOf<{ label: BlobColumn }>(db, db.prepare(R.nameLabel).bind(provider, account));
    return row ? blobBytes(row.label) : undefined;
  }

  /** The account row of `label` with its latest version's row, or undefined. */
  async named(label: Uint8Array): Promise<NamedAccount | undefined> {
    const db = this.shardOf(label);
    const row = await this.firstOf<RawNamed<BlobColumn>>(db, db.prepare(BY_LABEL).bind(blob(label)));
    return row ? doRowReaders.named(row) : undefined;
  }

  async account(label: Uint8Array): Promise<AccountRow | undefined> {
    const db = this.shardOf(label);
    const row = await this.firstOf<RawAccount<BlobColumn>>(db, db.prepare(Q.account).bind(blob(label)));
    return row ? doRowReaders.account(row) : undefined;
  }

  async version(label: Uint8Array, version: number): Promise<VersionRow | undefined> {
    const db = this.shardOf(label);
    const row = await this.firstOf<RawVersion<BlobColumn>>(db, db.prepare(Q.version).bind(blob(label), version));
    return row ? doRowReaders.version(row) : undefined;
  }

  /** The versions of `label` from `from` to `to` (inclusive), in ascending order. */
  async versions(label: Uint8Array, from: number, to: number): Promise<VersionRow[]> {
    const db = this.shardOf(label);
    const rows = await this.rowsOf<RawVersion<BlobColumn>>(db, db.prepare(Q.versions).bind(blob(label), from, to));
    return rows.map(doRowReaders.version);
  }

  /**
   * The newest row of each of `keys` (by `mapKeyString`; absent: not there), each from the database that holds
   * it (d1-layout.ts, `mapRowShard`), the queries of all databases at once.
   */
  async newestMapRows(keys: Uint8Array[]): Promise<Map<string, Uint8Array>> {
    const { shards, bits } = this.layout;
    const byDatabase = new Map<IndexDatabase, Uint8Array[]>();
    for (const key of keys) {
      const db = shards[Math.max(mapRowShard(key, bits), 0)]; // -1: the meta database, shards[0]
      const list = byDatabase.get(db);
      if (list) list.push(key);
      else byDatabase.set(db, [key]);
    }
    type Row = { key: BlobColumn; epoch: number; node: BlobColumn };
    const queries: Promise<Row[]>[] = [];
    for (const [db, list] of byDatabase)
      for (let i = 0; i < list.length; i += MAP_KEYS_PER_QUERY) {
        const query = mapRowsQuery(list.slice(i, i + MAP_KEYS_PER_QUERY));
        queries.push(this.rowsOf<Row>(db, db.prepare(query).bind(Number.MAX_SAFE_INTEGER)));
      }
    const newest = new Map<string, { epoch: number; node: Uint8Array }>();
    for (const rows of await Promise.all(queries))
      for (const r of rows) {
        const k = mapKeyString(blobBytes(r.key));
        if ((newest.get(k)?.epoch ?? -1) < r.epoch) newest.set(k, { epoch: r.epoch, node: blobBytes(r.node) });
      }
    return new Map([...newest].map(([k, v]) => [k, v.node]));
  }
}
