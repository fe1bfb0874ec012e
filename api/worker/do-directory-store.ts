/**
 * The directory's indexes on a Cloudflare Durable Object's SQLite storage (`ctx.storage.sql`), the Worker
 * deployment's counterpart of log/directory/sqlite-store.ts: the same tables (`DIRECTORY_SCHEMA`), the same
 * queries and the same semantics, in the same database as the log's tiles (api/worker/do-log-storage.ts). The epoch
 * writer is synchronous: the directory hands it to the log commit as `withinCommit`, and DoLogStorage runs
 * that inside the commit's `transactionSync`, so an epoch's index writes, its entries, tiles and signed
 * checkpoint land together or not at all.
 *
 * Erasure (`afterErasure`) is a no-op here, and physical erasure is weaker than on Node. Erased openings,
 * statements and signatures are set to NULL in the same transaction as on Node and are never served again,
 * but a Durable Object's SQL refuses what Node uses to scrub the freed bytes (`PRAGMA secure_delete`,
 * `PRAGMA wal_checkpoint`, `VACUUM` all answer SQLITE_AUTH or are refused), so the old bytes may stay in
 * freed space of the database pages until SQLite reuses it. Cloudflare also keeps the object's write
 * history for point-in-time recovery (up to 30 days), out of the Worker's reach. (Overwriting the values
 * with zeros before the NULL does not help reliably: SQLite moves rather than overwrites many cells.)
 *
 * No Workers imports: the storage is described structurally (api/worker/do-log-storage.ts), so this file
 * type-checks and runs anywhere.
 */
import {
  DIRECTORY_QUERIES,
  DIRECTORY_SCHEMA,
  KEYTRANS_QUEUE_QUERIES,
  KEYTRANS_QUEUE_SCHEMA,
  MAP_QUERIES,
  MAP_SCHEMA,
  QUEUE_QUERIES,
  QUEUE_SCHEMA,
  rowReaders,
  SERVED_QUERIES,
  SERVED_SCHEMA,
  type RawAccount,
  type RawCredential,
  type RawEpoch,
  type RawLeaf,
  type RawNamed,
  type RawQueued,
  type RawVersion,
} from '../../log/directory/directory-sql.js';
import type {
  AccountRow,
  CredentialRow,
  DirectoryStore,
  EpochRow,
  EpochWrites,
  LeafRow,
  MapRow,
  NamedAccount,
  QueueRow,
  VersionRow,
} from '../../log/directory/store.js';
import { KEYTRANS_OUTBOX_SCHEMA, keyTransOutboxParts } from './d1-keytrans.js';
import type { DoSqlStorage, DoSqlValue } from './do-log-storage.js';

/** A BLOB column as Durable Object SQL returns it (ArrayBuffer), or as D1 does (an array of bytes). */
export type BlobColumn = ArrayBuffer | number[];

/**
 * A BLOB column as a Uint8Array (SQL NULL stays null where the column may be NULL); anything else is a
 * corrupted row. D1 (api/worker/d1-replica.ts reads the same rows there) returns arrays of bytes.
 */
function bytes(v: BlobColumn | DoSqlValue | undefined): Uint8Array;
function bytes(v: BlobColumn | DoSqlValue | undefined, nullable: true): Uint8Array | null;
function bytes(v: BlobColumn | DoSqlValue | undefined, nullable = false): Uint8Array | null {
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0 && x <= 255)) return Uint8Array.from(v);
  if (v === null && nullable) return null;
  throw new Error('corrupt directory row: a BLOB column holds another type');
}

/** The readers of the directory's rows on a Durable Object and on D1 (api/worker/d1-replica.ts). */
export const doRowReaders = rowReaders<BlobColumn>(bytes, (v) => bytes(v, true));

/** A BLOB column as bytes (a corrupted row, of another type, throws). */
export const blobBytes = (v: BlobColumn): Uint8Array => bytes(v);

/** A BLOB binding: an ArrayBuffer of exactly the view's bytes (a view's buffer may be larger or shared). */
export function blob(b: Uint8Array): ArrayBuffer;
export function blob(b: Uint8Array | null): ArrayBuffer | null;
export function blob(b: Uint8Array | null): ArrayBuffer | null {
  return b === null ? null : (b.slice().buffer as ArrayBuffer);
}

const Q = DIRECTORY_QUERIES;
type Statement = [string, ...unknown[]];

/** The statement of each kind of row an epoch writes, shared by this store and the D1 replica (d1-replica.ts). */
export const rowStatements = {
  account: (a: AccountRow): Statement => [
    Q.putAccount,
    blob(a.label),
    a.version,
    blob(a.history),
    blob(a.previousHistory),
    blob(a.vrfProof),
  ],
  version: (v: VersionRow): Statement => [
    Q.putVersion,
    blob(v.label),
    v.version,
    blob(v.opening),
    blob(v.statement),
    blob(v.signature),
    v.credentialIndex,
    v.logIndex,
  ],
  credential: (c: CredentialRow): Statement => [
    Q.putCredential,
    c.logIndex,
    c.providerId,
    blob(c.fingerprint),
    blob(c.entry),
  ],
  revocation: (r: { logIndex: number; revokedIndex: number }): Statement => [Q.revoke, r.revokedIndex, r.logIndex],
  erasure: (e: { label: Uint8Array; below: number }): Statement => [Q.erase, blob(e.label), e.below],
};

/** The statements (query, bindings) that apply an epoch's writes; accounts first (they create the ids). */
export function epochStatements(w: EpochWrites): Statement[] {
  const ep = w.epoch;
  return [
    ...w.accounts.map(rowStatements.account),
    ...w.names.map((n): Statement => [Q.putName, n.provider, n.account, blob(n.label)]),
    ...w.versions.map(rowStatements.version),
    ...w.credentials.map(rowStatements.credential),
    ...w.revocations.map(rowStatements.revocation),
    ...w.erasures.map(rowStatements.erasure),
    [Q.putEpoch, ep.epoch, ep.logIndex, blob(ep.entry), blob(ep.proof), ep.checkpoint],
  ];
}

/** The outbox of epochs to replicate to D1 (api/worker/d1-replica.ts), written in each epoch's own transaction. */
const OUTBOX_SCHEMA = 'CREATE TABLE IF NOT EXISTS dir_outbox (epoch INTEGER PRIMARY KEY, writes TEXT NOT NULL)';

export interface DoDirectoryStoreOptions {
  /**
   * Also record each epoch's writes, encoded by `encodeWrites`, in `dir_outbox`, in the epoch's own
   * transaction, for api/worker/d1-replica.ts to replicate to D1.
   */
  outbox?: { encodeWrites(w: EpochWrites): string };
}

export class DoDirectoryStore implements DirectoryStore {
  /** Opens (creating if needed) the directory's tables in the Durable Object's SQLite database. */
  constructor(
    private readonly storage: Pick<DoSqlStorage, 'sql' | 'transactionSync'>,
    private readonly options: DoDirectoryStoreOptions = {},
  ) {
    storage.sql.exec(DIRECTORY_SCHEMA);
    storage.sql.exec(QUEUE_SCHEMA);
    storage.sql.exec(MAP_SCHEMA);
    storage.sql.exec(SERVED_SCHEMA);
    storage.sql.exec(KEYTRANS_QUEUE_SCHEMA);
    if (options.outbox) {
      storage.sql.exec(OUTBOX_SCHEMA);
      storage.sql.exec(KEYTRANS_OUTBOX_SCHEMA);
    }
  }

  /** With the outbox: its `kt_outbox` parts hold each epoch's KEYTRANS rows. */
  get keepsKeyTransRows(): boolean {
    return this.options.outbox !== undefined;
  }

  private all<T extends Record<string, DoSqlValue>>(query: string, ...bindings: unknown[]): T[] {
    return this.storage.sql.exec<T>(query, ...bindings).toArray();
  }

  /**
   * A no-op: a Durable Object's SQL cannot scrub freed pages (see the file comment). The erased values
   * are NULL from the epoch's own transaction on, as on Node.
   */
  afterErasure(): boolean {
    return true;
  }

  async accountByName(provider: string, account: string): Promise<NamedAccount | undefined> {
    const [r] = this.all<RawNamed<ArrayBuffer>>(Q.byName, provider, account);
    return r ? doRowReaders.named(r) : undefined;
  }

  async account(label: Uint8Array): Promise<AccountRow | undefined> {
    const [r] = this.all<RawAccount<ArrayBuffer>>(Q.account, blob(label));
    return r ? doRowReaders.account(r) : undefined;
  }

  async version(label: Uint8Array, version: number): Promise<VersionRow | undefined> {
    const [r] = this.all<RawVersion<ArrayBuffer>>(Q.version, blob(label), version);
    return r ? doRowReaders.version(r) : undefined;
  }

  async versions(label: Uint8Array, from: number, to: number): Promise<VersionRow[]> {
    return this.all<RawVersion<ArrayBuffer>>(Q.versions, blob(label), from, to).map(doRowReaders.version);
  }

  async credentials(): Promise<CredentialRow[]> {
    return this.all<RawCredential<ArrayBuffer>>(Q.credentials).map(doRowReaders.credential);
  }

  async latestEpoch(): Promise<EpochRow | undefined> {
    const [r] = this.all<RawEpoch<ArrayBuffer>>(Q.epoch);
    return r ? doRowReaders.epoch(r) : undefined;
  }

  mapNode(key: Uint8Array): Uint8Array | undefined {
    const [r] = this.all<{ node: ArrayBuffer }>(MAP_QUERIES.node, blob(key));
    return r ? new Uint8Array(r.node) : undefined;
  }

  leavesAfter(after: Uint8Array | null, limit: number): LeafRow[] {
    const rows =
      after === null
        ? this.all<RawLeaf<ArrayBuffer>>(MAP_QUERIES.firstLeaves, limit)
        : this.all<RawLeaf<ArrayBuffer>>(MAP_QUERIES.leavesAfter, blob(after), limit);
    return rows.map(doRowReaders.leaf);
  }

  setServed(epoch: number, checkpoint: string): void {
    this.storage.sql.exec(SERVED_QUERIES.put, epoch, checkpoint);
  }

  servedEpoch(): { row: EpochRow; checkpoint: string } | undefined {
    const [r] = this.all<RawEpoch<ArrayBuffer>>(SERVED_QUERIES.epoch);
    return r ? { row: doRowReaders.epoch(r), checkpoint: r.checkpoint } : undefined;
  }

  /** A Durable Object's reads within one event see one state: its own single writer is the only one. */
  readSnapshot<T>(read: () => T): T {
    return read();
  }

  writeMap(fill: (write: (row: MapRow) => void) => void): void {
    this.storage.transactionSync(() => fill((r) => this.storage.sql.exec(MAP_QUERIES.put, blob(r.key), blob(r.value))));
  }

  /** The queue in acceptance order, each row with its KEYTRANS signature if it has one (dir_queue_keytrans). */
  async queued(): Promise<QueueRow[]> {
    const signed = this.all<{ id: number; signature: ArrayBuffer }>(KEYTRANS_QUEUE_QUERIES.all);
    const signatures = new Map(signed.map((r) => [r.id, blobBytes(r.signature)]));
    return this.all<RawQueued<ArrayBuffer>>(QUEUE_QUERIES.all).map((r) => ({
      ...doRowReaders.queued(r),
      keytransSignature: signatures.get(r.id) ?? null,
    }));
  }

  /**
   * The rows' INSERTs, with no await between them: a Durable Object commits the SQL writes of one event
   * together, atomically, and holds every outgoing message (the 202 and its receipt included) until they
   * are durable (its output gate), so no receipt leaves before its row is stored.
   */
  enqueue(rows: Omit<QueueRow, 'id'>[]): number[] {
    return rows.map((r) => {
      const row = [blob(r.label), r.version, blob(r.statement), blob(r.signature), r.credentialIndex, blob(r.vrfProof)];
      const [{ id }] = this.all<{ id: number }>(QUEUE_QUERIES.put, ...row, r.acceptedAt, r.deadline);
      if (r.keytransSignature) this.storage.sql.exec(KEYTRANS_QUEUE_QUERIES.put, id, blob(r.keytransSignature));
      return id;
    });
  }

  /**
   * The epoch's statements (`epochStatements`) and, with the outbox option, its outbox row. Synchronous:
   * it runs inside the log commit's `transactionSync`, and throwing rolls the whole epoch back.
   */
  epochWriter(w: EpochWrites): () => void {
    return () => {
      const sql = this.storage.sql;
      for (const [query, ...bindings] of epochStatements(w)) sql.exec(query, ...bindings);
      // The queue rows this epoch takes, in its own transaction (not in epochStatements: D1 has no queue).
      for (const id of w.dequeued ?? []) {
        sql.exec(QUEUE_QUERIES.remove, id);
        sql.exec(KEYTRANS_QUEUE_QUERIES.remove, id);
      }
      for (const r of w.map ?? []) sql.exec(MAP_QUERIES.put, blob(r.key), blob(r.value));
      if (w.served !== undefined) sql.exec(SERVED_QUERIES.put, w.epoch.epoch, w.served);
      if (this.options.outbox) {
        const E = w.epoch.epoch;
        // D1 has no queue; the KEYTRANS rows go in parts of their own (d1-keytrans.ts).
        const writes = this.options.outbox.encodeWrites({ ...w, dequeued: undefined, keytrans: undefined });
        sql.exec('INSERT INTO dir_outbox (epoch, writes) VALUES (?, ?)', E, writes);
        const parts = w.keytrans ? keyTransOutboxParts(w.keytrans) : [];
        parts.forEach((rows, part) =>
          sql.exec('INSERT INTO kt_outbox (epoch, part, rows) VALUES (?, ?, ?)', E, part, rows),
        );
      }
    };
  }
}
