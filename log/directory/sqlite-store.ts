/**
 * The directory's indexes beside the log, in the same SQLite database as the log's tiles, so that an
 * epoch's index writes commit in the very transaction that appends its entries and signs its checkpoint
 * (they run as the log commit's `withinCommit`). What is kept: for each (provider, account) its label;
 * for each label its latest version and VRF proof; for each version its commitment, history hash, log
 * index, the credential that signed it and, until erased, its opening, statement and signature; each
 * provider credential (the enrolment entry and its revocation); the map's nodes (its rows change in the
 * epoch's transaction, so they always give the signed map root); and the latest epoch head with its
 * inclusion proof and checkpoint. Reads are async so that other backends can implement the interface.
 * The rows and the interface are in store.ts, the tables and queries in directory-sql.ts.
 */
import type Database from 'better-sqlite3';
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
  unpackNamedRow,
  SERVED_QUERIES,
  SERVED_SCHEMA,
  type RawAccount,
  type RawCredential,
  type RawEpoch,
  type RawLeaf,
  type RawNamed,
  type RawNamedPacked,
  type RawQueued,
  type RawVersion,
} from './directory-sql.js';
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
} from './store.js';

/** better-sqlite3 returns BLOBs as Buffers: a plain Uint8Array view of the same bytes. */
function bytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

const read = rowReaders<Uint8Array>(bytes, (b) => (b === null ? null : bytes(b)));

/**
 * The read of an account by name: its BLOBs packed in one where the database is UTF-8 (BY_NAME_PACKED,
 * directory-sql.ts), as every store this project makes is; the plain query on a UTF-16 one, where `||` would
 * transcode them.
 */
function byNameReader(db: Database.Database): (provider: string, account: string) => NamedAccount | undefined {
  if (db.pragma('encoding', { simple: true }) !== 'UTF-8') {
    const plain = db.prepare<[string, string], RawNamed<Uint8Array>>(DIRECTORY_QUERIES.byName);
    return (provider, account) => {
      const r = plain.get(provider, account);
      return r ? read.named(r) : undefined;
    };
  }
  const packed = db.prepare<[string, string], RawNamedPacked<Uint8Array>>(DIRECTORY_QUERIES.byNamePacked);
  return (provider, account) => {
    const r = packed.get(provider, account);
    return r ? read.named(unpackNamedRow(r, bytes(r.packed))) : undefined;
  };
}

function prepare(db: Database.Database) {
  const Q = DIRECTORY_QUERIES;
  return {
    byName: byNameReader(db),
    account: db.prepare<[Uint8Array], RawAccount<Uint8Array>>(Q.account),
    version: db.prepare<[Uint8Array, number], RawVersion<Uint8Array>>(Q.version),
    versions: db.prepare<[Uint8Array, number, number], RawVersion<Uint8Array>>(Q.versions),
    credentials: db.prepare<[], RawCredential<Uint8Array>>(Q.credentials),
    epoch: db.prepare<[], RawEpoch<Uint8Array>>(Q.epoch),
    mapNode: db.prepare<[Uint8Array], { node: Uint8Array }>(MAP_QUERIES.node),
    putMapNode: db.prepare(MAP_QUERIES.put),
    firstLeaves: db.prepare<[number], RawLeaf<Uint8Array>>(MAP_QUERIES.firstLeaves),
    leavesAfter: db.prepare<[Uint8Array, number], RawLeaf<Uint8Array>>(MAP_QUERIES.leavesAfter),
    putServed: db.prepare(SERVED_QUERIES.put),
    servedEpoch: db.prepare<[], RawEpoch<Uint8Array>>(SERVED_QUERIES.epoch),
    servedCheckpoint: db.prepare<[], { checkpoint: string }>(SERVED_QUERIES.checkpoint),
    putAccount: db.prepare(Q.putAccount),
    putName: db.prepare(Q.putName),
    putVersion: db.prepare(Q.putVersion),
    putCredential: db.prepare(Q.putCredential),
    revoke: db.prepare(Q.revoke),
    erase: db.prepare(Q.erase),
    putEpoch: db.prepare(Q.putEpoch),
    queued: db.prepare<[], RawQueued<Uint8Array>>(QUEUE_QUERIES.all),
    enqueue: db.prepare<unknown[], { id: number }>(QUEUE_QUERIES.put),
    dequeue: db.prepare(QUEUE_QUERIES.remove),
  };
}

/** The queued statements' KEYTRANS signatures (directory-sql.ts): the sequencer's only. */
function prepareKeyTransQueue(db: Database.Database) {
  return {
    all: db.prepare<[], { id: number; signature: Uint8Array }>(KEYTRANS_QUEUE_QUERIES.all),
    put: db.prepare(KEYTRANS_QUEUE_QUERIES.put),
    remove: db.prepare(KEYTRANS_QUEUE_QUERIES.remove),
  };
}

export class SqliteDirectoryStore implements DirectoryStore {
  private readonly q: ReturnType<typeof prepare>;
  private readonly kq: ReturnType<typeof prepareKeyTransQueue> | null;

  /**
   * The store on `db`, creating its tables if needed; with `reader`, a store that only reads (another
   * process's connection to the sequencer's file, directory-reader.ts), which creates nothing.
   */
  constructor(
    private readonly db: Database.Database,
    opts: { reader?: boolean } = {},
  ) {
    if (!opts.reader) {
      // Erasure sets openings and statements to NULL; secure_delete overwrites the freed bytes with zeros.
      db.pragma('secure_delete = ON');
      db.exec(DIRECTORY_SCHEMA);
      db.exec(QUEUE_SCHEMA);
      db.exec(MAP_SCHEMA);
      db.exec(SERVED_SCHEMA);
      db.exec(KEYTRANS_QUEUE_SCHEMA);
    }
    this.q = prepare(db);
    this.kq = opts.reader ? null : prepareKeyTransQueue(db);
  }

  /**
   * Copies the WAL into the database and truncates it, so erased bytes do not linger in the WAL file; false
   * if SQLite could not (a checkpoint of another connection running, the Node server's WAL checkpointer's,
   * or a reader still using the WAL beyond the busy timeout): SQLite then answers busy, or leaves pages.
   */
  afterErasure(): boolean {
    const [row] = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number }[];
    return row.busy === 0 && row.log === 0;
  }

  async accountByName(provider: string, account: string): Promise<NamedAccount | undefined> {
    return this.q.byName(provider, account);
  }

  async account(label: Uint8Array): Promise<AccountRow | undefined> {
    const r = this.q.account.get(label);
    return r ? read.account(r) : undefined;
  }

  async version(label: Uint8Array, version: number): Promise<VersionRow | undefined> {
    const r = this.q.version.get(label, version);
    return r ? read.version(r) : undefined;
  }

  async versions(label: Uint8Array, from: number, to: number): Promise<VersionRow[]> {
    return this.q.versions.all(label, from, to).map(read.version);
  }

  async credentials(): Promise<CredentialRow[]> {
    return this.q.credentials.all().map(read.credential);
  }

  async latestEpoch(): Promise<EpochRow | undefined> {
    const r = this.q.epoch.get();
    return r ? read.epoch(r) : undefined;
  }

  mapNode(key: Uint8Array): Uint8Array | undefined {
    const r = this.q.mapNode.get(key);
    return r ? bytes(r.node) : undefined;
  }

  leavesAfter(after: Uint8Array | null, limit: number): LeafRow[] {
    const rows = after === null ? this.q.firstLeaves.all(limit) : this.q.leavesAfter.all(after, limit);
    return rows.map(read.leaf);
  }

  writeMap(fill: (write: (row: MapRow) => void) => void): void {
    this.db.transaction(() => fill((r) => this.q.putMapNode.run(r.key, r.value)))();
  }

  setServed(epoch: number, checkpoint: string): void {
    this.q.putServed.run(epoch, checkpoint);
  }

  servedEpoch(): { row: EpochRow; checkpoint: string } | undefined {
    const r = this.q.servedEpoch.get();
    return r ? { row: read.epoch(r), checkpoint: r.checkpoint } : undefined;
  }

  /**
   * The checkpoint the sequencer serves: while the last epoch waits for its witnesses' cosignatures, the one
   * before's (a reader process serves it at /log/checkpoint, as the sequencer does); undefined in a store
   * written before the row existed.
   */
  servedCheckpoint(): string | undefined {
    return this.q.servedCheckpoint.get()?.checkpoint;
  }

  /** A deferred transaction: in WAL mode its first read fixes the snapshot every later read sees. */
  readSnapshot<T>(read: () => T): T {
    return this.db.transaction(read)();
  }

  async queued(): Promise<QueueRow[]> {
    const signatures = new Map((this.kq?.all.all() ?? []).map((r) => [r.id, bytes(r.signature)]));
    return this.q.queued.all().map((r) => ({ ...read.queued(r), keytransSignature: signatures.get(r.id) ?? null }));
  }

  /**
   * The rows' INSERTs in one transaction: SQLite commits it durably (WAL, `synchronous = FULL`, set by the
   * log's storage on this database) before this returns, so before any of their receipts is signed. One
   * commit, one sync of the WAL, for every statement accepted in the same moment (group commit).
   */
  enqueue(rows: Omit<QueueRow, 'id'>[]): number[] {
    return this.db.transaction(() =>
      rows.map((r) => {
        const row = [r.label, r.version, r.statement, r.signature, r.credentialIndex, r.vrfProof];
        const { id } = this.q.enqueue.get(...row, r.acceptedAt, r.deadline)!;
        if (r.keytransSignature) this.writable().put.run(id, r.keytransSignature);
        return id;
      }),
    )();
  }

  private writable(): NonNullable<typeof this.kq> {
    if (!this.kq) throw new Error('a reader store writes nothing');
    return this.kq;
  }

  /** Accounts first (they create the ids that names and versions refer to), then the rest. */
  epochWriter(w: EpochWrites): () => void {
    return () => {
      for (const a of w.accounts) this.q.putAccount.run(a.label, a.version, a.history, a.previousHistory, a.vrfProof);
      for (const n of w.names) this.q.putName.run(n.provider, n.account, n.label);
      for (const v of w.versions)
        this.q.putVersion.run(v.label, v.version, v.opening, v.statement, v.signature, v.credentialIndex, v.logIndex);
      for (const c of w.credentials) this.q.putCredential.run(c.logIndex, c.providerId, c.fingerprint, c.entry);
      for (const r of w.revocations) this.q.revoke.run(r.revokedIndex, r.logIndex);
      for (const e of w.erasures) this.q.erase.run(e.label, e.below);
      for (const id of w.dequeued ?? []) {
        this.q.dequeue.run(id);
        this.kq?.remove.run(id);
      }
      for (const r of w.map ?? []) this.q.putMapNode.run(r.key, r.value);
      const ep = w.epoch;
      this.q.putEpoch.run(ep.epoch, ep.logIndex, ep.entry, ep.proof, ep.checkpoint);
      if (w.served !== undefined) this.q.putServed.run(ep.epoch, w.served);
    };
  }
}
